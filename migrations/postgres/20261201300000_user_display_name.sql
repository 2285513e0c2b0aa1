-- Identity providers look people up by `displayName eq` too. A user's displayName has no
-- column of its own (it lives in the document), so index the very expression the filter
-- compiles to: the folded, byte-wise text at `displayName` (see storage/dialect.rs).
CREATE INDEX users_display_name ON users (tenant_id, lower((data ->> 'displayName') COLLATE "C"));
