//! Group membership and the e-mail index in PostgreSQL: the rows beside a resource's JSON
//! document. Membership changes are set-based (one statement per operation over `unnest`
//! of bound arrays, whatever the number of members), so adding one member to a group of
//! 100,000 touches one row.

use std::collections::HashMap;

use sqlx::{PgConnection, Row};

use crate::domain::normalize::MemberRef;
use crate::domain::patch::MemberOp;
use crate::domain::resource::{GroupRef, Member, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};
use crate::storage::db_error;

/// Replaces the lower-cased e-mail index rows of one user.
pub async fn write_emails(conn: &mut PgConnection, tenant: &TenantId, user_id: &str, emails: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM user_emails WHERE tenant_id = $1 AND user_id = $2")
        .bind(&tenant.0)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if emails.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO user_emails (tenant_id, user_id, position, value_lower) \
         SELECT $1, $2, e.ord - 1, e.value FROM unnest($3::text[]) WITH ORDINALITY AS e(value, ord)",
    )
    .bind(&tenant.0)
    .bind(user_id)
    .bind(emails)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Applies membership operations to one group, in order. The caller holds the group's row
/// lock, so concurrent changes of one group's members apply one after the other.
pub async fn apply(conn: &mut PgConnection, tenant: &TenantId, group_id: &str, ops: &[MemberOp]) -> Result<()> {
    for op in ops {
        match op {
            MemberOp::Add(members) => add(conn, tenant, group_id, members).await?,
            MemberOp::Remove(ids) => {
                sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND member_id = ANY($3)")
                    .bind(&tenant.0)
                    .bind(group_id)
                    .bind(ids)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
            }
            MemberOp::Clear => {
                sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2")
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

async fn add(conn: &mut PgConnection, tenant: &TenantId, group_id: &str, members: &[MemberRef]) -> Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    if members.iter().any(|m| m.value == group_id) {
        return Err(Error::InvalidValue("a group cannot be a member of itself".into()));
    }
    let ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
    // Hold the members still (in id order, so that two requests lock in the same order):
    // a concurrent DELETE of one of them waits for this transaction, or this one sees it
    // deleted, and never leaves a membership of a deleted resource behind.
    for locking in [
        "SELECT 1 FROM users WHERE tenant_id = $1 AND id = ANY($2) AND state <> 'deleted' ORDER BY id FOR SHARE",
        "SELECT 1 FROM groups WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR SHARE",
    ] {
        sqlx::query(locking).bind(&tenant.0).bind(&ids).execute(&mut *conn).await.map_err(db_error)?;
    }
    // Every member must be a live user or a group of this tenant.
    let missing = sqlx::query(
        "SELECT m.id FROM unnest($2::text[]) AS m(id) \
         WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.id = m.id AND u.state <> 'deleted') \
           AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.tenant_id = $1 AND g.id = m.id) LIMIT 1",
    )
    .bind(&tenant.0)
    .bind(&ids)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    if let Some(row) = missing {
        let id: String = row.try_get("id").map_err(db_error)?;
        return Err(Error::InvalidValue(format!("member `{id}` is not a User or Group of this tenant")));
    }
    let kinds: Vec<Option<&str>> = members.iter().map(|m| m.kind.as_deref()).collect();
    let displays: Vec<Option<&str>> = members.iter().map(|m| m.display.as_deref()).collect();
    // One statement for any number of members; re-adding a member keeps the first row.
    sqlx::query(
        "INSERT INTO group_members (tenant_id, group_id, member_id, member_type, declared_type, display) \
         SELECT $1, $2, m.id, CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = $1 AND u.id = m.id) \
                                   THEN 'User' ELSE 'Group' END, m.declared, m.display \
         FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS m(id, declared, display, ord) \
         ORDER BY m.ord \
         ON CONFLICT DO NOTHING",
    )
    .bind(&tenant.0)
    .bind(group_id)
    .bind(&ids)
    .bind(&kinds)
    .bind(&displays)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Fills in `members` (groups) or `groups` (users) for a batch of resources of one type,
/// with one query for the whole batch.
pub async fn load(conn: &mut PgConnection, tenant: &TenantId, items: &mut [StoredResource]) -> Result<()> {
    let Some(first) = items.first() else { return Ok(()) };
    let rt = first.resource_type;
    let ids: Vec<&str> = items.iter().map(|r| r.id.as_str()).collect();
    match rt {
        ResourceType::Group => {
            let rows = sqlx::query(
                "SELECT m.group_id, m.member_id, m.member_type, m.declared_type, m.display FROM group_members m \
                 WHERE m.tenant_id = $1 AND m.group_id = ANY($2) ORDER BY m.group_id, m.member_id",
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
                 WHERE m.tenant_id = $1 AND m.member_id = ANY($2) \
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
