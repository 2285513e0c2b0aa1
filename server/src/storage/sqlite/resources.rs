//! Users and groups in SQLite, on rusqlite connections (see `engine`): each write is one
//! job on the writer, inside the writer's transaction and its own savepoint; each read runs
//! on a reader. Statements are prepared once per connection and cached.

use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

use crate::domain::patch::MemberOp;
use crate::domain::resource::{GroupRef, Meta, Mutation, NewResource, Precondition, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};
use crate::storage::rows::{document_json, live, name_column, not_found, standing_of, table, Columns, RawRow};
use crate::storage::timefmt;

use super::engine::sqlite_error;
use super::relations;

/// A row of [`columns`]: a User's has its standing as a sixth column, a Group's whether it
/// is bound.
fn raw(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    let (standing, bound) = match row.as_ref().column_name(5) {
        Ok("standing") => (row.get(5)?, None),
        Ok("bound") => (None, Some(row.get(5)?)),
        _ => (None, None),
    };
    Ok(RawRow {
        id: row.get(0)?,
        data: row.get(1)?,
        version: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
        standing,
        bound,
    })
}

/// A row of [`columns`] with relations: the resource, and a User's groups as JSON.
pub(super) fn raw_with_groups(row: &Row<'_>) -> rusqlite::Result<(RawRow, Option<String>)> {
    Ok((raw(row)?, if row.as_ref().column_count() > 6 { row.get(6)? } else { None }))
}

/// The columns a resource is read with (see [`raw`]). With relations, a User's groups come
/// as a seventh, JSON column (`[[id, display, folded display], …]`): a point read of a User
/// with its groups is one statement. They are put in display-name order when decoded: an
/// ORDER BY inside the aggregate costs a sorter for every row. A Group's members are read
/// apart ([`relations::load`]): there may be 100,000 of them.
///
/// A Group comes with whether any binding names it (two primary-key lookups): the answer
/// of an unbound group, nearly every one, then needs no read of the bindings. During
/// `member-add-remove` that read was a tenth of the server's CPU.
pub(super) fn columns(rt: ResourceType, with_relations: bool) -> &'static str {
    const COMMON: &str = "r.id, r.data, r.version, r.created_at, r.updated_at";
    static GROUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{COMMON}, (EXISTS (SELECT 1 FROM group_role_bindings b WHERE b.tenant_id = r.tenant_id AND b.group_id = r.id) \
             OR EXISTS (SELECT 1 FROM group_project_bindings b WHERE b.tenant_id = r.tenant_id AND b.group_id = r.id)) \
             AS bound"
        )
    });
    static USER: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        let plain = format!("{COMMON}{}", standing_of(ResourceType::User));
        let with_groups = format!(
            "{plain}, (SELECT json_group_array(json_array(g.id, g.display_name, g.display_name_lower)) \
             FROM group_members m JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
             WHERE m.tenant_id = r.tenant_id AND m.member_id = r.id)"
        );
        [plain, with_groups]
    });
    match rt {
        ResourceType::User => &USER[usize::from(with_relations)],
        ResourceType::Group => &GROUP,
    }
}

/// Whether a read with relations of a resource of this type is one statement (a User and
/// its groups), or two (a Group, then its members), best run on one snapshot.
pub fn reads_at_once(rt: ResourceType, with_relations: bool) -> bool {
    rt == ResourceType::User || !with_relations
}

/// Decodes a row of [`columns`]; a User's groups are set when it has the column.
pub(super) fn decode_with_groups(rt: ResourceType, (row, groups): (RawRow, Option<String>)) -> Result<StoredResource> {
    let mut stored = row.decode(rt)?;
    if let Some(json) = groups {
        let mut found: Vec<(String, String, String)> =
            serde_json::from_str(&json).map_err(|_| Error::Storage("unreadable groups of a User".into()))?;
        found.sort_by(|a, b| (&a.2, &a.0).cmp(&(&b.2, &b.0)));
        stored.groups = Some(found.into_iter().map(|(value, display, _)| GroupRef { value, display }).collect());
    }
    Ok(stored)
}

fn select_by_id(rt: ResourceType, with_relations: bool) -> &'static str {
    static USER: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [false, true].map(|with_relations| {
            format!(
                "SELECT {} FROM users r WHERE r.tenant_id = ? AND r.id = ? AND r.state <> 'deleted'",
                columns(ResourceType::User, with_relations)
            )
        })
    });
    static GROUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {} FROM groups r WHERE r.tenant_id = ? AND r.id = ?", columns(ResourceType::Group, false))
    });
    match rt {
        ResourceType::User => &USER[usize::from(with_relations)],
        ResourceType::Group => &GROUP,
    }
}

pub fn get(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Result<Option<StoredResource>> {
    let row = conn
        .prepare_cached(select_by_id(rt, with_relations))
        .and_then(|mut s| s.query_row(params![tenant.0, id], raw_with_groups).optional())
        .map_err(sqlite_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut stored = [decode_with_groups(rt, row)?];
    if !reads_at_once(rt, with_relations) {
        relations::load(conn, tenant, &mut stored)?;
    }
    let [stored] = stored;
    Ok(Some(stored))
}

pub fn create(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    new: NewResource,
    now: OffsetDateTime,
) -> Result<StoredResource> {
    let id = uuid::Uuid::now_v7().to_string();
    let cols = Columns::of(rt, &new.data)?;
    let json = document_json(&new.data);
    let stamp = timefmt::format(now);
    let inserted = match rt {
        ResourceType::User => conn
            .prepare_cached(
                "INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 'active', ?, 1, ?, ?)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    tenant.0,
                    id,
                    cols.user_name,
                    cols.name_lower(),
                    cols.external_id,
                    cols.active,
                    json,
                    stamp,
                    stamp
                ])
            }),
        ResourceType::Group => conn
            .prepare_cached(
                "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, external_id, data, version, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)",
            )
            .and_then(|mut s| {
                s.execute(params![tenant.0, id, cols.display_name, cols.name_lower(), cols.external_id, json, stamp, stamp])
            }),
    };
    if let Err(e) = inserted {
        return Err(explain_conflict(conn, tenant, rt, &id, &cols, sqlite_error(e)));
    }
    relations::insert_emails(conn, tenant, &id, &cols.emails)?;
    let mut stored = StoredResource {
        resource_type: rt,
        id,
        data: new.data.into(),
        meta: Meta { created: now, last_modified: now, version: 1 },
        members: None,
        groups: None,
        standing: None,
        // No binding can name a group that did not exist a moment ago.
        bound: (rt == ResourceType::Group).then_some(false),
    };
    match (rt, new.members) {
        (ResourceType::Group, Some(members)) if !members.is_empty() => {
            relations::apply(conn, tenant, &stored.id, &[MemberOp::Add(members)])?;
            relations::load(conn, tenant, std::slice::from_mut(&mut stored))?;
        }
        // Nothing can refer to a resource that did not exist a moment ago.
        (ResourceType::Group, _) => stored.members = Some(Vec::new()),
        (ResourceType::User, _) => stored.groups = Some(Vec::new()),
    }
    Ok(stored)
}

/// What an update asks for, beyond which resource.
pub struct Change {
    pub precondition: Precondition,
    pub mutation: Mutation,
    pub with_relations: bool,
}

pub fn update(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    change: Change,
    now: OffsetDateTime,
) -> Result<StoredResource> {
    let current = get(conn, tenant, rt, id, false)?.ok_or_else(|| not_found(rt, id))?;
    if !change.precondition.allows(current.meta.version) {
        return Err(Error::VersionMismatch);
    }
    let mut data = current.data;
    let before = Columns::of(rt, &data)?;
    let member_ops = (change.mutation)(&mut data)?;
    let cols = Columns::of(rt, &data)?;
    let version = current.meta.version + 1;
    let stamp = timefmt::format(now);
    let json = document_json(&data);
    let updated = match rt {
        ResourceType::User => conn
            .prepare_cached(
                "UPDATE users SET user_name = ?, user_name_lower = ?, external_id = ?, active = ?, data = ?, version = ?, updated_at = ? \
                 WHERE tenant_id = ? AND id = ?",
            )
            .and_then(|mut s| {
                s.execute(params![
                    cols.user_name,
                    cols.name_lower(),
                    cols.external_id,
                    cols.active,
                    json,
                    version,
                    stamp,
                    tenant.0,
                    id
                ])
            }),
        // SQLite rewrites the entries of every index on a column an UPDATE sets, changed or
        // not: a change of members (the most frequent write to a group) leaves the unique
        // name and the external id, and their two indexes, alone.
        ResourceType::Group if before.name_lower() == cols.name_lower() && before.external_id == cols.external_id => conn
            .prepare_cached(
                "UPDATE groups SET display_name = ?, data = ?, version = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
            )
            .and_then(|mut s| s.execute(params![cols.display_name, json, version, stamp, tenant.0, id])),
        ResourceType::Group => conn
            .prepare_cached(
                "UPDATE groups SET display_name = ?, display_name_lower = ?, external_id = ?, data = ?, version = ?, updated_at = ? \
                 WHERE tenant_id = ? AND id = ?",
            )
            .and_then(|mut s| {
                s.execute(params![cols.display_name, cols.name_lower(), cols.external_id, json, version, stamp, tenant.0, id])
            }),
    };
    if let Err(e) = updated {
        return Err(explain_conflict(conn, tenant, rt, id, &cols, sqlite_error(e)));
    }
    // The e-mail index is rewritten only when the e-mails changed (PATCH of `active` is the
    // most frequent write, and leaves them alone).
    if rt == ResourceType::User && before.emails != cols.emails {
        relations::write_emails(conn, tenant, id, &cols.emails)?;
    }
    relations::apply(conn, tenant, id, &member_ops)?;
    let mut stored = [StoredResource {
        resource_type: rt,
        id: id.to_owned(),
        data,
        meta: Meta { created: current.meta.created, last_modified: now, version },
        members: None,
        groups: None,
        standing: None,
        // Read in this same write: a SCIM write changes no binding.
        bound: current.bound,
    }];
    if change.with_relations {
        relations::load(conn, tenant, &mut stored)?;
    }
    let [stored] = stored;
    Ok(stored)
}

pub fn delete(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    precondition: &Precondition,
    now: OffsetDateTime,
) -> Result<()> {
    let current = get(conn, tenant, rt, id, false)?.ok_or_else(|| not_found(rt, id))?;
    if !precondition.allows(current.meta.version) {
        return Err(Error::VersionMismatch);
    }
    // A deleted resource is a member of nothing (RFC 7644 §3.6).
    conn.prepare_cached("DELETE FROM group_members WHERE tenant_id = ? AND member_id = ?")
        .and_then(|mut s| s.execute(params![tenant.0, id]))
        .map_err(sqlite_error)?;
    match rt {
        // People are archived: the lifecycle can restore them.
        ResourceType::User => {
            relations::write_emails(conn, tenant, id, &[])?;
            conn.prepare_cached(
                "UPDATE users SET state = 'deleted', version = version + 1, updated_at = ? WHERE tenant_id = ? AND id = ?",
            )
            .and_then(|mut s| s.execute(params![timefmt::format(now), tenant.0, id]))
            .map_err(sqlite_error)?;
        }
        ResourceType::Group => {
            conn.prepare_cached("DELETE FROM groups WHERE tenant_id = ? AND id = ?")
                .and_then(|mut s| s.execute(params![tenant.0, id]))
                .map_err(sqlite_error)?;
        }
    }
    Ok(())
}

/// Turns a unique violation into a message naming the attribute that clashed. SQLite does
/// not say which constraint failed in a portable way, so ask the data instead.
fn explain_conflict(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    cols: &Columns,
    error: Error,
) -> Error {
    if !matches!(error, Error::Uniqueness(_)) {
        return error;
    }
    let (column, label) = name_column(rt);
    let sql =
        format!("SELECT 1 FROM {} r WHERE r.tenant_id = ? AND r.{column} = ? AND r.id <> ?{}", table(rt), live(rt));
    let clash = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params![tenant.0, cols.name_lower(), id], |_| Ok(())).optional());
    match clash {
        Ok(Some(())) => Error::Uniqueness(format!("a {} with this {label} already exists", rt.name())),
        _ => Error::Uniqueness(format!("a {} with this externalId already exists", rt.name())),
    }
}
