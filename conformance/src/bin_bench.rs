//! `scim-bench`: seed a SCIM server, run load scenarios, print a table (and JSON).
//!
//! Exit codes: 0 when every request of every scenario answered 2xx, 1 otherwise, 2 for usage
//! errors or a server that cannot be seeded.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use scim_conformance::bench::{self, memory, scenario, seed, stats, BenchConfig};

/// Load-tests a SCIM 2.0 server: requests/s, p50/p99 latency, non-2xx answers, peak memory.
#[derive(Debug, Parser)]
#[command(name = "scim-bench", version)]
struct Cli {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Bearer token (prefer the environment variable: a flag shows in `ps`)
    #[arg(long, env = "SCIM_BENCH_TOKEN", hide_env_values = true)]
    token: String,
    /// Users to seed before the scenarios run
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Members of the seeded group (at most the number of users; 0 for no group)
    #[arg(long, default_value_t = 10_000)]
    group_members: usize,
    /// How long each scenario runs, in seconds
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Users the `bulk-total` job creates through /Bulk (1,000 a request), timed as a total
    #[arg(long, default_value_t = 100_000)]
    bulk_users: usize,
    /// Concurrent connections
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Scenarios to run (repeatable; default: all)
    #[arg(long = "scenario", value_parser = clap::builder::PossibleValuesParser::new(scenario::ALL))]
    scenarios: Vec<String>,
    /// The server's pid, to report its peak resident memory (Linux)
    #[arg(long)]
    pid: Option<u32>,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = BenchConfig {
        base_url: cli.base_url.clone(),
        token: cli.token.clone(),
        users: cli.users.max(1),
        group_members: cli.group_members.min(cli.users),
        duration: Duration::from_secs_f64(cli.seconds.max(0.1)),
        concurrency: cli.concurrency.max(1),
        bulk_users: cli.bulk_users.max(1),
        scenarios: if cli.scenarios.is_empty() {
            scenario::ALL.iter().map(|s| s.to_string()).collect()
        } else {
            cli.scenarios
        },
    };
    let client = match bench::client(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("scim-bench: cannot build the HTTP client: {e}");
            return ExitCode::from(2);
        }
    };
    let sampler = cli.pid.map(memory::Sampler::start);
    eprintln!("seeding {} users and a group of {} members…", config.users, config.group_members);
    let seeded = match seed::seed(&client, &config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scim-bench: seeding failed: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rows = Vec::new();
    for name in &config.scenarios {
        if scenario::TOTALS.contains(&name.as_str()) {
            eprintln!("running {name} (timed as a total)…");
        } else {
            eprintln!(
                "running {name} for {:.1} s at concurrency {}…",
                config.duration.as_secs_f64(),
                config.concurrency
            );
        }
        match scenario::run(name, &client, &config, &seeded).await {
            Some(summary) => rows.push(summary),
            None => eprintln!("  skipped: the server does not support what {name} needs"),
        }
    }
    let peak_kib = match sampler {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    print!("{}", stats::table(&rows));
    if let Some(kib) = peak_kib {
        println!("server peak resident memory: {:.1} MB", kib as f64 / 1024.0);
    }
    if let Some(path) = &cli.json {
        let report = serde_json::json!({
            "base_url": config.base_url,
            "users": config.users,
            "group_members": config.group_members,
            "concurrency": config.concurrency,
            "seconds_per_scenario": config.duration.as_secs_f64(),
            "peak_rss_kib": peak_kib,
            "scenarios": rows.iter().map(stats::Summary::to_json).collect::<Vec<_>>(),
        });
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&report).unwrap_or_default()) {
            eprintln!("scim-bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if rows.iter().all(|r| r.non_2xx == 0 && r.errors == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
