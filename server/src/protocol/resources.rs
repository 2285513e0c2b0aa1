//! The handlers of `/Users` and `/Groups`: create, read, replace, patch, delete (RFC 7644
//! §3.3-§3.6). Each authenticates, turns the wire request into a domain call, and renders
//! the answer; the rules live in the domain and the store.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use serde_json::Value;

use crate::domain::normalize::{normalize, Normalized};
use crate::domain::patch::{self, MemberOp};
use crate::domain::resource::{NewResource, StoredResource};
use crate::domain::schema::ResourceType;
use crate::domain::tenant::Scope;
use crate::domain::Error;

use super::error::ScimError;
use super::http::{base_url, json_body, precondition, resource_response};
use super::patch::parse_patch_request;
use super::query::{projection_from_query, Projection};
use super::render::{etag, location, render};
use super::{auth, projection, AppState};

type Answer = Result<Response, ScimError>;

/// The `{id}` of `/Users/{id}`; handlers take it as an argument so that `/Bulk` can call
/// them with requests of its own.
pub fn id_param(req: &Request) -> String {
    req.raw_path_param("id").unwrap_or_default().to_owned()
}

/// Renders a resource with the client's projection.
pub fn present(res: &StoredResource, base: &str, proj: &Projection) -> Value {
    let mut body = render(res, base);
    projection::apply(res.resource_type, &mut body, proj);
    Value::Object(body)
}

/// The password is write-only and this server does not keep it (see ServiceProviderConfig).
fn strip_write_only(data: &mut serde_json::Map<String, Value>) {
    data.remove("password");
}

pub async fn create(state: Arc<AppState>, mut req: Request, rt: ResourceType) -> Answer {
    let created = create_resource(&state, &mut req, rt).await?;
    let base = base_url(&req, state.public_url.as_deref());
    let body = present(&created, &base, &projection_from_query(req.uri().query()));
    let loc = location(&base, rt, &created.id);
    Ok(resource_response(StatusCode::CREATED, &body, &etag(created.meta.version), Some(&loc)))
}

/// The work of a create, without the answer (`/Bulk` answers with the id and version only).
pub async fn create_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
) -> Result<StoredResource, ScimError> {
    let tenant = auth::authenticate(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let body = json_body(req, state.limits.max_body_bytes).await?;
    let Normalized { mut data, members } = normalize(rt, &body)?;
    strip_write_only(&mut data);
    Ok(state.store.create(&tenant, rt, NewResource { data, members }).await?)
}

pub async fn get(state: Arc<AppState>, req: Request, rt: ResourceType, id: String) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimRead).await?;
    let proj = projection_from_query(req.uri().query());
    let with_relations = projection::wants_relations(rt, &proj);
    let found = state.store.get(&tenant, rt, &id, with_relations).await?;
    let found = found.ok_or_else(|| ScimError::from(Error::NotFound(format!("{} {id} not found", rt.name()))))?;
    let tag = etag(found.meta.version);
    if precondition(&req).if_none_match.is_some_and(|s| s.contains(found.meta.version)) {
        return Ok(Response::builder().status(StatusCode::NOT_MODIFIED).header("ETag", tag).finish());
    }
    let body = present(&found, &base_url(&req, state.public_url.as_deref()), &proj);
    Ok(resource_response(StatusCode::OK, &body, &tag, None))
}

pub async fn replace(state: Arc<AppState>, mut req: Request, rt: ResourceType, id: String) -> Answer {
    let proj = projection_from_query(req.uri().query());
    let updated = replace_resource(&state, &mut req, rt, &id, projection::wants_relations(rt, &proj)).await?;
    respond(&state, &req, &updated, &proj)
}

/// The work of a PUT, without the answer.
pub async fn replace_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Result<StoredResource, ScimError> {
    let tenant = auth::authenticate(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let body = json_body(req, state.limits.max_body_bytes).await?;
    let Normalized { mut data, members } = normalize(rt, &body)?;
    strip_write_only(&mut data);
    let mutation: crate::domain::resource::Mutation = Box::new(move |current| {
        *current = data;
        // PUT replaces every attribute (RFC 7644 §3.5.1), members included.
        Ok(match rt {
            ResourceType::Group => vec![MemberOp::Clear, MemberOp::Add(members.unwrap_or_default())],
            ResourceType::User => Vec::new(),
        })
    });
    Ok(state.store.update(&tenant, rt, id, &precondition(req), mutation, with_relations).await?)
}

pub async fn patch(state: Arc<AppState>, mut req: Request, rt: ResourceType, id: String) -> Answer {
    let proj = projection_from_query(req.uri().query());
    let updated = patch_resource(&state, &mut req, rt, &id, projection::wants_relations(rt, &proj)).await?;
    respond(&state, &req, &updated, &proj)
}

/// The work of a PATCH, without the answer.
pub async fn patch_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Result<StoredResource, ScimError> {
    let tenant = auth::authenticate(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let body = json_body(req, state.limits.max_body_bytes).await?;
    let ops = parse_patch_request(&body)?;
    let mutation: crate::domain::resource::Mutation = Box::new(move |data| {
        let member_ops = patch::apply(rt, data, &ops)?;
        strip_write_only(data);
        Ok(member_ops)
    });
    Ok(state.store.update(&tenant, rt, id, &precondition(req), mutation, with_relations).await?)
}

fn respond(state: &AppState, req: &Request, updated: &StoredResource, proj: &Projection) -> Answer {
    let body = present(updated, &base_url(req, state.public_url.as_deref()), proj);
    Ok(resource_response(StatusCode::OK, &body, &etag(updated.meta.version), None))
}

pub async fn delete(state: Arc<AppState>, req: Request, rt: ResourceType, id: String) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimWrite).await?;
    state.store.delete(&tenant, rt, &id, &precondition(&req)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
