//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): `GET /Users?filter=…`, `POST
//! /Users/.search`, and `POST /.search` across every resource type.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{json, Value};

use crate::domain::resource::{ListQuery, SortOrder, TenantId};
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

fn query_for(rt: ResourceType, params: &ListParams, start_index: u64, count: u64) -> ListQuery {
    ListQuery {
        filter: params.filter.clone(),
        sort: params.sort_by.clone().map(|p| (p, params.sort_order.unwrap_or(SortOrder::Ascending))),
        start_index,
        count,
        with_relations: projection::wants_relations(rt, &params.projection),
    }
}

/// Runs the query over one or more resource types, which are paged as if concatenated.
async fn answer(
    state: &AppState,
    req: &Request,
    tenant: &TenantId,
    types: &[ResourceType],
    params: &ListParams,
) -> Answer {
    let base = base_url(req, state.public_url.as_deref());
    let mut total = 0u64;
    let mut resources = Vec::new();
    let mut skip = params.start_index - 1;
    let mut remaining = params.count;
    let mut first_error = None;
    let mut answered = false;
    for &rt in types {
        // Across types, a filter naming an attribute one type lacks matches nothing there.
        let page = match state.store.list(tenant, rt, &query_for(rt, params, skip + 1, remaining)).await {
            Ok(page) => page,
            Err(Error::InvalidFilter(m)) if types.len() > 1 => {
                first_error.get_or_insert(Error::InvalidFilter(m));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        answered = true;
        total += page.total;
        remaining -= (page.items.len() as u64).min(remaining);
        skip = skip.saturating_sub(page.total);
        let overlays = super::people::overlays(state, tenant, &page.items, &params.projection).await?;
        resources.extend(page.items.iter().map(|r| present_with(r, &base, &params.projection, overlays.get(&r.id))));
    }
    if !answered {
        if let Some(e) = first_error {
            return Err(e.into());
        }
    }
    let body = json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": params.start_index,
        "Resources": Value::Array(resources),
    });
    Ok(scim_json(StatusCode::OK, &body))
}
