//! List pages that need no dynamic SQL, on prepared statements: the equality lookups
//! identity providers send before every create and on every sync, and pages of a whole
//! tenant (a cursor walk, or `startIndex` with no filter or sort). Everything else is built
//! with `QueryBuilder` in `listing`.

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::filter::{CompValue, CompareOp, Filter};
use crate::domain::resource::{Keyset, ListQuery, Page, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::Result;
use crate::storage::rows::{live, table};

use super::engine::{on_snapshot, sqlite_error};
use super::relations;
use super::resources::{columns, decode_with_groups, raw_with_groups, reads_at_once};

/// Whether [`whole_tenant`] answers this query: no filter, no sort.
pub fn is_whole_tenant(query: &ListQuery) -> bool {
    query.filter.is_none() && query.sort.is_none()
}

/// A page of every resource of the type, in id order: by keyset (one more row than the page,
/// to know whether another follows) or by offset. Its total and its items agree: they are
/// read on one snapshot.
pub fn whole_tenant(conn: &Connection, tenant: &TenantId, rt: ResourceType, query: &ListQuery) -> Result<Page> {
    on_snapshot(conn, |conn| {
        let total = if query.count_total { live_count(conn, tenant, rt)? } else { 0 };
        let count = i64::try_from(query.count).unwrap_or(i64::MAX);
        if count <= 0 {
            return Ok(Page { total, items: Vec::new(), next: None });
        }
        let base = format!("SELECT {} FROM {} r WHERE r.tenant_id = ?1{}", columns(rt, false), table(rt), live(rt));
        let mut items = match &query.keyset {
            Some(after) => {
                let after_id = after.as_ref().map_or("", |k| k.id.as_str());
                let sql = format!("{base} AND r.id > ?2 ORDER BY r.id LIMIT ?3");
                collect(conn, &sql, params![tenant.0, after_id, count.saturating_add(1)], rt)?
            }
            None => {
                // The first id of the page is found by skipping over the small entries of
                // an index (users) or the records (groups, which are few), then the page's
                // records are read from there: OFFSET over the records themselves would
                // read every record it skips.
                let offset = i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX);
                collect(conn, offset_page(rt), params![tenant.0, count, offset], rt)?
            }
        };
        let mut next = None;
        if query.keyset.is_some() && items.len() > usize::try_from(count).unwrap_or(usize::MAX) {
            items.truncate(usize::try_from(count).unwrap_or(usize::MAX));
            next = items.last().map(|r| Keyset { sort: None, id: r.id.clone() });
        }
        if query.with_relations {
            relations::load(conn, tenant, &mut items)?;
        }
        Ok(Page { total, items, next })
    })
}

/// The page of `?2` resources after skipping `?3`, in id order (`?1` the tenant).
pub(super) fn offset_page(rt: ResourceType) -> &'static str {
    fn build(rt: ResourceType, index: &str) -> String {
        format!(
            "SELECT {columns} FROM {table} r WHERE r.tenant_id = ?1{live} AND r.id >= \
             (SELECT i.id FROM {table} i{index} WHERE i.tenant_id = ?1{live_i} ORDER BY i.id LIMIT 1 OFFSET ?3) \
             ORDER BY r.id LIMIT ?2",
            columns = columns(rt, false),
            table = table(rt),
            live = live(rt),
            live_i = live(rt).replace("r.", "i."),
        )
    }
    // Without statistics (a new database) the planner would skip over the records.
    static USER: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| build(ResourceType::User, " INDEXED BY users_live_order"));
    static GROUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| build(ResourceType::Group, ""));
    match rt {
        ResourceType::User => &USER,
        ResourceType::Group => &GROUP,
    }
}

/// The tenant's live resources of the type, as the `live_counts` triggers keep them.
fn live_count(conn: &Connection, tenant: &TenantId, rt: ResourceType) -> Result<u64> {
    let n: Option<i64> = conn
        .prepare_cached("SELECT n FROM live_counts WHERE tenant_id = ?1 AND resource_type = ?2")
        .and_then(|mut s| s.query_row(params![tenant.0, rt.name()], |r| r.get(0)).optional())
        .map_err(sqlite_error)?;
    Ok(n.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
}

/// The resources a statement of [`columns`] reads (a User's groups too, when selected).
fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    rt: ResourceType,
) -> Result<Vec<StoredResource>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_error)?;
    let rows = stmt.query_map(params, raw_with_groups).map_err(sqlite_error)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode_with_groups(rt, row.map_err(sqlite_error)?)?);
    }
    Ok(out)
}

/// An equality lookup of the kind identity providers send before every create and on every
/// sync (`userName eq`, `externalId eq`, `emails.value eq`, `id eq`, group `displayName eq`):
/// its prepared statement (`?1` the tenant) and the value bound as `?2`.
pub struct Lookup {
    pub sql: &'static str,
    bound: String,
}

/// The attribute a [`Lookup`] compares.
#[derive(Clone, Copy)]
enum Key {
    Id,
    /// `userName` of a User, `displayName` of a Group: case-folded and unique.
    Name,
    ExternalId,
    Email,
}

impl Key {
    /// (condition, whether it finds one row at most, which sorting would only cost a sorter)
    fn condition(self, rt: ResourceType) -> (&'static str, bool) {
        match (self, rt) {
            (Key::Id, _) => ("r.id = ?2", true),
            (Key::Name, ResourceType::User) => ("r.user_name_lower = ?2", true),
            (Key::Name, ResourceType::Group) => ("r.display_name_lower = ?2", true),
            (Key::ExternalId, _) => ("r.external_id = ?2", true),
            (Key::Email, _) => {
                ("r.id IN (SELECT e.user_id FROM user_emails e WHERE e.tenant_id = ?1 AND e.value_lower = ?2)", false)
            }
        }
    }

    /// The statement, built once: a lookup is on the hot path of every sync.
    fn sql(self, rt: ResourceType, with_relations: bool) -> &'static str {
        fn build(key: Key, rt: ResourceType, with_relations: bool) -> String {
            let (condition, unique) = key.condition(rt);
            // A User's groups come with it, in the same statement.
            let columns = columns(rt, with_relations);
            let order = if unique { "" } else { " ORDER BY r.id" };
            format!("SELECT {columns} FROM {} r WHERE r.tenant_id = ?1 AND {condition}{}{order}", table(rt), live(rt))
        }
        // One slot per (type, key, with groups), filled on first use.
        static BUILT: [std::sync::OnceLock<String>; 16] = [const { std::sync::OnceLock::new() }; 16];
        let slot = (usize::from(rt == ResourceType::Group) * 4 + self as usize) * 2 + usize::from(with_relations);
        BUILT[slot].get_or_init(|| build(self, rt, with_relations))
    }
}

/// The query as a [`Lookup`], `None` when it is anything else (the general path builds it
/// with `QueryBuilder`).
pub fn lookup_statement(rt: ResourceType, query: &ListQuery) -> Option<Lookup> {
    let Some(Filter::Compare(path, CompareOp::Eq, CompValue::String(value))) = &query.filter else { return None };
    if query.sort.is_some() || query.keyset.is_some() || path.urn.is_some() {
        return None;
    }
    let attribute = |name: &str| path.name.eq_ignore_ascii_case(name);
    let (key, bound) = match (rt, path.sub.as_deref()) {
        (_, None) if attribute("id") => (Key::Id, value.clone()),
        (ResourceType::User, None) if attribute("userName") => (Key::Name, value.to_lowercase()),
        (ResourceType::Group, None) if attribute("displayName") => (Key::Name, value.to_lowercase()),
        (_, None) if attribute("externalId") => (Key::ExternalId, value.clone()),
        (ResourceType::User, Some(sub)) if attribute("emails") && sub.eq_ignore_ascii_case("value") => {
            (Key::Email, value.to_lowercase())
        }
        _ => return None,
    };
    Some(Lookup { sql: key.sql(rt, query.with_relations), bound })
}

/// The page a [`Lookup`] answers, and its total: few rows match, so they are paged here.
pub fn lookup(conn: &Connection, tenant: &TenantId, rt: ResourceType, query: &ListQuery, l: &Lookup) -> Result<Page> {
    let all = collect(conn, l.sql, params![tenant.0, l.bound], rt)?;
    let total = all.len() as u64;
    let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
    let mut items: Vec<StoredResource> =
        all.into_iter().skip(skip).take(usize::try_from(query.count).unwrap_or(usize::MAX)).collect();
    if !reads_at_once(rt, query.with_relations) {
        relations::load(conn, tenant, &mut items)?;
    }
    Ok(Page { total, items, next: None })
}
