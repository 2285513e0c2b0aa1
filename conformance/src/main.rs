//! `scim-conformance`: run the conformance cases against a SCIM base URL.
//!
//! Exit codes: 0 when every selected case passes, 1 when any fails, 2 for usage errors, an
//! unreachable server, or a report file that cannot be written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use scim_conformance::{Report, RunConfig};

/// Runs SCIM 2.0 conformance cases (RFC 7643/7644, Okta, Microsoft Entra ID) against a server.
#[derive(Debug, Parser)]
#[command(name = "scim-conformance", version)]
struct Cli {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Bearer token; prefer the environment variable, since a flag shows in `ps`
    #[arg(long, value_name = "T", env = "SCIM_CONFORMANCE_TOKEN", hide_env_values = true)]
    token: String,
    /// Run only cases with this tag (repeatable; a case runs if it has any of them)
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Write a machine-readable JSON report to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

const USAGE_ERROR: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    // clap exits with status 2 on its own for usage errors.
    let cli = Cli::parse();
    match run(cli).await {
        Ok(report) if report.failed() == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("scim-conformance: {message}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

async fn run(cli: Cli) -> Result<Report, String> {
    let parsed = reqwest::Url::parse(&cli.base_url).map_err(|e| format!("--base-url {}: {e}", cli.base_url))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("--base-url must be http:// or https://, got {}", cli.base_url));
    }
    let known = scim_conformance::known_tags();
    if let Some(unknown) = cli.tags.iter().find(|t| !known.contains(t)) {
        return Err(format!("no case has the tag `{unknown}`; known tags: {}", known.join(", ")));
    }
    let config = RunConfig { base_url: cli.base_url, token: cli.token, tags: cli.tags };
    scim_conformance::probe(&config).await?;

    let report = scim_conformance::run_each(&config, |result| println!("{}", result.line())).await;
    println!("{}", report.summary());

    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
        write(path, &text)?;
    }
    if let Some(path) = &cli.junit {
        write(path, &report.to_junit().map_err(|e| format!("JUnit report: {e}"))?)?;
    }
    Ok(report)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}
