//! Who may take a leaver's records of a kind: an active person of the same tenant (the
//! transaction's), not the leaver, whose role and extras hold the kind's permission. A rule
//! naming someone who may not is refused with the reason; a group's members who may not
//! are left out of the round (the group is "every eligible active member").

use std::collections::BTreeMap;

use crate::domain::allocation::{Rule, Share, Strategy};
use crate::domain::lifecycle::State;
use crate::domain::people::Person;
use crate::domain::people_store::PeopleTx;
use crate::domain::roles::Role;
use crate::domain::work::Kind;
use crate::domain::{Error, Refusal, Result};

use super::{Spec, UNASSIGNED};

/// A rule checked against the people it names.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub strategy: String,
    /// `None`: the records stay unassigned.
    pub rule: Option<Rule>,
    /// The targets' userNames, by id.
    pub names: BTreeMap<String, String>,
    pub via: Option<String>,
}

impl Resolved {
    pub fn unassigned(via: Option<String>) -> Self {
        Self { strategy: UNASSIGNED.into(), rule: None, names: BTreeMap::new(), via }
    }
}

/// The tenant's roles by name, read once per resolution.
pub struct Roles(BTreeMap<String, Role>);

impl Roles {
    pub async fn load(tx: &mut dyn PeopleTx) -> Result<Self> {
        Ok(Self(tx.roles().await?.into_iter().map(|r| (r.name.clone(), r)).collect()))
    }

    fn permissions(&self, p: &Person) -> Vec<String> {
        self.0.get(p.effective_role()).map(|r| r.effective(&p.permissions)).unwrap_or_default()
    }
}

/// Why `person` may not take `leaver`'s records of `kind`, or `None` when they may.
pub fn why_not(roles: &Roles, leaver: &str, person: &Person, kind: Kind) -> Option<String> {
    let who = person.user_name();
    if person.id == leaver {
        return Some(format!("{who} is the person whose work is being reassigned"));
    }
    if person.state != State::Active {
        return Some(format!("{who} is {}, not active", person.state.as_str()));
    }
    let needed = kind.permission()?;
    if !roles.permissions(person).iter().any(|p| p == needed) {
        return Some(format!("{who} lacks the `{needed}` permission that {} need", kind.plural()));
    }
    None
}

fn ineligible(kind: Kind, why: String) -> Error {
    Error::refused(Refusal::IneligibleTarget, format!("{}: {why}", kind.plural()))
}

/// Checks `spec` for `leaver`'s records of `kind`: every listed target eligible (else
/// refused with the reason), a group with at least one eligible member (taken in userName
/// order, so the same group always shares the same way).
pub async fn resolve(tx: &mut dyn PeopleTx, roles: &Roles, leaver: &str, kind: Kind, spec: &Spec) -> Result<Resolved> {
    spec.check()?;
    if spec.strategy == UNASSIGNED {
        return Ok(Resolved::unassigned(None));
    }
    let strategy = Strategy::parse(&spec.strategy)?;
    let mut names = BTreeMap::new();
    let mut shares = Vec::new();
    if let Some(group) = &spec.group {
        let members = tx
            .work()
            .group_members(group)
            .await?
            .ok_or_else(|| ineligible(kind, format!("there is no group with id {group}")))?;
        let mut people = Vec::new();
        for id in members {
            if let Some(p) = tx.person(&id).await? {
                if why_not(roles, leaver, &p, kind).is_none() {
                    people.push(p);
                }
            }
        }
        if people.is_empty() {
            return Err(ineligible(kind, format!("group {group} has no eligible active member")));
        }
        people.sort_by(|a, b| a.user_name().to_lowercase().cmp(&b.user_name().to_lowercase()).then(a.id.cmp(&b.id)));
        for p in people {
            names.insert(p.id.clone(), p.user_name().to_owned());
            shares.push(Share { target: p.id, count: 0 });
        }
    } else {
        for t in &spec.targets {
            let p = tx
                .person(&t.id)
                .await?
                .ok_or_else(|| ineligible(kind, format!("there is no person with id {}", t.id)))?;
            if let Some(why) = why_not(roles, leaver, &p, kind) {
                return Err(ineligible(kind, why));
            }
            names.insert(p.id.clone(), p.user_name().to_owned());
            shares.push(Share { target: p.id.clone(), count: t.count });
        }
    }
    let rule = Rule::new(strategy, &shares)?;
    Ok(Resolved { strategy: spec.strategy.clone(), rule: Some(rule), names, via: None })
}

/// Why `person` may not own a record of `kind` (created for them or handed to them by
/// hand), or `None`: a live person (invited or active) with the kind's permission.
pub fn may_not_own(roles: &Roles, person: &Person, kind: Kind) -> Option<String> {
    let who = person.user_name();
    if !matches!(person.state, State::Invited | State::Active) {
        return Some(format!("{who} is {} and cannot own records", person.state.as_str()));
    }
    let needed = kind.permission()?;
    if !roles.permissions(person).iter().any(|p| p == needed) {
        return Some(format!("{who} lacks the `{needed}` permission that {} need", kind.plural()));
    }
    None
}
