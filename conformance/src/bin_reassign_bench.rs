//! `reassign-bench`: times the reassignment of one leaver's work on a Rollcall server, over
//! HTTP only. It makes a leaver and four colleagues (SCIM, active), fills the leaver's book
//! with `--records` records through the admin API's batch endpoint (contacts, leads, pending
//! and completed tasks in the proportions 4:4:3:1), then times the preview (several runs,
//! the median), the process (one transaction) and the undo, and prints a table (and JSON).
//!
//! Needs a token with the `admin` scope on a tenant whose SCIM POST creates active people
//! (it sets the tenant's `scimCreate` policy to `active`). Exit codes: 0 done, 1 a request
//! failed, 2 usage.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(name = "reassign-bench", version)]
struct Cli {
    /// The server's origin, e.g. http://127.0.0.1:8080
    #[arg(long, value_name = "URL")]
    origin: String,
    /// Bearer token with the admin scope (prefer the environment variable)
    #[arg(long, env = "SCIM_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// Records the leaver owns
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Preview runs (the median is reported)
    #[arg(long, default_value_t = 5)]
    previews: usize,
    /// Batches of 1,000 records sent at once while filling
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

struct Api {
    http: reqwest::Client,
    origin: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.origin)).bearer_auth(&self.token);
        if let Some(b) = body {
            let content_type = if path.starts_with("/scim/") { "application/scim+json" } else { "application/json" };
            req = req.header("content-type", content_type).body(b.to_string());
        }
        let resp = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{method} {path}: {status}: {}", text.chars().take(300).collect::<String>()));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn person(&self, name: &str) -> Result<String, String> {
        let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
                          "emails": [{"value": format!("{name}@bench.example"), "primary": true}], "active": true});
        let made = self.call(reqwest::Method::POST, "/scim/v2/Users", Some(user)).await?;
        let id = made["id"].as_str().ok_or("no id")?.to_owned();
        let perms = json!({"permissions": ["crm.contacts", "crm.leads"]});
        self.call(reqwest::Method::PUT, &format!("/admin/v1/people/{id}/permissions"), Some(perms)).await?;
        Ok(id)
    }
}

fn kind_of(i: usize) -> (&'static str, Option<&'static str>) {
    match i % 12 {
        0..=3 => ("contact", None),
        4..=7 => ("lead", None),
        8..=10 => ("task", Some("pending")),
        _ => ("task", Some("completed")),
    }
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<(T, Duration), String> {
    let start = Instant::now();
    let v = f.await?;
    Ok((v, start.elapsed()))
}

async fn run(cli: &Cli) -> Result<Value, String> {
    let api = Api {
        http: reqwest::Client::new(),
        origin: cli.origin.trim_end_matches('/').to_owned(),
        token: cli.token.clone(),
    };
    api.call(reqwest::Method::PUT, "/admin/v1/policies", Some(json!({"scimCreate": "active"}))).await?;
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let leaver = api.person(&format!("leaver-{run_id}")).await?;
    let mut team = Vec::new();
    for i in 0..4 {
        team.push(api.person(&format!("colleague{i}-{run_id}")).await?);
    }

    let batches: Vec<Vec<Value>> = (0..cli.records)
        .map(|i| {
            let (kind, status) = kind_of(i);
            json!({"type": kind, "owner": leaver, "title": format!("{kind} {i}"), "status": status})
        })
        .collect::<Vec<_>>()
        .chunks(1000)
        .map(<[Value]>::to_vec)
        .collect();
    let fill = async {
        stream::iter(
            batches
                .into_iter()
                .map(|b| api.call(reqwest::Method::POST, "/admin/v1/work/batch", Some(json!({"records": b})))),
        )
        .buffer_unordered(cli.concurrency.max(1))
        .try_for_each(|_| async { Ok(()) })
        .await
    };
    let ((), filled) = timed(fill).await?;

    let targets: Vec<Value> = team.iter().zip([5, 50, 20, 29]).map(|(id, n)| json!({"id": id, "count": n})).collect();
    let rr: Vec<Value> = team.iter().map(|id| json!({"id": id})).collect();
    let plan = json!({"contacts": {"strategy": "ratio", "targets": targets},
                      "leads": {"strategy": "round_robin", "targets": rr},
                      "tasks": {"strategy": "ratio", "targets": [{"id": team[0], "count": 1000}, {"id": team[1], "count": 500}]},
                      "deactivateTo": "deleted"});
    let preview_path = format!("/admin/v1/people/{leaver}/reassignment/preview");
    let mut previews = Vec::new();
    let mut last = Value::Null;
    for _ in 0..cli.previews.max(1) {
        let (answer, took) = timed(api.call(reqwest::Method::POST, &preview_path, Some(plan.clone()))).await?;
        previews.push(took);
        last = answer;
    }
    previews.sort();
    let preview = previews[previews.len() / 2];
    let (job, process) =
        timed(api.call(reqwest::Method::POST, &format!("/admin/v1/people/{leaver}/reassignment"), Some(plan))).await?;
    let job_id = job["id"].as_str().ok_or("no job id")?.to_owned();
    let (undo, undo_took) =
        timed(api.call(reqwest::Method::POST, &format!("/admin/v1/reassignments/{job_id}/undo"), None)).await?;

    let summaries: Vec<String> = last["types"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["summary"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Ok(json!({
        "records": cli.records,
        "fill_seconds": filled.as_secs_f64(),
        "preview_seconds_median": preview.as_secs_f64(),
        "preview_runs": previews.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        "process_seconds": process.as_secs_f64(),
        "undo_seconds": undo_took.as_secs_f64(),
        "moved": job["result"]["types"].as_array().map(|ts| ts.iter().filter_map(|t| t["assigned"].as_u64()).sum::<u64>()),
        "archived": job["result"]["completedTasksArchived"],
        "restored": undo["restored"],
        "summaries": summaries,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(report) => {
            println!("reassignment of one leaver's {} records", cli.records);
            println!("| step | time |\n|---|---|");
            println!("| fill (batches of 1,000) | {:.2} s |", report["fill_seconds"].as_f64().unwrap_or(0.0));
            println!(
                "| preview (median of {}) | {:.3} s |",
                cli.previews.max(1),
                report["preview_seconds_median"].as_f64().unwrap_or(0.0)
            );
            println!(
                "| process ({} moved, {} archived, deactivated) | {:.3} s |",
                report["moved"],
                report["archived"],
                report["process_seconds"].as_f64().unwrap_or(0.0)
            );
            println!(
                "| undo ({} restored) | {:.3} s |",
                report["restored"],
                report["undo_seconds"].as_f64().unwrap_or(0.0)
            );
            for s in report["summaries"].as_array().into_iter().flatten() {
                println!("  {}", s.as_str().unwrap_or_default());
            }
            if let Some(path) = &cli.json {
                if let Err(e) = std::fs::write(path, format!("{report:#}\n")) {
                    eprintln!("cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reassign-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
