-- A SCIM POST of someone deleted before restores them, so every create first looks for an
-- archived person with its userName or externalId. The unique indexes cover live people
-- only (state <> 'deleted'); index the archived rows too, so that lookup never scans the
-- tenant.
CREATE INDEX users_archived_user_name ON users (tenant_id, user_name_lower) WHERE state = 'deleted';
CREATE INDEX users_archived_external_id ON users (tenant_id, external_id) WHERE state = 'deleted';
