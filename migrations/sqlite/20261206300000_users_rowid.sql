-- `users` becomes an ordinary (rowid) table. As a WITHOUT ROWID table it kept whole rows
-- (about 460 bytes: the document and its copies) in its interior pages too, seven to a page:
-- at 100,000 people that is 1,800 interior pages (7 MB) above the leaves, more than a
-- reader's page cache holds, so a lookup by id read two pages from the file, and a
-- `userName eq` three. Now the interior pages hold row ids, about 30 of them for the whole
-- table, and (tenant_id, id) is a small unique index of its own.
--
-- The rebuild follows SQLite's procedure for changing a table: copy, drop, rename. It needs
-- foreign keys off (dropping `users` would otherwise delete every person's e-mails and
-- lifecycle rows through ON DELETE CASCADE), which the server's migration connection has;
-- the guard below stops the migration on a connection that enforces them.
CREATE TEMP TABLE users_rebuild_guard (foreign_keys INTEGER CHECK (foreign_keys = 0));
INSERT INTO users_rebuild_guard SELECT foreign_keys FROM pragma_foreign_keys;
DROP TABLE users_rebuild_guard;

CREATE TABLE users_rebuilt (
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
);
-- In id order, so that row ids follow ids as they do for rows created from now on (ids are
-- time-ordered): a walk in id order reads the table from front to back.
INSERT INTO users_rebuilt
    (tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version, created_at, updated_at)
SELECT tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version, created_at, updated_at
FROM users ORDER BY tenant_id, id;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

-- What dropping the table dropped with it: its indexes, its triggers, its statistics.
CREATE UNIQUE INDEX users_user_name ON users (tenant_id, user_name_lower) WHERE state <> 'deleted';
CREATE UNIQUE INDEX users_external_id ON users (tenant_id, external_id)
    WHERE external_id IS NOT NULL AND state <> 'deleted';
CREATE INDEX users_display_name ON users (tenant_id, lower(json_extract(data, '$."displayName"')));
CREATE INDEX users_archived_user_name ON users (tenant_id, user_name_lower) WHERE state = 'deleted';
CREATE INDEX users_archived_external_id ON users (tenant_id, external_id) WHERE state = 'deleted';
CREATE INDEX users_live_order ON users (tenant_id, id, state);

CREATE TRIGGER users_live_count_insert AFTER INSERT ON users WHEN NEW.state <> 'deleted'
BEGIN
    INSERT INTO live_counts (tenant_id, resource_type, n) VALUES (NEW.tenant_id, 'User', 1)
        ON CONFLICT (tenant_id, resource_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_live_count_delete AFTER DELETE ON users WHEN OLD.state <> 'deleted'
BEGIN
    UPDATE live_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND resource_type = 'User';
END;

CREATE TRIGGER users_live_count_state AFTER UPDATE OF state ON users
    WHEN (OLD.state = 'deleted') <> (NEW.state = 'deleted')
BEGIN
    INSERT INTO live_counts (tenant_id, resource_type, n)
        VALUES (NEW.tenant_id, 'User', CASE NEW.state WHEN 'deleted' THEN -1 ELSE 1 END)
        ON CONFLICT (tenant_id, resource_type)
        DO UPDATE SET n = n + CASE NEW.state WHEN 'deleted' THEN -1 ELSE 1 END;
END;

-- The figures the earlier migrations gave these indexes (see 20261201300000 and
-- 20261201500000); the server hints the others at start.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl = 'users';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_display_name', '100000 10000 2'),
    ('users', 'users_archived_user_name', '100000 10000 1'),
    ('users', 'users_archived_external_id', '100000 10000 1');
