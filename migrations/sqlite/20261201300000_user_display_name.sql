-- Identity providers look people up by `displayName eq` too. A user's displayName has no
-- column of its own (it lives in the document), so index the very expression the filter
-- compiles to: the folded text at `$."displayName"` (see storage/sql_filter.rs).
CREATE INDEX users_display_name ON users (tenant_id, lower(json_extract(data, '$."displayName"')));

-- Without statistics, SQLite's planner prefers the primary key's tenant_id prefix of a
-- WITHOUT ROWID table to any non-unique secondary index, and would scan the tenant. Tell
-- it what a tenant looks like (sqlite_stat1 may be written by applications; a later
-- ANALYZE replaces this row with measured figures): many people, few per display name.
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('users', 'users_display_name', '100000 10000 2');
