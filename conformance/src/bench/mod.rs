//! `scim-bench`: a SCIM load generator that can drive any SCIM 2.0 server (ours or a peer).
//! It seeds users and groups, runs each scenario for a fixed time at a fixed concurrency, and
//! reports requests per second, p50/p99 latency and the count of non-2xx answers, plus the
//! server's peak resident memory when given its pid. Only loopback or the URL given is used.

pub mod memory;
pub mod scenario;
pub mod seed;
pub mod stats;
pub mod totals;
pub mod wire;

use std::time::Duration;

use reqwest::Client;

/// What one run is asked to do.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub base_url: String,
    pub token: String,
    pub users: usize,
    pub group_members: usize,
    pub duration: Duration,
    pub concurrency: usize,
    pub scenarios: Vec<String>,
    /// Users the `bulk-total` job creates.
    pub bulk_users: usize,
}

/// An HTTP client tuned for load: keep-alive, one pooled connection per worker.
pub fn client(config: &BenchConfig) -> reqwest::Result<Client> {
    Client::builder()
        .pool_max_idle_per_host(config.concurrency)
        .timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
}

/// The request a scenario sends, built fresh for each call.
pub fn request(client: &Client, config: &BenchConfig, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{}{path}", config.base_url.trim_end_matches('/')))
        .bearer_auth(&config.token)
        .header("Content-Type", "application/scim+json")
}
