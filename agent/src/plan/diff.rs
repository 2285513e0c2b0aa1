//! `diff(desired, actual) -> Plan`: pure, so that it can be property-tested.
//!
//! People match by externalId, then (with adoption on, and only target users without an
//! externalId) by userName. Only attributes the source provides are compared. Managed people
//! missing from the source are deactivated or deleted, unless protected; nobody unmanaged
//! is ever touched. Groups match by externalId, then by name; a managed person's
//! memberships follow the source.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Deprovision;
use crate::source::{Attr, Directory};

use super::{Actual, ActualUser, Change, DiffOptions, Op, Plan};

/// Computes the plan that turns `actual` into `desired` for the people this agent manages.
pub fn diff(desired: &Directory, actual: &Actual, options: &DiffOptions) -> Plan {
    let mut plan = Plan { provided: desired.provided.clone(), target_users: actual.users.len(), ..Plan::default() };
    let by_key: BTreeMap<&str, &ActualUser> =
        actual.users.iter().filter_map(|u| Some((u.person.external_id.as_deref()?, u))).collect();
    let by_name: BTreeMap<String, &ActualUser> =
        actual.users.iter().map(|u| (u.person.user_name().to_lowercase(), u)).collect();
    let desired_keys: BTreeSet<&str> = desired.people.iter().filter_map(|p| p.external_id.as_deref()).collect();

    // People.
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut created: BTreeSet<&str> = BTreeSet::new();
    let mut updates = Vec::new();
    for person in &desired.people {
        let Some(key) = person.external_id.as_deref() else { continue };
        let (target, adopt) = match by_key.get(key) {
            Some(u) => (Some(*u), false),
            None => match by_name.get(&person.user_name().to_lowercase()) {
                Some(u) if matched.contains(u.id.as_str()) => (None, false),
                Some(u) if u.person.external_id.is_none() && options.adopt => (Some(*u), true),
                Some(u) => {
                    plan.warnings.push(match &u.person.external_id {
                        None => format!(
                            "{}: the target has this userName without an externalId; turn adoption on to take it over",
                            person.label()
                        ),
                        Some(other) => {
                            format!("{}: the target has this userName for another externalId ({other})", person.label())
                        }
                    });
                    continue;
                }
                None => (None, false),
            },
        };
        let Some(target) = target else {
            created.insert(key);
            plan.ops.push(Op::Create { key: key.to_owned(), person: person.clone() });
            continue;
        };
        matched.insert(target.id.as_str());
        plan.ids.insert(key.to_owned(), target.id.clone());
        let mut changes = Vec::new();
        for &attr in &desired.provided {
            let (want, have) = (person.get(attr), target.person.get(attr));
            let same = match attr {
                // Only `false` is stored as a value: absent and "true" both mean active.
                Attr::Active => person.active() == target.person.active(),
                _ => attr.same(want, have),
            };
            if same {
                continue;
            }
            if attr == Attr::Manager {
                if let Some(m) = want.filter(|m| !desired_keys.contains(m) && !by_key.contains_key(m)) {
                    plan.warnings
                        .push(format!("{}: manager {m} is neither in the source nor the target", person.label()));
                    continue;
                }
            }
            if attr == Attr::Active && !person.active() && options.is_protected(&target.person) {
                plan.warnings.push(format!("{}: protected, not deactivated", person.label()));
                continue;
            }
            let value = |v: Option<&str>, active: bool| {
                if attr == Attr::Active {
                    Some(active.to_string())
                } else {
                    v.map(str::to_owned)
                }
            };
            changes.push(Change { attr, from: value(have, target.person.active()), to: value(want, person.active()) });
        }
        if adopt || !changes.is_empty() {
            updates.push(Op::Update {
                id: target.id.clone(),
                key: key.to_owned(),
                user_name: target.person.user_name().to_owned(),
                adopt,
                changes,
            });
        }
    }
    plan.ops.extend(updates);
    // The people this agent manages from this run on: those it already did, and those the
    // source names (matched). The deprovision guard's share is of these.
    plan.managed_before =
        actual.users.iter().filter(|u| options.managed.contains(&u.id) || matched.contains(u.id.as_str())).count();

    // Leavers: managed, unmatched people.
    let mut deleted: BTreeSet<&str> = BTreeSet::new();
    for user in &actual.users {
        if matched.contains(user.id.as_str()) || !options.managed.contains(&user.id) {
            continue;
        }
        let (id, key, user_name) =
            (user.id.clone(), user.person.external_id.clone(), user.person.user_name().to_owned());
        let wanted = match options.deprovision {
            Deprovision::Deactivate if user.person.active() => Some(Op::Deactivate { id, key, user_name }),
            Deprovision::Deactivate => None,
            Deprovision::Delete => Some(Op::Delete { id, key, user_name }),
        };
        if let Some(op) = wanted {
            if options.is_protected(&user.person) {
                plan.warnings.push(format!("{}: protected, not deprovisioned", user.person.label()));
            } else {
                if matches!(op, Op::Delete { .. }) {
                    deleted.insert(user.id.as_str());
                }
                plan.ops.push(op);
            }
        }
    }

    // Groups.
    let key_of: BTreeMap<&str, &str> = plan
        .ids
        .iter()
        .map(|(k, id)| (id.as_str(), k.as_str()))
        .chain(by_key.iter().map(|(k, u)| (u.id.as_str(), *k)))
        .collect();
    let exists = |key: &str| plan.ids.contains_key(key) || created.contains(key);
    let managed_person = |id: &str| options.managed.contains(id) || matched.contains(id);
    let mut seen_groups: BTreeSet<&str> = BTreeSet::new();
    let mut group_ops = Vec::new();
    for group in &desired.groups {
        let by_ext = group
            .external_id
            .as_deref()
            .and_then(|e| actual.groups.iter().find(|g| g.external_id.as_deref() == Some(e)));
        // An exact name first: "Sales" and "sales" may both exist.
        let unseen = |g: &&super::ActualGroup| !seen_groups.contains(g.id.as_str());
        let target = by_ext
            .or_else(|| actual.groups.iter().filter(unseen).find(|g| g.display_name == group.display_name))
            .or_else(|| {
                actual.groups.iter().filter(unseen).find(|g| g.display_name.eq_ignore_ascii_case(&group.display_name))
            });
        let wanted: BTreeSet<&str> = group.members.iter().map(String::as_str).filter(|k| exists(k)).collect();
        let Some(target) = target else {
            group_ops.push(Op::CreateGroup {
                display_name: group.display_name.clone(),
                external_id: group.external_id.clone(),
                members: wanted.iter().map(|k| (*k).to_owned()).collect(),
            });
            continue;
        };
        if !seen_groups.insert(target.id.as_str()) {
            continue;
        }
        if by_ext.is_some() && target.display_name != group.display_name {
            group_ops.push(Op::RenameGroup {
                id: target.id.clone(),
                from: target.display_name.clone(),
                to: group.display_name.clone(),
            });
        }
        let add: Vec<String> = wanted
            .iter()
            .filter(|k| plan.ids.get(**k).is_none_or(|id| !target.members.contains(id)))
            .map(|k| (*k).to_owned())
            .collect();
        let remove: Vec<String> = target
            .members
            .iter()
            .filter(|id| managed_person(id) && !deleted.contains(id.as_str()))
            .filter(|id| key_of.get(id.as_str()).is_none_or(|k| !wanted.contains(k)))
            .cloned()
            .collect();
        if !add.is_empty() || !remove.is_empty() {
            group_ops.push(Op::Members {
                id: target.id.clone(),
                display_name: target.display_name.clone(),
                add,
                remove,
            });
        }
    }
    // Groups this agent manages that the source no longer names: empty them of managed people.
    for group in actual.groups.iter().filter(|g| options.managed_groups.contains(&g.id)) {
        if seen_groups.contains(group.id.as_str()) {
            continue;
        }
        let remove: Vec<String> =
            group.members.iter().filter(|id| managed_person(id) && !deleted.contains(id.as_str())).cloned().collect();
        if !remove.is_empty() {
            group_ops.push(Op::Members {
                id: group.id.clone(),
                display_name: group.display_name.clone(),
                add: Vec::new(),
                remove,
            });
        }
    }
    plan.ops.extend(group_ops);
    plan
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
