//! The resource row as both stores keep it: the columns copied out of the JSON document for
//! indexes and constraints, the statements that page through rows (written once for both
//! dialects), and how a row's fields become a [`StoredResource`].

use serde_json::{Map, Value};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::domain::document::Document;
use crate::domain::resource::{Keyset, ListQuery, Meta, SortKey, SortOrder, StoredResource, TenantId};
use crate::domain::schema::{AttrType, ResourceType};
use crate::domain::{Error, Result};

use super::dialect::Dialect;
use super::sql_filter::{push_filter, sort_expression_typed};
use super::timefmt;

/// The columns of a row that mirror the JSON document, for indexes and constraints.
pub struct Columns {
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    /// Lower-cased, in document order.
    pub emails: Vec<String>,
}

impl Columns {
    pub fn of(rt: ResourceType, data: &Map<String, Value>) -> Result<Self> {
        let text = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
        let (user_name, display_name) = match rt {
            ResourceType::User => {
                (Some(text("userName").ok_or_else(|| Error::InvalidValue("userName is required".into()))?), None)
            }
            ResourceType::Group => {
                (None, Some(text("displayName").ok_or_else(|| Error::InvalidValue("displayName is required".into()))?))
            }
        };
        let emails = data
            .get("emails")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter().filter_map(|e| e.get("value").and_then(Value::as_str)).map(str::to_lowercase).collect()
            })
            .unwrap_or_default();
        Ok(Self {
            user_name,
            display_name,
            external_id: text("externalId"),
            active: data.get("active").and_then(Value::as_bool).unwrap_or(true),
            emails,
        })
    }

    /// The case-folded unique name (`userName` or a group's `displayName`), folded fully in
    /// Rust so both databases index the same text.
    pub fn name_lower(&self) -> Option<String> {
        self.user_name.as_deref().or(self.display_name.as_deref()).map(str::to_lowercase)
    }
}

/// A resource's document as the JSON text it is stored as, serialized from the map itself:
/// wrapping it in a `Value` first would copy every key and value.
pub fn document_json(data: &Map<String, Value>) -> String {
    // A map of string keys to JSON values always serializes.
    serde_json::to_string(data).unwrap_or_default()
}

pub fn table(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => "users",
        ResourceType::Group => "groups",
    }
}

/// The condition that hides archived people; groups are removed outright.
pub fn live(rt: ResourceType) -> &'static str {
    match rt {
        ResourceType::User => " AND r.state <> 'deleted'",
        ResourceType::Group => "",
    }
}

/// The column holding the case-folded unique name, and that name's label on the wire.
pub fn name_column(rt: ResourceType) -> (&'static str, &'static str) {
    match rt {
        ResourceType::User => ("user_name_lower", "userName"),
        ResourceType::Group => ("display_name_lower", "displayName"),
    }
}

pub fn not_found(rt: ResourceType, id: &str) -> Error {
    Error::NotFound(format!("{} {id} not found", rt.name()))
}

/// `SELECT count(*)` of the resources a list query matches.
pub fn count_matching<'a, D: Dialect>(
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<QueryBuilder<'a, D>> {
    let mut count = D::builder(format!("SELECT count(*) FROM {} r", table(rt)));
    push_where(&mut count, tenant, rt, query)?;
    Ok(count)
}

/// The page query, after `prefix` (the plan tests put `EXPLAIN …` there). Index paging
/// skips `start_index - 1` rows; keyset paging resumes after a row and reads one row more
/// than the page, to know whether another page follows, plus that row's sort key.
pub fn select_page<'a, D: Dialect>(
    prefix: &str,
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<QueryBuilder<'a, D>> {
    let sort = match &query.sort {
        Some((path, order)) => Some((sort_expression_typed::<D>(rt, path)?, *order)),
        None => None,
    };
    let key_column = match (&query.keyset, &sort) {
        (Some(_), Some(((expr, _), _))) => format!(", CAST({expr} AS TEXT) AS sort_key"),
        _ => String::new(),
    };
    let mut select = D::builder(format!(
        "{prefix}SELECT r.id, {}, r.version, r.created_at, r.updated_at{}{key_column} FROM {} r",
        D::document_column(),
        standing_of(rt),
        table(rt)
    ));
    push_where(&mut select, tenant, rt, query)?;
    if let Some(Some(after)) = &query.keyset {
        select.push(" AND ");
        push_after(&mut select, sort.as_ref().map(|((expr, ty), order)| (expr.as_str(), *ty, *order)), after)?;
    }
    select.push(" ORDER BY ");
    if let Some(((expr, _), order)) = &sort {
        // Resources without the attribute sort last either way (RFC 7644 §3.4.2.3).
        let dir = if *order == SortOrder::Descending { "DESC" } else { "ASC" };
        select.push(format!("({expr}) IS NULL, {expr} {dir}, "));
    }
    // Ids are UUIDv7, so id order is creation order: stable across pages.
    select.push("r.id LIMIT ");
    let count = i64::try_from(query.count).unwrap_or(i64::MAX);
    if query.keyset.is_some() {
        D::bind_int(&mut select, count.saturating_add(1));
    } else {
        D::bind_int(&mut select, count);
        select.push(" OFFSET ");
        D::bind_int(&mut select, i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX));
    }
    Ok(select)
}

/// `<row comes after `after` in the list order>`, the order being
/// `(e) IS NULL, e ASC|DESC, r.id` (absent values last, ids breaking ties).
fn push_after<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    sort: Option<(&str, AttrType, SortOrder)>,
    after: &Keyset,
) -> Result<()> {
    let Some((expr, ty, order)) = sort else {
        qb.push("r.id > ");
        D::bind_text(qb, after.id.clone());
        return Ok(());
    };
    let value = match &after.sort {
        None | Some(SortKey::Null) => None,
        Some(key) => Some(key),
    };
    let Some(value) = value else {
        // Past the last present value: only absent ones remain, in id order.
        qb.push(format!("(({expr}) IS NULL AND r.id > "));
        D::bind_text(qb, after.id.clone());
        qb.push(")");
        return Ok(());
    };
    let op = if order == SortOrder::Descending { "<" } else { ">" };
    qb.push(format!("((({expr}) IS NOT NULL AND (({expr}) {op} "));
    bind_sort_key::<D>(qb, ty, value)?;
    qb.push(format!(" OR (({expr}) = "));
    bind_sort_key::<D>(qb, ty, value)?;
    qb.push(" AND r.id > ");
    D::bind_text(qb, after.id.clone());
    qb.push(format!("))) OR ({expr}) IS NULL)"));
    Ok(())
}

fn bind_sort_key<D: Dialect>(qb: &mut QueryBuilder<'_, D>, ty: AttrType, key: &SortKey) -> Result<()> {
    let mismatch = || Error::InvalidValue("the cursor does not fit this query".into());
    match (ty, key) {
        (AttrType::Boolean, SortKey::Bool(b)) => D::bind_bool(qb, *b),
        (AttrType::Integer, SortKey::Number(n)) if n.fract() == 0.0 =>
        {
            #[expect(clippy::cast_possible_truncation, reason = "an integral value read back from an integer column")]
            D::bind_int(qb, *n as i64)
        }
        (AttrType::Integer | AttrType::Decimal, SortKey::Number(n)) => D::bind_float(qb, *n),
        (AttrType::Boolean | AttrType::Integer | AttrType::Decimal, _) => return Err(mismatch()),
        (_, SortKey::Text(t)) => D::bind_text(qb, t.clone()),
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// A row's `sort_key` column (read as text by both databases) as a typed sort value.
pub fn sort_key_from_text(ty: AttrType, text: Option<String>) -> SortKey {
    let Some(text) = text else { return SortKey::Null };
    match ty {
        AttrType::Boolean => SortKey::Bool(matches!(text.as_str(), "1" | "true" | "t")),
        AttrType::Integer | AttrType::Decimal => text.parse().map_or(SortKey::Null, SortKey::Number),
        _ => SortKey::Text(text),
    }
}

/// The sort attribute's type, for decoding `sort_key` (`None` when the query is unsorted).
pub fn sort_type<D: Dialect>(rt: ResourceType, query: &ListQuery) -> Result<Option<AttrType>> {
    query.sort.as_ref().map(|(path, _)| sort_expression_typed::<D>(rt, path).map(|(_, ty)| ty)).transpose()
}

fn push_where<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<()> {
    qb.push(" WHERE r.tenant_id = ");
    D::bind_text(qb, tenant.0.clone());
    qb.push(live(rt));
    if let Some(filter) = &query.filter {
        qb.push(" AND ");
        push_filter(qb, rt, &tenant.0, filter)?;
    }
    Ok(())
}

/// Keyset paging read one row more than the page: drop it, and when it was there, answer
/// the position of the page's last row as where the next page starts.
pub fn split_keyset_page(
    query: &ListQuery,
    mut rows: Vec<(StoredResource, SortKey)>,
    sorted: bool,
) -> (Vec<StoredResource>, Option<Keyset>) {
    let limit = usize::try_from(query.count).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(|(r, key)| Keyset { sort: sorted.then(|| key.clone()), id: r.id.clone() })
    } else {
        None
    };
    (rows.into_iter().map(|(r, _)| r).collect(), next)
}

/// The company role a group binding gives the User row `alias`, NULL when none does; with
/// `with_group`, followed by that group: `"<role> <group id>"` (role names hold no spaces).
/// The first binding by precedence wins (admin, project_creator, member, then by role name
/// and group id), found with `min` over a sortable text rather than ORDER BY … LIMIT 1,
/// which costs a sorter for every row read.
pub fn group_role_of(alias: &str, with_group: bool) -> String {
    let group = if with_group { " || ' ' || b.group_id" } else { "" };
    format!(
        "(SELECT substr(min(CASE b.company_role WHEN 'admin' THEN '0' WHEN 'project_creator' THEN '1' \
         WHEN 'member' THEN '2' ELSE '3' END || b.company_role{group}), 2) \
         FROM group_role_bindings b JOIN group_members m ON m.tenant_id = b.tenant_id AND m.group_id = b.group_id \
         WHERE m.tenant_id = {alias}.tenant_id AND m.member_id = {alias}.id)"
    )
}

/// `, <standing>` for the User row `r`, nothing for a Group: appended to the selected
/// columns. The `standing` column (see `Standing::parse`) is its state, its profile (the
/// defaults when it has none) and the role a group binding gives it.
pub fn standing_of(rt: ResourceType) -> &'static str {
    static USER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            ", r.state || ' ' || COALESCE((SELECT p.user_type || ' ' || p.partner || ' ' || p.company_role \
             FROM people p WHERE p.tenant_id = r.tenant_id AND p.user_id = r.id), 'Employee 0 member') || ' ' || \
             COALESCE({}, '') AS standing",
            group_role_of("r", false)
        )
    });
    match rt {
        ResourceType::User => &USER,
        ResourceType::Group => "",
    }
}

/// A resource row's fields as read, before decoding.
pub struct RawRow {
    pub id: String,
    pub data: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Users: the `standing` column, when selected.
    pub standing: Option<String>,
    /// Groups: the `bound` column, when selected.
    pub bound: Option<bool>,
}

impl RawRow {
    pub fn decode(self, rt: ResourceType) -> Result<StoredResource> {
        let data = Document::from_stored(self.data)
            .map_err(|_| Error::Storage("stored resource is not a JSON object".into()))?;
        Ok(StoredResource {
            resource_type: rt,
            id: self.id,
            data,
            meta: Meta {
                created: parse_time("created_at", &self.created_at)?,
                last_modified: parse_time("updated_at", &self.updated_at)?,
                version: self.version,
            },
            members: None,
            groups: None,
            standing: match self.standing {
                Some(text) => Some(
                    crate::domain::lifecycle::Standing::parse(&text)
                        .ok_or_else(|| Error::Storage("unreadable standing of a User".into()))?,
                ),
                None => None,
            },
            bound: self.bound,
        })
    }
}

fn parse_time(column: &str, text: &str) -> Result<OffsetDateTime> {
    timefmt::parse(text).ok_or_else(|| Error::Storage(format!("bad timestamp in {column}").into()))
}
