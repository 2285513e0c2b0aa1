//! Reassignment of leavers' work (contacts, leads, pending tasks) on a Rollcall target.
//!
//! Three parts, so that each can be read and tested alone:
//! - [`policy`]: the `[reassignment]` table of the config and its validation;
//! - [`plan_work`]: pure, for each person the plan deprovisions, who is to get their work
//!   under the policy, resolved against the target as it is (one entry per leaver);
//! - [`carry_out`]: after a person is deprovisioned, the outcome for the report: skipped
//!   with the reason on a target that cannot reassign, or the server's answer through
//!   [`server_api::request_reassignment`], the one place that talks to the server's API.
//!
//! Whether the target is a Rollcall server is read from its discovery documents
//! ([`detect`]): a schema whose id starts with `urn:ietf:params:scim:schemas:extension:rollcall:`
//! in `/Schemas` (the server's User extension), and whether it offers reassignment from its
//! `/ServiceProviderConfig` extension.

pub mod policy;
pub mod server_api;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::client::Client;
use crate::plan::{Actual, ActualUser, Op, Plan};
use crate::source::Attr;

pub use policy::{Reassignment, Strategy, TargetEntry};

/// Every Rollcall schema id starts with this.
pub const ROLLCALL_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:extension:rollcall:";
/// The `/ServiceProviderConfig` extension where a Rollcall server says what it offers beyond
/// RFC 7643 (`{"reassignment": {"supported": true}}`).
pub const ROLLCALL_SPC_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:rollcall:2.0:ServiceProviderConfig";

/// What the target can do with a leaver's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// Any other SCIM server: reassignment is skipped.
    Other,
    /// A Rollcall server that does not offer the reassignment API.
    Rollcall,
    /// A Rollcall server that says it reassigns work.
    RollcallWithReassignment,
}

impl TargetKind {
    pub fn describe(self) -> &'static str {
        match self {
            TargetKind::Other => "not a Rollcall server (no Rollcall schema in its /Schemas)",
            TargetKind::Rollcall => "a Rollcall server without the reassignment API",
            TargetKind::RollcallWithReassignment => "a Rollcall server with the reassignment API",
        }
    }
}

/// Reads the target's kind from its `/Schemas` and `/ServiceProviderConfig` answers (either
/// may be missing: a server that does not serve them is "other").
pub fn detect(schemas: Option<&Value>, spc: Option<&Value>) -> TargetKind {
    let ids = |v: &Value| -> Vec<String> {
        let list = v.get("Resources").unwrap_or(v);
        list.as_array()
            .map(|items| items.iter().filter_map(|s| s.get("id")?.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let is_rollcall = |s: &str| s.to_ascii_lowercase().starts_with(ROLLCALL_SCHEMA_PREFIX);
    let in_schemas = schemas.is_some_and(|s| ids(s).iter().any(|id| is_rollcall(id)));
    let in_spc = spc.and_then(Value::as_object).is_some_and(|o| {
        o.keys().any(|k| is_rollcall(k))
            || o.get("schemas")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().filter_map(Value::as_str).any(is_rollcall))
    });
    let reassigns = spc
        .and_then(|s| s.get(ROLLCALL_SPC_EXTENSION))
        .and_then(|e| e.pointer("/reassignment/supported"))
        .and_then(Value::as_bool)
        == Some(true);
    match (in_schemas || in_spc, reassigns) {
        (true, true) => TargetKind::RollcallWithReassignment,
        (true, false) => TargetKind::Rollcall,
        (false, _) => TargetKind::Other,
    }
}

/// A person who is to get work, as the target knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignee {
    pub id: String,
    pub user_name: String,
    /// `ratio` and `hardcoded`: up to this many records of each kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// A group whose active members share the work (`round_robin` over a group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    pub id: String,
    pub display_name: String,
    /// Members who are active and stay, at plan time.
    pub eligible_members: usize,
}

/// Who gets one leaver's work: resolved people or a group, or why it cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaverWork {
    /// The leaver's id in the target.
    pub id: String,
    pub user_name: String,
    pub strategy: Strategy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Assignee>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupRef>,
    /// How the targets were chosen (`manager`, or `fallback: <why>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Set when the policy cannot be carried out for this person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
}

impl LeaverWork {
    /// A short line for the plan table.
    pub fn summary(&self) -> String {
        if let Some(why) = &self.unresolved {
            return format!("work: not reassigned ({why})");
        }
        let who = if let Some(g) = &self.group {
            format!("members of {:?} ({})", g.display_name, g.eligible_members)
        } else {
            let names: Vec<String> = self
                .targets
                .iter()
                .map(|t| match t.count {
                    Some(c) => format!("{} ×{c}", t.user_name),
                    None => t.user_name.clone(),
                })
                .collect();
            names.join(", ")
        };
        match &self.via {
            Some(via) => format!("work → {who} ({via})"),
            None => format!("work → {who} ({})", self.strategy.name()),
        }
    }
}

/// The people a plan deprovisions: (target id, userName, new manager key if the same
/// update changes it).
fn leavers(plan: &Plan) -> Vec<(&str, &str, Option<Option<&str>>)> {
    plan.ops
        .iter()
        .filter(|op| op.deprovisions())
        .filter_map(|op| match op {
            Op::Deactivate { id, user_name, .. } | Op::Delete { id, user_name, .. } => {
                Some((id.as_str(), user_name.as_str(), None))
            }
            Op::Update { id, user_name, changes, .. } => {
                let manager = changes.iter().find(|c| c.attr == Attr::Manager).map(|c| c.to.as_deref());
                Some((id.as_str(), user_name.as_str(), manager))
            }
            _ => None,
        })
        .collect()
}

/// For each person the plan deprovisions, who gets their work under `policy`, and the plan
/// warnings for a policy that names people the target cannot give work to. Pure.
///
/// A target is eligible when the target holds them, active, and this plan does not
/// deprovision them (people the plan reactivates count as active).
pub fn plan_work(plan: &Plan, actual: &Actual, policy: &Reassignment) -> (Vec<LeaverWork>, Vec<String>) {
    let leaving: BTreeSet<&str> = leavers(plan).iter().map(|(id, _, _)| *id).collect();
    let reactivated: BTreeSet<&str> = plan
        .ops
        .iter()
        .filter(|o| o.is_reactivation())
        .filter_map(|o| match o {
            Op::Update { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    let by_id: BTreeMap<&str, &ActualUser> = actual.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let eligible =
        |u: &ActualUser| (u.person.active() || reactivated.contains(u.id.as_str())) && !leaving.contains(u.id.as_str());
    // A person named in the config: a userName (any case) or an externalId.
    let find = |spec: &str| -> Result<&ActualUser, String> {
        let spec = spec.trim();
        let u = actual
            .users
            .iter()
            .find(|u| u.person.external_id.as_deref() == Some(spec))
            .or_else(|| actual.users.iter().find(|u| u.person.user_name().eq_ignore_ascii_case(spec)))
            .ok_or_else(|| format!("{spec} is not in the target"))?;
        if eligible(u) {
            Ok(u)
        } else if leaving.contains(u.id.as_str()) {
            Err(format!("{spec} is deprovisioned by this plan"))
        } else {
            Err(format!("{spec} is not active in the target"))
        }
    };
    let assignee = |u: &ActualUser, count: Option<u32>| Assignee {
        id: u.id.clone(),
        user_name: u.person.user_name().to_owned(),
        count,
    };

    // What every leaver shares (all strategies but `manager`), resolved once.
    let shared: Result<(Vec<Assignee>, Option<GroupRef>), String> = match (policy.strategy, &policy.group) {
        (Strategy::Manager, _) => Ok((Vec::new(), None)),
        (Strategy::RoundRobin, Some(name)) => {
            match actual.groups.iter().find(|g| g.display_name.eq_ignore_ascii_case(name.trim())) {
                None => Err(format!("group {name:?} is not in the target")),
                Some(g) => {
                    let n = g.members.iter().filter(|m| by_id.get(m.as_str()).is_some_and(|u| eligible(u))).count();
                    if n == 0 {
                        Err(format!("group {name:?} has no active member who stays"))
                    } else {
                        let group =
                            GroupRef { id: g.id.clone(), display_name: g.display_name.clone(), eligible_members: n };
                        Ok((Vec::new(), Some(group)))
                    }
                }
            }
        }
        _ => policy
            .targets
            .iter()
            .map(|t| find(t.person()).map(|u| assignee(u, t.count())))
            .collect::<Result<Vec<_>, _>>()
            .map(|t| (t, None)),
    };
    let mut warnings = Vec::new();
    if let Err(why) = &shared {
        warnings.push(format!("reassignment: {why}; leavers' work will not be reassigned (fix [reassignment])"));
    }
    let fallback = policy.fallback.as_deref().map(find);
    if let (Some(Err(why)), false) = (&fallback, leaving.is_empty()) {
        warnings.push(format!("reassignment: the fallback {why}"));
    }

    let work = leavers(plan)
        .into_iter()
        .map(|(id, user_name, new_manager)| {
            let mut w = LeaverWork {
                id: id.to_owned(),
                user_name: user_name.to_owned(),
                strategy: policy.strategy,
                targets: Vec::new(),
                group: None,
                via: None,
                unresolved: None,
            };
            if policy.strategy != Strategy::Manager {
                match &shared {
                    Ok((targets, group)) => (w.targets, w.group) = (targets.clone(), group.clone()),
                    Err(why) => w.unresolved = Some(why.clone()),
                }
                return w;
            }
            // The manager: as the same update sets it, else as the target holds it.
            let manager_key = match new_manager {
                Some(m) => m,
                None => by_id.get(id).and_then(|u| u.person.get(Attr::Manager)),
            };
            let manager = manager_key.map(|m| match m.strip_prefix("id:") {
                Some(mid) => by_id.get(mid).copied(),
                None => actual.users.iter().find(|u| u.person.external_id.as_deref() == Some(m)),
            });
            let why_not = match manager {
                None => "no manager".to_owned(),
                Some(None) => "the manager is not in the target".to_owned(),
                Some(Some(m)) if eligible(m) => {
                    w.targets = vec![assignee(m, None)];
                    w.via = Some("manager".into());
                    return w;
                }
                Some(Some(m)) if leaving.contains(m.id.as_str()) => {
                    format!("the manager {} leaves too", m.person.user_name())
                }
                Some(Some(m)) => format!("the manager {} is not active", m.person.user_name()),
            };
            match &fallback {
                Some(Ok(f)) => {
                    w.targets = vec![assignee(f, None)];
                    w.via = Some(format!("fallback: {why_not}"));
                }
                Some(Err(e)) => w.unresolved = Some(format!("{why_not}, and the fallback {e}")),
                None => w.unresolved = Some(why_not),
            }
            w
        })
        .collect();
    (work, warnings)
}

/// What happened to one leaver's work, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOutcome {
    pub status: WorkStatus,
    pub detail: String,
    /// Who was to get the work, when the policy resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<LeaverWork>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkStatus {
    /// The server took the reassignment.
    Reassigned,
    /// Not attempted: the target cannot reassign (the detail says why).
    Skipped,
    /// No `[reassignment]` policy: the work stays with the person.
    NoPolicy,
    /// The policy names no one who can take the work (the detail says why).
    Unresolved,
    /// The server refused or failed.
    Failed,
}

/// The outcome for one person just deprovisioned. Only a Rollcall target that offers
/// reassignment is asked; for every other case the outcome says why nothing was sent.
pub async fn carry_out(
    client: &Client,
    kind: TargetKind,
    policy: Option<&Reassignment>,
    work: Option<&LeaverWork>,
) -> WorkOutcome {
    let outcome = |status, detail: &str| WorkOutcome { status, detail: detail.to_owned(), plan: work.cloned() };
    if policy.is_none() {
        return outcome(WorkStatus::NoPolicy, "no [reassignment] policy in the config: the work stays with the person");
    }
    match kind {
        TargetKind::Other => outcome(
            WorkStatus::Skipped,
            "skipped: the target is not a Rollcall server; reassign this person's work in that system",
        ),
        TargetKind::Rollcall => outcome(
            WorkStatus::Skipped,
            "skipped: this Rollcall server does not offer the reassignment API; the work stays with the person \
             (nothing is lost) until it is reassigned",
        ),
        TargetKind::RollcallWithReassignment => match work {
            None => outcome(WorkStatus::Unresolved, "no reassignment was planned for this person"),
            Some(w) => match &w.unresolved {
                Some(why) => outcome(WorkStatus::Unresolved, why),
                None => server_api::request_reassignment(client, w).await,
            },
        },
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
