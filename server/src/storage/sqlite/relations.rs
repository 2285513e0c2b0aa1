//! Group membership and the e-mail index: the rows beside a resource's JSON document.
//! Membership changes are set-based (one statement per operation, whatever the number of
//! members), so adding one member to a group of 100,000 touches one row.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::normalize::MemberRef;
use crate::domain::patch::MemberOp;
use crate::domain::resource::{GroupRef, Member, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};

use super::engine::sqlite_error;

fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_default()
}

/// Replaces the lower-cased e-mail index rows of one user.
pub fn write_emails(conn: &Connection, tenant: &TenantId, user_id: &str, emails: &[String]) -> Result<()> {
    conn.prepare_cached("DELETE FROM user_emails WHERE tenant_id = ? AND user_id = ?")
        .and_then(|mut s| s.execute(params![tenant.0, user_id]))
        .map_err(sqlite_error)?;
    insert_emails(conn, tenant, user_id, emails)
}

/// The e-mail index rows of a user that has none yet.
pub fn insert_emails(conn: &Connection, tenant: &TenantId, user_id: &str, emails: &[String]) -> Result<()> {
    match emails {
        [] => Ok(()),
        [one] => conn
            .prepare_cached("INSERT INTO user_emails (tenant_id, user_id, position, value_lower) VALUES (?, ?, 0, ?)")
            .and_then(|mut s| s.execute(params![tenant.0, user_id, one]))
            .map(drop)
            .map_err(sqlite_error),
        many => conn
            .prepare_cached(
                "INSERT INTO user_emails (tenant_id, user_id, position, value_lower) \
                 SELECT ?, ?, j.key, j.value FROM json_each(?) j",
            )
            .and_then(|mut s| s.execute(params![tenant.0, user_id, json_list(many)]))
            .map(drop)
            .map_err(sqlite_error),
    }
}

/// Applies membership operations to one group, in order.
pub fn apply(conn: &Connection, tenant: &TenantId, group_id: &str, ops: &[MemberOp]) -> Result<()> {
    for op in ops {
        match op {
            MemberOp::Add(members) => add(conn, tenant, group_id, members)?,
            MemberOp::Remove(ids) => remove(conn, tenant, group_id, ids)?,
            MemberOp::Clear => {
                conn.prepare_cached("DELETE FROM group_members WHERE tenant_id = ? AND group_id = ?")
                    .and_then(|mut s| s.execute(params![tenant.0, group_id]))
                    .map_err(sqlite_error)?;
            }
        }
    }
    Ok(())
}

/// One member, the most frequent change (Entra and Okta send one member an operation), is
/// one plain statement; a list goes through `json_each`, whose table and JSON parsing cost
/// more than the row itself when there is only one.
fn remove(conn: &Connection, tenant: &TenantId, group_id: &str, ids: &[String]) -> Result<()> {
    let removed = match ids {
        [] => return Ok(()),
        [one] => conn
            .prepare_cached("DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id = ?")
            .and_then(|mut s| s.execute(params![tenant.0, group_id, one])),
        many => conn
            .prepare_cached(
                "DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? \
                 AND member_id IN (SELECT value FROM json_each(?))",
            )
            .and_then(|mut s| s.execute(params![tenant.0, group_id, json_list(many)])),
    };
    removed.map(drop).map_err(sqlite_error)
}

fn add(conn: &Connection, tenant: &TenantId, group_id: &str, members: &[MemberRef]) -> Result<()> {
    if members.iter().any(|m| m.value == group_id) {
        return Err(Error::InvalidValue("a group cannot be a member of itself".into()));
    }
    // One member is plain statements, as for a removal.
    let members = match members {
        [] => return Ok(()),
        [one] => return add_one(conn, tenant, group_id, one),
        many => many,
    };
    let ids = json_list(&members.iter().map(|m| m.value.as_str()).collect::<Vec<_>>());
    let rows = json_list(&members.iter().map(|m| serde_json::json!([m.value, m.kind, m.display])).collect::<Vec<_>>());
    // Every member must be a live user or a group of this tenant.
    let missing: Option<String> = conn
        .prepare_cached(
            "SELECT j.value FROM json_each(?1) j \
             WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?2 AND u.id = j.value AND u.state <> 'deleted') \
               AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = ?2 AND g.id = j.value) LIMIT 1",
        )
        .and_then(|mut s| s.query_row(params![ids, tenant.0], |r| r.get(0)).optional())
        .map_err(sqlite_error)?;
    if let Some(id) = missing {
        return Err(Error::InvalidValue(format!("member `{id}` is not a User or Group of this tenant")));
    }
    // One statement for any number of members; re-adding a member keeps the first row.
    conn.prepare_cached(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type, declared_type, display) \
         SELECT ?1, ?2, m.id, CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?1 AND u.id = m.id) \
                                   THEN 'User' ELSE 'Group' END, m.declared, m.display \
         FROM (SELECT json_extract(j.value, '$[0]') AS id, json_extract(j.value, '$[1]') AS declared, \
                      json_extract(j.value, '$[2]') AS display FROM json_each(?3) j) m \
         WHERE true ON CONFLICT DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![tenant.0, group_id, rows]))
    .map_err(sqlite_error)?;
    Ok(())
}

/// As [`add`], for one member: what it is (a live user or a group of this tenant) in one
/// lookup, then the row.
fn add_one(conn: &Connection, tenant: &TenantId, group_id: &str, member: &MemberRef) -> Result<()> {
    let kind: Option<&str> = conn
        .prepare_cached(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?1 AND u.id = ?2 AND u.state <> 'deleted') \
                         THEN 'User' \
                         WHEN EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = ?1 AND g.id = ?2) THEN 'Group' END",
        )
        .and_then(|mut s| {
            s.query_row(params![tenant.0, member.value], |r| {
                Ok(match r.get_ref(0)?.as_str_or_null()? {
                    Some("User") => Some("User"),
                    Some(_) => Some("Group"),
                    None => None,
                })
            })
        })
        .map_err(sqlite_error)?;
    let Some(kind) = kind else {
        return Err(Error::InvalidValue(format!("member `{}` is not a User or Group of this tenant", member.value)));
    };
    // Re-adding a member keeps the first row, as for a list.
    conn.prepare_cached(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type, declared_type, display) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![tenant.0, group_id, member.value, kind, member.kind, member.display]))
    .map(drop)
    .map_err(sqlite_error)
}

/// Fills in `members` (groups) or `groups` (users) for a batch of resources of one type,
/// with one query for the whole batch.
pub fn load(conn: &Connection, tenant: &TenantId, items: &mut [StoredResource]) -> Result<()> {
    let Some(first) = items.first() else { return Ok(()) };
    let rt = first.resource_type;
    let ids = json_list(&items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>());
    match rt {
        ResourceType::Group => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT m.group_id, m.member_id, m.member_type, m.declared_type, m.display FROM group_members m \
                     WHERE m.tenant_id = ? AND m.group_id IN (SELECT value FROM json_each(?)) \
                     ORDER BY m.group_id, m.member_id",
                )
                .map_err(sqlite_error)?;
            let mut by_group: HashMap<String, Vec<Member>> = HashMap::new();
            let rows = stmt
                .query_map(params![tenant.0, ids], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        Member { value: r.get(1)?, kind: r.get(2)?, declared_kind: r.get(3)?, display: r.get(4)? },
                    ))
                })
                .map_err(sqlite_error)?;
            for row in rows {
                let (group, member) = row.map_err(sqlite_error)?;
                by_group.entry(group).or_default().push(member);
            }
            for item in items {
                item.members = Some(by_group.remove(&item.id).unwrap_or_default());
            }
        }
        ResourceType::User => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT m.member_id, g.id, g.display_name FROM group_members m \
                     JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                     WHERE m.tenant_id = ? AND m.member_id IN (SELECT value FROM json_each(?)) \
                     ORDER BY m.member_id, g.display_name_lower",
                )
                .map_err(sqlite_error)?;
            let mut by_user: HashMap<String, Vec<GroupRef>> = HashMap::new();
            let rows = stmt
                .query_map(params![tenant.0, ids], |r| {
                    Ok((r.get::<_, String>(0)?, GroupRef { value: r.get(1)?, display: r.get(2)? }))
                })
                .map_err(sqlite_error)?;
            for row in rows {
                let (user, group) = row.map_err(sqlite_error)?;
                by_user.entry(user).or_default().push(group);
            }
            for item in items {
                item.groups = Some(by_user.remove(&item.id).unwrap_or_default());
            }
        }
    }
    Ok(())
}
