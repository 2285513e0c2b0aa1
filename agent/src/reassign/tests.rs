//! Tests of target detection and of [`plan_work`]: examples, and the property that every
//! person the plan deprovisions gets exactly one entry, naming only people who stay.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::plan::{ActualGroup, Change};
use crate::source::Person;

fn user(id: &str, name: &str, key: Option<&str>, manager: Option<&str>, active: bool) -> ActualUser {
    let mut attrs = BTreeMap::new();
    attrs.insert(Attr::UserName, name.to_owned());
    if !active {
        attrs.insert(Attr::Active, "false".to_owned());
    }
    if let Some(m) = manager {
        attrs.insert(Attr::Manager, m.to_owned());
    }
    ActualUser { id: id.into(), person: Person { external_id: key.map(str::to_owned), attrs }, raw: Value::Null }
}

fn deactivate(id: &str, name: &str) -> Op {
    Op::Deactivate { id: id.into(), key: None, user_name: name.into() }
}

fn policy(text: &str) -> Reassignment {
    let p: Reassignment = toml::from_str(text).unwrap();
    p.validate().unwrap();
    p
}

fn actual() -> Actual {
    Actual {
        users: vec![
            user("1", "boss@x", Some("B"), None, true),
            user("2", "w1@x", Some("W1"), Some("B"), true),
            user("3", "w2@x", Some("W2"), Some("W1"), true),
            user("4", "ops@x", Some("OPS"), None, true),
            user("5", "old@x", Some("OLD"), None, false),
            user("6", "hand@x", None, Some("id:1"), true),
        ],
        groups: vec![ActualGroup {
            id: "g".into(),
            external_id: None,
            display_name: "Sales reps".into(),
            members: ["2".into(), "3".into(), "5".into()].into(),
        }],
    }
}

#[test]
fn rollcall_is_told_by_its_schemas_and_reassignment_by_its_service_provider_config() {
    let ours = json!({"Resources": [{"id": "urn:ietf:params:scim:schemas:core:2.0:User"},
        {"id": "urn:ietf:params:scim:schemas:extension:rollcall:2.0:User"}]});
    let other = json!({"Resources": [{"id": "urn:ietf:params:scim:schemas:core:2.0:User"}]});
    let spc = json!({"patch": {"supported": true}});
    let spc_reassigns = json!({"patch": {"supported": true},
        "urn:ietf:params:scim:schemas:extension:rollcall:2.0:ServiceProviderConfig": {"reassignment": {"supported": true}}});
    assert_eq!(detect(Some(&ours), Some(&spc)), TargetKind::Rollcall);
    assert_eq!(detect(Some(&ours), Some(&spc_reassigns)), TargetKind::RollcallWithReassignment);
    assert_eq!(detect(Some(&other), Some(&spc)), TargetKind::Other);
    assert_eq!(detect(None, None), TargetKind::Other);
    // The extension in the config alone is enough; a bare array of schemas too.
    assert_eq!(detect(None, Some(&spc_reassigns)), TargetKind::RollcallWithReassignment);
    assert_eq!(
        detect(Some(&json!([{"id": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ROLLCALL:2.0:User"}])), None),
        TargetKind::Rollcall
    );
    // A bare "reassignment" key is not ours: only the Rollcall extension counts.
    assert_eq!(detect(Some(&other), Some(&json!({"reassignment": {"supported": true}}))), TargetKind::Other);
}

#[test]
fn manager_else_fallback() {
    let plan = Plan {
        ops: vec![
            deactivate("2", "w1@x"),
            deactivate("3", "w2@x"),
            deactivate("6", "hand@x"),
            Op::Delete { id: "4".into(), key: Some("OPS".into()), user_name: "ops@x".into() },
        ],
        ..Plan::default()
    };
    let (work, warnings) = plan_work(&plan, &actual(), &policy("strategy = \"manager\"\nfallback = \"boss@x\""));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(work.len(), 4);
    assert_eq!(work[0].targets[0].id, "1");
    assert_eq!(work[0].via.as_deref(), Some("manager"));
    // w2's manager w1 leaves in the same run: the fallback.
    assert_eq!(work[1].targets[0].user_name, "boss@x");
    assert_eq!(work[1].via.as_deref(), Some("fallback: the manager w1@x leaves too"));
    // A manager named by target id (no externalId).
    assert_eq!(work[2].targets[0].id, "1");
    assert_eq!(work[3].via.as_deref(), Some("fallback: no manager"));
    assert_eq!(work[0].summary(), "work → boss@x (manager)");

    // A fallback who leaves too: unresolved, and the plan says so.
    let (work, warnings) = plan_work(&plan, &actual(), &policy("strategy = \"manager\"\nfallback = \"ops@x\""));
    assert_eq!(work[3].unresolved.as_deref(), Some("no manager, and the fallback ops@x is deprovisioned by this plan"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn shared_strategies_resolve_their_targets_once() {
    let plan = Plan { ops: vec![deactivate("2", "w1@x")], ..Plan::default() };
    let ratio =
        policy("strategy = \"ratio\"\ntargets = [{ person = \"OPS\", count = 5 }, { person = \"W2\", count = 50 }]");
    let (work, warnings) = plan_work(&plan, &actual(), &ratio);
    assert!(warnings.is_empty());
    assert_eq!(
        work[0].targets.iter().map(|t| (t.id.as_str(), t.count)).collect::<Vec<_>>(),
        [("4", Some(5)), ("3", Some(50))]
    );
    assert_eq!(work[0].summary(), "work → ops@x ×5, w2@x ×50 (ratio)");

    let inactive = policy("strategy = \"round_robin\"\ntargets = [\"ops@x\", \"old@x\"]");
    let (work, warnings) = plan_work(&plan, &actual(), &inactive);
    assert_eq!(work[0].unresolved.as_deref(), Some("old@x is not active in the target"));
    assert!(warnings[0].contains("old@x is not active"), "{warnings:?}");
    let missing = policy("strategy = \"hardcoded\"\ntargets = [{ person = \"nobody@x\", count = 1 }]");
    assert_eq!(plan_work(&plan, &actual(), &missing).0[0].unresolved.as_deref(), Some("nobody@x is not in the target"));

    // A group: its active members who stay (w1 leaves, old@x is inactive: one is left).
    let group = policy("strategy = \"round_robin\"\ngroup = \"sales REPS\"");
    let (work, _) = plan_work(&plan, &actual(), &group);
    assert_eq!(work[0].group.as_ref().map(|g| g.eligible_members), Some(1));
    let both = Plan { ops: vec![deactivate("2", "w1@x"), deactivate("3", "w2@x")], ..Plan::default() };
    let (work, warnings) = plan_work(&both, &actual(), &group);
    assert_eq!(work[1].unresolved.as_deref(), Some("group \"sales REPS\" has no active member who stays"));
    assert_eq!(warnings.len(), 1);
}

#[test]
fn a_deactivation_the_source_asks_for_counts_and_its_new_manager_is_used() {
    let op = Op::Update {
        id: "3".into(),
        key: "W2".into(),
        user_name: "w2@x".into(),
        adopt: false,
        changes: vec![
            Change { attr: Attr::Active, from: Some("true".into()), to: Some("false".into()) },
            Change { attr: Attr::Manager, from: Some("W1".into()), to: Some("OPS".into()) },
        ],
    };
    let plan = Plan { ops: vec![op], ..Plan::default() };
    let (work, _) = plan_work(&plan, &actual(), &policy("strategy = \"manager\"\nfallback = \"boss@x\""));
    assert_eq!(work[0].targets[0].user_name, "ops@x");
}

proptest! {
    #[test]
    fn every_leaver_gets_one_entry_naming_only_people_who_stay(
        leaving in prop::collection::btree_set(0..6usize, 0..6),
        strategy in 0..4usize,
        fallback in 0..6usize,
    ) {
        let actual = actual();
        let ops: Vec<Op> = leaving.iter().map(|i| deactivate(&actual.users[*i].id, actual.users[*i].person.user_name())).collect();
        let plan = Plan { ops, ..Plan::default() };
        let fallback_name = actual.users[fallback].person.user_name();
        let text = match strategy {
            0 => format!("strategy = \"manager\"\nfallback = \"{fallback_name}\""),
            1 => "strategy = \"round_robin\"\ngroup = \"Sales reps\"".to_owned(),
            2 => format!("strategy = \"ratio\"\ntargets = [{{ person = \"{fallback_name}\", count = 3 }}]"),
            _ if fallback_name == "boss@x" => "strategy = \"round_robin\"\ntargets = [\"boss@x\"]".to_owned(),
            _ => format!("strategy = \"round_robin\"\ntargets = [\"{fallback_name}\", \"boss@x\"]"),
        };
        let (work, _) = plan_work(&plan, &actual, &policy(&text));
        let leaver_ids: Vec<&str> = plan.ops.iter().filter_map(|o| match o { Op::Deactivate { id, .. } => Some(id.as_str()), _ => None }).collect();
        prop_assert_eq!(work.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), leaver_ids.clone());
        for w in &work {
            prop_assert!(w.unresolved.is_some() != (!w.targets.is_empty() || w.group.is_some()), "{:?}", w);
            for t in &w.targets {
                prop_assert!(!leaver_ids.contains(&t.id.as_str()), "{} leaves", t.user_name);
                let u = actual.users.iter().find(|u| u.id == t.id).unwrap();
                prop_assert!(u.person.active());
            }
        }
    }
}
