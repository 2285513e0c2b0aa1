//! The admin API (`/admin/v1`, poem-openapi): people and their lifecycle, roles, projects,
//! group bindings, seats, policies, the audit log and the outbox. Tokens need the `admin`
//! scope. Every error is JSON `{code, message}` with a stable machine-readable `code`.
//! The OpenAPI document is served at `/admin/v1/openapi.json` (and committed as
//! `server/openapi/admin-v1.json`); the docs page is `/admin/docs`.

mod dto;
mod import;
mod org;
mod people;
mod projects;
mod reassign;
pub mod signin;
mod work;

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApiService, SecurityScheme};

use crate::domain::people_ops::Ctx;
use crate::domain::people_store::PeopleTx;
use crate::domain::tenant::Scope;
use crate::domain::{Error, Refusal};
use crate::protocol::{auth, AppState};

/// A bearer token with the `admin` scope (`scim-server token create --scope admin`); the
/// reassignment endpoints also take a token with only the `reassign` scope.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct AdminToken(
    #[expect(dead_code, reason = "checked by `auth::authorize`, which also reads the cache")]
    poem_openapi::auth::Bearer,
);

/// An error: `code` is stable and machine-readable, `message` is for people.
#[derive(Debug, Object)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

#[derive(Debug, ApiResponse)]
pub enum Failure {
    /// The request is malformed or a value is not allowed.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No valid bearer token.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The token lacks the `admin` scope, or the seat limit is reached.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// A rule refused the operation (illegal transition, last admin, e-mail taken, …).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// A link that expired.
    #[oai(status = 410)]
    Gone(Json<ErrorBody>),
    /// The request body is larger than the server accepts.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

impl Failure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let body = Json(ErrorBody { code: code.to_owned(), message: message.into() });
        match status {
            StatusCode::BAD_REQUEST => Self::BadRequest(body),
            StatusCode::UNAUTHORIZED => Self::Unauthorized(body),
            StatusCode::FORBIDDEN => Self::Forbidden(body),
            StatusCode::NOT_FOUND => Self::NotFound(body),
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed(body),
            StatusCode::CONFLICT => Self::Conflict(body),
            StatusCode::GONE => Self::Gone(body),
            StatusCode::PAYLOAD_TOO_LARGE => Self::TooLarge(body),
            _ => Self::Internal(body),
        }
    }
}

/// The one place domain errors become admin API errors.
impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Refused { code, .. } => {
                let status = match code {
                    Refusal::SeatLimit => StatusCode::FORBIDDEN,
                    Refusal::LinkExpired => StatusCode::GONE,
                    Refusal::UnknownRole
                    | Refusal::UnknownPermission
                    | Refusal::PermissionNotAllowed
                    | Refusal::EmailRequired
                    | Refusal::OwnerNeedsPermission
                    | Refusal::IneligibleTarget => StatusCode::BAD_REQUEST,
                    Refusal::LinkInvalid => StatusCode::NOT_FOUND,
                    Refusal::SignInRefused => StatusCode::FORBIDDEN,
                    _ => StatusCode::CONFLICT,
                };
                Self::new(status, code.code(), message)
            }
            Error::NotFound(_) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            Error::Uniqueness(_) => Self::new(StatusCode::CONFLICT, "uniqueness", message),
            Error::VersionMismatch => Self::new(StatusCode::CONFLICT, "version_mismatch", message),
            Error::TooMany(_) => Self::new(StatusCode::BAD_REQUEST, "too_many", message),
            Error::Storage(cause) => {
                tracing::error!(error = %cause, "storage failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error")
            }
            _ => Self::new(StatusCode::BAD_REQUEST, "invalid_value", message),
        }
    }
}

impl From<crate::protocol::error::ScimError> for Failure {
    fn from(e: crate::protocol::error::ScimError) -> Self {
        let code = match e.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "error",
        };
        Self::new(e.status, code, e.detail)
    }
}

pub type Answer<T> = Result<Json<T>, Failure>;

/// Checks the admin token and builds the use-case context.
pub async fn admin_ctx(state: &AppState, req: &Request) -> Result<Ctx, Failure> {
    scoped_ctx(state, req, Scope::Admin).await
}

/// Checks that the token has `scope` (`admin` covers `reassign`) and builds the context.
pub async fn scoped_ctx(state: &AppState, req: &Request, scope: Scope) -> Result<Ctx, Failure> {
    let token = auth::authorize(&state.store, &state.tokens, req, scope).await?;
    Ok(crate::protocol::people::context(state, req, &token).await?)
}

/// Opens a write transaction for the context's tenant.
pub async fn begin(state: &AppState, ctx: &Ctx) -> Result<Box<dyn PeopleTx>, Failure> {
    Ok(state.store.people().begin(&ctx.tenant).await?)
}

pub async fn read(state: &AppState, ctx: &Ctx) -> Result<Box<dyn PeopleTx>, Failure> {
    Ok(state.store.people().read(&ctx.tenant).await?)
}

type Apis = (
    people::PeopleApi,
    org::RolesApi,
    projects::ProjectsApi,
    org::TenantApi,
    org::RecordsApi,
    import::ImportApi,
    work::WorkApi,
    reassign::ReassignApi,
);

pub fn service(state: &Arc<AppState>) -> OpenApiService<Apis, ()> {
    let s = || state.clone();
    OpenApiService::new(
        (
            people::PeopleApi { state: s() },
            org::RolesApi { state: s() },
            projects::ProjectsApi { state: s() },
            org::TenantApi { state: s() },
            org::RecordsApi { state: s() },
            import::ImportApi { state: s() },
            work::WorkApi { state: s() },
            reassign::ReassignApi { state: s() },
        ),
        "Rollcall admin API",
        "1.0",
    )
    .description("People, their lifecycle, roles, projects, seats and policies of one tenant (the token's).")
    .server("/admin/v1")
}

/// The OpenAPI document, exactly as served.
pub fn openapi_json(state: &Arc<AppState>) -> String {
    service(state).spec()
}

/// `/admin/v1` (with `openapi.json`) and `/admin/docs`. poem's own errors (bad JSON, wrong
/// method) are turned into `{code, message}` too.
pub fn routes(state: &Arc<AppState>) -> impl Endpoint<Output = Response> {
    let api = service(state);
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let limit = state.limits.max_body_bytes;
    Route::new().nest("/v1/openapi.json", spec).nest("/v1", api).nest("/docs", docs).around(move |ep, req| async move {
        let req = match limit_body(req, limit).await {
            Ok(req) => req,
            Err(f) => return Ok(f.into_response()),
        };
        Ok(json_errors(ep.call(req).await).await)
    })
}

/// Reads the body (at most `limit` bytes, else 413) before any handler sees it, so no admin
/// or sign-in request makes the server buffer more than that.
pub(crate) async fn limit_body(mut req: Request, limit: usize) -> Result<Request, Failure> {
    let too_large = || {
        Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    };
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => {
            req.set_body(bytes);
            Ok(req)
        }
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(e) => {
            Err(Failure::new(StatusCode::BAD_REQUEST, "bad_request", format!("the request body cannot be read: {e}")))
        }
    }
}

/// poem's and poem-openapi's own errors (unknown route, bad JSON, wrong content type) as
/// `{code, message}` too.
pub(crate) async fn json_errors(answer: poem::Result<impl IntoResponse>) -> Response {
    match answer {
        Ok(r) => {
            let r = r.into_response();
            if r.status().is_client_error() && !is_json(&r) {
                let status = r.status();
                let text = r.into_body().into_string().await.unwrap_or_default();
                let message = if text.trim().is_empty() { "the request could not be read".to_owned() } else { text };
                plain_error(status, &message).into_response()
            } else {
                r
            }
        }
        Err(e) => {
            let status = e.status();
            let message = e.to_string();
            match e.into_response() {
                r if is_json(&r) => r,
                _ => plain_error(status, &message).into_response(),
            }
        }
    }
}

fn is_json(r: &Response) -> bool {
    r.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

fn plain_error(status: StatusCode, message: &str) -> Failure {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        _ => "bad_request",
    };
    Failure::new(status, code, message)
}
