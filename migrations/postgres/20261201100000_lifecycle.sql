-- The people lifecycle on PostgreSQL, the same logical schema as migrations/sqlite: profiles beside the SCIM documents, company roles and permissions,
-- single-use links, projects and their teams, group bindings, tenant settings, the audit
-- log and the notification outbox. Only TEXT and INTEGER columns (flags are 0/1), so one
-- storage implementation serves SQLite and PostgreSQL alike.

-- One row per tenant, created on first use. The lifecycle locks it (PostgreSQL:
-- SELECT ... FOR UPDATE) so that seat counts and "the last admin" cannot race.
CREATE TABLE tenant_settings (
    tenant_id            TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    seat_limit           BIGINT,
    link_validity_hours  BIGINT NOT NULL,
    scim_create          TEXT COLLATE "C" NOT NULL,
    scim_deactivate      TEXT COLLATE "C" NOT NULL,
    scim_reactivate      TEXT COLLATE "C" NOT NULL,
    send_invitations     BIGINT NOT NULL,
    join_link_hash       TEXT COLLATE "C",
    PRIMARY KEY (tenant_id)
);

-- The profile of a person (users.state stays the lifecycle state).
CREATE TABLE people (
    tenant_id               TEXT COLLATE "C" NOT NULL,
    user_id                 TEXT COLLATE "C" NOT NULL,
    user_type               TEXT COLLATE "C" NOT NULL,
    partner                 BIGINT NOT NULL,
    company_role            TEXT COLLATE "C" NOT NULL,
    password_hash           TEXT COLLATE "C",
    invitation_sent_at      TEXT COLLATE "C",
    invitation_expires_at   TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX people_role ON people (tenant_id, company_role);

-- Extra company permissions granted by hand.
CREATE TABLE person_permissions (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    permission  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, user_id, permission),
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE roles (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    name         TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C" NOT NULL,
    builtin      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- kind: `default` (every holder has it) or `grantable` (may be granted on top).
CREATE TABLE role_permissions (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    role        TEXT COLLATE "C" NOT NULL,
    permission  TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, role, permission),
    FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
);

-- Sign-up and password-reset links: only the SHA-256 of the token is kept.
CREATE TABLE person_links (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    token_hash  TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    purpose     TEXT COLLATE "C" NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    expires_at  TEXT COLLATE "C" NOT NULL,
    used_at     TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX person_links_user ON person_links (tenant_id, user_id, purpose);

CREATE TABLE projects (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    name_lower   TEXT COLLATE "C" NOT NULL,
    description  TEXT COLLATE "C",
    created_at   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX projects_name ON projects (tenant_id, name_lower);

-- Project membership set by hand. Grants through groups are not copied here: they follow
-- group_members through group_project_bindings, so leaving a group removes exactly them.
CREATE TABLE project_members (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    project_id   TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    role         TEXT COLLATE "C" NOT NULL,
    permissions  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, project_id, user_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX project_members_user ON project_members (tenant_id, user_id);

CREATE TABLE group_project_bindings (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    group_id    TEXT COLLATE "C" NOT NULL,
    project_id  TEXT COLLATE "C" NOT NULL,
    role        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, group_id, project_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_project_bindings_project ON group_project_bindings (tenant_id, project_id);

CREATE TABLE group_role_bindings (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    group_id      TEXT COLLATE "C" NOT NULL,
    company_role  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, group_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, company_role) REFERENCES roles (tenant_id, name)
);

CREATE TABLE audit_log (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id         TEXT COLLATE "C" NOT NULL,
    at         TEXT COLLATE "C" NOT NULL,
    actor      TEXT COLLATE "C" NOT NULL,
    action     TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C",
    before     TEXT COLLATE "C",
    after      TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_user ON audit_log (tenant_id, user_id, at);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);

-- The durable outbox. A worker claims due messages by setting locked_until (a lease), so
-- several replicas never send one message twice at once and a crashed worker's claim
-- runs out; a failed delivery is retried with back-off, never dropped.
CREATE TABLE outbox (
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
    id               TEXT COLLATE "C" NOT NULL,
    user_id          TEXT COLLATE "C",
    kind             TEXT COLLATE "C" NOT NULL,
    recipient        TEXT COLLATE "C" NOT NULL,
    subject          TEXT COLLATE "C" NOT NULL,
    body             TEXT COLLATE "C" NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  TEXT COLLATE "C" NOT NULL,
    locked_until     TEXT COLLATE "C",
    sent_at          TEXT COLLATE "C",
    last_error       TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_due ON outbox (tenant_id, next_attempt_at) WHERE sent_at IS NULL;

-- People created before the lifecycle existed: employees with the member role.
INSERT INTO people (tenant_id, user_id, user_type, partner, company_role)
    SELECT tenant_id, id, 'Employee', 0, 'member' FROM users;

-- Tokens made with every scope before the `admin` scope existed (the bootstrap token, the
-- first-start token, tokens made without --scope) keep having every scope.
UPDATE tokens SET scopes = 'scim:read scim:write admin' WHERE scopes = 'scim:read scim:write';
