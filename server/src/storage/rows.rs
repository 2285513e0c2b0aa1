//! The resource row as both stores keep it: the columns copied out of the JSON document for
//! indexes and constraints, the statements that page through rows (written once for both
//! dialects), and how a row's fields become a [`StoredResource`].

use serde_json::{Map, Value};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::domain::resource::{ListQuery, Meta, SortOrder, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};

use super::dialect::Dialect;
use super::sql_filter::{push_filter, sort_expression};
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

/// The page query, after `prefix` (the plan tests put `EXPLAIN …` there).
pub fn select_page<'a, D: Dialect>(
    prefix: &str,
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
) -> Result<QueryBuilder<'a, D>> {
    let mut select = D::builder(format!(
        "{prefix}SELECT r.id, {}, r.version, r.created_at, r.updated_at FROM {} r",
        D::document_column(),
        table(rt)
    ));
    push_where(&mut select, tenant, rt, query)?;
    select.push(" ORDER BY ");
    if let Some((path, order)) = &query.sort {
        let expr = sort_expression::<D>(rt, path)?;
        // Resources without the attribute sort last either way (RFC 7644 §3.4.2.3).
        let dir = if *order == SortOrder::Descending { "DESC" } else { "ASC" };
        select.push(format!("({expr}) IS NULL, {expr} {dir}, "));
    }
    // Ids are UUIDv7, so id order is creation order: stable across pages.
    select.push("r.id LIMIT ");
    D::bind_int(&mut select, i64::try_from(query.count).unwrap_or(i64::MAX));
    select.push(" OFFSET ");
    D::bind_int(&mut select, i64::try_from(query.start_index.saturating_sub(1)).unwrap_or(i64::MAX));
    Ok(select)
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

/// A resource row's fields as read, before decoding.
pub struct RawRow {
    pub id: String,
    pub data: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl RawRow {
    pub fn decode(self, rt: ResourceType) -> Result<StoredResource> {
        let data = match serde_json::from_str(&self.data) {
            Ok(Value::Object(map)) => map,
            _ => return Err(Error::Storage("stored resource is not a JSON object".into())),
        };
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
        })
    }
}

fn parse_time(column: &str, text: &str) -> Result<OffsetDateTime> {
    timefmt::parse(text).ok_or_else(|| Error::Storage(format!("bad timestamp in {column}").into()))
}
