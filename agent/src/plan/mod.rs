//! The plan: what must change in the target so that it matches the source. [`diff`] computes
//! it without any I/O; [`render`] prints it for people; it serialises to JSON for machines.

pub mod diff;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::config::Deprovision;
use crate::source::{Attr, Person};

pub use diff::diff;

/// A user as the target holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActualUser {
    pub id: String,
    /// `manager` holds the manager's externalId (or `id:…` when the manager has none).
    pub person: Person,
    /// The resource as read, for PUT (which replaces the whole resource).
    pub raw: Value,
}

/// A group as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualGroup {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: String,
    /// Member user ids.
    pub members: BTreeSet<String>,
}

/// The target's current state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Actual {
    pub users: Vec<ActualUser>,
    pub groups: Vec<ActualGroup>,
}

/// What [`diff`] needs besides the two states.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Target user ids this agent manages: only they are ever deprovisioned.
    pub managed: BTreeSet<String>,
    /// Target group ids this agent manages although the source no longer names them (it
    /// created them): their managed members are removed.
    pub managed_groups: BTreeSet<String>,
    /// Match target users without externalId by userName.
    pub adopt: bool,
    pub deprovision: Deprovision,
    /// userNames or externalIds never deprovisioned.
    pub protected: Vec<String>,
}

impl DiffOptions {
    pub fn is_protected(&self, person: &Person) -> bool {
        self.protected
            .iter()
            .any(|p| p.eq_ignore_ascii_case(person.user_name()) || person.external_id.as_deref() == Some(p.as_str()))
    }
}

/// One attribute's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub attr: Attr,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One thing to do to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Op {
    /// A person the target does not have.
    Create {
        key: String,
        person: Person,
    },
    /// A person whose attributes differ; `adopt` also sets the externalId of a target user
    /// matched by userName. A change of `active` to true is a reactivation.
    #[serde(rename_all = "camelCase")]
    Update {
        id: String,
        key: String,
        user_name: String,
        adopt: bool,
        changes: Vec<Change>,
    },
    /// A managed person who left the source: `active: false`.
    #[serde(rename_all = "camelCase")]
    Deactivate {
        id: String,
        key: Option<String>,
        user_name: String,
    },
    /// A managed person who left the source, when deprovisioning deletes.
    #[serde(rename_all = "camelCase")]
    Delete {
        id: String,
        key: Option<String>,
        user_name: String,
    },
    /// A group the target does not have, with its members (people's keys).
    #[serde(rename_all = "camelCase")]
    CreateGroup {
        display_name: String,
        external_id: Option<String>,
        members: Vec<String>,
    },
    RenameGroup {
        id: String,
        from: String,
        to: String,
    },
    /// Members to add (people's keys) and to remove (target user ids) in one group.
    #[serde(rename_all = "camelCase")]
    Members {
        id: String,
        display_name: String,
        add: Vec<String>,
        remove: Vec<String>,
    },
}

impl Op {
    /// Whether this takes someone's access away (counted by the deprovision guard).
    pub fn deprovisions(&self) -> bool {
        match self {
            Op::Deactivate { .. } | Op::Delete { .. } => true,
            Op::Update { changes, .. } => {
                changes.iter().any(|c| c.attr == Attr::Active && c.to.as_deref() == Some("false"))
            }
            _ => false,
        }
    }

    pub fn is_reactivation(&self) -> bool {
        matches!(self, Op::Update { changes, .. }
            if changes.iter().any(|c| c.attr == Attr::Active && c.to.as_deref() == Some("true")))
    }
}

/// The plan: the operations, what could not be planned, and the matches it rests on.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub ops: Vec<Op>,
    /// People or groups left alone, and why (a userName taken by someone else, a protected
    /// person the source dropped, an unknown manager).
    pub warnings: Vec<String>,
    /// The attributes compared (the source's).
    pub provided: BTreeSet<Attr>,
    /// How many target users this agent manages: those it did before the run and those the
    /// source names (the base of `--max-deprovision`).
    pub managed_before: usize,
    /// Target users seen.
    pub target_users: usize,
    /// For each person deprovisioned, who is to get their work (with a `[reassignment]`
    /// policy; see [`crate::reassign::plan_work`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reassignments: Vec<crate::reassign::LeaverWork>,
    /// People's key → target id for everyone matched (apply adds the created ones).
    #[serde(skip)]
    pub ids: BTreeMap<String, String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub fn deprovision_count(&self) -> usize {
        self.ops.iter().filter(|o| o.deprovisions()).count()
    }

    /// Counts by kind, for the summary: creates, updates, reactivations, deactivations,
    /// deletions, group creates, renames, member adds, member removes.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for op in &self.ops {
            match op {
                Op::Create { .. } => c.create += 1,
                Op::Update { .. } if op.deprovisions() => c.deactivate += 1,
                Op::Update { .. } if op.is_reactivation() => c.reactivate += 1,
                Op::Update { .. } => c.update += 1,
                Op::Deactivate { .. } => c.deactivate += 1,
                Op::Delete { .. } => c.delete += 1,
                Op::CreateGroup { members, .. } => {
                    c.group_create += 1;
                    c.member_add += members.len();
                }
                Op::RenameGroup { .. } => c.group_rename += 1,
                Op::Members { add, remove, .. } => {
                    c.member_add += add.len();
                    c.member_remove += remove.len();
                }
            }
        }
        c
    }
}

/// Operation counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub reactivate: usize,
    pub deactivate: usize,
    pub delete: usize,
    pub group_create: usize,
    pub group_rename: usize,
    pub member_add: usize,
    pub member_remove: usize,
}
