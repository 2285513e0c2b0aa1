//! The scenarios: each runs for the configured time with `concurrency` workers sending one
//! kind of request in a loop, on keys spread over the seeded data.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder};
use serde_json::json;

use super::seed::{user_body, user_name, Seeded};
use super::stats::{Samples, Summary};
use super::{request, BenchConfig};

/// Every scenario, in the order they run by default. Writes come last so that reads (and the
/// full cursor walk) see the seeded data only.
pub const ALL: &[&str] = &[
    "get",
    "filter-username",
    "filter-email",
    "list-index",
    "list-cursor",
    "walk-cursor",
    "create",
    "patch-active",
    "put",
    "member-add-remove",
    "bulk-create",
    "bulk-total",
];

/// Scenarios timed as totals (one job done once) rather than for a fixed time.
pub const TOTALS: &[&str] = &["walk-cursor", "bulk-total"];

/// A small, fast, per-worker random sequence (xorshift): no shared state between workers.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Shared by the workers of one scenario.
struct Ctx {
    client: Client,
    config: BenchConfig,
    seeded: Seeded,
    counter: AtomicUsize,
    scenario: String,
}

impl Ctx {
    fn req(&self, method: Method, path: &str) -> RequestBuilder {
        request(&self.client, &self.config, method, path)
    }

    /// The requests of one iteration, and how many items each carries.
    fn next(&self, rng: &mut Rng) -> Vec<RequestBuilder> {
        let users = &self.seeded.user_ids;
        let i = rng.below(users.len());
        let id = users.get(i).cloned().unwrap_or_default();
        let run = &self.seeded.run;
        match self.scenario.as_str() {
            "get" => vec![self.req(Method::GET, &format!("/Users/{id}"))],
            "filter-username" => vec![self
                .req(Method::GET, "/Users")
                .query(&[("filter", format!("userName eq \"{}\"", user_name(run, i)))])],
            "filter-email" => vec![self
                .req(Method::GET, "/Users")
                .query(&[("filter", format!("emails.value eq \"mail-{run}-{i}@example.com\""))])],
            "list-index" => {
                let start = rng.below(users.len().saturating_sub(100).max(1)) + 1;
                vec![self.req(Method::GET, &format!("/Users?startIndex={start}&count=100"))]
            }
            "create" => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                vec![self.req(Method::POST, "/Users").json(&user_body(&format!("{run}c"), n))]
            }
            "patch-active" => {
                let active = rng.below(2) == 0;
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                  "Operations": [{"op": "replace", "value": {"active": active}}]});
                vec![self.req(Method::PATCH, &format!("/Users/{id}")).json(&body)]
            }
            "put" => {
                let mut body = user_body(run, i);
                body["title"] = json!(format!("Title {}", rng.below(1000)));
                vec![self.req(Method::PUT, &format!("/Users/{id}")).json(&body)]
            }
            "member-add-remove" => {
                let Some(group) = &self.seeded.group_id else { return Vec::new() };
                let member = &users[rng.below(self.config.group_members.min(users.len()))];
                let path = format!("/Groups/{group}?excludedAttributes=members");
                let op = |op: &str, value: serde_json::Value| {
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": op, "path": "members", "value": value}]})
                };
                vec![
                    self.req(Method::PATCH, &path).json(&op("remove", json!([{"value": member}]))),
                    self.req(Method::PATCH, &path).json(&op("add", json!([{"value": member}]))),
                ]
            }
            "bulk-create" => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                let ops: Vec<_> = (0..1000)
                    .map(|k| {
                        json!({"method": "POST", "path": "/Users", "bulkId": format!("b{k}"),
                                    "data": user_body(&format!("{run}b{n}"), k)})
                    })
                    .collect();
                vec![self.req(Method::POST, "/Bulk").json(&json!({"Operations": ops}))]
            }
            _ => Vec::new(),
        }
    }
}

fn items_per_request(scenario: &str) -> u64 {
    if scenario == "bulk-create" {
        1000
    } else {
        1
    }
}

/// Runs one scenario; `None` when the server cannot run it (e.g. no Bulk support).
pub async fn run(name: &str, client: &Client, config: &BenchConfig, seeded: &Seeded) -> Option<Summary> {
    if !ALL.contains(&name)
        || ((name == "bulk-create" || name == "bulk-total") && !seeded.bulk_supported)
        || ((name == "list-cursor" || name == "walk-cursor") && !seeded.cursor_supported)
        || (name == "member-add-remove" && seeded.group_id.is_none())
    {
        return None;
    }
    match name {
        "walk-cursor" => return Some(super::totals::walk(client, config).await),
        "bulk-total" => return Some(super::totals::bulk(client, config, &seeded.run).await),
        _ => {}
    }
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config: config.clone(),
        seeded: seeded.clone(),
        counter: AtomicUsize::new(0),
        scenario: name.to_owned(),
    });
    let started = Instant::now();
    let deadline = started + config.duration;
    let workers: Vec<_> = (0..config.concurrency.max(1))
        .map(|w| {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((w as u64 + 1) * 0x2545_F491));
                let mut samples = Samples::default();
                let mut cursor: Option<String> = None;
                while Instant::now() < deadline {
                    if ctx.scenario == "list-cursor" {
                        // Walk pages of 100 from the start, again and again.
                        let sent = Instant::now();
                        let path = format!("/Users?count=100&cursor={}", cursor.as_deref().unwrap_or(""));
                        match ctx.req(Method::GET, &path).send().await {
                            Ok(r) => {
                                let ok = r.status().is_success();
                                let body: serde_json::Value = r.json().await.unwrap_or_default();
                                cursor = body["nextCursor"].as_str().map(str::to_owned);
                                samples.record(sent.elapsed(), ok);
                            }
                            Err(_) => samples.errors += 1,
                        }
                        continue;
                    }
                    for req in ctx.next(&mut rng) {
                        let sent = Instant::now();
                        match req.send().await {
                            Ok(r) => {
                                let ok = r.status().is_success();
                                // Read the body: the latency a client sees includes it.
                                let _ = r.bytes().await;
                                samples.record(sent.elapsed(), ok);
                            }
                            Err(_) => samples.errors += 1,
                        }
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for w in workers {
        if let Ok(samples) = w.await {
            all.merge(samples);
        }
    }
    let elapsed = started.elapsed().max(Duration::from_millis(1));
    Some(Summary::new(name, all, elapsed, items_per_request(name)))
}
