//! Sign-in for people (`/auth`), answered in JSON `{code, message}` on refusal:
//!
//! - `GET /auth/signup/{token}`: whether a sign-up link is valid, and for whom;
//! - `POST /auth/signup/{token}` `{password}`: accept the invitation (→ active);
//! - `POST /auth/login` `{tenant, userName, password}`: may this person sign in, and why not;
//! - `POST /auth/password-reset` `{tenant, userName}`: mail a reset link (always 202);
//! - `POST /auth/reset/{token}` `{password}`: set a new password;
//! - `POST /auth/join/{token}` `{email, givenName, familyName}`: the public join link.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use serde::Deserialize;
use serde_json::json;

use crate::domain::audit::Actor;
use crate::domain::lifecycle::UserType;
use crate::domain::people_ops::{self as ops, Ctx, PersonInput};
use crate::domain::resource::TenantId;
use crate::domain::secret::{self, LinkPurpose};
use crate::domain::{Error, Refusal};
use crate::protocol::people::app_url;
use crate::protocol::AppState;

use super::Failure;

type State<'a> = Data<&'a Arc<AppState>>;

fn fail(f: Failure) -> Response {
    f.into_response()
}

fn link_tenant(token: &str) -> Result<TenantId, Failure> {
    secret::link_tenant(token).ok_or_else(|| Error::refused(Refusal::LinkInvalid, "this link is not valid").into())
}

async fn ctx(state: &AppState, req: &Request, tenant: TenantId, actor: Actor) -> Result<Ctx, Failure> {
    let name = state.store.people().tenant_name(&tenant).await?;
    let Some(tenant_name) = name else {
        return Err(Error::refused(Refusal::LinkInvalid, "this link is not valid").into());
    };
    Ok(Ctx { tenant, tenant_name, actor, now: state.clock.now(), links: format!("{}/auth", app_url(state, req)) })
}

#[handler]
async fn signup_info(state: State<'_>, Path(token): Path<String>) -> Response {
    let tenant = match link_tenant(&token) {
        Ok(t) => t,
        Err(f) => return fail(f),
    };
    let result = async {
        let mut tx = state.store.people().read(&tenant).await?;
        let (p, _) = ops::check_link(tx.as_mut(), &token, LinkPurpose::SignUp, state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, Error>(p)
    }
    .await;
    match result {
        Ok(p) => Json(json!({"id": p.id, "userName": p.user_name(), "email": p.email(), "state": p.state.as_str()}))
            .into_response(),
        Err(e) => fail(e.into()),
    }
}

#[derive(Deserialize)]
struct PasswordIn {
    password: String,
}

#[handler]
async fn signup(state: State<'_>, req: &Request, Path(token): Path<String>, body: Json<PasswordIn>) -> Response {
    let tenant = match link_tenant(&token) {
        Ok(t) => t,
        Err(f) => return fail(f),
    };
    let ctx = match ctx(&state, req, tenant.clone(), Actor::person("signup")).await {
        Ok(c) => c,
        Err(f) => return fail(f),
    };
    let result = async {
        let mut tx = state.store.people().begin(&tenant).await?;
        let p = ops::accept(tx.as_mut(), &ctx, &token, &body.password).await?;
        tx.commit().await?;
        Ok::<_, Error>(p)
    }
    .await;
    match result {
        Ok(p) => Json(json!({"id": p.id, "userName": p.user_name(), "state": p.state.as_str()})).into_response(),
        Err(e) => fail(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginIn {
    tenant: String,
    user_name: String,
    password: String,
}

#[handler]
async fn login(state: State<'_>, body: Json<LoginIn>) -> Response {
    let result = async {
        let Some(tenant) = state.store.find_tenant(&body.tenant).await? else {
            return Err(Error::refused(Refusal::SignInRefused, "wrong user name or password"));
        };
        let mut tx = state.store.people().read(&tenant.id).await?;
        let p = ops::login(tx.as_mut(), &body.user_name, &body.password, state.clock.now()).await?;
        let roles = tx.roles().await?;
        tx.commit().await?;
        let permissions = roles
            .iter()
            .find(|r| r.name == p.effective_role())
            .map(|r| r.effective(&p.permissions))
            .unwrap_or_default();
        Ok(json!({"id": p.id, "userName": p.user_name(), "role": p.effective_role(), "permissions": permissions}))
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => fail(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetRequestIn {
    tenant: String,
    user_name: String,
}

/// Always 202: whether the person exists is not told to whoever asks.
#[handler]
async fn reset_request(state: State<'_>, req: &Request, body: Json<ResetRequestIn>) -> Response {
    let result = async {
        let Some(tenant) = state.store.find_tenant(&body.tenant).await? else { return Ok(()) };
        let ctx = match ctx(&state, req, tenant.id.clone(), Actor("password-reset".into())).await {
            Ok(c) => c,
            Err(_) => return Ok(()),
        };
        let mut tx = state.store.people().begin(&tenant.id).await?;
        if let Some(p) = tx.find_by_user_name(&body.user_name).await? {
            if ops::request_reset(tx.as_mut(), &ctx, &p).await.is_ok() {
                tx.commit().await?;
            }
        }
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = result {
        return fail(e.into());
    }
    (StatusCode::ACCEPTED, Json(json!({"message": "if this person may reset a password, a link is on its way"})))
        .into_response()
}

#[handler]
async fn reset(state: State<'_>, req: &Request, Path(token): Path<String>, body: Json<PasswordIn>) -> Response {
    let tenant = match link_tenant(&token) {
        Ok(t) => t,
        Err(f) => return fail(f),
    };
    let ctx = match ctx(&state, req, tenant.clone(), Actor("password-reset".into())).await {
        Ok(c) => c,
        Err(f) => return fail(f),
    };
    let result = async {
        let mut tx = state.store.people().begin(&tenant).await?;
        let p = ops::reset_password(tx.as_mut(), &ctx, &token, &body.password).await?;
        tx.commit().await?;
        Ok::<_, Error>(p)
    }
    .await;
    match result {
        Ok(p) => Json(json!({"id": p.id, "userName": p.user_name()})).into_response(),
        Err(e) => fail(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinIn {
    email: String,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// The public join link: joins land as invited employees (with the member role) and get
/// their sign-up link by mail.
#[handler]
async fn join(state: State<'_>, req: &Request, Path(token): Path<String>, body: Json<JoinIn>) -> Response {
    let tenant = match link_tenant(&token) {
        Ok(t) => t,
        Err(f) => return fail(f),
    };
    let ctx = match ctx(&state, req, tenant.clone(), Actor::join_link()).await {
        Ok(c) => c,
        Err(f) => return fail(f),
    };
    let result = async {
        let mut tx = state.store.people().begin(&tenant).await?;
        if !tx.join_link_hash().await?.is_some_and(|key| secret::link_matches(&token, &key)) {
            return Err(Error::refused(
                Refusal::LinkInvalid,
                "this join link is not valid (it may have been turned off or rotated)",
            ));
        }
        let input = PersonInput {
            email: Some(body.email.clone()),
            given_name: body.given_name.clone(),
            family_name: body.family_name.clone(),
            user_type: Some(UserType::Employee),
            ..PersonInput::default()
        };
        let p = ops::invite(tx.as_mut(), &ctx, &input, true).await?;
        tx.commit().await?;
        Ok::<_, Error>(p)
    }
    .await;
    match result {
        Ok(p) => (
            StatusCode::CREATED,
            Json(json!({"id": p.id, "state": p.state.as_str(), "message": "check your mail for the sign-up link"})),
        )
            .into_response(),
        Err(e) => fail(e.into()),
    }
}

pub fn routes(state: &Arc<AppState>) -> impl Endpoint<Output = Response> {
    let limit = state.limits.max_body_bytes;
    Route::new()
        .at("/signup/:token", get(signup_info).post(signup))
        .at("/login", post(login))
        .at("/password-reset", post(reset_request))
        .at("/reset/:token", post(reset))
        .at("/join/:token", post(join))
        .data(state.clone())
        .around(move |ep, req| async move {
            let req = match super::limit_body(req, limit).await {
                Ok(req) => req,
                Err(f) => return Ok(f.into_response()),
            };
            Ok(super::json_errors(ep.call(req).await).await)
        })
}
