//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): `GET /Users?filter=…`, `POST
//! /Users/.search`, and `POST /.search` across every resource type.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{json, Value};

use crate::domain::ordering::{self, SortKey};
use crate::domain::resource::{ListQuery, Page, SortOrder, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::tenant::Scope;
use crate::domain::Error;

use super::discovery::RESOURCE_TYPES;
use super::error::ScimError;
use super::http::{base_url, json_body, scim_json};
use super::query::{list_from_body, list_from_query, ListParams};
use super::resources::present_with;
use super::{auth, projection, AppState};

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

type Answer = Result<Response, ScimError>;

pub async fn list(state: Arc<AppState>, req: Request, rt: ResourceType) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimRead).await?;
    let params = list_from_query(req.uri().query())?;
    answer(&state, &req, &tenant, &[rt], &params).await
}

pub async fn search(state: Arc<AppState>, mut req: Request, rt: ResourceType) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimRead).await?;
    let params = list_from_body(&json_body(&mut req, state.limits.max_body_bytes).await?)?;
    answer(&state, &req, &tenant, &[rt], &params).await
}

pub async fn search_root(state: Arc<AppState>, mut req: Request) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimRead).await?;
    let params = list_from_body(&json_body(&mut req, state.limits.max_body_bytes).await?)?;
    answer(&state, &req, &tenant, &RESOURCE_TYPES, &params).await
}

/// The most resources a root search sorted across several types merges in memory (it pages
/// through at most this many; beyond, search one resource type, which sorts in SQL).
pub const ROOT_SORT_WINDOW: u64 = 10_000;

fn query_for(rt: ResourceType, params: &ListParams, sorted: bool, start_index: u64, count: u64) -> ListQuery {
    ListQuery {
        filter: params.filter.clone(),
        sort: params.sort_by.clone().filter(|_| sorted).map(|p| (p, params.sort_order.unwrap_or(SortOrder::Ascending))),
        start_index,
        count,
        with_relations: projection::wants_relations(rt, &params.projection),
    }
}

/// One type's page, or `None` when, across several types, the filter names an attribute
/// this type lacks (it then matches nothing here; the error is kept in case no type answers).
async fn page_of(
    state: &AppState,
    tenant: &TenantId,
    rt: ResourceType,
    query: &ListQuery,
    across: bool,
    first_error: &mut Option<Error>,
) -> Result<Option<Page>, ScimError> {
    match state.store.list(tenant, rt, query).await {
        Ok(page) => Ok(Some(page)),
        Err(Error::InvalidFilter(m)) if across => {
            first_error.get_or_insert(Error::InvalidFilter(m));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs the query over one or more resource types. Sorted by an attribute that several
/// types have, their pages merge in sort order; otherwise the types are paged as if
/// concatenated, those lacking the sort attribute last (missing values sort last).
async fn answer(
    state: &AppState,
    req: &Request,
    tenant: &TenantId,
    types: &[ResourceType],
    params: &ListParams,
) -> Answer {
    let across = types.len() > 1;
    let sortable = |rt: ResourceType| params.sort_by.as_ref().is_some_and(|p| !across || ordering::sortable(rt, p));
    let (sorted, unsorted): (Vec<ResourceType>, Vec<ResourceType>) = types.iter().partition(|rt| sortable(**rt));
    let mut first_error = None;
    let mut answered = false;
    let mut total = 0u64;
    let mut found: Vec<StoredResource> = Vec::new();
    // Resources before the page that the concatenated part must still skip.
    let mut skip = params.start_index - 1;
    let mut concatenated = unsorted;
    if sorted.len() > 1 {
        let window = skip + params.count;
        if window > ROOT_SORT_WINDOW {
            return Err(Error::TooMany(format!(
                "a search across resource types sorted by an attribute they share pages through the first \
                 {ROOT_SORT_WINDOW} results; search /Users or /Groups for more"
            ))
            .into());
        }
        let path = params.sort_by.as_ref().expect("sorted types have a sort attribute");
        let order = params.sort_order.unwrap_or(SortOrder::Ascending);
        let mut merged = Vec::new();
        let mut merged_total = 0u64;
        for &rt in &sorted {
            let query = query_for(rt, params, true, 1, window);
            if let Some(page) = page_of(state, tenant, rt, &query, across, &mut first_error).await? {
                answered = true;
                merged_total += page.total;
                merged.extend(page.items);
            }
        }
        let mut keyed: Vec<(SortKey, StoredResource)> =
            merged.into_iter().map(|r| (ordering::sort_key(&r, path), r)).collect();
        keyed.sort_by(|a, b| ordering::compare((&a.0, &a.1.id), (&b.0, &b.1.id), order));
        found.extend(keyed.into_iter().map(|(_, r)| r).skip(skip as usize).take(params.count as usize));
        total += merged_total;
        skip = skip.saturating_sub(merged_total);
    } else {
        concatenated = sorted.into_iter().chain(concatenated).collect();
    }
    for rt in concatenated {
        let remaining = params.count - found.len() as u64;
        let query = query_for(rt, params, sortable(rt), skip + 1, remaining);
        let Some(page) = page_of(state, tenant, rt, &query, across, &mut first_error).await? else { continue };
        answered = true;
        total += page.total;
        skip = skip.saturating_sub(page.total);
        found.extend(page.items);
    }
    if !answered {
        if let Some(e) = first_error {
            return Err(e.into());
        }
    }
    let base = base_url(req, state.public_url.as_deref());
    // The lifecycle's attributes of the people on this page, in one query.
    let overlays = super::people::overlays(state, tenant, &found, &params.projection).await?;
    let resources: Vec<Value> =
        found.iter().map(|r| present_with(r, &base, &params.projection, overlays.get(&r.id))).collect();
    let body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": params.start_index,
        "Resources": Value::Array(resources),
    });
    Ok(scim_json(StatusCode::OK, &body))
}
