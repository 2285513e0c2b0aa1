//! SCIM on the wire (RFC 7643/7644): routes, handlers, parsing, rendering and errors.

pub mod answer;
pub mod auth;
pub mod bulk;
pub mod bulk_line;
pub mod cursor;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod http;
pub mod patch;
pub mod people;
pub mod projection;
pub mod query;
pub mod render;
pub mod resources;
pub mod routes;
pub mod search;

use std::sync::Arc;

use crate::domain::clock::{Clock, SystemClock};
use crate::domain::store::Store;

/// The media type of every SCIM answer (RFC 7644 §3.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// Limits advertised in ServiceProviderConfig and enforced on every request.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024 }
    }
}

/// `/Bulk` requests running at once; the others queue.
const BULK_CONCURRENCY: usize = 2;

/// What every handler shares.
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: auth::TokenCache,
    pub limits: Limits,
    /// The SCIM base URL to put in `meta.location`, when the Host header is not to be trusted.
    pub public_url: Option<String>,
    /// Where the links in mails point (`<app_url>/auth/signup/…`); from the Host header
    /// when unset.
    pub app_url: Option<String>,
    /// Every expiry (sign-up links, reset links, cursors) is judged by this clock.
    pub clock: Arc<dyn Clock>,
    /// Tenant names by id, for mails (tenants are never renamed).
    pub tenant_names: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Signs and checks pagination cursors with the database's key.
    pub cursors: cursor::CursorCodec,
    /// How many `/Bulk` requests run at once.
    pub bulk_slots: tokio::sync::Semaphore,
    /// Which `/Bulk` request's batch of creates is lining up for the writer.
    pub bulk_writers: bulk_line::WriterTurn,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let cursors = cursor::CursorCodec::new(store.cursor_key().to_vec());
        Self {
            store,
            tokens: auth::TokenCache::default(),
            limits: Limits::default(),
            public_url: None,
            app_url: None,
            clock: Arc::new(SystemClock),
            tenant_names: std::sync::Mutex::default(),
            cursors,
            bulk_slots: tokio::sync::Semaphore::new(BULK_CONCURRENCY),
            bulk_writers: bulk_line::WriterTurn::default(),
        }
    }
}
