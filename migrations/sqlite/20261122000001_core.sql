-- The SCIM core: tenants, their tokens, people and groups. Every table leads with
-- tenant_id so that every lookup is scoped by it and, later, so a distributed engine can
-- shard by tenant.

CREATE TABLE tenants (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX tenants_name ON tenants (name);

-- Bearer tokens: only the SHA-256 of the secret is kept. Tokens are looked up by their
-- public id (part of the token string) and the hash is then compared in constant time.
CREATE TABLE tokens (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    scopes        TEXT NOT NULL,
    description   TEXT,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tokens_id ON tokens (id);

-- A person. `data` is the SCIM resource as sent (canonical attribute names, without id,
-- meta and groups); the columns beside it are copies that need an index or a constraint.
-- `state` is the lifecycle state (invited, active, contact, deleted); deleted people are
-- archived, not removed, so they drop out of the uniqueness indexes.
CREATE TABLE users (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    user_name        TEXT NOT NULL,
    user_name_lower  TEXT NOT NULL,
    external_id      TEXT,
    active           INTEGER NOT NULL,
    state            TEXT NOT NULL,
    data             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX users_user_name ON users (tenant_id, user_name_lower) WHERE state <> 'deleted';
CREATE UNIQUE INDEX users_external_id ON users (tenant_id, external_id)
    WHERE external_id IS NOT NULL AND state <> 'deleted';

-- Every e-mail of every person, lower-cased, so `emails.value eq` is an index lookup.
CREATE TABLE user_emails (
    tenant_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    value_lower  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, position),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX user_emails_value ON user_emails (tenant_id, value_lower);

CREATE TABLE groups (
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    id                  TEXT NOT NULL,
    display_name        TEXT NOT NULL,
    display_name_lower  TEXT NOT NULL,
    external_id         TEXT,
    data                TEXT NOT NULL,
    version             INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX groups_display_name ON groups (tenant_id, display_name_lower);
CREATE UNIQUE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;

-- Membership is its own table so that adding or removing one member of a huge group is
-- one indexed row, never a rewrite of the group. `member_type` is what the member is;
-- `declared_type` and `display` are kept as the client sent them, to be returned as sent.
CREATE TABLE group_members (
    tenant_id      TEXT NOT NULL,
    group_id       TEXT NOT NULL,
    member_id      TEXT NOT NULL,
    member_type    TEXT NOT NULL,
    declared_type  TEXT,
    display        TEXT,
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);
