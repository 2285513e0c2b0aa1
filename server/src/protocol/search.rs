//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): `GET /Users?filter=…`, `POST
//! /Users/.search`, and `POST /.search` across every resource type.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{Map, Value};

use crate::domain::ordering::{self, SortKey};
use crate::domain::resource::{ListQuery, Page, SortOrder, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::tenant::Scope;
use crate::domain::Error;

use super::cursor::Position;
use super::discovery::RESOURCE_TYPES;
use super::error::ScimError;
use super::http::{base_url, json_body};
use super::query::{list_from_body, list_from_query, ListParams, Projection, MAX_COUNT};
use super::{answer, auth, projection, AppState, SCIM_MEDIA_TYPE};

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
        keyset: None,
        count_total: true,
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
    if let Some(cursor) = &params.cursor {
        return answer_cursor(state, req, tenant, types, params, cursor).await;
    }
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
    Ok(page_answer(total, Some(params.start_index), found, &base, &params.projection, &overlays, None))
}

/// A page of resources as a ListResponse, each with its lifecycle overlay (see `answer`).
fn page_answer(
    total: u64,
    start_index: Option<u64>,
    found: Vec<StoredResource>,
    base: &str,
    projection: &Projection,
    overlays: &HashMap<String, Map<String, Value>>,
    next_cursor: Option<String>,
) -> Response {
    list_response(total, start_index, found, next_cursor.as_deref(), |out, r| {
        let overlay = overlays.get(&r.id);
        answer::present_into(out, r, base, projection, overlay);
    })
}

/// A ListResponse (RFC 7644 §3.4.2), written straight to bytes: `startIndex` for index
/// paging, `nextCursor` for cursor paging, and each item written by `write` into `Resources`.
/// Pages of resources and the discovery lists share it.
pub fn list_response<T>(
    total: u64,
    start_index: Option<u64>,
    items: Vec<T>,
    next_cursor: Option<&str>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) -> Response {
    let mut out = Vec::with_capacity(256 + items.len() * 1024);
    out.extend_from_slice(b"{\"schemas\":[");
    answer::json_string(&mut out, LIST_RESPONSE);
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, "],\"totalResults\":{total},\"itemsPerPage\":{}", items.len());
    if let Some(start) = start_index {
        let _ = write!(out, ",\"startIndex\":{start}");
    }
    out.extend_from_slice(b",\"Resources\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(&mut out, item);
    }
    out.push(b']');
    if let Some(cursor) = next_cursor {
        out.extend_from_slice(b",\"nextCursor\":");
        answer::json_string(&mut out, cursor);
    }
    out.push(b'}');
    Response::builder().status(StatusCode::OK).content_type(SCIM_MEDIA_TYPE).body(out)
}

/// What a cursor is bound to: the tenant and the query, all but the page size (RFC 9865 §2
/// has the client repeat every parameter; a different page size changes no position).
fn walk_identity(tenant: &TenantId, types: &[ResourceType], params: &ListParams) -> Vec<u8> {
    let types: Vec<&str> = types.iter().map(|rt| rt.name()).collect();
    format!("{}\n{types:?}\n{:?}\n{:?}\n{:?}", tenant.0, params.filter, params.sort_by, params.sort_order).into_bytes()
}

/// Cursor paging (RFC 9865): keyset pages in the list order, each resuming strictly after the
/// last row of the previous one, so a walk over a tenant that changes under it neither skips
/// nor repeats a resource that exists throughout.
async fn answer_cursor(
    state: &AppState,
    req: &Request,
    tenant: &TenantId,
    types: &[ResourceType],
    params: &ListParams,
    cursor: &str,
) -> Answer {
    if params.count == 0 {
        return Err(ScimError::bad_request(
            "invalidCount",
            format!("with a cursor, count must be between 1 and {MAX_COUNT}"),
        ));
    }
    let identity = walk_identity(tenant, types, params);
    let now = state.clock.now();
    let start = state.cursors.open(&identity, cursor, now)?;
    if start.type_index >= types.len() {
        return Err(ScimError::bad_request("invalidCursor", "the cursor does not fit this query"));
    }
    let base = base_url(req, state.public_url.as_deref());
    // The first page counts the matches; later pages carry that count in their cursor.
    let carried = start.total;
    let mut total = 0u64;
    let mut found: Vec<StoredResource> = Vec::new();
    let mut remaining = params.count;
    let mut next: Option<Position> = None;
    let mut first_error = None;
    let mut answered = false;
    for (index, &rt) in types.iter().enumerate() {
        if index < start.type_index && carried.is_some() {
            continue;
        }
        // Types before the cursor's are already walked (only their totals are wanted); a type
        // after a full page is probed for one row, to know whether a next page exists.
        let full = remaining == 0;
        let (keyset, count) = match index.cmp(&start.type_index) {
            std::cmp::Ordering::Less => (None, 0),
            std::cmp::Ordering::Equal => (start.after.clone(), remaining),
            std::cmp::Ordering::Greater if full => (None, u64::from(next.is_none())),
            std::cmp::Ordering::Greater => (None, remaining),
        };
        if count == 0 && carried.is_some() {
            continue;
        }
        let sorted = types.len() == 1 || params.sort_by.as_ref().is_some_and(|p| ordering::sortable(rt, p));
        let mut query = query_for(rt, params, sorted, 1, count);
        query.keyset = Some(keyset);
        query.count_total = carried.is_none();
        let page = match state.store.list(tenant, rt, &query).await {
            Ok(page) => page,
            Err(Error::InvalidFilter(m)) if types.len() > 1 => {
                first_error.get_or_insert(Error::InvalidFilter(m));
                continue;
            }
            Err(Error::InvalidValue(m)) if index == start.type_index && start.after.is_some() => {
                tracing::debug!(detail = %m, "cursor refused");
                return Err(ScimError::bad_request("invalidCursor", "the cursor does not fit this query"));
            }
            Err(e) => return Err(e.into()),
        };
        answered = true;
        total += page.total;
        if full && index > start.type_index {
            // The page filled up exactly at the end of an earlier type.
            if next.is_none() && !page.items.is_empty() {
                next = Some(Position { type_index: index, after: None, total: None });
            }
            continue;
        }
        remaining -= (page.items.len() as u64).min(remaining);
        found.extend(page.items);
        if next.is_none() {
            if let Some(after) = page.next {
                next = Some(Position { type_index: index, after: Some(after), total: None });
            }
        }
    }
    let total = carried.unwrap_or(total);
    let next = next.map(|n| Position { total: Some(total), ..n });
    if !answered {
        if let Some(e) = first_error {
            return Err(e.into());
        }
    }
    let overlays = super::people::overlays(state, tenant, &found, &params.projection).await?;
    // RFC 9865 §2: nextCursor on every page but the last.
    let next = next.map(|next| state.cursors.issue(&identity, &next, now));
    Ok(page_answer(total, None, found, &base, &params.projection, &overlays, next))
}
