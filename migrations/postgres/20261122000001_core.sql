-- The SCIM core on PostgreSQL: the same logical schema as migrations/sqlite (a test compares
-- them), in PostgreSQL's types. Every table leads with tenant_id so that every lookup is
-- scoped by it and so a distributed engine (Citus) can shard the resource tables by tenant.
--
-- Text columns are COLLATE "C": SQLite compares text byte-wise, and filters (`gt`, `sw`),
-- sorting and paging must give the same answers on both databases whatever the server's
-- locale. Timestamps stay fixed-width RFC 3339 text for the same reason (see
-- server/src/storage/timefmt.rs): text order is time order on both.

-- For the GIN indexes below, which lead with tenant_id (a text column).
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE tenants (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX tenants_name ON tenants (name);

-- Bearer tokens: only the SHA-256 of the secret is kept. Tokens are looked up by their
-- public id (part of the token string) before the tenant is known, hence the unique index
-- on id alone (tenants and tokens are small: on Citus they would be reference tables).
CREATE TABLE tokens (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id            TEXT COLLATE "C" NOT NULL,
    secret_hash   BYTEA NOT NULL,
    scopes        TEXT COLLATE "C" NOT NULL,
    description   TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL,
    last_used_at  TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tokens_id ON tokens (id);

-- A person. `data` is the SCIM resource as sent (canonical attribute names, without id,
-- meta and groups). It is `json`, not `jsonb`, because jsonb reorders object keys and
-- resources are returned with their attributes in the order they were sent, as on SQLite;
-- the GIN index is on its jsonb form, which the filters use for containment (`@>`).
-- `state` is the lifecycle state (invited, active, contact, deleted); deleted people are
-- archived, not removed, so they drop out of the uniqueness indexes.
CREATE TABLE users (
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id               TEXT COLLATE "C" NOT NULL,
    user_name        TEXT COLLATE "C" NOT NULL,
    user_name_lower  TEXT COLLATE "C" NOT NULL,
    external_id      TEXT COLLATE "C",
    active           BOOLEAN NOT NULL,
    state            TEXT COLLATE "C" NOT NULL,
    data             JSON NOT NULL,
    version          BIGINT NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    updated_at       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_user_name ON users (tenant_id, user_name_lower) WHERE state <> 'deleted';
CREATE UNIQUE INDEX users_external_id ON users (tenant_id, external_id)
    WHERE external_id IS NOT NULL AND state <> 'deleted';
CREATE INDEX users_data ON users USING GIN (tenant_id, (data::jsonb) jsonb_path_ops);

-- Every e-mail of every person, lower-cased, so `emails.value eq` is an index lookup.
CREATE TABLE user_emails (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    position     BIGINT NOT NULL,
    value_lower  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, user_id, position),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_emails_value ON user_emails (tenant_id, value_lower);

CREATE TABLE groups (
    tenant_id           TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id                  TEXT COLLATE "C" NOT NULL,
    display_name        TEXT COLLATE "C" NOT NULL,
    display_name_lower  TEXT COLLATE "C" NOT NULL,
    external_id         TEXT COLLATE "C",
    data                JSON NOT NULL,
    version             BIGINT NOT NULL,
    created_at          TEXT COLLATE "C" NOT NULL,
    updated_at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_display_name ON groups (tenant_id, display_name_lower);
CREATE UNIQUE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_data ON groups USING GIN (tenant_id, (data::jsonb) jsonb_path_ops);

-- Membership is its own table so that adding or removing one member of a huge group is
-- one indexed row, never a rewrite of the group. `member_type` is what the member is;
-- `declared_type` and `display` are kept as the client sent them, to be returned as sent.
CREATE TABLE group_members (
    tenant_id      TEXT COLLATE "C" NOT NULL,
    group_id       TEXT COLLATE "C" NOT NULL,
    member_id      TEXT COLLATE "C" NOT NULL,
    member_type    TEXT COLLATE "C" NOT NULL,
    declared_type  TEXT COLLATE "C",
    display        TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, group_id, member_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);
