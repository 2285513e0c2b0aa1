//! The plan for people: a summary, then a table of operations (the first `rows` of them;
//! `--json` has them all), then the warnings.

use std::fmt::Write;

use super::{Op, Plan};

/// Who the plan is about, for its first lines.
pub struct Heading<'a> {
    pub source: &'a str,
    pub target: &'a str,
    pub source_people: usize,
    /// What happens to leavers' work, when there is a policy.
    pub reassignment: Option<String>,
}

fn quote(v: Option<&str>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"))
}

fn who(name: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("{name} ({k})"),
        None => name.to_owned(),
    }
}

fn list(items: &[String], limit: usize) -> String {
    let mut s = items.iter().take(limit).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > limit {
        let _ = write!(s, ", … {} more", items.len() - limit);
    }
    s
}

/// One table row: action, subject, details (with who gets a leaver's work).
fn row(op: &Op, plan: &Plan) -> (&'static str, String, String) {
    let (action, subject, mut details) = bare_row(op);
    let leaver = match op {
        Op::Deactivate { id, .. } | Op::Delete { id, .. } | Op::Update { id, .. } if op.deprovisions() => Some(id),
        _ => None,
    };
    if let Some(work) = leaver.and_then(|id| plan.reassignments.iter().find(|w| &w.id == id)) {
        details = format!("{details}; {}", work.summary());
    }
    (action, subject, details)
}

fn bare_row(op: &Op) -> (&'static str, String, String) {
    match op {
        Op::Create { key, person } => {
            let details = person
                .attrs
                .iter()
                .filter(|(a, _)| **a != crate::source::Attr::UserName)
                .map(|(a, v)| format!("{a}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            ("create", who(person.user_name(), Some(key)), details)
        }
        Op::Update { key, user_name, adopt, changes, .. } => {
            let mut parts: Vec<String> = changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.attr, quote(c.from.as_deref()), quote(c.to.as_deref())))
                .collect();
            if *adopt {
                parts.insert(0, format!("adopt (set externalId {key})"));
            }
            (crate::apply::update_action(op), who(user_name, Some(key)), parts.join("; "))
        }
        Op::Deactivate { key, user_name, .. } => {
            ("deactivate", who(user_name, key.as_deref()), "left the source".into())
        }
        Op::Delete { key, user_name, .. } => ("delete", who(user_name, key.as_deref()), "left the source".into()),
        Op::CreateGroup { display_name, members, .. } => {
            ("create group", display_name.clone(), format!("{} members", members.len()))
        }
        Op::RenameGroup { from, to, .. } => ("rename group", from.clone(), format!("→ {to:?}")),
        Op::Members { display_name, add, remove, .. } => {
            let mut parts = Vec::new();
            if !add.is_empty() {
                parts.push(format!("+{} ({})", add.len(), list(add, 5)));
            }
            if !remove.is_empty() {
                parts.push(format!("-{}", remove.len()));
            }
            ("members", display_name.clone(), parts.join(" "))
        }
    }
}

/// The plan as text.
pub fn render(plan: &Plan, heading: &Heading<'_>, rows: usize) -> String {
    let mut out = String::new();
    let c = plan.counts();
    let _ = writeln!(out, "Plan: {} → {}", heading.source, heading.target);
    let _ = writeln!(
        out,
        "  {} people in the source; {} users in the target, {} of them managed by this agent",
        heading.source_people, plan.target_users, plan.managed_before
    );
    if plan.is_empty() {
        let _ = writeln!(out, "  Nothing to do: the target matches the source.");
    } else {
        let _ = writeln!(
            out,
            "  people: {} create, {} update, {} reactivate, {} deactivate, {} delete",
            c.create, c.update, c.reactivate, c.deactivate, c.delete
        );
        let _ = writeln!(
            out,
            "  groups: {} create, {} rename, {} member adds, {} member removes",
            c.group_create, c.group_rename, c.member_add, c.member_remove
        );
        if let Some(line) = &heading.reassignment {
            let _ = writeln!(out, "  {line}");
        }
        let table: Vec<_> = plan.ops.iter().take(rows).map(|op| row(op, plan)).collect();
        if !table.is_empty() {
            let w0 = table.iter().map(|r| r.0.len()).max().unwrap_or(0).max("ACTION".len());
            let w1 = table.iter().map(|r| r.1.chars().count()).max().unwrap_or(0).clamp("WHO".len(), 48);
            let _ = writeln!(out);
            let _ = writeln!(out, "  {:w0$}  {:w1$}  DETAILS", "ACTION", "WHO");
            for (action, subject, details) in &table {
                let _ = writeln!(out, "  {action:w0$}  {subject:w1$}  {details}");
            }
            if plan.ops.len() > rows {
                let _ = writeln!(out, "  … and {} more operations (all of them are in --json)", plan.ops.len() - rows);
            }
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "  Left alone ({}):", plan.warnings.len());
        for w in plan.warnings.iter().take(rows.max(10)) {
            let _ = writeln!(out, "    {w}");
        }
        if plan.warnings.len() > rows.max(10) {
            let _ = writeln!(out, "    … and {} more", plan.warnings.len() - rows.max(10));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;
    use crate::source::{Attr, Person};

    #[test]
    fn a_plan_reads_well() {
        let mut person = Person { external_id: Some("E1".into()), ..Person::default() };
        person.attrs.insert(Attr::UserName, "ann@x".into());
        person.attrs.insert(Attr::GivenName, "Ann".into());
        let plan = Plan {
            ops: vec![
                Op::Create { key: "E1".into(), person },
                Op::Update {
                    id: "2".into(),
                    key: "E2".into(),
                    user_name: "bob@x".into(),
                    adopt: false,
                    changes: vec![Change { attr: Attr::Active, from: Some("false".into()), to: Some("true".into()) }],
                },
                Op::Deactivate { id: "3".into(), key: None, user_name: "cy@x".into() },
            ],
            warnings: vec!["dee@x: protected, not deprovisioned".into()],
            target_users: 3,
            managed_before: 2,
            ..Plan::default()
        };
        let heading = Heading {
            source: "csv:people.csv",
            target: "http://t/scim/v2",
            source_people: 2,
            reassignment: Some("reassignment: skipped, the target is not a Rollcall server".into()),
        };
        let text = render(&plan, &heading, 2);
        assert!(text.contains("1 create, 0 update, 1 reactivate, 1 deactivate"), "{text}");
        assert!(text.contains("create      ann@x (E1)  givenName=Ann"), "{text}");
        assert!(text.contains("reactivate  bob@x (E2)  active: \"false\" → \"true\""), "{text}");
        assert!(text.contains("… and 1 more operations"), "{text}");
        assert!(text.contains("dee@x: protected"), "{text}");
        let empty = render(&Plan::default(), &heading, 2);
        assert!(empty.contains("Nothing to do"), "{empty}");
    }

    #[test]
    fn every_kind_of_operation_reads_well() {
        let mut person = Person { external_id: Some("E7".into()), ..Person::default() };
        person.attrs.insert(Attr::UserName, "new@x".into());
        person.attrs.insert(Attr::Department, "Sales".into());
        let change = |attr, from: &str, to: &str| Change { attr, from: Some(from.into()), to: Some(to.into()) };
        let plan = Plan {
            ops: vec![
                Op::Create { key: "E7".into(), person },
                Op::Update {
                    id: "1".into(),
                    key: "E1".into(),
                    user_name: "ann@x".into(),
                    adopt: true,
                    changes: vec![
                        change(Attr::GivenName, "Anne", "Ann"),
                        Change { attr: Attr::Department, from: Some("Ops".into()), to: None },
                    ],
                },
                Op::Update {
                    id: "2".into(),
                    key: "E2".into(),
                    user_name: "bob@x".into(),
                    adopt: false,
                    changes: vec![change(Attr::Active, "true", "false")],
                },
                Op::Deactivate { id: "3".into(), key: Some("E3".into()), user_name: "cy@x".into() },
                Op::Delete { id: "4".into(), key: None, user_name: "dee@x".into() },
                Op::CreateGroup { display_name: "New".into(), external_id: None, members: vec!["E7".into()] },
                Op::RenameGroup { id: "g1".into(), from: "Sales".into(), to: "Sales EMEA".into() },
                Op::Members {
                    id: "g1".into(),
                    display_name: "Sales".into(),
                    add: (0..7).map(|i| format!("E{i}")).collect(),
                    remove: vec!["9".into()],
                },
            ],
            warnings: vec![
                "hand@x: the target has this userName without an externalId; turn adoption on to take it over".into(),
            ],
            target_users: 5,
            managed_before: 4,
            reassignments: vec![crate::reassign::LeaverWork {
                id: "3".into(),
                user_name: "cy@x".into(),
                strategy: crate::reassign::Strategy::Manager,
                targets: vec![crate::reassign::Assignee { id: "1".into(), user_name: "ann@x".into(), count: None }],
                group: None,
                via: Some("manager".into()),
                unresolved: None,
            }],
            ..Plan::default()
        };
        let heading = Heading {
            source: "csv:people.csv",
            target: "https://scim.example.com/scim/v2",
            source_people: 3,
            reassignment: Some("reassignment: skipped, the target is not a Rollcall server".into()),
        };
        insta::assert_snapshot!(render(&plan, &heading, 50));
    }
}
