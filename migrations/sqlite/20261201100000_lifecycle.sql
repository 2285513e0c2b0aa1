-- The people lifecycle: profiles beside the SCIM documents, company roles and permissions,
-- single-use links, projects and their teams, group bindings, tenant settings, the audit
-- log and the notification outbox. Only TEXT and INTEGER columns (flags are 0/1), so one
-- storage implementation serves SQLite and PostgreSQL alike.

-- One row per tenant, created on first use. The lifecycle locks it (PostgreSQL:
-- SELECT ... FOR UPDATE) so that seat counts and "the last admin" cannot race.
CREATE TABLE tenant_settings (
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    seat_limit           INTEGER,
    link_validity_hours  INTEGER NOT NULL,
    scim_create          TEXT NOT NULL,
    scim_deactivate      TEXT NOT NULL,
    scim_reactivate      TEXT NOT NULL,
    send_invitations     INTEGER NOT NULL,
    join_link_hash       TEXT,
    PRIMARY KEY (tenant_id)
) WITHOUT ROWID;

-- The profile of a person (users.state stays the lifecycle state).
CREATE TABLE people (
    tenant_id               TEXT NOT NULL,
    user_id                 TEXT NOT NULL,
    user_type               TEXT NOT NULL,
    partner                 INTEGER NOT NULL,
    company_role            TEXT NOT NULL,
    password_hash           TEXT,
    invitation_sent_at      TEXT,
    invitation_expires_at   TEXT,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX people_role ON people (tenant_id, company_role);

-- Extra company permissions granted by hand.
CREATE TABLE person_permissions (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    permission  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, permission),
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE roles (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    builtin      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

-- kind: `default` (every holder has it) or `grantable` (may be granted on top).
CREATE TABLE role_permissions (
    tenant_id   TEXT NOT NULL,
    role        TEXT NOT NULL,
    permission  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role, permission),
    FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
) WITHOUT ROWID;

-- Sign-up and password-reset links: only the SHA-256 of the token is kept.
CREATE TABLE person_links (
    tenant_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX person_links_user ON person_links (tenant_id, user_id, purpose);

CREATE TABLE projects (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    id           TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_lower   TEXT NOT NULL,
    description  TEXT,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX projects_name ON projects (tenant_id, name_lower);

-- Project membership set by hand. Grants through groups are not copied here: they follow
-- group_members through group_project_bindings, so leaving a group removes exactly them.
CREATE TABLE project_members (
    tenant_id    TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    role         TEXT NOT NULL,
    permissions  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, project_id, user_id),
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES people (tenant_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX project_members_user ON project_members (tenant_id, user_id);

CREATE TABLE group_project_bindings (
    tenant_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, project_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX group_project_bindings_project ON group_project_bindings (tenant_id, project_id);

CREATE TABLE group_role_bindings (
    tenant_id     TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    company_role  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, company_role) REFERENCES roles (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    user_id    TEXT,
    before     TEXT,
    after      TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX audit_log_user ON audit_log (tenant_id, user_id, at);
CREATE INDEX audit_log_at ON audit_log (tenant_id, at);

-- The durable outbox. A worker claims due messages by setting locked_until (a lease), so
-- several replicas never send one message twice at once and a crashed worker's claim
-- runs out; a failed delivery is retried with back-off, never dropped.
CREATE TABLE outbox (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    user_id          TEXT,
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    sent_at          TEXT,
    last_error       TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox (tenant_id, next_attempt_at) WHERE sent_at IS NULL;

-- People created before the lifecycle existed: employees with the member role.
INSERT INTO people (tenant_id, user_id, user_type, partner, company_role)
    SELECT tenant_id, id, 'Employee', 0, 'member' FROM users;

-- Tokens made with every scope before the `admin` scope existed (the bootstrap token, the
-- first-start token, tokens made without --scope) keep having every scope.
UPDATE tokens SET scopes = 'scim:read scim:write admin' WHERE scopes = 'scim:read scim:write';
