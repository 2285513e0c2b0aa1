//! Group membership and the e-mail index: the rows beside a resource's JSON document.
//! Membership changes are set-based (one statement per operation, whatever the number of
//! members), so adding one member to a group of 100,000 touches one row.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection};

use crate::domain::normalize::MemberRef;
use crate::domain::patch::MemberOp;
use crate::domain::resource::{GroupRef, Member, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};
use crate::storage::db_error;

/// Replaces the lower-cased e-mail index rows of one user.
pub async fn write_emails(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    user_id: &str,
    emails: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM user_emails WHERE tenant_id = ? AND user_id = ?")
        .bind(&tenant.0)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if emails.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_emails (tenant_id, user_id, position, value_lower) SELECT ?, ?, j.key, j.value FROM json_each(?) j",
    )
    .bind(&tenant.0)
    .bind(user_id)
    .bind(serde_json::to_string(emails).unwrap_or_default())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Applies membership operations to one group, in order.
pub async fn apply(conn: &mut SqliteConnection, tenant: &TenantId, group_id: &str, ops: &[MemberOp]) -> Result<()> {
    for op in ops {
        match op {
            MemberOp::Add(members) => add(conn, tenant, group_id, members).await?,
            MemberOp::Remove(ids) => {
                sqlx::query(
                    "DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id IN (SELECT value FROM json_each(?))",
                )
                .bind(&tenant.0)
                .bind(group_id)
                .bind(serde_json::to_string(ids).unwrap_or_default())
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            }
            MemberOp::Clear => {
                sqlx::query("DELETE FROM group_members WHERE tenant_id = ? AND group_id = ?")
                    .bind(&tenant.0)
                    .bind(group_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
            }
        }
    }
    Ok(())
}

async fn add(conn: &mut SqliteConnection, tenant: &TenantId, group_id: &str, members: &[MemberRef]) -> Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    if members.iter().any(|m| m.value == group_id) {
        return Err(Error::InvalidValue("a group cannot be a member of itself".into()));
    }
    let ids = serde_json::to_string(&members.iter().map(|m| m.value.as_str()).collect::<Vec<_>>()).unwrap_or_default();
    let rows = serde_json::to_string(
        &members.iter().map(|m| serde_json::json!([m.value, m.kind, m.display])).collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    // Every member must be a live user or a group of this tenant.
    let missing = sqlx::query(
        "SELECT j.value AS id FROM json_each(?1) j \
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?2 AND u.id = j.value AND u.state <> 'deleted') \
           AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = ?2 AND g.id = j.value) LIMIT 1",
    )
    .bind(&ids)
    .bind(&tenant.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    if let Some(row) = missing {
        let id: String = row.try_get("id").map_err(db_error)?;
        return Err(Error::InvalidValue(format!("member `{id}` is not a User or Group of this tenant")));
    }
    // One statement for any number of members; re-adding a member keeps the first row.
    sqlx::query(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type, declared_type, display) \
         SELECT ?1, ?2, m.id, CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ?1 AND u.id = m.id) \
                                   THEN 'User' ELSE 'Group' END, m.declared, m.display \
         FROM (SELECT json_extract(j.value, '$[0]') AS id, json_extract(j.value, '$[1]') AS declared, \
                      json_extract(j.value, '$[2]') AS display FROM json_each(?3) j) m \
         WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(&tenant.0)
    .bind(group_id)
    .bind(&rows)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Fills in `members` (groups) or `groups` (users) for a batch of resources of one type,
/// with one query for the whole batch.
pub async fn load(conn: &mut SqliteConnection, tenant: &TenantId, items: &mut [StoredResource]) -> Result<()> {
    let Some(first) = items.first() else { return Ok(()) };
    let rt = first.resource_type;
    let ids = serde_json::to_string(&items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>()).unwrap_or_default();
    match rt {
        ResourceType::Group => {
            let rows = sqlx::query(
                "SELECT m.group_id, m.member_id, m.member_type, m.declared_type, m.display FROM group_members m \
                 WHERE m.tenant_id = ? AND m.group_id IN (SELECT value FROM json_each(?)) \
                 ORDER BY m.group_id, m.member_id",
            )
            .bind(&tenant.0)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
            let mut by_group: HashMap<String, Vec<Member>> = HashMap::new();
            for row in rows {
                by_group.entry(row.try_get("group_id").map_err(db_error)?).or_default().push(Member {
                    value: row.try_get("member_id").map_err(db_error)?,
                    kind: row.try_get("member_type").map_err(db_error)?,
                    declared_kind: row.try_get("declared_type").map_err(db_error)?,
                    display: row.try_get("display").map_err(db_error)?,
                });
            }
            for item in items {
                item.members = Some(by_group.remove(&item.id).unwrap_or_default());
            }
        }
        ResourceType::User => {
            let rows = sqlx::query(
                "SELECT m.member_id, g.id, g.display_name FROM group_members m \
                 JOIN groups g ON g.tenant_id = m.tenant_id AND g.id = m.group_id \
                 WHERE m.tenant_id = ? AND m.member_id IN (SELECT value FROM json_each(?)) \
                 ORDER BY m.member_id, g.display_name_lower",
            )
            .bind(&tenant.0)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
            let mut by_user: HashMap<String, Vec<GroupRef>> = HashMap::new();
            for row in rows {
                by_user.entry(row.try_get("member_id").map_err(db_error)?).or_default().push(GroupRef {
                    value: row.try_get("id").map_err(db_error)?,
                    display: row.try_get("display_name").map_err(db_error)?,
                });
            }
            for item in items {
                item.groups = Some(by_user.remove(&item.id).unwrap_or_default());
            }
        }
    }
    Ok(())
}
