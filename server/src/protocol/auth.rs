//! Bearer-token authentication. A token names its tenant; every handler gets the tenant
//! from here and from nowhere else. Lookups are cached for a few seconds so that a request
//! costs no extra query, while a revoked token still stops working within that time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use poem::Request;

use crate::domain::resource::TenantId;
use crate::domain::store::Store;
use crate::domain::tenant::{self, Scope, TokenRecord};

use super::error::ScimError;

/// How long a looked-up token is trusted before the database is asked again.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(5);
/// How often `last_used_at` is written for one token, at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Cached tokens are few (one per identity provider); the cap only guards memory.
const MAX_CACHED: usize = 10_000;

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    record: TokenRecord,
    fetched: Instant,
    touched: Option<Instant>,
}

impl Entry {
    /// Whether the token's `last_used_at` is due to be written; if so, it counts as
    /// written from now.
    fn touch_due(&mut self) -> bool {
        let due = self.touched.is_none_or(|t| t.elapsed() > TOUCH_EVERY);
        if due {
            self.touched = Some(Instant::now());
        }
        due
    }
}

impl TokenCache {
    fn get(&self, id: &str) -> Option<(TokenRecord, bool)> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get_mut(id)?;
        if entry.fetched.elapsed() > TOKEN_CACHE_TTL {
            return None;
        }
        let touch = entry.touch_due();
        Some((entry.record.clone(), touch))
    }

    /// Caches a token just read; answers whether its `last_used_at` is due. The time it was
    /// last written outlives the entry's refreshes, so that neither a refresh (every few
    /// seconds) nor the requests that miss the cache together each write it again.
    fn put(&self, record: TokenRecord) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let touched = entries.get(&record.id).and_then(|e| e.touched);
        if entries.len() >= MAX_CACHED {
            entries.clear();
        }
        let id = record.id.clone();
        entries.entry(id).insert_entry(Entry { record, fetched: Instant::now(), touched }).into_mut().touch_due()
    }
}

/// Checks the request's bearer token and that it carries `scope`; answers the tenant.
pub async fn authenticate(
    store: &Arc<dyn Store>,
    cache: &TokenCache,
    req: &Request,
    scope: Scope,
) -> Result<TenantId, ScimError> {
    Ok(authorize(store, cache, req, scope).await?.tenant)
}

/// As [`authenticate`], answering the whole token record (the audit log names the token).
pub async fn authorize(
    store: &Arc<dyn Store>,
    cache: &TokenCache,
    req: &Request,
    scope: Scope,
) -> Result<TokenRecord, ScimError> {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let presented = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => return Err(ScimError::unauthorized("a bearer token is required (Authorization: Bearer <token>)")),
    };
    let (id, secret) = tenant::lookup_id(presented);
    let (record, touch) = match cache.get(&id) {
        Some(hit) => hit,
        None => {
            let record = store.find_token(&id).await.map_err(ScimError::from)?;
            let record = record.ok_or_else(|| ScimError::unauthorized("the bearer token is not valid"))?;
            let touch = cache.put(record.clone());
            (record, touch)
        }
    };
    if !tenant::verify(&record, secret) || record.revoked {
        return Err(ScimError::unauthorized("the bearer token is not valid"));
    }
    if !record.scopes.iter().any(|held| held.grants(scope)) {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            None,
            format!("the bearer token lacks the `{}` scope", scope.as_str()),
        ));
    }
    if touch {
        let store = store.clone();
        let id = record.id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(&id).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TokenRecord {
        TokenRecord {
            id: "tok".into(),
            tenant: TenantId("t".into()),
            secret_hash: Vec::new(),
            scopes: vec![Scope::ScimRead],
            description: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            revoked: false,
        }
    }

    #[test]
    fn last_used_is_written_once_a_period_not_on_every_refresh() {
        let cache = TokenCache::default();
        assert!(cache.put(record()), "first use");
        // Requests that missed the cache together, and the refreshes after its TTL.
        assert!(!cache.put(record()));
        assert!(!cache.put(record()));
        assert_eq!(cache.get("tok").map(|(_, touch)| touch), Some(false));
        // Once the period is over, the next use writes it again.
        cache.entries.lock().expect("lock").get_mut("tok").expect("cached").touched =
            Some(Instant::now() - TOUCH_EVERY - Duration::from_secs(1));
        assert!(cache.put(record()));
        assert!(!cache.put(record()));
    }
}
