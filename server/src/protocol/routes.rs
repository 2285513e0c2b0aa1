//! The `/scim/v2` routing table. Plain poem endpoints (not poem-openapi): SCIM's media
//! type, lenient parsing and error bodies do not fit an OpenAPI extractor model.

use std::future::Future;
use std::sync::Arc;

use poem::endpoint::make;
use poem::http::StatusCode;
use poem::{get, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};

use crate::domain::schema::ResourceType;

use super::discovery;
use super::error::{from_poem, ScimError};
use super::http::{base_url, scim_json};
use super::search;
use super::{resources, AppState};

/// Wraps a handler `f(state, request, …)` as an endpoint whose errors are SCIM error bodies.
fn ep<F, Fut>(state: &Arc<AppState>, f: F) -> impl Endpoint<Output = Response>
where
    F: Fn(Arc<AppState>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ScimError>> + Send + 'static,
{
    let state = state.clone();
    make(move |req| {
        let fut = f(state.clone(), req);
        async move { fut.await.unwrap_or_else(IntoResponse::into_response) }
    })
}

fn resource_routes(state: &Arc<AppState>, route: Route, rt: ResourceType) -> Route {
    let path = rt.endpoint();
    route
        .at(
            path,
            get(ep(state, move |s, r| search::list(s, r, rt))).post(ep(state, move |s, r| resources::create(s, r, rt))),
        )
        // Some clients (Entra among them) list with a trailing slash.
        .at(format!("{path}/"), get(ep(state, move |s, r| search::list(s, r, rt))))
        .at(format!("{path}/.search"), post(ep(state, move |s, r| search::search(s, r, rt))))
        .at(
            format!("{path}/:id"),
            get(ep(state, move |s, r| {
                let id = resources::id_param(&r);
                resources::get(s, r, rt, id)
            }))
            .put(ep(state, move |s, r| {
                let id = resources::id_param(&r);
                resources::replace(s, r, rt, id)
            }))
            .patch(ep(state, move |s, r| {
                let id = resources::id_param(&r);
                resources::patch(s, r, rt, id)
            }))
            .delete(ep(state, move |s, r| {
                let id = resources::id_param(&r);
                resources::delete(s, r, rt, id)
            })),
        )
}

/// A ListResponse of every item at once (the discovery endpoints).
fn list_of(items: Vec<serde_json::Value>) -> Response {
    search::list_response(items.len() as u64, Some(1), items, None, |out, item| {
        // A JSON value always serializes into a `Vec`.
        let _ = serde_json::to_writer(out, &item);
    })
}

fn discovery_routes(state: &Arc<AppState>, route: Route) -> Route {
    route
        .at(
            "/ServiceProviderConfig",
            get(ep(state, |s, r| async move {
                let base = base_url(&r, s.public_url.as_deref());
                let attributes = super::query::pairs(r.uri().query())
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("attributes"))
                    .map(|(_, v)| v);
                Ok(scim_json(StatusCode::OK, &discovery::service_provider_config_for(&base, attributes.as_deref())))
            })),
        )
        .at(
            "/Schemas",
            get(ep(state, |s, r| async move {
                Ok(list_of(discovery::all_schemas(&base_url(&r, s.public_url.as_deref()))))
            })),
        )
        .at(
            "/Schemas/:id",
            get(ep(state, |s, r| async move {
                let id = r.raw_path_param("id").unwrap_or_default();
                let schema =
                    discovery::find_schema(id).ok_or_else(|| ScimError::not_found(format!("no schema `{id}`")))?;
                Ok(scim_json(StatusCode::OK, &discovery::schema(&base_url(&r, s.public_url.as_deref()), schema)))
            })),
        )
        .at(
            "/ResourceTypes",
            get(ep(state, |s, r| async move {
                let base = base_url(&r, s.public_url.as_deref());
                let items = discovery::RESOURCE_TYPES.iter().map(|rt| discovery::resource_type(&base, *rt)).collect();
                Ok(list_of(items))
            })),
        )
        .at(
            "/ResourceTypes/:id",
            get(ep(state, |s, r| async move {
                let id = r.raw_path_param("id").unwrap_or_default();
                let rt = discovery::find_resource_type(id)
                    .ok_or_else(|| ScimError::not_found(format!("no resource type `{id}`")))?;
                Ok(scim_json(StatusCode::OK, &discovery::resource_type(&base_url(&r, s.public_url.as_deref()), rt)))
            })),
        )
}

/// Every SCIM endpoint, with SCIM error bodies for poem's own errors. (Bodies are limited
/// where they are read: poem's SizeLimit would demand a Content-Length even on GET.)
pub fn scim(state: &Arc<AppState>) -> impl Endpoint<Output = Response> {
    let mut route = discovery_routes(state, Route::new());
    for rt in discovery::RESOURCE_TYPES {
        route = resource_routes(state, route, rt);
    }
    let not_implemented = |what: &'static str| {
        make(move |_req| async move {
            ScimError::new(StatusCode::NOT_IMPLEMENTED, None, format!("{what} is not supported by this server"))
                .into_response()
        })
    };
    route = route
        .at("/.search", post(ep(state, search::search_root)))
        .at("/Bulk", post(ep(state, super::bulk::bulk)))
        .at("/Me", not_implemented("/Me"));
    route.around(|ep, req| async move {
        let path = req.uri().path().to_owned();
        Ok(match ep.call(req).await {
            Ok(response) => response.into_response(),
            Err(e) => {
                let mut response = from_poem(&e).into_response();
                // RFC 9110 §15.5.6: a 405 says which methods the resource does allow.
                if e.status() == StatusCode::METHOD_NOT_ALLOWED {
                    if let Ok(allow) = allowed_methods(&path).parse() {
                        response.headers_mut().insert("Allow", allow);
                    }
                }
                response
            }
        })
    })
}

/// The methods the route at `path` (under `/scim/v2`) answers, for the `Allow` header.
fn allowed_methods(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_end_matches('/').rsplit("/scim/v2").next().unwrap_or("").split('/').collect();
    let discovery = ["ServiceProviderConfig", "Schemas", "ResourceTypes"];
    match segments.as_slice() {
        ["", last] if *last == ".search" || *last == "Bulk" => "POST",
        ["", first, ..] if discovery.contains(first) => "GET",
        ["", _, ".search"] => "POST",
        ["", _] => "GET, POST",
        _ => "GET, PUT, PATCH, DELETE",
    }
}
