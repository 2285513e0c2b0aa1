//! Group members and user groups for a page listed through sqlx (the dynamic list queries),
//! read in the list's own transaction so that the page and its relations agree.

use std::collections::HashMap;

use sqlx::{Row, SqliteConnection};

use crate::domain::resource::{GroupRef, Member, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::Result;
use crate::storage::db_error;

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
