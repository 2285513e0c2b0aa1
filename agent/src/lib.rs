//! The Rollcall sync agent: `source → plan → apply` against any SCIM 2.0 server.
//!
//! [`run`] is the whole program for one invocation (the binary is a thin wrapper, and the
//! end-to-end tests call it directly): resolve the settings, read the source, read the
//! target, [`plan::diff`], print, and for `apply` check the safety rails and carry the plan
//! out with [`apply::apply`].

pub mod apply;
pub mod cli;
pub mod client;
pub mod config;
pub mod plan;
pub mod source;
pub mod state;

use std::collections::BTreeSet;
use std::io::Write;

use serde::Serialize;
use serde_json::json;

use crate::apply::{ApplyOptions, ApplyReport};
use crate::cli::{Command, Env};
use crate::client::{retry::RetryPolicy, Client, ClientOptions};
use crate::config::{ManagedScope, Settings, UpdateMethod};
use crate::plan::render::{render, Heading};
use crate::plan::{DiffOptions, Plan};
use crate::source::{Directory, SourceSpec};
use crate::state::{LastRun, State};

/// The process exit code of a run: a contract for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// 0: done (or, for `plan`, planned).
    Done = 0,
    /// 1: failed (bad configuration, unreadable source, unreachable target).
    Failed = 1,
    /// 2: refused by a safety rail (bad rows, too few rows, too many deprovisions).
    Refused = 2,
    /// 3: applied, but some operations failed (see the report).
    Partial = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What one run did.
#[derive(Debug)]
pub struct Outcome {
    pub exit: Exit,
    pub plan: Option<Plan>,
    pub report: Option<ApplyReport>,
}

impl Outcome {
    fn stop(exit: Exit) -> Self {
        Self { exit, plan: None, report: None }
    }
}

/// Runs `plan` or `apply` once (`--watch` is the binary's loop around this), writing what a
/// person reads to `out`.
pub async fn run(command: &Command, env: &Env, out: &mut dyn Write) -> Outcome {
    let settings = match cli::resolve(command.args(), env) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            return Outcome::stop(Exit::Failed);
        }
    };
    run_with(command, &settings, out).await
}

/// Runs with resolved settings (what `--watch` repeats).
pub async fn run_with(command: &Command, settings: &Settings, out: &mut dyn Write) -> Outcome {
    let is_apply = matches!(command, Command::Apply(_));
    let client_options = ClientOptions {
        retry: RetryPolicy { retries: settings.retries, base: settings.retry_base, max: settings.retry_max },
        rate_limit: settings.rate_limit,
        timeout: settings.timeout,
    };

    // The source.
    let desired = match read_source(settings, &client_options, out).await {
        Ok(d) => d,
        Err(exit) => return Outcome::stop(exit),
    };

    // The target and the state.
    let target = match Client::new(&settings.target, &settings.target_token, &client_options) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            return Outcome::stop(Exit::Failed);
        }
    };
    let actual = match source::scim::load_target(&target).await {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(out, "error: cannot read the target: {e}");
            return Outcome::stop(Exit::Failed);
        }
    };
    let mut state = match State::load(&settings.state_file) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            return Outcome::stop(Exit::Failed);
        }
    };
    let target_state = state.target(&settings.target).clone();
    let existing: BTreeSet<&str> = actual.users.iter().map(|u| u.id.as_str()).collect();
    let mut managed: BTreeSet<String> =
        target_state.managed_users.iter().filter(|id| existing.contains(id.as_str())).cloned().collect();
    if settings.managed_scope == ManagedScope::ExternalId {
        managed.extend(actual.users.iter().filter(|u| u.person.external_id.is_some()).map(|u| u.id.clone()));
    }
    let options = DiffOptions {
        managed,
        managed_groups: target_state.managed_groups.clone(),
        adopt: settings.adopt,
        deprovision: settings.deprovision,
        protected: settings.protected.clone(),
    };

    // The plan.
    let plan = plan::diff(&desired, &actual, &options);
    let source_name = settings.source.to_string();
    let heading = Heading { source: &source_name, target: &settings.target, source_people: desired.people.len() };
    let _ = write!(out, "{}", render(&plan, &heading, settings.plan_rows));
    if let Some(last) = &target_state.last_run {
        if last.finished_at.is_none() {
            let _ = writeln!(
                out,
                "  note: the apply started at {} did not finish; this plan reads the target as it is now.",
                last.started_at
            );
        }
    }
    if !is_apply {
        if let Some(path) = &settings.json {
            let doc = json!({"source": source_name, "target": settings.target, "counts": plan.counts(), "plan": plan});
            if let Err(e) = write_json(path, &doc) {
                let _ = writeln!(out, "error: {e}");
                return Outcome { exit: Exit::Failed, plan: Some(plan), report: None };
            }
        }
        return Outcome { exit: Exit::Done, plan: Some(plan), report: None };
    }

    // The deprovision guard.
    let allowed = settings.max_deprovision.allowed(plan.managed_before);
    let wanted = plan.deprovision_count();
    if wanted > allowed && !settings.yes {
        let _ = writeln!(
            out,
            "\nRefused: the plan deprovisions {wanted} of {} managed people, more than --max-deprovision {} allows \
             ({allowed}). Check the source (a truncated file?); re-run with --yes to go ahead.",
            plan.managed_before, settings.max_deprovision
        );
        if let Some(path) = &settings.json {
            let doc = json!({"outcome": Exit::Refused, "refused": {"deprovisions": wanted, "allowed": allowed},
                "counts": plan.counts(), "plan": plan});
            let _ = write_json(path, &doc);
        }
        return Outcome { exit: Exit::Refused, plan: Some(plan), report: None };
    }
    if plan.is_empty() {
        return Outcome { exit: Exit::Done, plan: Some(plan), report: Some(ApplyReport::default()) };
    }

    // Apply.
    let use_patch = match settings.update_method {
        UpdateMethod::Patch => true,
        UpdateMethod::Put => false,
        UpdateMethod::Auto => target.supports_patch().await.unwrap_or(false),
    };
    let started_at = state::now();
    let mut last = LastRun {
        source: source_name.clone(),
        started_at: started_at.clone(),
        finished_at: None,
        outcome: "running".into(),
        planned: plan.counts(),
        ..LastRun::default()
    };
    state.target(&settings.target).last_run = Some(last.clone());
    if let Err(e) = state.save(&settings.state_file) {
        let _ = writeln!(out, "error: {e}");
        return Outcome { exit: Exit::Failed, plan: Some(plan), report: None };
    }
    let _ = writeln!(out, "\nApplying {} operations…", plan.ops.len());
    let apply_options = ApplyOptions {
        concurrency: settings.concurrency,
        use_patch,
        reassignment: settings.reassignment.clone(),
        progress: true,
    };
    let mut target_state = state.target(&settings.target).clone();
    let report = apply::apply(&target, &plan, &actual, &apply_options, &mut target_state).await;
    let exit = if report.failed == 0 { Exit::Done } else { Exit::Partial };
    last.finished_at = Some(state::now());
    last.outcome = if exit == Exit::Done { "done".into() } else { "some operations failed".into() };
    last.succeeded = report.succeeded;
    last.failed = report.failed;
    target_state.last_run = Some(last);
    *state.target(&settings.target) = target_state;
    let save = state.save(&settings.state_file);

    let _ =
        writeln!(out, "Done: {} succeeded, {} failed, {} retries.", report.succeeded, report.failed, report.retries);
    for failed in report.items.iter().filter(|i| !i.ok).take(20) {
        let _ = writeln!(out, "  failed: {} {}: {}", failed.action, failed.who, failed.error.as_deref().unwrap_or(""));
    }
    for notice in &report.notices {
        let _ = writeln!(out, "  note: {notice}");
    }
    if let Some(path) = &settings.json {
        let doc = json!({
            "source": source_name, "target": settings.target, "startedAt": started_at, "finishedAt": state::now(),
            "outcome": exit, "counts": plan.counts(), "report": report, "warnings": plan.warnings,
        });
        if let Err(e) = write_json(path, &doc) {
            let _ = writeln!(out, "error: {e}");
        }
    }
    if let Err(e) = save {
        let _ = writeln!(out, "error: {e}");
        return Outcome { exit: Exit::Failed, plan: Some(plan), report: Some(report) };
    }
    Outcome { exit, plan: Some(plan), report: Some(report) }
}

/// Reads the source and applies the row guards; prints why it stops.
async fn read_source(
    settings: &Settings,
    client_options: &ClientOptions,
    out: &mut dyn Write,
) -> Result<Directory, Exit> {
    let loaded = match &settings.source {
        SourceSpec::Csv(path) => source::csv::load(path, &settings.csv).map_err(|e| e.to_string()),
        SourceSpec::Json(path) => source::json::load(path).map_err(|e| e.to_string()),
        SourceSpec::Scim(url) => {
            let Some(token) = &settings.source_token else {
                let _ = writeln!(out, "error: no source token: set SCIM_AGENT_SOURCE_TOKEN or source_token");
                return Err(Exit::Failed);
            };
            match Client::new(url, token, client_options) {
                Ok(client) => source::scim::load(&client)
                    .await
                    .map(|directory| source::Loaded { directory, bad: Vec::new() })
                    .map_err(|e| format!("cannot read the source: {e}")),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            return Err(Exit::Failed);
        }
    };
    if !loaded.bad.is_empty() {
        let _ = writeln!(out, "{} bad rows in {}:", loaded.bad.len(), settings.source);
        for bad in loaded.bad.iter().take(50) {
            let _ = writeln!(out, "  {bad}");
        }
        if loaded.bad.len() > 50 {
            let _ = writeln!(out, "  … and {} more", loaded.bad.len() - 50);
        }
        if !settings.skip_bad_rows {
            let _ = writeln!(out, "Refused: fix the rows or pass --skip-bad-rows to leave them out.");
            return Err(Exit::Refused);
        }
    }
    let rows = loaded.directory.people.len();
    if rows < settings.expect_min_rows {
        let _ = writeln!(
            out,
            "Refused: the source has {rows} people, fewer than --expect-min-rows {}.",
            settings.expect_min_rows
        );
        return Err(Exit::Refused);
    }
    Ok(loaded.directory)
}

fn write_json(path: &std::path::Path, doc: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_vec_pretty(doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
