-- A SCIM POST of someone deleted before restores them, so every create first looks for an
-- archived person with its userName or externalId. The unique indexes cover live people
-- only (state <> 'deleted'), so that lookup scanned the tenant: creates got slower as the
-- tenant grew (100 users/s at 30,000 people). Index the archived rows too.
CREATE INDEX users_archived_user_name ON users (tenant_id, user_name_lower) WHERE state = 'deleted';
CREATE INDEX users_archived_external_id ON users (tenant_id, external_id) WHERE state = 'deleted';

-- As for users_display_name: without statistics the planner prefers the primary key's
-- tenant_id prefix; say that these indexes find one row.
DELETE FROM sqlite_stat1 WHERE tbl = 'users' AND idx IN ('users_archived_user_name', 'users_archived_external_id');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', 'users_archived_user_name', '100000 10000 1'),
    ('users', 'users_archived_external_id', '100000 10000 1');
