//! Carries a plan out against the target with bounded concurrency, in phases that respect
//! dependencies: deprovisions (they free seats and userNames; each leaver's work is then
//! handed to [`crate::reassign::carry_out`]), creates (managers before the people who report
//! to them), updates, then groups (whose members must exist). Every operation is idempotent
//! (a create that meets a 409 takes the existing resource, a delete that meets a 404 is done),
//! so re-running after a crash or a partial failure converges. The state is handed to
//! `checkpoint` after each phase and every [`CHECKPOINT_EVERY`] creates, so that a crash
//! loses track of few of the people this run created.

mod groups;
mod users;

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;

use futures_util::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

use crate::client::Client;
use crate::plan::{Actual, Change, Op, Plan};
use crate::reassign::{self, LeaverWork, Reassignment, TargetKind, WorkOutcome, WorkStatus};
use crate::source::{Attr, Person};
use crate::state::TargetState;

/// Creates between two saves of the state.
pub const CHECKPOINT_EVERY: usize = 500;

/// How to apply.
pub struct ApplyOptions {
    pub concurrency: usize,
    /// PATCH (true) or PUT (false) for updates.
    pub use_patch: bool,
    pub reassignment: Option<Reassignment>,
    pub target_kind: TargetKind,
    /// Draw progress bars (only on a terminal).
    pub progress: bool,
}

/// The outcome of one operation, for the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemReport {
    pub action: &'static str,
    pub who: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For each deprovisioned person: what happened to their work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassignment: Option<WorkOutcome>,
}

/// Every operation and its outcome.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub succeeded: usize,
    pub failed: usize,
    pub retries: u64,
    pub items: Vec<ItemReport>,
    pub notices: Vec<String>,
}

impl ApplyReport {
    fn push(&mut self, item: ItemReport) {
        if item.ok {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        self.items.push(item);
    }

    /// Items by action: `create: 40, update: 70, …`, for the summary.
    pub fn tally(&self) -> String {
        let mut by: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for i in &self.items {
            let e = by.entry(i.action).or_default();
            if i.ok {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        by.iter()
            .map(
                |(a, (ok, failed))| {
                    if *failed > 0 {
                        format!("{a} {ok} ({failed} failed)")
                    } else {
                        format!("{a} {ok}")
                    }
                },
            )
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub(crate) fn item(action: &'static str, who: String, result: Result<Option<String>, String>) -> ItemReport {
    match result {
        Ok(id) => ItemReport { action, who, id, ok: true, error: None, reassignment: None },
        Err(e) => ItemReport { action, who, id: None, ok: false, error: Some(e), reassignment: None },
    }
}

pub(crate) fn who(name: &str, key: Option<&str>) -> String {
    key.map_or_else(|| name.to_owned(), |k| format!("{name} ({k})"))
}

fn progress_bar(len: usize, enabled: bool) -> ProgressBar {
    let target = if enabled && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The action name of an update in the report and the table.
pub fn update_action(op: &Op) -> &'static str {
    if op.deprovisions() {
        "deactivate"
    } else if op.is_reactivation() {
        "reactivate"
    } else {
        "update"
    }
}

/// Carries the plan out. `actual` provides the full resources for PUT; `state` learns every
/// user and group the agent now manages, and is handed to `checkpoint` as it goes.
pub async fn apply(
    client: &Client,
    plan: &Plan,
    actual: &Actual,
    options: &ApplyOptions,
    state: &mut TargetState,
    checkpoint: &mut dyn FnMut(&TargetState, bool),
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut ids = plan.ids.clone();
    state.managed_users.extend(ids.values().cloned());
    checkpoint(state, true);
    let raw: BTreeMap<&str, &Value> = actual.users.iter().map(|u| (u.id.as_str(), &u.raw)).collect();
    let work: BTreeMap<&str, &LeaverWork> = plan.reassignments.iter().map(|w| (w.id.as_str(), w)).collect();
    let bar = progress_bar(plan.ops.len(), options.progress);
    let n = options.concurrency;
    // A leaver's work, once they are deprovisioned.
    let reassign = |id: String| {
        let work = work.get(id.as_str()).copied();
        async move { reassign::carry_out(client, options.target_kind, options.reassignment.as_ref(), work).await }
    };

    // 1. Deprovisions.
    bar.set_message("deprovision");
    let deprovisions = plan.ops.iter().filter(|o| matches!(o, Op::Deactivate { .. } | Op::Delete { .. }));
    let results: Vec<(ItemReport, Option<String>)> = stream::iter(deprovisions)
        .map(|op| async {
            let (mut it, deleted) = users::deprovision(client, op, options.use_patch, &raw).await;
            if let (true, Some(id)) = (it.ok, it.id.clone()) {
                it.reassignment = Some(reassign(id).await);
            }
            bar.inc(1);
            (it, deleted)
        })
        .buffer_unordered(n)
        .collect()
        .await;
    for (it, deleted) in results {
        if let Some(id) = deleted {
            state.managed_users.remove(&id);
        }
        report.push(it);
    }
    checkpoint(state, true);

    // 2. Creates, in waves: a person's manager is created before them.
    bar.set_message("create");
    let mut pending: Vec<(&String, &Person)> = plan
        .ops
        .iter()
        .filter_map(|o| match o {
            Op::Create { key, person } => Some((key, person)),
            _ => None,
        })
        .collect();
    let mut late_managers: Vec<(&String, &Person)> = Vec::new();
    let mut since_checkpoint = 0;
    while !pending.is_empty() {
        let waiting: BTreeSet<&str> = pending.iter().map(|(k, _)| k.as_str()).collect();
        let (mut wave, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|(_, p)| p.get(Attr::Manager).is_none_or(|m| !waiting.contains(m)));
        pending = rest;
        if wave.is_empty() {
            // A cycle of managers: create them all, then set their managers.
            late_managers.clone_from(&pending);
            wave = std::mem::take(&mut pending);
        }
        let (ids_now, bar) = (&ids, &bar);
        let mut results = stream::iter(wave)
            .map(|(key, person)| async move {
                let manager = person.get(Attr::Manager).and_then(|m| ids_now.get(m)).map(String::as_str);
                let r = users::create(client, key, person, &plan.provided, manager).await;
                bar.inc(1);
                (key, person.user_name(), r)
            })
            .buffer_unordered(n);
        let mut created = Vec::new();
        while let Some((key, name, r)) = results.next().await {
            if let Ok(Some(id)) = &r {
                created.push((key.clone(), id.clone()));
                state.managed_users.insert(id.clone());
                since_checkpoint += 1;
                if since_checkpoint >= CHECKPOINT_EVERY {
                    checkpoint(state, false);
                    since_checkpoint = 0;
                }
            }
            report.push(item("create", format!("{name} ({key})"), r.map_err(|e| e.to_string())));
        }
        drop(results);
        ids.extend(created);
        checkpoint(state, true);
    }
    for (key, person) in late_managers {
        let (Some(id), Some(manager)) = (ids.get(key), person.get(Attr::Manager)) else { continue };
        let change = Change { attr: Attr::Manager, from: None, to: Some(manager.to_owned()) };
        let update = users::Update { id, key, adopt: false, changes: &[change], ids: &ids, use_patch: true, raw: None };
        if let Err(e) = update.send(client).await {
            report.push(item("set manager", format!("{} ({key})", person.user_name()), Err(e)));
        }
    }

    // 3. Updates (adoptions, reactivations and deactivations the source asks for included).
    bar.set_message("update");
    let updates = plan.ops.iter().filter(|o| matches!(o, Op::Update { .. }));
    let ids_now = &ids;
    let results: Vec<ItemReport> = stream::iter(updates)
        .map(|op| async {
            let Op::Update { id, key, user_name, adopt, changes } = op else { unreachable!("filtered") };
            let update = users::Update {
                id,
                key,
                adopt: *adopt,
                changes,
                ids: ids_now,
                use_patch: options.use_patch,
                raw: raw.get(id.as_str()).copied(),
            };
            let r = update.send(client).await.map(|()| Some(id.clone()));
            let mut it = item(update_action(op), format!("{user_name} ({key})"), r);
            if it.ok && op.deprovisions() {
                it.reassignment = Some(reassign(id.clone()).await);
            }
            bar.inc(1);
            it
        })
        .buffer_unordered(n)
        .collect()
        .await;
    results.into_iter().for_each(|r| report.push(r));
    checkpoint(state, true);

    // 4. Groups: each group's operations in order, groups side by side.
    bar.set_message("groups");
    let results = groups::apply(client, plan, ids_now, options.use_patch, actual, n, &bar).await;
    for (it, group_id) in results {
        if let Some(id) = group_id {
            state.managed_groups.insert(id);
        }
        report.push(it);
    }
    bar.finish_and_clear();
    report.retries = client.retries_made();
    report.notices.extend(reassignment_notice(&report, options));
    report
}

/// One line about leavers' work, when there were leavers and a policy.
fn reassignment_notice(report: &ApplyReport, options: &ApplyOptions) -> Option<String> {
    let outcomes: Vec<&WorkOutcome> = report.items.iter().filter_map(|i| i.reassignment.as_ref()).collect();
    if outcomes.is_empty() || options.reassignment.is_none() {
        return None;
    }
    let count = |s: WorkStatus| outcomes.iter().filter(|o| o.status == s).count();
    let skipped = count(WorkStatus::Skipped);
    if skipped == outcomes.len() {
        return Some(format!(
            "reassignment of leavers' work was skipped for all {skipped}: the target is {}",
            options.target_kind.describe()
        ));
    }
    Some(format!(
        "reassignment of leavers' work: {} reassigned, {} skipped, {} unresolved, {} failed",
        count(WorkStatus::Reassigned),
        skipped,
        count(WorkStatus::Unresolved),
        count(WorkStatus::Failed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_drawn_only_on_a_terminal() {
        assert!(progress_bar(10, false).is_hidden());
        assert_eq!(progress_bar(10, true).is_hidden(), !std::io::stderr().is_terminal());
    }

    #[test]
    fn the_summary_tallies_by_action() {
        let mut report = ApplyReport::default();
        report.push(item("create", "a".into(), Ok(None)));
        report.push(item("create", "b".into(), Err("HTTP 500".into())));
        report.push(item("update", "c".into(), Ok(None)));
        assert_eq!((report.succeeded, report.failed), (2, 1));
        assert_eq!(report.tally(), "create 1 (1 failed), update 1");
    }
}
