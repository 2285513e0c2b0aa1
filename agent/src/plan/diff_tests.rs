//! Tests of [`diff`]: examples, and properties checked against a model of a SCIM target
//! that carries a plan out.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::plan::ActualGroup;
use crate::source::{groups_from_names, Group, Person};

fn person(key: &str, name: &str, extra: &[(Attr, &str)]) -> Person {
    let mut attrs: BTreeMap<Attr, String> = extra.iter().map(|(a, v)| (*a, (*v).to_owned())).collect();
    attrs.insert(Attr::UserName, name.to_owned());
    Person { external_id: Some(key.to_owned()), attrs }
}

fn user(id: &str, p: Person) -> ActualUser {
    ActualUser { id: id.to_owned(), person: p, raw: Value::Null }
}

fn options(managed: &[&str]) -> DiffOptions {
    DiffOptions { managed: managed.iter().map(|s| (*s).to_owned()).collect(), ..DiffOptions::default() }
}

/// Carries a plan out on a model target: what a well-behaved SCIM server would end with.
fn apply_model(actual: &Actual, plan: &Plan) -> (Actual, BTreeSet<String>, BTreeSet<String>) {
    let mut out = actual.clone();
    let mut ids = plan.ids.clone();
    let mut managed: BTreeSet<String> = plan.ids.values().cloned().collect();
    let mut groups = BTreeSet::new();
    for op in &plan.ops {
        match op {
            Op::Create { key, person } => {
                let id = format!("new-{key}");
                let mut p = person.clone();
                p.attrs.retain(|a, _| plan.provided.contains(a) || *a == Attr::UserName);
                out.users.push(user(&id, p));
                ids.insert(key.clone(), id.clone());
                managed.insert(id);
            }
            Op::Update { id, key, adopt, changes, .. } => {
                let u = out.users.iter_mut().find(|u| &u.id == id).unwrap();
                if *adopt {
                    u.person.external_id = Some(key.clone());
                }
                for c in changes {
                    match &c.to {
                        Some(v) => u.person.attrs.insert(c.attr, v.clone()),
                        None => u.person.attrs.remove(&c.attr),
                    };
                }
            }
            Op::Deactivate { id, .. } => {
                let u = out.users.iter_mut().find(|u| &u.id == id).unwrap();
                u.person.attrs.insert(Attr::Active, "false".into());
            }
            Op::Delete { id, .. } => {
                out.users.retain(|u| &u.id != id);
                for g in &mut out.groups {
                    g.members.remove(id);
                }
            }
            Op::CreateGroup { display_name, external_id, members } => {
                let id = format!("g-new-{display_name}");
                out.groups.push(ActualGroup {
                    id: id.clone(),
                    external_id: external_id.clone(),
                    display_name: display_name.clone(),
                    members: members.iter().map(|k| ids[k].clone()).collect(),
                });
                groups.insert(id);
            }
            Op::RenameGroup { id, to, .. } => {
                out.groups.iter_mut().find(|g| &g.id == id).unwrap().display_name = to.clone();
            }
            Op::Members { id, add, remove, .. } => {
                let g = out.groups.iter_mut().find(|g| &g.id == id).unwrap();
                g.members.extend(add.iter().map(|k| ids[k].clone()));
                for r in remove {
                    g.members.remove(r);
                }
                groups.insert(id.clone());
            }
        }
    }
    (out, managed, groups)
}

#[test]
fn creates_updates_and_deactivates() {
    let desired = Directory {
        people: vec![
            person("E1", "ann@x", &[(Attr::GivenName, "Ann")]),
            person("E2", "bob@x", &[(Attr::GivenName, "Bob")]),
        ],
        groups: vec![],
        provided: [Attr::UserName, Attr::GivenName, Attr::Active].into(),
    };
    let actual = Actual {
        users: vec![
            user("1", person("E1", "ANN@x", &[(Attr::GivenName, "Anne"), (Attr::Department, "Kept")])),
            user("3", person("E3", "cy@x", &[])),
            user("4", person("E4", "dee@x", &[])),
        ],
        groups: vec![],
    };
    let plan = diff(&desired, &actual, &options(&["1", "3"]));
    assert_eq!(
        plan.ops,
        vec![
            Op::Create { key: "E2".into(), person: desired.people[1].clone() },
            Op::Update {
                id: "1".into(),
                key: "E1".into(),
                user_name: "ANN@x".into(),
                adopt: false,
                changes: vec![Change { attr: Attr::GivenName, from: Some("Anne".into()), to: Some("Ann".into()) }],
            },
            // E4 is not managed: never touched.
            Op::Deactivate { id: "3".into(), key: Some("E3".into()), user_name: "cy@x".into() },
        ]
    );
    assert_eq!(plan.deprovision_count(), 1);
    assert_eq!(plan.managed_before, 2, "1 (matched and managed) and 3 (managed)");
}

#[test]
fn the_people_the_source_names_count_as_managed_on_a_first_run() {
    // A target filled by another tool: no state yet, one of ten is inactive in the source.
    let people: Vec<Person> = (0..10).map(|i| person(&format!("E{i}"), &format!("p{i}@x"), &[])).collect();
    let actual = Actual {
        users: people.iter().enumerate().map(|(i, p)| user(&i.to_string(), p.clone())).collect(),
        groups: vec![],
    };
    let mut desired = Directory { people, groups: vec![], provided: [Attr::UserName, Attr::Active].into() };
    desired.people[3].attrs.insert(Attr::Active, "false".into());
    let plan = diff(&desired, &actual, &options(&[]));
    assert_eq!((plan.deprovision_count(), plan.managed_before), (1, 10));
    assert_eq!(crate::config::Threshold::Percent(10.0).allowed(plan.managed_before), 1);
}

#[test]
fn adoption_reactivation_protection_and_delete() {
    let desired = Directory {
        people: vec![person("E1", "ann@x", &[]), person("E2", "bob@x", &[]), person("E5", "eve@x", &[])],
        groups: vec![],
        provided: [Attr::UserName, Attr::Active].into(),
    };
    let actual = Actual {
        users: vec![
            user("1", Person { external_id: None, ..person("", "ann@x", &[]) }),
            user("2", person("E2", "bob@x", &[(Attr::Active, "false")])),
            user("3", person("E3", "root@x", &[])),
            user("5", person("E9", "eve@x", &[])),
        ],
        groups: vec![],
    };
    let mut opts = options(&["2", "3"]);
    opts.protected = vec!["ROOT@x".into()];
    let plan = diff(&desired, &actual, &opts);
    // Without adoption, ann@x is a conflict; eve@x belongs to someone else.
    assert_eq!(plan.ops.len(), 1, "{:?}", plan.ops);
    assert!(plan.ops[0].is_reactivation());
    assert_eq!(plan.warnings.len(), 3, "{:?}", plan.warnings);

    opts.adopt = true;
    opts.deprovision = Deprovision::Delete;
    opts.protected.clear();
    let plan = diff(&desired, &actual, &opts);
    assert!(matches!(&plan.ops[0], Op::Update { id, adopt: true, .. } if id == "1"));
    assert!(matches!(plan.ops.last(), Some(Op::Delete { id, .. }) if id == "3"));
}

#[test]
fn groups_are_created_renamed_and_moved() {
    let mut desired = Directory {
        people: vec![person("E1", "a@x", &[]), person("E2", "b@x", &[]), person("E3", "c@x", &[])],
        groups: vec![
            Group { external_id: Some("G1".into()), display_name: "Sales EMEA".into(), members: ["E1".into()].into() },
            Group { external_id: None, display_name: "New".into(), members: ["E3".into()].into() },
        ],
        provided: [Attr::UserName].into(),
    };
    desired.groups[0].members.insert("E2".into());
    let actual = Actual {
        users: vec![user("1", person("E1", "a@x", &[])), user("2", person("E2", "b@x", &[]))],
        groups: vec![
            ActualGroup {
                id: "g1".into(),
                external_id: Some("G1".into()),
                display_name: "Sales".into(),
                members: ["1".into(), "hand".into()].into(),
            },
            ActualGroup {
                id: "g2".into(),
                external_id: None,
                display_name: "Old".into(),
                members: ["2".into()].into(),
            },
        ],
    };
    let mut opts = options(&["1", "2"]);
    opts.managed_groups.insert("g2".into());
    let plan = diff(&desired, &actual, &opts);
    let groups: Vec<&Op> = plan.ops.iter().filter(|o| !matches!(o, Op::Create { .. })).collect();
    assert_eq!(
        groups,
        vec![
            &Op::RenameGroup { id: "g1".into(), from: "Sales".into(), to: "Sales EMEA".into() },
            &Op::Members { id: "g1".into(), display_name: "Sales".into(), add: vec!["E2".into()], remove: vec![] },
            &Op::CreateGroup { display_name: "New".into(), external_id: None, members: vec!["E3".into()] },
            &Op::Members { id: "g2".into(), display_name: "Old".into(), add: vec![], remove: vec!["2".into()] },
        ]
    );
}

// --- properties ---

const NAMES: [&str; 8] = ["ann", "bob", "cy", "dee", "ed", "fay", "gus", "hal"];
const GROUPS: [&str; 4] = ["Sales", "sales", "Ops", "Dev"];

fn attrs_strategy() -> impl Strategy<Value = Vec<(Attr, Option<&'static str>)>> {
    (
        prop::option::of(prop::sample::select(vec!["A", "B"])),
        prop::option::of(prop::sample::select(vec!["X", "x"])),
        prop::sample::select(vec![None, Some("false"), Some("true")]),
        prop::option::of(prop::sample::select(vec!["k0", "k1", "k2", "k9"])),
    )
        .prop_map(|(given, dept, active, manager)| {
            vec![(Attr::GivenName, given), (Attr::Department, dept), (Attr::Active, active), (Attr::Manager, manager)]
        })
}

fn make(key: Option<String>, name: &str, attrs: Vec<(Attr, Option<&'static str>)>) -> Person {
    let mut p = Person { external_id: key, attrs: BTreeMap::new() };
    p.attrs.insert(Attr::UserName, name.to_owned());
    for (a, v) in attrs {
        if let Some(v) = v {
            p.attrs.insert(a, v.to_owned());
        }
    }
    p
}

prop_compose! {
    fn desired_strategy()(
        rows in prop::collection::vec(
            (0..6usize, 0..8usize, any::<bool>(), attrs_strategy(), prop::collection::btree_set(0..4usize, 0..3)),
            0..7,
        ),
        provided_extra in prop::collection::btree_set(prop::sample::select(vec![Attr::GivenName, Attr::Department, Attr::Manager]), 0..4),
    ) -> Directory {
        let (mut keys, mut names) = (BTreeSet::new(), BTreeSet::new());
        let mut people = Vec::new();
        let mut memberships = Vec::new();
        for (k, n, upper, attrs, groups) in rows {
            let name = if upper { NAMES[n].to_uppercase() } else { NAMES[n].to_owned() };
            if !keys.insert(k) || !names.insert(n) {
                continue;
            }
            let key = format!("k{k}");
            memberships.extend(groups.into_iter().map(|g| (key.clone(), GROUPS[g])));
            people.push(make(Some(key), &name, attrs));
        }
        let groups = groups_from_names(memberships.iter().map(|(k, g)| (k.as_str(), *g)));
        let mut provided: BTreeSet<Attr> = [Attr::UserName, Attr::Active].into();
        provided.extend(provided_extra);
        Directory { people, groups, provided }
    }
}

prop_compose! {
    fn actual_strategy()(
        rows in prop::collection::vec((prop::option::of(0..6usize), 0..8usize, attrs_strategy()), 0..7),
        groups in prop::collection::vec((0..4usize, prop::collection::btree_set(0..7usize, 0..4)), 0..3),
    ) -> (Actual, Vec<String>) {
        let (mut keys, mut names) = (BTreeSet::new(), BTreeSet::new());
        let mut users = Vec::new();
        for (i, (k, n, attrs)) in rows.into_iter().enumerate() {
            if k.is_some_and(|k| !keys.insert(k)) || !names.insert(n) {
                continue;
            }
            users.push(user(&format!("id{i}"), make(k.map(|k| format!("k{k}")), NAMES[n], attrs)));
        }
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let mut seen = BTreeSet::new();
        let groups = groups
            .into_iter()
            .filter(|(g, _)| seen.insert(GROUPS[*g].to_lowercase()))
            .map(|(g, members)| ActualGroup {
                id: format!("g{g}"),
                external_id: None,
                display_name: GROUPS[g].to_owned(),
                members: members.into_iter().filter_map(|m| ids.get(m).cloned()).collect(),
            })
            .collect();
        (Actual { users, groups }, ids)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn diff_of_a_state_with_itself_is_empty((actual, ids) in actual_strategy(), managed in prop::collection::btree_set(0..7usize, 0..7)) {
        // The desired state is exactly what the target holds for people with a key.
        let people: Vec<Person> = actual.users.iter().filter(|u| u.person.external_id.is_some()).map(|u| u.person.clone()).collect();
        let desired = Directory { people, groups: vec![], provided: [Attr::UserName, Attr::GivenName, Attr::Department, Attr::Active].into() };
        let mut opts = options(&[]);
        opts.managed = managed.into_iter().filter_map(|m| ids.get(m).cloned()).filter(|id| actual.users.iter().any(|u| &u.id == id && u.person.external_id.is_some())).collect();
        let plan = diff(&desired, &actual, &opts);
        prop_assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    }

    #[test]
    fn applying_the_plan_converges_and_spares_the_unmanaged(
        desired in desired_strategy(),
        (actual, ids) in actual_strategy(),
        managed in prop::collection::btree_set(0..7usize, 0..7),
        adopt in any::<bool>(),
        delete in any::<bool>(),
        protect in prop::option::of(0..8usize),
    ) {
        let mut opts = DiffOptions {
            managed: managed.into_iter().filter_map(|m| ids.get(m).cloned()).collect(),
            managed_groups: BTreeSet::new(),
            adopt,
            deprovision: if delete { Deprovision::Delete } else { Deprovision::Deactivate },
            protected: protect.map(|p| NAMES[p].to_owned()).into_iter().collect(),
        };
        let plan = diff(&desired, &actual, &opts);
        let (after, managed_after, groups_after) = apply_model(&actual, &plan);

        // Nobody unmanaged is touched: neither deprovisioned nor changed nor moved in a group.
        let touched: BTreeSet<&String> = plan.ids.values().collect();
        for u in &actual.users {
            if opts.managed.contains(&u.id) || touched.contains(&u.id) {
                continue;
            }
            prop_assert_eq!(after.users.iter().find(|a| a.id == u.id), Some(u));
            for (g0, g1) in actual.groups.iter().zip(&after.groups) {
                prop_assert_eq!(g0.members.contains(&u.id), g1.members.contains(&u.id));
            }
        }
        // Protected people are never deprovisioned.
        for u in actual.users.iter().filter(|u| opts.is_protected(&u.person) && u.person.active()) {
            let now = after.users.iter().find(|a| a.id == u.id);
            prop_assert!(now.is_some_and(|n| n.person.active()), "protected {} lost", u.person.user_name());
        }
        // Every managed person the source dropped is gone or inactive, unless protected.
        for u in actual.users.iter().filter(|u| opts.managed.contains(&u.id) && !touched.contains(&u.id)) {
            if opts.is_protected(&u.person) {
                continue;
            }
            let now = after.users.iter().find(|a| a.id == u.id);
            prop_assert!(now.is_none_or(|n| !n.person.active()));
        }
        // Every person of the source is in the target, unless a warning says why not.
        for p in &desired.people {
            let present = after.users.iter().any(|u| u.person.external_id == p.external_id);
            prop_assert!(present || plan.warnings.iter().any(|w| w.starts_with(p.label())), "{} missing", p.label());
        }
        // Each group of the source holds exactly its managed members (the people it names
        // who exist), whatever else was in it.
        let all_managed: BTreeSet<&String> = opts.managed.iter().chain(&managed_after).collect();
        let key_of: BTreeMap<&String, &Option<String>> = after.users.iter().map(|u| (&u.id, &u.person.external_id)).collect();
        for g in &desired.groups {
            let wanted: BTreeSet<&str> =
                g.members.iter().map(String::as_str).filter(|k| after.users.iter().any(|u| u.person.external_id.as_deref() == Some(*k))).collect();
            let holds = |t: &ActualGroup| -> BTreeSet<&str> {
                t.members.iter().filter(|id| all_managed.contains(id)).filter_map(|id| key_of.get(id)?.as_deref()).collect()
            };
            prop_assert!(
                after.groups.iter().filter(|t| t.display_name.eq_ignore_ascii_case(&g.display_name)).any(|t| holds(t) == wanted),
                "group {} does not hold {:?}", g.display_name, wanted
            );
        }
        // And a second run plans nothing. (Only when a userName was taken by a person the
        // source renames does it take one more run: the rename frees the name.)
        opts.managed.extend(managed_after);
        opts.managed_groups.extend(groups_after);
        let again = diff(&desired, &after, &opts);
        if plan.warnings.is_empty() || again.ops.is_empty() {
            prop_assert!(again.ops.is_empty(), "second plan: {:?}\nfirst: {:?}", again.ops, plan.ops);
        } else {
            let (after2, managed2, groups2) = apply_model(&after, &again);
            opts.managed.extend(managed2);
            opts.managed_groups.extend(groups2);
            let third = diff(&desired, &after2, &opts);
            prop_assert!(third.ops.is_empty(), "third plan: {:?}", third.ops);
        }
    }
}
