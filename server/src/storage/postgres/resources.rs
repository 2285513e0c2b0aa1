//! Users and groups in PostgreSQL: each use case is one transaction. Writes lock the row
//! they change (`FOR UPDATE`) before reading it, so a read-modify-write through one
//! replica waits for one through another instead of overwriting it; reads run in one
//! repeatable-read snapshot, so a page and its total agree.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use time::OffsetDateTime;

use crate::domain::patch::MemberOp;
use crate::domain::resource::{
    ListQuery, Meta, Mutation, NewResource, Page, Precondition, SortKey, StoredResource, TenantId,
};
use crate::domain::schema::ResourceType;
use crate::domain::store::Place;
use crate::domain::{Error, Result};
use crate::storage::rows::{
    count_matching, document_json, live, name_column, not_found, select_page, sort_key_from_text, sort_type,
    split_keyset_page, standing_of, table, Columns, RawRow,
};
use crate::storage::{db_error, timefmt};

use super::relations;

/// Whether a read locks the row it finds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    ForUpdate,
}

/// A read-only transaction on one snapshot.
pub async fn begin_read(pool: &PgPool) -> Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(tx)
}

pub async fn create(
    pool: &PgPool,
    tenant: &TenantId,
    rt: ResourceType,
    new: NewResource,
    now: OffsetDateTime,
    place: Option<Place>,
) -> Result<StoredResource> {
    let id = uuid::Uuid::now_v7().to_string();
    let cols = Columns::of(rt, &new.data)?;
    let json = document_json(&new.data);
    let stamp = timefmt::format(now);
    let mut tx = pool.begin().await.map_err(db_error)?;
    let inserted = match rt {
        ResourceType::User => sqlx::query(
            "INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7::json, 1, $8, $8)",
        )
        .bind(&tenant.0)
        .bind(&id)
        .bind(cols.user_name.as_deref())
        .bind(cols.name_lower())
        .bind(cols.external_id.as_deref())
        .bind(cols.active),
        ResourceType::Group => sqlx::query(
            "INSERT INTO groups (tenant_id, id, display_name, display_name_lower, external_id, data, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6::json, 1, $7, $7)",
        )
        .bind(&tenant.0)
        .bind(&id)
        .bind(cols.display_name.as_deref())
        .bind(cols.name_lower())
        .bind(cols.external_id.as_deref()),
    }
    .bind(&json)
    .bind(&stamp)
    .execute(&mut *tx)
    .await;
    inserted.map_err(|e| conflict(rt, e))?;
    // Its row is in the unique indexes: a later create with the same name waits for this
    // transaction, and fails once it commits.
    drop(place);
    relations::write_emails(&mut tx, tenant, &id, &cols.emails).await?;
    if let Some(members) = new.members {
        relations::apply(&mut tx, tenant, &id, &[MemberOp::Add(members)]).await?;
    }
    let mut stored = StoredResource {
        resource_type: rt,
        id,
        data: new.data.into(),
        meta: Meta { created: now, last_modified: now, version: 1 },
        members: None,
        groups: None,
        standing: None,
        bound: None,
    };
    relations::load(&mut tx, tenant, std::slice::from_mut(&mut stored)).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(stored)
}

pub async fn get(
    conn: &mut PgConnection,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
    lock: Lock,
) -> Result<Option<StoredResource>> {
    // A read renders the resource, which for a User wants its standing; a locking read is
    // the start of a write and renders nothing.
    let (standing, lock) = match lock {
        Lock::ForUpdate => ("", " FOR UPDATE"),
        _ => (standing_of(rt), ""),
    };
    let sql = format!(
        "SELECT r.id, r.data::text AS data, r.version, r.created_at, r.updated_at{standing} FROM {} r \
         WHERE r.tenant_id = $1 AND r.id = $2{}{lock}",
        table(rt),
        live(rt),
    );
    let row = sqlx::query(&sql).bind(&tenant.0).bind(id).fetch_optional(&mut *conn).await.map_err(db_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut stored = [decode(rt, &row)?];
    if with_relations {
        relations::load(conn, tenant, &mut stored).await?;
    }
    let [stored] = stored;
    Ok(Some(stored))
}

/// What an update asks for, beyond which resource.
pub struct Change<'a> {
    pub precondition: &'a Precondition,
    pub mutation: Mutation,
    pub with_relations: bool,
}

pub async fn update(
    pool: &PgPool,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    change: Change<'_>,
    now: OffsetDateTime,
) -> Result<StoredResource> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = get(&mut tx, tenant, rt, id, false, Lock::ForUpdate).await?.ok_or_else(|| not_found(rt, id))?;
    if !change.precondition.allows(current.meta.version) {
        return Err(Error::VersionMismatch);
    }
    let mut data = current.data;
    let member_ops = (change.mutation)(&mut data)?;
    let cols = Columns::of(rt, &data)?;
    let version = current.meta.version + 1;
    let stamp = timefmt::format(now);
    let json = document_json(&data);
    let updated = match rt {
        ResourceType::User => sqlx::query(
            "UPDATE users SET user_name = $3, user_name_lower = $4, external_id = $5, active = $6, data = $7::json, version = $8, updated_at = $9 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&tenant.0)
        .bind(id)
        .bind(cols.user_name.as_deref())
        .bind(cols.name_lower())
        .bind(cols.external_id.as_deref())
        .bind(cols.active),
        ResourceType::Group => sqlx::query(
            "UPDATE groups SET display_name = $3, display_name_lower = $4, external_id = $5, data = $6::json, version = $7, updated_at = $8 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&tenant.0)
        .bind(id)
        .bind(cols.display_name.as_deref())
        .bind(cols.name_lower())
        .bind(cols.external_id.as_deref()),
    }
    .bind(&json)
    .bind(version)
    .bind(&stamp)
    .execute(&mut *tx)
    .await;
    updated.map_err(|e| conflict(rt, e))?;
    if rt == ResourceType::User {
        relations::write_emails(&mut tx, tenant, id, &cols.emails).await?;
    }
    relations::apply(&mut tx, tenant, id, &member_ops).await?;
    let mut stored = [StoredResource {
        resource_type: rt,
        id: id.to_owned(),
        data,
        meta: Meta { created: current.meta.created, last_modified: now, version },
        members: None,
        groups: None,
        standing: None,
        bound: None,
    }];
    if change.with_relations {
        relations::load(&mut tx, tenant, &mut stored).await?;
    }
    tx.commit().await.map_err(db_error)?;
    let [stored] = stored;
    Ok(stored)
}

pub async fn delete(
    pool: &PgPool,
    tenant: &TenantId,
    rt: ResourceType,
    id: &str,
    precondition: &Precondition,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let current = get(&mut tx, tenant, rt, id, false, Lock::ForUpdate).await?.ok_or_else(|| not_found(rt, id))?;
    if !precondition.allows(current.meta.version) {
        return Err(Error::VersionMismatch);
    }
    // A deleted resource is a member of nothing (RFC 7644 §3.6).
    sqlx::query("DELETE FROM group_members WHERE tenant_id = $1 AND member_id = $2")
        .bind(&tenant.0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    match rt {
        // People are archived: the lifecycle can restore them.
        ResourceType::User => {
            relations::write_emails(&mut tx, tenant, id, &[]).await?;
            sqlx::query(
                "UPDATE users SET state = 'deleted', version = version + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(&tenant.0)
            .bind(id)
            .bind(timefmt::format(now))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        ResourceType::Group => {
            sqlx::query("DELETE FROM groups WHERE tenant_id = $1 AND id = $2")
                .bind(&tenant.0)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
    }
    tx.commit().await.map_err(db_error)
}

pub async fn list(pool: &PgPool, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
    let mut tx = begin_read(pool).await?;
    let total: i64 = if query.count_total {
        let mut count = count_matching::<Postgres>(tenant, rt, query)?;
        count.build().fetch_one(&mut *tx).await.map_err(db_error)?.try_get(0).map_err(db_error)?
    } else {
        0
    };

    let mut items = Vec::new();
    let mut next = None;
    let wanted = query.keyset.is_some() || (query.start_index as i64) <= total;
    if query.count > 0 && wanted {
        let mut select = select_page::<Postgres>("", tenant, rt, query)?;
        let rows = select.build().fetch_all(&mut *tx).await.map_err(db_error)?;
        if query.keyset.is_some() {
            let sort_ty = sort_type::<Postgres>(rt, query)?;
            let keyed = rows
                .iter()
                .map(|row| {
                    let key = match sort_ty {
                        Some(ty) => sort_key_from_text(ty, row.try_get("sort_key").map_err(db_error)?),
                        None => SortKey::Null,
                    };
                    Ok((decode(rt, row)?, key))
                })
                .collect::<Result<Vec<_>>>()?;
            (items, next) = split_keyset_page(query, keyed, sort_ty.is_some());
        } else {
            items = rows.iter().map(|row| decode(rt, row)).collect::<Result<Vec<_>>>()?;
        }
        if query.with_relations {
            relations::load(&mut tx, tenant, &mut items).await?;
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(Page { total: u64::try_from(total).unwrap_or(0), items, next })
}

fn decode(rt: ResourceType, row: &PgRow) -> Result<StoredResource> {
    RawRow {
        id: row.try_get("id").map_err(db_error)?,
        data: row.try_get("data").map_err(db_error)?,
        version: row.try_get("version").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        updated_at: row.try_get("updated_at").map_err(db_error)?,
        // Selected for Users only (see `standing_of`).
        standing: row.try_get("standing").ok().flatten(),
        bound: None,
    }
    .decode(rt)
}

/// Maps a failed insert or update, naming the attribute that clashed: PostgreSQL reports
/// the unique index that was violated (SQLite does not, so its store asks the data).
fn conflict(rt: ResourceType, error: sqlx::Error) -> Error {
    let index = match &error {
        sqlx::Error::Database(d) if d.is_unique_violation() => d.constraint().map(str::to_owned),
        _ => return db_error(error),
    };
    let label = match index.as_deref() {
        Some(i) if i.ends_with("_external_id") => "externalId",
        _ => name_column(rt).1,
    };
    Error::Uniqueness(format!("a {} with this {label} already exists", rt.name()))
}
