//! A tenant's roles and their permissions, and [`RolesCache`], which keeps them in memory
//! between transactions, keyed by the tenant's `roles_version`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::domain::roles::{builtin_roles, Role};
use crate::domain::Result;

use super::query::{req_text, Sql};
use super::tx::SqlTx;
use super::Backend;

/// A tenant's roles, read at one `roles_version`.
type Versioned = (i64, Arc<Vec<Role>>);

/// Every tenant's roles as last read, with the `roles_version` they were read at.
#[derive(Default)]
pub struct RolesCache(Mutex<HashMap<String, Versioned>>);

impl RolesCache {
    pub(super) fn get(&self, tenant: &str, version: i64) -> Option<Arc<Vec<Role>>> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.get(tenant).filter(|(v, _)| *v == version).map(|(_, roles)| roles.clone())
    }

    pub(super) fn put(&self, tenant: &str, version: i64, roles: &Arc<Vec<Role>>) {
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Tenants are few; the cap only guards memory.
        if known.len() >= 10_000 {
            known.clear();
        }
        known.insert(tenant.to_owned(), (version, roles.clone()));
    }
}

/// Stores the role, its permissions replacing those it had.
pub async fn write<D: Backend>(tx: &mut SqlTx<D>, role: &Role) -> Result<()> {
    let t = tx.tenant.clone();
    Sql::<D>::new("INSERT INTO roles (tenant_id, name, description, builtin) VALUES (")
        .text(t.clone())
        .sql(", ")
        .text(role.name.clone())
        .sql(", ")
        .text(role.description.clone())
        .sql(", ")
        .flag(role.builtin)
        .sql(") ON CONFLICT (tenant_id, name) DO UPDATE SET description = excluded.description")
        .run(tx.conn())
        .await?;
    Sql::<D>::new("DELETE FROM role_permissions WHERE tenant_id = ")
        .text(t.clone())
        .sql(" AND role = ")
        .text(role.name.clone())
        .run(tx.conn())
        .await?;
    for (kind, list) in [("default", &role.defaults), ("grantable", &role.grantable)] {
        for p in list {
            Sql::<D>::new("INSERT INTO role_permissions (tenant_id, role, permission, kind) VALUES (")
                .text(t.clone())
                .sql(", ")
                .text(role.name.clone())
                .sql(", ")
                .text(p.clone())
                .sql(", ")
                .text(kind)
                .sql(") ON CONFLICT DO NOTHING")
                .run(tx.conn())
                .await?;
        }
    }
    Ok(())
}

/// The tenant's roles with their permissions, in one statement.
pub async fn read<D: Backend>(tx: &mut SqlTx<D>) -> Result<Vec<Role>> {
    let rows = Sql::<D>::new(
        "SELECT r.name, r.description, r.builtin, p.permission, p.kind FROM roles r \
         LEFT JOIN role_permissions p ON p.tenant_id = r.tenant_id AND p.role = r.name WHERE r.tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" ORDER BY r.builtin DESC, r.name, p.permission")
    .rows(tx.conn())
    .await?;
    let mut roles: Vec<Role> = Vec::new();
    for r in &rows {
        let name = req_text(r, 0)?;
        if roles.last().is_none_or(|last| last.name != name) {
            roles.push(Role {
                name,
                description: req_text(r, 1)?,
                builtin: r.int(2)?.unwrap_or(0) != 0,
                defaults: Vec::new(),
                grantable: Vec::new(),
            });
        }
        let role = roles.last_mut().expect("pushed above");
        if let (Some(permission), Some(kind)) = (r.text(3)?, r.text(4)?) {
            if kind == "default" {
                role.defaults.push(permission);
            } else {
                role.grantable.push(permission);
            }
        }
    }
    if roles.is_empty() {
        // Nobody wrote to this tenant yet: its first writer will store these.
        return Ok(builtin_roles());
    }
    Ok(roles)
}

/// Deletes the role; its permissions go with it (a foreign key's cascade).
pub async fn delete<D: Backend>(tx: &mut SqlTx<D>, name: &str) -> Result<()> {
    Sql::<D>::new("DELETE FROM roles WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND name = ")
        .text(name)
        .run(tx.conn())
        .await?;
    Ok(())
}

/// Whether anyone holds the role, by hand or through a group binding. On SQLite no index leads
/// with a person's role (every create would write one more b-tree for this rare check), so
/// the tenant's people are read until the first holder.
pub async fn in_use<D: Backend>(tx: &mut SqlTx<D>, name: &str) -> Result<bool> {
    let t = tx.tenant.clone();
    let rows = Sql::<D>::new("SELECT 1 FROM group_role_bindings WHERE tenant_id = ")
        .text(t.clone())
        .sql(" AND company_role = ")
        .text(name)
        .sql(" UNION ALL SELECT 1 FROM people WHERE tenant_id = ")
        .text(t)
        .sql(" AND company_role = ")
        .text(name)
        .sql(" LIMIT 1")
        .rows(tx.conn())
        .await?;
    Ok(!rows.is_empty())
}
