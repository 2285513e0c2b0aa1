//! A SCIM 2.0 client over reqwest: bearer token, JSON in and out, paging, and every
//! request through the rate limit and the retry policy of [`retry`].

pub mod retry;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde_json::Value;

use retry::{parse_retry_after, retryable, RateLimiter, RetryPolicy};

/// Most SCIM servers cap a page at 1000 (ours does); asking for more is harmless.
const PAGE_SIZE: usize = 1000;
/// Pages asked for at once when reading a whole endpoint.
const PAGES_IN_FLIGHT: usize = 3;

/// A request that did not succeed, after any retries.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{method} {url}: HTTP {status}: {detail}")]
    Status { method: Method, url: String, status: u16, detail: String },
    #[error("{method} {url}: {message}")]
    Transport { method: Method, url: String, message: String },
    #[error("{0}")]
    Setup(String),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How to talk to one server.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    pub rate_limit: u32,
    pub timeout: Duration,
}

/// A server's answer: status and body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// A SCIM client; cheap to clone, clones share the rate limit and counters.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    auth: HeaderValue,
    retry: RetryPolicy,
    limiter: Arc<RateLimiter>,
    retried: Arc<AtomicU64>,
}

impl Client {
    pub fn new(base: &str, token: &str, options: &ClientOptions) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("scim-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot build the HTTP client: {e}")))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::Setup("the token has characters a header cannot carry".into()))?;
        auth.set_sensitive(true);
        Ok(Self {
            http,
            base: base.trim_end_matches('/').into(),
            auth,
            retry: options.retry,
            limiter: Arc::new(RateLimiter::new(options.rate_limit)),
            retried: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many retries this client (and its clones) made so far.
    pub fn retries_made(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Sends a request, retrying on 429, 5xx and connection errors. Any other non-2xx is
    /// an error carrying the server's `detail`.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ClientError> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        self.send_to(method, url, "application/scim+json", body).await
    }

    /// Calls a Rollcall server's admin API (`path` from the server's origin, such as
    /// `/admin/v1/…`) with the same token, retries and rate limit as the SCIM calls.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ClientError> {
        let origin = match self.base.find("://") {
            Some(scheme) => match self.base[scheme + 3..].find('/') {
                Some(slash) => &self.base[..scheme + 3 + slash],
                None => &self.base[..],
            },
            None => &self.base[..],
        };
        self.send_to(method, format!("{origin}{path}"), "application/json", body).await
    }

    async fn send_to(
        &self,
        method: Method,
        url: String,
        content_type: &'static str,
        body: Option<&Value>,
    ) -> Result<Reply, ClientError> {
        let mut attempt = 0;
        loop {
            self.limiter.acquire().await;
            let mut request = self.http.request(method.clone(), &url).header(AUTHORIZATION, self.auth.clone());
            if let Some(body) = body {
                request = request.header(CONTENT_TYPE, content_type).body(body.to_string());
            }
            let (retry_after, failure) = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after =
                        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
                    let text = response.text().await.unwrap_or_default();
                    let body = serde_json::from_str(&text).unwrap_or(if text.is_empty() {
                        Value::Null
                    } else {
                        Value::String(text)
                    });
                    if (200..300).contains(&status) {
                        return Ok(Reply { status, body });
                    }
                    // SCIM errors carry `detail`; the admin API's carry `message`.
                    let detail = body
                        .get("detail")
                        .or_else(|| body.get("message"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| body.to_string().chars().take(200).collect());
                    let error = ClientError::Status { method: method.clone(), url: url.clone(), status, detail };
                    if !retryable(status) {
                        return Err(error);
                    }
                    (retry_after, error)
                }
                Err(e) => {
                    let message = if e.is_timeout() { "timed out".to_owned() } else { format!("{e}") };
                    (None, ClientError::Transport { method: method.clone(), url: url.clone(), message })
                }
            };
            if attempt >= self.retry.retries {
                return Err(failure);
            }
            self.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.retry.delay(attempt, retry_after)).await;
            attempt += 1;
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        Ok(self.send(Method::GET, path, None).await?.body)
    }

    /// Every resource of an endpoint, handed to `each` a page at a time (in order), so that
    /// a caller keeps what it needs of 100,000 resources rather than the resources. The
    /// first page tells the total and the server's page size; the pages after it are asked
    /// for [`PAGES_IN_FLIGHT`] at a time, so that the server serialises one page while the
    /// agent reads another. A server that caps pages below what was asked, or a total that
    /// moves during the walk, is followed page by page to the end.
    pub async fn for_each_page(&self, endpoint: &str, mut each: impl FnMut(Vec<Value>)) -> Result<(), ClientError> {
        let (first, total) = self.page(endpoint, 1).await?;
        let size = first.len();
        let mut seen = size;
        each(first);
        if size == 0 || seen >= total {
            return Ok(());
        }
        if total != usize::MAX {
            let starts: Vec<usize> = (1 + size..=total).step_by(size).collect();
            let mut pages = stream::iter(starts).map(|start| self.page(endpoint, start)).buffered(PAGES_IN_FLIGHT);
            while let Some(page) = pages.next().await {
                let (resources, _) = page?;
                let got = resources.len();
                seen += got;
                each(resources);
                if got < size {
                    break;
                }
            }
        }
        // Whatever is left (a total that grew, or no total at all), one page after another.
        loop {
            if seen >= total {
                return Ok(());
            }
            let (resources, _) = self.page(endpoint, seen + 1).await?;
            if resources.is_empty() {
                return Ok(());
            }
            seen += resources.len();
            each(resources);
        }
    }

    /// One page: its resources and `totalResults` (`usize::MAX` when the server leaves it
    /// out, though RFC 7644 §3.4.2 requires it).
    async fn page(&self, endpoint: &str, start: usize) -> Result<(Vec<Value>, usize), ClientError> {
        let page = self.get(&format!("{endpoint}?startIndex={start}&count={PAGE_SIZE}")).await?;
        let Value::Object(mut page) = page else {
            return Err(ClientError::Setup(format!("{endpoint}: the answer is not a SCIM ListResponse")));
        };
        let resources = match page.remove("Resources") {
            Some(Value::Array(r)) => r,
            _ => Vec::new(),
        };
        let total = page.get("totalResults").and_then(Value::as_u64).map_or(usize::MAX, |t| t as usize);
        Ok((resources, total))
    }

    /// A discovery document (`ServiceProviderConfig`, `Schemas`), or `None` when the server
    /// does not serve it (a 4xx answer).
    pub async fn discovery(&self, endpoint: &str) -> Result<Option<Value>, ClientError> {
        match self.get(endpoint).await {
            Ok(v) => Ok(Some(v)),
            Err(ClientError::Status { status: 400..=499, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What the target says about itself: PATCH support and whether it is a Rollcall server
    /// (see [`crate::reassign::detect`]).
    pub async fn probe(&self) -> Result<TargetInfo, ClientError> {
        // A Rollcall server adds its extension only when asked; others ignore the parameter.
        let spc_path = format!("ServiceProviderConfig?attributes={}", crate::reassign::ROLLCALL_SPC_EXTENSION);
        let spc = self.discovery(&spc_path).await?;
        let schemas = self.discovery("Schemas").await?;
        let patch = spc.as_ref().and_then(|c| c.pointer("/patch/supported")).and_then(Value::as_bool) == Some(true);
        Ok(TargetInfo { patch, kind: crate::reassign::detect(schemas.as_ref(), spc.as_ref()) })
    }
}

/// What [`Client::probe`] found out.
#[derive(Debug, Clone, Copy)]
pub struct TargetInfo {
    pub patch: bool,
    pub kind: crate::reassign::TargetKind,
}
