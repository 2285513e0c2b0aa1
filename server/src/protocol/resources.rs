//! The handlers of `/Users` and `/Groups`: create, read, replace, patch, delete (RFC 7644
//! §3.3-§3.6). Each authenticates, turns the wire request into a domain call, and renders
//! the answer; the rules live in the domain and the store.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use serde_json::Value;

use crate::domain::normalize::{normalize, Normalized};
use crate::domain::patch::{self, MemberOp};
use crate::domain::people::Person;
use crate::domain::people_scim;
use crate::domain::resource::{NewResource, StoredResource, TenantId};
use crate::domain::schema::ResourceType;
use crate::domain::store::Place;
use crate::domain::tenant::{Scope, TokenRecord};
use crate::domain::Error;

use super::bulk_line::Ticket;
use super::error::ScimError;
use super::http::{base_url, json_body, precondition, resource_response};
use super::patch::parse_patch_request;
use super::query::{projection_from_query, Projection};
use super::render::{etag, location};
use super::{answer, auth, people, projection, AppState};

type Answer = Result<Response, ScimError>;

/// The `{id}` of `/Users/{id}`; handlers take it as an argument so that `/Bulk` can call
/// them with requests of its own.
pub fn id_param(req: &Request) -> String {
    req.raw_path_param("id").unwrap_or_default().to_owned()
}

/// Renders one resource with its overlay.
async fn present_one(
    state: &AppState,
    tenant: &TenantId,
    res: StoredResource,
    base: &str,
    proj: &Projection,
    known: Option<crate::domain::people::Person>,
) -> Result<Vec<u8>, ScimError> {
    let known = known.into_iter().collect();
    let overlays = people::overlays_known(state, tenant, std::slice::from_ref(&res), proj, known).await?;
    let overlay = overlays.get(&res.id);
    Ok(answer::present(res, base, proj, overlay))
}

/// The password is write-only and this server does not keep it (see ServiceProviderConfig).
fn strip_write_only(data: &mut serde_json::Map<String, Value>) {
    data.remove("password");
}

pub async fn create(state: Arc<AppState>, mut req: Request, rt: ResourceType) -> Answer {
    let (token, created, known) = create_work(&state, &mut req, rt, None).await?;
    let base = base_url(&req, state.public_url.as_deref());
    let proj = projection_from_query(req.uri().query());
    let loc = location(&base, rt, &created.id);
    let tag = etag(created.meta.version);
    let body = present_one(&state, &token.tenant, created, &base, &proj, known).await?;
    Ok(resource_response(StatusCode::CREATED, body, &tag, Some(&loc)))
}

/// The work of a create, without the answer (`/Bulk` answers with the id and version only);
/// with a `ticket`, it waits for its place in its batch's line before it asks for the writer.
pub async fn create_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    ticket: Option<Ticket>,
) -> Result<StoredResource, ScimError> {
    Ok(create_work(state, req, rt, ticket).await?.1)
}

async fn create_work(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    ticket: Option<Ticket>,
) -> Result<(TokenRecord, StoredResource, Option<Person>), ScimError> {
    // A Bulk request holds up to a thousand of these futures at once while they wait for the
    // writer (`take_place`). Two steps are boxed, so that a waiting create holds only its own
    // state, 920 bytes instead of 4,888: reading the body (a future of 4,280 bytes) and the
    // lifecycle's create (without its box, a create's future is 3,032 bytes). The token's and
    // the context's futures (256 and 96 bytes) need none.
    let token = auth::authorize(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let tenant = token.tenant.clone();
    let body = Box::pin(json_body(req, state.limits.max_body_bytes)).await?;
    let Normalized { mut data, members } = normalize(rt, &body)?;
    strip_write_only(&mut data);
    people::mark_group_extension(&mut data, people::declared_group_extension(rt, &body));
    // A Bulk batch holds up to 1,000 prepared creates while they wait for the writer: each
    // keeps its normalized document, not the body it came from as well.
    drop(body);
    let (created, known) = match rt {
        // A person is created (or an archived one restored) by the lifecycle, by policy.
        ResourceType::User => {
            let ctx = people::context(state, req, &token).await?;
            let place = take_place(ticket).await;
            let mut tx = state.store.people().begin_in_line(&tenant, place).await?;
            let person = Box::pin(people_scim::create(tx.as_mut(), &ctx, data)).await?;
            tx.commit().await?;
            (people::resource_of(&person), Some(person))
        }
        ResourceType::Group => {
            let place = take_place(ticket).await;
            (state.store.create(&tenant, rt, NewResource { data, members }, place).await?, None)
        }
    };
    Ok((token, created, known))
}

/// Waits for a Bulk create's place in its batch's line; the create holds it until it is
/// ordered against the next one (see [`Place`]).
async fn take_place(ticket: Option<Ticket>) -> Option<Place> {
    match ticket {
        Some(ticket) => Some(ticket.wait().await),
        None => None,
    }
}

pub async fn get(state: Arc<AppState>, req: Request, rt: ResourceType, id: String) -> Answer {
    let tenant = auth::authenticate(&state.store, &state.tokens, &req, Scope::ScimRead).await?;
    let proj = projection_from_query(req.uri().query());
    let with_relations = projection::wants_relations(rt, &proj);
    let found = state.store.get(&tenant, rt, &id, with_relations).await?;
    let found = found.ok_or_else(|| ScimError::from(Error::NotFound(format!("{} {id} not found", rt.name()))))?;
    let tag = etag(found.meta.version);
    let condition = precondition(&req);
    // RFC 7232 §3.1: a GET whose If-Match names no current version fails with 412.
    if condition.if_match.as_ref().is_some_and(|s| !s.contains(found.meta.version)) {
        return Err(Error::VersionMismatch.into());
    }
    if condition.if_none_match.is_some_and(|s| s.contains(found.meta.version)) {
        return Ok(Response::builder().status(StatusCode::NOT_MODIFIED).header("ETag", tag).finish());
    }
    let body = present_one(&state, &tenant, found, &base_url(&req, state.public_url.as_deref()), &proj, None).await?;
    Ok(resource_response(StatusCode::OK, body, &tag, None))
}

pub async fn replace(state: Arc<AppState>, mut req: Request, rt: ResourceType, id: String) -> Answer {
    let proj = projection_from_query(req.uri().query());
    let with_relations = projection::wants_relations(rt, &proj);
    let (token, updated, known) = replace_work(&state, &mut req, rt, &id, with_relations).await?;
    respond(&state, &req, &token, updated, &proj, known).await
}

/// The work of a PUT, without the answer.
pub async fn replace_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Result<StoredResource, ScimError> {
    Ok(replace_work(state, req, rt, id, with_relations).await?.1)
}

async fn replace_work(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Written {
    let token = auth::authorize(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let body = json_body(req, state.limits.max_body_bytes).await?;
    let Normalized { mut data, members } = normalize(rt, &body)?;
    strip_write_only(&mut data);
    people::mark_group_extension(&mut data, people::declared_group_extension(rt, &body));
    let mutation: crate::domain::resource::Mutation = Box::new(move |current| {
        *current = data;
        // PUT replaces every attribute (RFC 7644 §3.5.1), members included.
        Ok(match rt {
            ResourceType::Group => vec![MemberOp::Clear, MemberOp::Add(members.unwrap_or_default())],
            ResourceType::User => Vec::new(),
        })
    });
    write(state, req, token, rt, id, mutation, with_relations).await
}

pub async fn patch(state: Arc<AppState>, mut req: Request, rt: ResourceType, id: String) -> Answer {
    let proj = projection_from_query(req.uri().query());
    let with_relations = projection::wants_relations(rt, &proj);
    let (token, updated, known) = patch_work(&state, &mut req, rt, &id, with_relations).await?;
    respond(&state, &req, &token, updated, &proj, known).await
}

/// The work of a PATCH, without the answer.
pub async fn patch_resource(
    state: &AppState,
    req: &mut Request,
    rt: ResourceType,
    id: &str,
    with_relations: bool,
) -> Result<StoredResource, ScimError> {
    Ok(patch_work(state, req, rt, id, with_relations).await?.1)
}

async fn patch_work(state: &AppState, req: &mut Request, rt: ResourceType, id: &str, with_relations: bool) -> Written {
    let token = auth::authorize(&state.store, &state.tokens, req, Scope::ScimWrite).await?;
    let body = json_body(req, state.limits.max_body_bytes).await?;
    let ops = parse_patch_request(&body)?;
    let marker = people::declared_group_extension_by_patch(rt, &body);
    let mutation: crate::domain::resource::Mutation = Box::new(move |data| {
        let member_ops = patch::apply(rt, data, &ops)?;
        strip_write_only(data);
        people::mark_group_extension(data, marker);
        Ok(member_ops)
    });
    write(state, req, token, rt, id, mutation, with_relations).await
}

/// What a write did: who asked, the resource as written, and the person when it is one.
type Written = Result<(TokenRecord, StoredResource, Option<Person>), ScimError>;

async fn write(
    state: &AppState,
    req: &Request,
    token: TokenRecord,
    rt: ResourceType,
    id: &str,
    mutation: crate::domain::resource::Mutation,
    with_relations: bool,
) -> Written {
    let tenant = &token.tenant;
    let (updated, known) = match rt {
        // What changed in `active`, `roles`, `userType` and `partner` is a lifecycle move.
        ResourceType::User => {
            let ctx = people::context(state, req, &token).await?;
            let mut tx = state.store.people().begin(tenant).await?;
            let person = people_scim::update(tx.as_mut(), &ctx, id, &precondition(req), mutation).await?;
            tx.commit().await?;
            let mut res = people::resource_of(&person);
            if with_relations {
                if let Some(found) = state.store.get(tenant, rt, id, true).await? {
                    res.groups = found.groups;
                }
            }
            (res, Some(person))
        }
        ResourceType::Group => {
            (state.store.update(tenant, rt, id, &precondition(req), mutation, with_relations).await?, None)
        }
    };
    Ok((token, updated, known))
}

async fn respond(
    state: &AppState,
    req: &Request,
    token: &TokenRecord,
    updated: StoredResource,
    proj: &Projection,
    known: Option<Person>,
) -> Answer {
    let base = base_url(req, state.public_url.as_deref());
    let tag = etag(updated.meta.version);
    let body = present_one(state, &token.tenant, updated, &base, proj, known).await?;
    Ok(resource_response(StatusCode::OK, body, &tag, None))
}

pub async fn delete(state: Arc<AppState>, req: Request, rt: ResourceType, id: String) -> Answer {
    let token = auth::authorize(&state.store, &state.tokens, &req, Scope::ScimWrite).await?;
    match rt {
        // DELETE archives the person: restorable, with an audit entry and a notification.
        ResourceType::User => {
            let ctx = people::context(&state, &req, &token).await?;
            let mut tx = state.store.people().begin(&token.tenant).await?;
            people_scim::delete(tx.as_mut(), &ctx, &id, &precondition(&req)).await?;
            tx.commit().await?;
        }
        ResourceType::Group => state.store.delete(&token.tenant, rt, &id, &precondition(&req)).await?,
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
