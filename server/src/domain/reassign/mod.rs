//! Reassignment of a leaver's work: what a plan says ([`PlanSpec`]), who may take the work
//! ([`eligibility`]), the jobs that carry it out and what they answer. The use cases
//! (preview, process, the worker's run, undo) are in [`run`].
//!
//! A plan has one rule per reassigned kind (contacts, leads, pending tasks): a strategy of
//! [`allocation`](super::allocation) over listed targets or over a group's eligible
//! members, or `unassigned` (the records stay with the leaver and are listed). Notes stay
//! with their author; completed tasks stay, archived, with the leaver.

pub mod eligibility;
pub mod run;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::work::Kind;
use super::{Error, Result};

/// The most targets one rule may list (each becomes a bound value in the set-based move).
pub const MAX_TARGETS: usize = 1_000;
/// How many record ids a preview or a report lists per target (counts are always whole).
pub const LISTED: u32 = 100;

/// One target and its number (ignored by round robin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    pub id: String,
    #[serde(default)]
    pub count: u64,
}

/// The rule for one kind of record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// `ratio`, `hardcoded`, `round_robin` or `unassigned`.
    pub strategy: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<TargetSpec>,
    /// Round robin over this group's eligible active members (instead of `targets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Spec {
    pub fn unassigned() -> Self {
        Self { strategy: UNASSIGNED.into(), targets: Vec::new(), group: None }
    }

    /// Checks the shape (not the people): a known strategy, targets or a group.
    pub fn check(&self) -> Result<()> {
        if self.strategy == UNASSIGNED {
            return Ok(());
        }
        super::allocation::Strategy::parse(&self.strategy)?;
        match (&self.group, self.targets.is_empty()) {
            (Some(_), false) => Err(Error::InvalidValue("give targets or a group, not both".into())),
            (Some(_), true) if self.strategy != "round_robin" => {
                Err(Error::InvalidValue("a group's members share work by round_robin only".into()))
            }
            (None, true) => Err(Error::InvalidValue(format!("a {} rule needs targets or a group", self.strategy))),
            _ if self.targets.len() > MAX_TARGETS => {
                Err(Error::TooMany(format!("a rule lists at most {MAX_TARGETS} targets")))
            }
            _ => Ok(()),
        }
    }
}

pub const UNASSIGNED: &str = "unassigned";

/// A whole plan: one rule per reassigned kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSpec {
    pub contacts: Spec,
    pub leads: Spec,
    pub tasks: Spec,
}

impl PlanSpec {
    pub fn all(spec: &Spec) -> Self {
        Self { contacts: spec.clone(), leads: spec.clone(), tasks: spec.clone() }
    }

    pub fn rule(&self, kind: Kind) -> &Spec {
        match kind {
            Kind::Contact => &self.contacts,
            Kind::Lead => &self.leads,
            Kind::Task | Kind::Note => &self.tasks,
        }
    }

    pub fn check(&self) -> Result<()> {
        for kind in Kind::REASSIGNED {
            self.rule(kind).check().map_err(|e| match e {
                Error::InvalidValue(m) => Error::InvalidValue(format!("{}: {m}", kind.plural())),
                other => other,
            })?;
        }
        Ok(())
    }
}

/// What a deprovisioning without an explicit plan does (the tenant's default policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// Nothing moves; the job's report lists the work left with the person.
    Unassigned,
    /// Everything to the person's manager (enterprise `manager`), else to the fallback.
    Manager,
}

impl PolicyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unassigned => "unassigned",
            Self::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "unassigned" => Ok(Self::Unassigned),
            "manager" => Ok(Self::Manager),
            other => Err(Error::InvalidValue(format!("unknown policy `{other}`: use unassigned or manager"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub mode: PolicyMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self { mode: PolicyMode::Unassigned, fallback: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Recorded with a deprovisioning; the worker runs it.
    Pending,
    Done,
    /// The worker gave up after repeated failures (the error says why).
    Failed,
    /// An explicit request for the same person came before the worker ran it.
    Superseded,
    Undone,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Superseded => "superseded",
            Self::Undone => "undone",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        [Self::Pending, Self::Done, Self::Failed, Self::Superseded, Self::Undone]
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| Error::InvalidValue(format!("unknown job state `{s}`")))
    }
}

/// Where a job came from.
pub const EXPLICIT: &str = "explicit";
pub const POLICY: &str = "policy";

/// One reassignment of one person's work.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub person: String,
    /// [`EXPLICIT`] (an admin or the agent asked) or [`POLICY`] (a deprovisioning).
    pub source: String,
    pub state: JobState,
    /// The plan (explicit) or the policy (policy jobs), as JSON.
    pub plan: serde_json::Value,
    pub deactivate_to: Option<String>,
    /// What it did ([`Outcome`] as JSON), once done.
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub actor: String,
    pub attempts: i64,
    pub created: OffsetDateTime,
    pub finished: Option<OffsetDateTime>,
    pub undone: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub person: Option<String>,
    pub state: Option<JobState>,
    pub limit: u32,
}

/// One record a job touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    pub record: String,
    pub kind: String,
    /// `move` or `archive`.
    pub action: String,
    pub from: String,
    pub to: String,
}

/// Who gets how many records of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareOut {
    pub id: String,
    pub user_name: String,
    pub count: u64,
    /// The first record ids this target gets (at most [`LISTED`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// The allocation of one kind, as the preview shows it and the job reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindOutcome {
    /// `contacts`, `leads` or `tasks` (pending ones).
    #[serde(rename = "type")]
    pub kind: String,
    pub strategy: String,
    pub total: u64,
    pub assigned: u64,
    pub unassigned: u64,
    /// "104 / 104 contacts accounted for".
    pub summary: String,
    pub targets: Vec<ShareOut>,
    /// The first records that stay unassigned (at most [`LISTED`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unassigned_records: Vec<String>,
    /// Why these records went where they did (policy jobs: `manager`, `fallback: …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// What a preview shows and a processed job did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub person: String,
    #[serde(rename = "types")]
    pub kinds: Vec<KindOutcome>,
    /// Completed tasks that stay, archived, with the person.
    pub completed_tasks_archived: u64,
    /// Notes stay with their author.
    pub notes_kept: u64,
    /// The state the person was moved to by this request, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deactivated_to: Option<String>,
}

/// A record an undo could not put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotUndone {
    pub record: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoOutcome {
    pub restored: u64,
    pub unarchived: u64,
    pub not_restored: u64,
    /// The first of them (at most [`LISTED`]), with the reason.
    pub not_restored_records: Vec<NotUndone>,
}
