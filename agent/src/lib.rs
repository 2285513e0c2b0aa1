//! The Rollcall sync agent: `source → plan → apply` against any SCIM 2.0 server.
//!
//! [`run`] is the whole program for one invocation (the binary is a thin wrapper, and the
//! end-to-end tests call it directly): resolve the settings, read the source, read the
//! target, [`plan::diff`], print, and for `apply` check the safety rails and carry the plan
//! out with [`apply::apply`]. [`watch`] repeats it every `--watch` interval.

pub mod apply;
pub mod cli;
pub mod client;
pub mod config;
pub mod plan;
pub mod reassign;
pub mod source;
pub mod state;
mod watch;

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::apply::{ApplyOptions, ApplyReport};
use crate::cli::{Command, Env};
use crate::client::{retry::RetryPolicy, Client, ClientOptions};
use crate::config::{ManagedScope, Settings, UpdateMethod};
use crate::plan::render::{render, Heading};
use crate::plan::{DiffOptions, Plan};
use crate::reassign::TargetKind;
use crate::source::{Directory, SourceSpec};
use crate::state::{LastRun, State};

pub use watch::{watch, Stop};

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

/// Runs `plan` or `apply` once, writing what a person reads to `out`.
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

/// Where a run says what it did: the terminal (`out`) and, with `--json`, a document whose
/// common fields are set once.
struct Says<'a> {
    out: &'a mut dyn Write,
    json: Option<&'a std::path::Path>,
    base: serde_json::Map<String, Value>,
}

impl Says<'_> {
    fn line(&mut self, text: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{text}");
    }

    /// Writes the JSON document: the common fields, then `fields` (serialised straight to
    /// the file: a report of 100,000 operations is not worth a tree of values).
    fn json(&mut self, fields: impl Serialize) {
        #[derive(Serialize)]
        struct Doc<'a, T> {
            #[serde(flatten)]
            base: &'a serde_json::Map<String, Value>,
            #[serde(flatten)]
            fields: T,
        }
        let Some(path) = self.json else { return };
        let written = serde_json::to_vec_pretty(&Doc { base: &self.base, fields })
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display())));
        if let Err(e) = written {
            self.line(format!("error: {e}"));
        }
    }

    /// Stops the run: says why, in both places.
    fn stop(&mut self, exit: Exit, message: String, fields: Value) -> Outcome {
        self.line(&message);
        let mut doc = json!({"outcome": exit, "message": message});
        if let (Value::Object(d), Value::Object(f)) = (&mut doc, fields) {
            d.extend(f);
        }
        self.json(doc);
        Outcome::stop(exit)
    }
}

/// Runs with resolved settings (what `--watch` repeats).
pub async fn run_with(command: &Command, settings: &Settings, out: &mut dyn Write) -> Outcome {
    let is_apply = matches!(command, Command::Apply(_));
    let source_name = settings.source.to_string();
    let mut says = Says {
        out,
        json: settings.json.as_deref(),
        base: json!({"command": if is_apply { "apply" } else { "plan" }, "source": source_name,
            "target": settings.target, "startedAt": state::now()})
        .as_object()
        .cloned()
        .unwrap_or_default(),
    };
    for w in &settings.warnings {
        says.line(format!("warning: {w}"));
    }
    let client_options = ClientOptions {
        retry: RetryPolicy { retries: settings.retries, base: settings.retry_base, max: settings.retry_max },
        rate_limit: settings.rate_limit,
        timeout: settings.timeout,
    };
    let started = Instant::now();

    // The source.
    let desired = match read_source(settings, &client_options, &mut says).await {
        Ok(d) => d,
        Err(outcome) => return outcome,
    };

    // The target: what it is, what it holds; and the state.
    let target = match Client::new(&settings.target, settings.target_token.expose(), &client_options) {
        Ok(c) => c,
        Err(e) => return says.stop(Exit::Failed, format!("error: {e}"), json!({})),
    };
    let info = match target.probe().await {
        Ok(i) => i,
        Err(e) => return says.stop(Exit::Failed, format!("error: cannot read the target: {e}"), json!({})),
    };
    let use_patch = match settings.update_method {
        UpdateMethod::Patch => true,
        UpdateMethod::Put => false,
        UpdateMethod::Auto => info.patch,
    };
    says.base.insert("targetKind".into(), json!(info.kind));
    let actual = match source::scim::load_target(&target, !use_patch).await {
        Ok(a) => a,
        Err(e) => return says.stop(Exit::Failed, format!("error: cannot read the target: {e}"), json!({})),
    };
    let mut state = match State::load(&settings.state_file) {
        Ok(s) => s,
        Err(e) => return says.stop(Exit::Failed, format!("error: {e}"), json!({})),
    };
    let target_state = state.target(&settings.target).clone();

    // The plan.
    let plan = make_plan(settings, &desired, &actual, &target_state);
    let heading = Heading {
        source: &source_name,
        target: &settings.target,
        source_people: desired.people.len(),
        reassignment: reassignment_line(settings, info.kind, &plan),
    };
    let _ = write!(says.out, "{}", render(&plan, &heading, settings.plan_rows));
    if let Some(last) = target_state.last_run.as_ref().filter(|l| l.finished_at.is_none()) {
        says.line(format!(
            "  note: the apply started at {} did not finish; this plan reads the target as it is now.",
            last.started_at
        ));
    }
    let allowed = settings.max_deprovision.allowed(plan.managed_before);
    let wanted = plan.deprovision_count();
    let guard = json!({"deprovisions": wanted, "allowed": allowed, "managed": plan.managed_before,
        "maxDeprovision": settings.max_deprovision.to_string(), "yes": settings.yes});
    let refused = wanted > allowed && !settings.yes;
    if !is_apply {
        if refused {
            says.line(format!(
                "\n  apply would refuse this plan: {wanted} deprovisions, more than --max-deprovision {} allows \
                 ({allowed}).",
                settings.max_deprovision
            ));
        }
        #[derive(Serialize)]
        struct PlanDoc<'a> {
            outcome: Exit,
            counts: plan::Counts,
            guard: &'a Value,
            plan: &'a Plan,
        }
        says.json(PlanDoc { outcome: Exit::Done, counts: plan.counts(), guard: &guard, plan: &plan });
        return Outcome { exit: Exit::Done, plan: Some(plan), report: None };
    }

    // The deprovision guard.
    if refused {
        let message = format!(
            "\nRefused: the plan deprovisions {wanted} of {} managed people, more than --max-deprovision {} allows \
             ({allowed}). Check the source (a truncated file?); re-run with --yes to go ahead.",
            plan.managed_before, settings.max_deprovision
        );
        let fields = json!({"refused": {"reason": "max-deprovision"}, "guard": guard, "counts": plan.counts(),
            "plan": plan});
        let mut outcome = says.stop(Exit::Refused, message, fields);
        outcome.plan = Some(plan);
        return outcome;
    }

    // Apply, saving the state as it goes.
    let started_at = state::now();
    let mut last = LastRun {
        source: source_name.clone(),
        started_at: started_at.clone(),
        finished_at: None,
        outcome: "running".into(),
        planned: plan.counts(),
        ..LastRun::default()
    };
    let mut target_state = target_state;
    target_state.last_run = Some(last.clone());
    *state.target(&settings.target) = target_state.clone();
    if let Err(e) = state.save(&settings.state_file) {
        return says.stop(Exit::Failed, format!("error: {e}"), json!({}));
    }
    if plan.is_empty() {
        says.line("\nNothing to apply.");
    } else {
        says.line(format!("\nApplying {} operations…", plan.ops.len()));
    }
    let apply_options = ApplyOptions {
        concurrency: settings.concurrency,
        use_patch,
        reassignment: settings.reassignment.clone(),
        target_kind: info.kind,
        progress: true,
    };
    let mut save_error = None;
    let mut last_save = Instant::now();
    let mut checkpoint = |ts: &state::TargetState, force: bool| {
        if !force && last_save.elapsed() < Duration::from_secs(2) {
            return;
        }
        *state.target(&settings.target) = ts.clone();
        if let Err(e) = state.save(&settings.state_file) {
            save_error.get_or_insert(e);
        }
        last_save = Instant::now();
    };
    let report = apply::apply(&target, &plan, &actual, &apply_options, &mut target_state, &mut checkpoint).await;
    let exit = if report.failed == 0 { Exit::Done } else { Exit::Partial };
    last.finished_at = Some(state::now());
    last.outcome = if exit == Exit::Done { "done".into() } else { "some operations failed".into() };
    last.succeeded = report.succeeded;
    last.failed = report.failed;
    target_state.last_run = Some(last);
    *state.target(&settings.target) = target_state;
    let saved = match save_error {
        Some(e) => Err(e),
        None => state.save(&settings.state_file),
    };

    if !plan.is_empty() {
        says.line(format!(
            "Done in {:.1}s: {} succeeded, {} failed, {} retries ({}).",
            started.elapsed().as_secs_f64(),
            report.succeeded,
            report.failed,
            report.retries,
            report.tally()
        ));
    }
    for failed in report.items.iter().filter(|i| !i.ok).take(20) {
        says.line(format!("  failed: {} {}: {}", failed.action, failed.who, failed.error.as_deref().unwrap_or("")));
    }
    if report.failed > 20 {
        says.line(format!("  … and {} more failures (all of them are in --json)", report.failed - 20));
    }
    for notice in &report.notices {
        says.line(format!("  note: {notice}"));
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ApplyDoc<'a> {
        finished_at: String,
        outcome: Exit,
        counts: plan::Counts,
        guard: &'a Value,
        report: &'a ApplyReport,
        warnings: &'a [String],
    }
    says.json(ApplyDoc {
        finished_at: state::now(),
        outcome: exit,
        counts: plan.counts(),
        guard: &guard,
        report: &report,
        warnings: &plan.warnings,
    });
    if let Err(e) = saved {
        says.line(format!("error: {e}"));
        return Outcome { exit: Exit::Failed, plan: Some(plan), report: Some(report) };
    }
    Outcome { exit, plan: Some(plan), report: Some(report) }
}

/// The plan for this run: who is managed, the diff, and who gets each leaver's work.
fn make_plan(settings: &Settings, desired: &Directory, actual: &plan::Actual, ts: &state::TargetState) -> Plan {
    let existing: BTreeSet<&str> = actual.users.iter().map(|u| u.id.as_str()).collect();
    let mut managed: BTreeSet<String> =
        ts.managed_users.iter().filter(|id| existing.contains(id.as_str())).cloned().collect();
    if settings.managed_scope == ManagedScope::ExternalId {
        managed.extend(actual.users.iter().filter(|u| u.person.external_id.is_some()).map(|u| u.id.clone()));
    }
    let options = DiffOptions {
        managed,
        managed_groups: ts.managed_groups.clone(),
        adopt: settings.adopt,
        deprovision: settings.deprovision,
        protected: settings.protected.clone(),
    };
    let mut plan = plan::diff(desired, actual, &options);
    if let Some(policy) = &settings.reassignment {
        let (work, warnings) = reassign::plan_work(&plan, actual, policy);
        plan.reassignments = work;
        plan.warnings.extend(warnings);
    }
    plan
}

/// The plan's line about leavers' work.
fn reassignment_line(settings: &Settings, kind: TargetKind, plan: &Plan) -> Option<String> {
    let leavers = plan.deprovision_count();
    let policy = settings.reassignment.as_ref()?;
    Some(match kind {
        TargetKind::RollcallWithReassignment => {
            format!("reassignment: {leavers} leavers' work under strategy {}", policy.strategy.name())
        }
        other => format!("reassignment: skipped, the target is {}", other.describe()),
    })
}

/// Reads the source and applies the row guards; says why it stops.
async fn read_source(
    settings: &Settings,
    client_options: &ClientOptions,
    says: &mut Says<'_>,
) -> Result<Directory, Outcome> {
    let loaded = match &settings.source {
        SourceSpec::Csv(path) => source::csv::load(path, &settings.csv).map_err(|e| e.to_string()),
        SourceSpec::Json(path) => source::json::load(path).map_err(|e| e.to_string()),
        SourceSpec::Scim(url) => match &settings.source_token {
            None => Err("no source token: set SCIM_AGENT_SOURCE_TOKEN or source_token in the config file".into()),
            Some(token) => match Client::new(url, token.expose(), client_options) {
                Ok(client) => source::scim::load(&client)
                    .await
                    .map(|directory| source::Loaded { directory, ..Default::default() })
                    .map_err(|e| format!("cannot read the source: {e}")),
                Err(e) => Err(e.to_string()),
            },
        },
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => return Err(says.stop(Exit::Failed, format!("error: {e}"), json!({}))),
    };
    for note in &loaded.notes {
        says.line(format!("note: {note}"));
    }
    if !loaded.bad.is_empty() {
        says.line(format!("{} bad rows in {}:", loaded.bad.len(), settings.source));
        for bad in loaded.bad.iter().take(50) {
            says.line(format!("  {bad}"));
        }
        if loaded.bad.len() > 50 {
            says.line(format!("  … and {} more", loaded.bad.len() - 50));
        }
        if !settings.skip_bad_rows {
            let fields = json!({"refused": {"reason": "bad-rows", "badRows": loaded.bad}});
            return Err(says.stop(
                Exit::Refused,
                "Refused: fix the rows or pass --skip-bad-rows to leave them out.".into(),
                fields,
            ));
        }
    }
    let rows = loaded.directory.people.len();
    if rows < settings.expect_min_rows {
        let fields =
            json!({"refused": {"reason": "expect-min-rows", "rows": rows, "expected": settings.expect_min_rows}});
        return Err(says.stop(
            Exit::Refused,
            format!(
                "Refused: the source has {rows} people, fewer than --expect-min-rows {}.",
                settings.expect_min_rows
            ),
            fields,
        ));
    }
    Ok(loaded.directory)
}
