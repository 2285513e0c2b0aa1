//! Jobs timed as totals rather than run for a fixed time: a full cursor walk of the tenant's
//! users in pages of 1,000, and the creation of `bulk_users` users through `/Bulk`.

use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::Value;

use super::seed::bulk_create;
use super::stats::{Samples, Summary};
use super::{request, BenchConfig};

/// Walks every user with `cursor`, 1,000 a page, one request after another.
pub async fn walk(client: &Client, config: &BenchConfig) -> Summary {
    let mut samples = Samples::default();
    let started = Instant::now();
    let mut cursor = String::new();
    let mut users = 0u64;
    loop {
        let sent = Instant::now();
        let r = request(client, config, Method::GET, &format!("/Users?count=1000&cursor={cursor}")).send().await;
        let Ok(r) = r else {
            samples.errors += 1;
            break;
        };
        let ok = r.status().is_success();
        let body: Value = r.json().await.unwrap_or_default();
        samples.record(sent.elapsed(), ok);
        users += body["Resources"].as_array().map_or(0, |a| a.len() as u64);
        match body["nextCursor"].as_str() {
            Some(next) if ok => cursor = next.to_owned(),
            _ => break,
        }
    }
    let mut summary = Summary::new("walk-cursor", samples, started.elapsed(), 1000);
    summary.items = Some(users);
    summary
}

/// Creates `config.bulk_users` new users, 1,000 a request.
pub async fn bulk(client: &Client, config: &BenchConfig, run: &str) -> Summary {
    let started = Instant::now();
    let created = bulk_create(client, config, &format!("{run}t"), config.bulk_users).await;
    let elapsed = started.elapsed().max(Duration::from_millis(1));
    let mut samples = Samples::default();
    let requests = config.bulk_users.div_ceil(1000);
    let per_request = elapsed / u32::try_from(requests.max(1)).unwrap_or(u32::MAX);
    match &created {
        Ok(ids) => {
            for _ in 0..requests {
                samples.record(per_request, true);
            }
            let mut summary = Summary::new("bulk-total", samples, elapsed, 1000);
            summary.items = Some(ids.len() as u64);
            summary
        }
        Err(e) => {
            eprintln!("  bulk-total: {e}");
            samples.errors += 1;
            Summary::new("bulk-total", samples, elapsed, 1000)
        }
    }
}
