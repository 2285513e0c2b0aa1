-- A tenant's roles change rarely and are read by every write of a person: servers keep
-- them in memory, keyed by this value, which every change of a role or of its permissions
-- sets anew (at random) in the same transaction. A write reads it with the settings row it
-- locks anyway, so a replica never uses roles that changed since it read them.
ALTER TABLE tenant_settings ADD COLUMN roles_version BIGINT NOT NULL DEFAULT 0;
