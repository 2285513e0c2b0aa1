-- Secrets of the whole database, made once by the first server that starts on it, so that
-- every replica on one database agrees on them. `cursor` signs pagination cursors (RFC 9865):
-- a cursor issued by one replica is accepted by another. Like tenants, not per tenant.
CREATE TABLE server_secrets (
    name        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);
