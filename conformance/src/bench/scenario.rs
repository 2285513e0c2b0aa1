//! The scenarios: each runs for the configured time with `concurrency` workers sending one
//! kind of request in a loop, on keys spread over the seeded data.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{Client, Method};
use serde_json::{json, Value};

use super::seed::{user_body, user_name, Seeded};
use super::stats::{Samples, Summary};
use super::wire::{Conn, Target};
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

/// One request of a scenario: its method, its path after the base URL (with the query) and
/// its JSON body.
struct Call {
    method: Method,
    path: String,
    body: Option<Bytes>,
}

impl Call {
    fn get(path: String) -> Call {
        Call { method: Method::GET, path, body: None }
    }

    fn with(method: Method, path: String, body: &Value) -> Call {
        Call { method, path, body: Some(Bytes::from(serde_json::to_vec(body).unwrap_or_default())) }
    }
}

/// `/Users?filter=…`, the filter URL-encoded.
fn filter_path(filter: &str) -> String {
    format!("/Users?{}", form_urlencoded::Serializer::new(String::new()).append_pair("filter", filter).finish())
}

/// How a worker sends: its own plain-HTTP connection, or the shared reqwest client (HTTPS).
enum Sender {
    Wire(Conn),
    Reqwest,
}

impl Sender {
    /// The answer's status and body, `None` when there was no answer.
    async fn send(&mut self, ctx: &Ctx, call: Call) -> Option<(bool, Bytes)> {
        match self {
            Sender::Wire(conn) => {
                let (status, body) = conn.send(call.method, &call.path, call.body).await.ok()?;
                Some((status.is_success(), body))
            }
            Sender::Reqwest => {
                let mut req = request(&ctx.client, &ctx.config, call.method, &call.path);
                if let Some(body) = call.body {
                    req = req.body(body);
                }
                let answer = req.send().await.ok()?;
                let ok = answer.status().is_success();
                // Read the body: the latency a client sees includes it.
                Some((ok, answer.bytes().await.ok()?))
            }
        }
    }
}

impl Ctx {
    /// The requests of one iteration. `cursor` is the one the worker's last `list-cursor`
    /// page answered.
    fn next(&self, rng: &mut Rng, cursor: Option<&str>) -> Vec<Call> {
        let users = &self.seeded.user_ids;
        let i = rng.below(users.len());
        let id = users.get(i).cloned().unwrap_or_default();
        let run = &self.seeded.run;
        match self.scenario.as_str() {
            "get" => vec![Call::get(format!("/Users/{id}"))],
            "filter-username" => vec![Call::get(filter_path(&format!("userName eq \"{}\"", user_name(run, i))))],
            "filter-email" => vec![Call::get(filter_path(&format!("emails.value eq \"mail-{run}-{i}@example.com\"")))],
            "list-index" => {
                let start = rng.below(users.len().saturating_sub(100).max(1)) + 1;
                vec![Call::get(format!("/Users?startIndex={start}&count=100"))]
            }
            // Walk pages of 100 from the start, again and again.
            "list-cursor" => vec![Call::get(format!("/Users?count=100&cursor={}", cursor.unwrap_or("")))],
            "create" => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                vec![Call::with(Method::POST, "/Users".into(), &user_body(&format!("{run}c"), n))]
            }
            "patch-active" => {
                let active = rng.below(2) == 0;
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                  "Operations": [{"op": "replace", "value": {"active": active}}]});
                vec![Call::with(Method::PATCH, format!("/Users/{id}"), &body)]
            }
            "put" => {
                let mut body = user_body(run, i);
                body["title"] = json!(format!("Title {}", rng.below(1000)));
                vec![Call::with(Method::PUT, format!("/Users/{id}"), &body)]
            }
            "member-add-remove" => {
                let Some(group) = &self.seeded.group_id else { return Vec::new() };
                let member = &users[rng.below(self.config.group_members.min(users.len()))];
                let path = format!("/Groups/{group}?excludedAttributes=members");
                let op = |op: &str, value: Value| {
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": op, "path": "members", "value": value}]})
                };
                vec![
                    Call::with(Method::PATCH, path.clone(), &op("remove", json!([{"value": member}]))),
                    Call::with(Method::PATCH, path, &op("add", json!([{"value": member}]))),
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
                vec![Call::with(Method::POST, "/Bulk".into(), &json!({"Operations": ops}))]
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
    let target = Target::parse(&config.base_url, &config.token);
    let started = Instant::now();
    let deadline = started + config.duration;
    let workers: Vec<_> = (0..config.concurrency.max(1))
        .map(|w| {
            let ctx = ctx.clone();
            let mut sender = match &target {
                Some(t) => Sender::Wire(Conn::new(t.clone())),
                None => Sender::Reqwest,
            };
            tokio::spawn(async move {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((w as u64 + 1) * 0x2545_F491));
                let mut samples = Samples::default();
                let mut cursor: Option<String> = None;
                while Instant::now() < deadline {
                    for call in ctx.next(&mut rng, cursor.as_deref()) {
                        let sent = Instant::now();
                        match sender.send(&ctx, call).await {
                            Some((ok, body)) => {
                                samples.record(sent.elapsed(), ok);
                                if ctx.scenario == "list-cursor" {
                                    let page: Value = serde_json::from_slice(&body).unwrap_or_default();
                                    cursor = page["nextCursor"].as_str().map(str::to_owned);
                                }
                            }
                            None => samples.errors += 1,
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
