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
        .with(poem::middleware::Tracing)
        .map_to_response()
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
