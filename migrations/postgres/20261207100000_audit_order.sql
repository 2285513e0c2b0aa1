-- The audit log's key becomes (tenant_id, at, id), as on SQLite (one logical schema; see
-- migrations/sqlite/20261207100000_audit_order.sql): every audit list is in `at, id` order,
-- which the key now gives, so `audit_log_at` goes. `people_role` stays here: PostgreSQL's writes
-- are not bound by one writer, and it keeps the check before a role's deletion an index lookup.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (tenant_id, at, id);
DROP INDEX audit_log_at;
