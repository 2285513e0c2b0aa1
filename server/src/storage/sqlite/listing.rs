//! Listing through sqlx: the list queries are built dynamically with `QueryBuilder` (filters,
//! sorting, keyset paging), written once for both databases. One read transaction per list,
//! so a page, its total and its relations agree.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool};

use crate::domain::resource::{ListQuery, Page, SortKey, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::Result;
use crate::storage::db_error;
use crate::storage::rows::{count_matching, select_page, sort_key_from_text, sort_type, split_keyset_page, RawRow};

use super::listing_relations as relations;

pub async fn list(pool: &SqlitePool, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let total: i64 = if query.count_total {
        let mut count = count_matching::<Sqlite>(tenant, rt, query)?;
        count.build().fetch_one(&mut *tx).await.map_err(db_error)?.try_get(0).map_err(db_error)?
    } else {
        0
    };

    let mut items = Vec::new();
    let mut next = None;
    let wanted = query.keyset.is_some() || (query.start_index as i64) <= total;
    if query.count > 0 && wanted {
        let mut select = select_page::<Sqlite>("", tenant, rt, query)?;
        let rows = select.build().fetch_all(&mut *tx).await.map_err(db_error)?;
        if query.keyset.is_some() {
            let sort_ty = sort_type::<Sqlite>(rt, query)?;
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

fn decode(rt: ResourceType, row: &SqliteRow) -> Result<StoredResource> {
    RawRow {
        id: row.try_get("id").map_err(db_error)?,
        data: row.try_get("data").map_err(db_error)?,
        version: row.try_get("version").map_err(db_error)?,
        created_at: row.try_get("created_at").map_err(db_error)?,
        updated_at: row.try_get("updated_at").map_err(db_error)?,
        // Selected for Users only (see `standing_of`).
        standing: row.try_get("standing").ok().flatten(),
        bound: row.try_get("bound").ok().flatten(),
    }
    .decode(rt)
}
