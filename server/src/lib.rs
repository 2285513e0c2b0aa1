//! Rollcall's SCIM 2.0 service provider: build the app from a store, serve it anywhere.

pub mod admin;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod mail;
pub mod protocol;
mod rounds;
pub mod storage;

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{get, handler, Endpoint, EndpointExt, IntoResponse, Response, Route};

pub use protocol::AppState;

/// The whole HTTP application: `/scim/v2`, `/admin`, `/auth` and `/healthz`. Used by `main` and by the tests.
pub fn build_app(state: Arc<AppState>) -> impl Endpoint<Output = Response> {
    Route::new()
        .nest("/scim/v2", protocol::routes::scim(&state))
        .nest("/admin", admin::routes(&state))
        .nest("/auth", admin::signin::routes(&state))
        .at("/healthz", get(healthz).data(state.clone()))
        .around(logged)
        .map_to_response()
}

/// poem's request span and its `response` event, when the log records them at all (at the
/// default `info` it does). poem's `Tracing` formats the peer's address (after looking for
/// forwarding headers), builds the span and times the request whether or not anything records
/// them: skipping it under `warn` (what the benchmark runs with) saves about 2,000 of a GET's
/// 130,000 instructions (callgrind).
async fn logged<E: Endpoint<Output = Response>>(ep: Arc<E>, req: poem::Request) -> poem::Result<Response> {
    if tracing::enabled!(target: "poem::middleware::tracing_mw", tracing::Level::INFO) {
        poem::middleware::Middleware::transform(&poem::middleware::Tracing, ep).call(req).await
    } else {
        ep.call(req).await
    }
}

#[handler]
async fn healthz(state: poem::web::Data<&Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
