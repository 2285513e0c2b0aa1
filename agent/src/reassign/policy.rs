//! `[reassignment]` in the config: what happens to a leaver's work (contacts, leads, pending
//! tasks) when the target is a Rollcall server. Checked when the config is read, so that a
//! policy that cannot work stops the run before anything is sent.
//!
//! ```toml
//! [reassignment]
//! strategy = "manager"          # the person's manager, else the fallback
//! fallback = "ops@example.com"
//!
//! [reassignment]
//! strategy = "ratio"            # or "hardcoded": each target gets up to its count
//! targets = [{ person = "ann@example.com", count = 50 }, { person = "E042", count = 20 }]
//!
//! [reassignment]
//! strategy = "round_robin"      # evenly over the listed people, or over a group's members
//! targets = ["ann@example.com", "bob@example.com"]   # or: group = "Sales reps"
//! ```

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// How work is shared out, as the seeds' product and the server name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Each target gets up to its count; the rest goes round the targets again, so that
    /// everything is assigned.
    Ratio,
    /// Each target gets up to its count; the rest stays unassigned (and is listed).
    Hardcoded,
    /// Evenly over the targets, or over the active members of a group.
    #[serde(alias = "round-robin")]
    RoundRobin,
    /// Everything to the person's manager; to the fallback when there is no manager who
    /// stays (none, inactive, or leaving in the same run).
    Manager,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Ratio => "ratio",
            Strategy::Hardcoded => "hardcoded",
            Strategy::RoundRobin => "round_robin",
            Strategy::Manager => "manager",
        }
    }
}

/// One entry of `targets`: a person (userName or externalId in the target), with a count
/// for `ratio` and `hardcoded`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TargetEntry {
    Person(String),
    Counted { person: String, count: u32 },
}

impl TargetEntry {
    pub fn person(&self) -> &str {
        match self {
            TargetEntry::Person(p) | TargetEntry::Counted { person: p, .. } => p,
        }
    }

    pub fn count(&self) -> Option<u32> {
        match self {
            TargetEntry::Person(_) => None,
            TargetEntry::Counted { count, .. } => Some(*count),
        }
    }
}

/// The `[reassignment]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reassignment {
    pub strategy: Strategy,
    #[serde(default)]
    pub targets: Vec<TargetEntry>,
    /// `round_robin` over the active members of this group (its displayName in the target).
    pub group: Option<String>,
    /// `manager`: who gets the work when the manager cannot.
    pub fallback: Option<String>,
}

impl Reassignment {
    /// Checks that the policy can be carried out as written; the error says how to fix it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError(format!("[reassignment] strategy {:?}: {m}", self.strategy.name())));
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.targets {
            let p = t.person().trim();
            if p.is_empty() {
                return bad("a target has an empty person".into());
            }
            if !seen.insert(p.to_lowercase()) {
                return bad(format!("target {p:?} is listed twice"));
            }
        }
        match self.strategy {
            Strategy::Ratio | Strategy::Hardcoded => {
                if self.targets.is_empty() {
                    return bad("needs targets = [{ person = \"…\", count = N }, …]".into());
                }
                if let Some(t) = self.targets.iter().find(|t| t.count().is_none_or(|c| c == 0)) {
                    return bad(format!("target {:?} needs a count of at least 1", t.person()));
                }
                if self.group.is_some() {
                    return bad("takes targets with counts, not a group (a group is for round_robin)".into());
                }
            }
            Strategy::RoundRobin => {
                match (self.targets.is_empty(), &self.group) {
                    (true, None) => return bad("needs targets = [\"…\", …] or group = \"…\"".into()),
                    (false, Some(_)) => return bad("takes targets or a group, not both".into()),
                    (_, Some(g)) if g.trim().is_empty() => return bad("group is empty".into()),
                    _ => {}
                }
                if let Some(t) = self.targets.iter().find(|t| t.count().is_some()) {
                    return bad(format!("target {:?} has a count; round_robin shares evenly", t.person()));
                }
            }
            Strategy::Manager => {
                if !self.targets.is_empty() || self.group.is_some() {
                    return bad("takes a fallback, not targets or a group".into());
                }
                match &self.fallback {
                    Some(f) if !f.trim().is_empty() => {}
                    _ => return bad("needs fallback = \"…\" (who gets the work when there is no manager)".into()),
                }
            }
        }
        if self.fallback.is_some() && self.strategy != Strategy::Manager {
            return bad("fallback is only for strategy \"manager\"".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Reassignment, String> {
        let r: Reassignment = toml::from_str(text).map_err(|e| e.to_string())?;
        r.validate().map_err(|e| e.0)?;
        Ok(r)
    }

    #[test]
    fn the_documented_policies_are_valid() {
        let doc = include_str!("policy.rs");
        let body: Vec<&str> = doc
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim_start())
            .skip_while(|l| !l.starts_with("```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let tables: Vec<String> = body.join("\n").split("[reassignment]").skip(1).map(str::to_owned).collect();
        assert_eq!(tables.len(), 3);
        for t in tables {
            parse(&t).unwrap();
        }
        let r = parse("strategy = \"round-robin\"\ngroup = \"Sales reps\"").unwrap();
        assert_eq!(r.strategy, Strategy::RoundRobin);
    }

    #[test]
    fn policies_that_cannot_work_are_refused_with_the_fix() {
        let cases = [
            ("strategy = \"ratio\"", "needs targets"),
            ("strategy = \"ratio\"\ntargets = [\"a@x\"]", "needs a count"),
            ("strategy = \"hardcoded\"\ntargets = [{ person = \"a@x\", count = 0 }]", "at least 1"),
            ("strategy = \"ratio\"\ntargets = [{ person = \"a@x\", count = 1 }]\ngroup = \"G\"", "not a group"),
            ("strategy = \"round_robin\"", "or group"),
            ("strategy = \"round_robin\"\ntargets = [\"a\"]\ngroup = \"G\"", "not both"),
            ("strategy = \"round_robin\"\ntargets = [{ person = \"a@x\", count = 3 }]", "shares evenly"),
            ("strategy = \"round_robin\"\ntargets = [\"a@x\", \"A@x\"]", "listed twice"),
            ("strategy = \"manager\"", "needs fallback"),
            ("strategy = \"manager\"\nfallback = \"f\"\ntargets = [\"a\"]", "not targets"),
            ("strategy = \"round_robin\"\ntargets = [\"a\"]\nfallback = \"f\"", "only for strategy"),
            ("strategy = \"everyone\"", "unknown variant"),
            ("strategy = \"manager\"\nfallback = \"f\"\nfalback = \"g\"", "unknown field"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
