//! List pages that need no dynamic SQL, on prepared statements: the equality lookups
//! identity providers send before every create and on every sync, and pages of a whole
//! tenant (a cursor walk, or `startIndex` with no filter or sort). Everything else is built
//! with `QueryBuilder` in `listing`.

use rusqlite::{params, Connection};

use crate::domain::filter::{CompValue, CompareOp, Filter};
use crate::domain::resource::{Keyset, ListQuery, Page, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::Result;
use crate::storage::rows::{live, table};

use super::engine::sqlite_error;
use super::relations;
use super::resources::{columns, decode_with_groups, raw, raw_with_groups, reads_at_once};

/// Whether [`page`] answers this query (else it needs the general path).
pub fn handles(rt: ResourceType, query: &ListQuery) -> bool {
    lookup_condition(rt, query).is_some() || is_whole_tenant(query)
}

/// Whether the query is an indexed equality lookup: a few rows at most, read in µs.
pub fn is_lookup(rt: ResourceType, query: &ListQuery) -> bool {
    lookup_condition(rt, query).is_some()
}

/// The page, when [`handles`] says so.
pub fn page(conn: &Connection, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Option<Result<Page>> {
    if is_whole_tenant(query) {
        return Some(whole_tenant(conn, tenant, rt, query));
    }
    lookup(conn, tenant, rt, query)
}

fn is_whole_tenant(query: &ListQuery) -> bool {
    query.filter.is_none() && query.sort.is_none()
}

/// A page of every resource of the type, in id order: by keyset (one more row than the page,
/// to know whether another follows) or by offset.
fn whole_tenant(conn: &Connection, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
    let total: i64 = if query.count_total {
        let sql = format!("SELECT count(*) FROM {} r WHERE r.tenant_id = ?1{}", table(rt), live(rt));
        conn.prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![tenant.0], |r| r.get(0)))
            .map_err(sqlite_error)?
    } else {
        0
    };
    let count = i64::try_from(query.count).unwrap_or(i64::MAX);
    let mut items = Vec::new();
    let mut next = None;
    if count > 0 {
        let base = format!("SELECT {} FROM {} r WHERE r.tenant_id = ?1{}", columns(rt, false), table(rt), live(rt));
        let rows: Vec<StoredResource> = match &query.keyset {
            Some(after) => {
                let after_id = after.as_ref().map_or("", |k| k.id.as_str());
                let sql = format!("{base} AND r.id > ?2 ORDER BY r.id LIMIT ?3");
                collect(conn, &sql, params![tenant.0, after_id, count.saturating_add(1)], rt)?
            }
            None => {
                let offset = i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX);
                let sql = format!("{base} ORDER BY r.id LIMIT ?2 OFFSET ?3");
                collect(conn, &sql, params![tenant.0, count, offset], rt)?
            }
        };
        items = rows;
        if query.keyset.is_some() && items.len() > usize::try_from(count).unwrap_or(usize::MAX) {
            items.truncate(usize::try_from(count).unwrap_or(usize::MAX));
            next = items.last().map(|r| Keyset { sort: None, id: r.id.clone() });
        }
        if query.with_relations {
            relations::load(conn, tenant, &mut items)?;
        }
    }
    Ok(Page { total: u64::try_from(total).unwrap_or(0), items, next })
}

fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    rt: ResourceType,
) -> Result<Vec<StoredResource>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params, raw).map_err(sqlite_error)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(sqlite_error)?.decode(rt)?);
    }
    Ok(out)
}

/// The lookups identity providers send before every create and on every sync
/// (`userName eq`, `externalId eq`, `emails.value eq`, `id eq`, group `displayName eq`), on a
/// prepared statement: one indexed statement answers the page and its total. `None` when the
/// query is anything else (the general path builds it with `QueryBuilder`).
fn lookup(conn: &Connection, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Option<Result<Page>> {
    let (sql, bound) = lookup_statement(rt, query)?;
    Some(run_lookup(conn, tenant, rt, query, &sql, &bound))
}

/// The lookup's statement (`?1` the tenant) and the value bound as `?2`.
pub(super) fn lookup_statement(rt: ResourceType, query: &ListQuery) -> Option<(String, String)> {
    let (condition, bound) = lookup_condition(rt, query)?;
    // A User's groups come with it, in the same statement.
    let columns = columns(rt, query.with_relations);
    // The unique columns find one row at most: sorting it would only cost a sorter.
    let order = if condition.contains("user_emails") { " ORDER BY r.id" } else { "" };
    let sql =
        format!("SELECT {columns} FROM {} r WHERE r.tenant_id = ?1 AND {condition}{}{order}", table(rt), live(rt));
    Some((sql, bound))
}

fn lookup_condition(rt: ResourceType, query: &ListQuery) -> Option<(&'static str, String)> {
    let Some(Filter::Compare(path, CompareOp::Eq, CompValue::String(value))) = &query.filter else { return None };
    if query.sort.is_some() || query.keyset.is_some() || path.urn.is_some() {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    Some(match (rt, name.as_str(), sub.as_deref()) {
        (_, "id", None) => ("r.id = ?2", value.clone()),
        (ResourceType::User, "username", None) => ("r.user_name_lower = ?2", value.to_lowercase()),
        (ResourceType::Group, "displayname", None) => ("r.display_name_lower = ?2", value.to_lowercase()),
        (_, "externalid", None) => ("r.external_id = ?2", value.clone()),
        (ResourceType::User, "emails", Some("value")) => (
            "r.id IN (SELECT e.user_id FROM user_emails e WHERE e.tenant_id = ?1 AND e.value_lower = ?2)",
            value.to_lowercase(),
        ),
        _ => return None,
    })
}

fn run_lookup(
    conn: &Connection,
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
    sql: &str,
    bound: &str,
) -> Result<Page> {
    {
        let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
        let rows = stmt.query_map(params![tenant.0, bound], raw_with_groups).map_err(sqlite_error)?;
        let mut all = Vec::new();
        for row in rows {
            all.push(decode_with_groups(rt, row.map_err(sqlite_error)?)?);
        }
        // Few rows match an equality on these columns: page them here.
        let total = all.len() as u64;
        let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut items: Vec<StoredResource> =
            all.into_iter().skip(skip).take(usize::try_from(query.count).unwrap_or(usize::MAX)).collect();
        if !reads_at_once(rt, query.with_relations) {
            relations::load(conn, tenant, &mut items)?;
        }
        Ok(Page { total, items, next: None })
    }
}
