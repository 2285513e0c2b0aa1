//! The reassignment use cases, each on one [`PeopleTx`] (which locks the tenant): preview
//! (reads only), process (the plan and the deactivation together), the worker's run of a
//! policy job, undo, and the job a deprovisioning records. The caller commits; an error
//! leaves nothing behind, so a plan is applied whole or not at all.

use serde_json::{json, Value};

use crate::domain::allocation::{Rule, Share, Strategy};
use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::lifecycle::{Action, State};
use crate::domain::people::Person;
use crate::domain::people_ops::{self as ops, Ctx};
use crate::domain::people_store::PeopleTx;
use crate::domain::schema::ENTERPRISE_USER;
use crate::domain::settings::Deactivation;
use crate::domain::work::Kind;
use crate::domain::{Error, Refusal, Result};

use super::eligibility::{resolve, why_not, Resolved, Roles};
use super::{
    Job, JobQuery, JobState, KindOutcome, Outcome, PlanSpec, Policy, PolicyMode, ShareOut, UndoOutcome, EXPLICIT,
    LISTED, POLICY,
};

/// How far into a leaver's records a preview looks to list each target's first records.
const LISTING_WINDOW: u32 = 10_000;

/// An explicit reassignment: the plan and, for someone still live, where they go.
#[derive(Debug, Clone)]
pub struct Request {
    pub plan: PlanSpec,
    /// `None`: the tenant's SCIM deactivation policy.
    pub deactivate_to: Option<Deactivation>,
}

async fn resolve_plan(tx: &mut dyn PeopleTx, leaver: &str, plan: &PlanSpec) -> Result<Vec<(Kind, Resolved)>> {
    plan.check()?;
    let roles = Roles::load(tx).await?;
    let mut out = Vec::new();
    for kind in Kind::REASSIGNED {
        out.push((kind, resolve(tx, &roles, leaver, kind, plan.rule(kind)).await?));
    }
    Ok(out)
}

/// The allocation of `leaver`'s open records of one kind under `r`, with the first records
/// of each target and of the unassigned rest.
async fn allocate(tx: &mut dyn PeopleTx, leaver: &str, kind: Kind, r: &Resolved) -> Result<KindOutcome> {
    let total = tx.work().open_count(leaver, kind).await?;
    let (counts, unassigned) = match &r.rule {
        Some(rule) => rule.counts(total),
        None => (Vec::new(), total),
    };
    let ids = tx.work().open_ids(leaver, kind, 0, LISTING_WINDOW).await?;
    let mut targets: Vec<ShareOut> = counts
        .into_iter()
        .map(|(id, count)| ShareOut {
            user_name: r.names.get(&id).cloned().unwrap_or_default(),
            id,
            count,
            records: Vec::new(),
        })
        .collect();
    let mut unassigned_records = Vec::new();
    for (pos, record) in (0u64..).zip(ids) {
        let to = r.rule.as_ref().and_then(|rule| rule.target_at(pos));
        let list = match to {
            Some(t) => targets.iter_mut().find(|s| s.id == t).map(|s| &mut s.records),
            None => Some(&mut unassigned_records),
        };
        if let Some(list) = list.filter(|l| l.len() < LISTED as usize) {
            list.push(record);
        }
    }
    // Hardcoded leaves the tail unassigned: list its first records even past the window.
    if unassigned > 0 && unassigned_records.is_empty() {
        let first = total - unassigned;
        unassigned_records = tx.work().open_ids(leaver, kind, first, LISTED).await?;
    }
    let assigned = total - unassigned;
    Ok(KindOutcome {
        kind: kind.plural().into(),
        strategy: r.strategy.clone(),
        total,
        assigned,
        unassigned,
        summary: format!("{assigned} / {total} {} accounted for", kind.plural()),
        targets,
        unassigned_records,
        via: r.via.clone(),
    })
}

/// What `plan` would do to `leaver`'s work, changing nothing.
pub async fn preview(tx: &mut dyn PeopleTx, leaver: &str, plan: &PlanSpec) -> Result<Outcome> {
    let person = ops::load(tx, leaver).await?;
    let resolved = resolve_plan(tx, &person.id, plan).await?;
    let mut kinds = Vec::new();
    for (kind, r) in &resolved {
        kinds.push(allocate(tx, &person.id, *kind, r).await?);
    }
    let (completed, notes) = tx.work().kept_counts(&person.id).await?;
    Ok(Outcome {
        person: person.id,
        kinds,
        completed_tasks_archived: completed,
        notes_kept: notes,
        deactivated_to: None,
    })
}

/// Applies resolved rules under `job`: every move in one set-based statement per kind.
async fn execute(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    job: &str,
    leaver: &str,
    resolved: &[(Kind, Resolved)],
) -> Result<Outcome> {
    let mut kinds = Vec::new();
    for (kind, r) in resolved {
        let planned = allocate(tx, leaver, *kind, r).await?;
        if let Some(rule) = &r.rule {
            let moved = tx.work().assign(job, leaver, *kind, rule.layout(), ctx.now).await?;
            if moved != planned.assigned {
                // The tenant is locked, so this cannot happen; if it did, nothing is kept.
                return Err(Error::Storage(
                    format!("{} moved, {} planned for {}", moved, planned.assigned, kind.plural()).into(),
                ));
            }
        }
        kinds.push(planned);
    }
    let (_, notes) = tx.work().kept_counts(leaver).await?;
    let archived = tx.work().archive_completed(job, leaver, ctx.now).await?;
    Ok(Outcome {
        person: leaver.to_owned(),
        kinds,
        completed_tasks_archived: archived,
        notes_kept: notes,
        deactivated_to: None,
    })
}

fn new_job(ctx: &Ctx, person: &str, source: &str, plan: Value, deactivate_to: Option<String>) -> Job {
    Job {
        id: uuid::Uuid::now_v7().to_string(),
        person: person.to_owned(),
        source: source.to_owned(),
        state: JobState::Pending,
        plan,
        deactivate_to,
        result: None,
        error: None,
        actor: ctx.actor.0.clone(),
        attempts: 0,
        created: ctx.now,
        finished: None,
        undone: None,
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Storage(Box::new(e)))
}

async fn audit_job(tx: &mut dyn PeopleTx, ctx: &Ctx, action: &str, job: &Job) -> Result<()> {
    let after = json!({"job": job.id, "source": job.source, "result": job.result});
    let entry = AuditEntry::new(ctx.now, &ctx.actor, action, Some(&job.person), None, Some(after));
    tx.audit(&entry).await
}

/// Supersedes the person's policy jobs that have not run: an explicit request wins.
async fn supersede_pending(tx: &mut dyn PeopleTx, ctx: &Ctx, person: &str) -> Result<()> {
    let query = JobQuery { person: Some(person.to_owned()), state: Some(JobState::Pending), limit: 100 };
    for mut job in tx.work().jobs(&query).await? {
        job.state = JobState::Superseded;
        job.finished = Some(ctx.now);
        tx.work().save_job(&job).await?;
    }
    Ok(())
}

/// Processes `request` for `leaver`: deactivates them when still live and reassigns under
/// the plan, in the caller's one transaction. A repeat for someone whose work is all
/// accounted for moves nothing and answers the job that did it.
pub async fn process(tx: &mut dyn PeopleTx, ctx: &Ctx, leaver: &str, request: &Request) -> Result<Job> {
    let person = ops::load(tx, leaver).await?;
    let resolved = resolve_plan(tx, &person.id, &request.plan).await?;
    supersede_pending(tx, ctx, &person.id).await?;
    let is_live = matches!(person.state, State::Invited | State::Active);
    if !is_live && nothing_left(tx, &person.id).await? {
        let done = JobQuery { person: Some(person.id.clone()), state: Some(JobState::Done), limit: 1 };
        if let Some(last) = tx.work().jobs(&done).await?.into_iter().next() {
            return Ok(last);
        }
    }
    let mut deactivated = None;
    if is_live {
        let to = match request.deactivate_to {
            Some(d) => d,
            None => tx.settings().await?.scim_deactivate,
        };
        let action = match to {
            Deactivation::Contact => Action::ConvertToContact,
            Deactivation::Deleted => Action::Delete,
        };
        ops::move_person(tx, ctx, &person.clone(), person.clone(), action).await?;
        deactivated = Some(to.as_str().to_owned());
    }
    let mut job = new_job(ctx, &person.id, EXPLICIT, to_json(&request.plan)?, deactivated.clone());
    job.state = JobState::Done;
    tx.work().insert_job(&job).await?;
    let mut outcome = execute(tx, ctx, &job.id, &person.id, &resolved).await?;
    outcome.deactivated_to = deactivated;
    job.result = Some(to_json(&outcome)?);
    job.finished = Some(ctx.now);
    tx.work().save_job(&job).await?;
    audit_job(tx, ctx, "person.reassign", &job).await?;
    Ok(job)
}

async fn nothing_left(tx: &mut dyn PeopleTx, person: &str) -> Result<bool> {
    for kind in Kind::REASSIGNED {
        if tx.work().open_count(person, kind).await? > 0 {
            return Ok(false);
        }
    }
    Ok(tx.work().kept_counts(person).await?.0 == 0)
}

/// Records the tenant's default policy as a job for a person just deprovisioned with no
/// explicit plan, in the transaction of the deprovisioning: the request never waits for it.
pub async fn on_deprovision(tx: &mut dyn PeopleTx, ctx: &Ctx, person: &str) -> Result<()> {
    let policy = tx.work().policy().await?;
    let job = new_job(ctx, person, POLICY, to_json(&policy)?, None);
    tx.work().insert_job(&job).await
}

/// An admin's delete or convert-to-contact: the move, and the policy's job when the
/// person was invited or active (someone already a contact who is deleted had theirs).
pub async fn deprovision(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, action: Action) -> Result<Person> {
    let person = ops::load(tx, id).await?;
    let was_live = matches!(person.state, State::Invited | State::Active);
    let saved = ops::move_person(tx, ctx, &person.clone(), person, action).await?;
    if was_live {
        on_deprovision(tx, ctx, &saved.id).await?;
    }
    Ok(saved)
}

/// The enterprise manager's id in a person's document.
fn manager_of(p: &Person) -> Option<String> {
    p.data.get(ENTERPRISE_USER)?.get("manager")?.get("value")?.as_str().map(str::to_owned)
}

/// One kind under the policy: to the manager if they may take it, else to the fallback,
/// else unassigned; `via` says which and why.
async fn policy_rule(
    tx: &mut dyn PeopleTx,
    roles: &Roles,
    leaver: &Person,
    policy: &Policy,
    kind: Kind,
) -> Result<Resolved> {
    if policy.mode == PolicyMode::Unassigned {
        return Ok(Resolved::unassigned(Some("policy: unassigned".into())));
    }
    let mut reasons = Vec::new();
    let candidates = [("manager", manager_of(leaver)), ("fallback", policy.fallback.clone())];
    for (role, id) in candidates {
        let Some(id) = id else {
            reasons.push(format!("no {role}"));
            continue;
        };
        let Some(p) = tx.person(&id).await? else {
            reasons.push(format!("the {role} {id} does not exist"));
            continue;
        };
        if let Some(why) = why_not(roles, &leaver.id, &p, kind) {
            reasons.push(format!("the {role}: {why}"));
            continue;
        }
        let rule = Rule::new(Strategy::RoundRobin, &[Share { target: p.id.clone(), count: 0 }])?;
        let via = if reasons.is_empty() { role.to_owned() } else { format!("{role}: {}", reasons.join("; ")) };
        return Ok(Resolved {
            strategy: "round_robin".into(),
            rule: Some(rule),
            names: [(p.id.clone(), p.user_name().to_owned())].into(),
            via: Some(via),
        });
    }
    Ok(Resolved::unassigned(Some(format!("unassigned: {}", reasons.join("; ")))))
}

/// The worker's run of a policy job. `None` when it is no longer pending (an explicit
/// request superseded it, or another worker finished it).
pub async fn run_job(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str) -> Result<Option<Job>> {
    let Some(mut job) = tx.work().job(id).await? else { return Ok(None) };
    if job.state != JobState::Pending {
        return Ok(None);
    }
    // Whoever deprovisioned the person is who the audit log names.
    let ctx = &Ctx { actor: Actor(job.actor.clone()), ..ctx.clone() };
    let policy: Policy = serde_json::from_value(job.plan.clone()).map_err(|e| Error::Storage(Box::new(e)))?;
    let leaver = ops::load(tx, &job.person).await?;
    let roles = Roles::load(tx).await?;
    let mut resolved = Vec::new();
    for kind in Kind::REASSIGNED {
        resolved.push((kind, policy_rule(tx, &roles, &leaver, &policy, kind).await?));
    }
    let outcome = execute(tx, ctx, &job.id, &leaver.id, &resolved).await?;
    job.state = JobState::Done;
    job.result = Some(to_json(&outcome)?);
    job.error = None;
    job.finished = Some(ctx.now);
    tx.work().save_job(&job).await?;
    audit_job(tx, ctx, "person.reassign", &job).await?;
    Ok(Some(job))
}

/// Notes a failed run; after `max_attempts` the job is failed for good.
pub async fn job_failed(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, error: &str, max_attempts: i64) -> Result<()> {
    let Some(mut job) = tx.work().job(id).await? else { return Ok(()) };
    if job.state != JobState::Pending {
        return Ok(());
    }
    job.error = Some(error.chars().take(500).collect());
    if job.attempts >= max_attempts {
        job.state = JobState::Failed;
        job.finished = Some(ctx.now);
    }
    tx.work().save_job(&job).await
}

/// Undoes a processed reassignment: records nobody changed since go back to the person
/// they were taken from, archived tasks are unarchived; the rest is listed with the reason.
/// The person's state is not changed (restore them separately).
pub async fn undo(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str) -> Result<(Job, UndoOutcome)> {
    let mut job = tx.work().job(id).await?.ok_or_else(|| Error::NotFound(format!("no reassignment with id {id}")))?;
    if job.state != JobState::Done {
        return Err(Error::refused(
            Refusal::NotUndoable,
            format!("only a processed reassignment can be undone; this one is {}", job.state.as_str()),
        ));
    }
    let outcome = tx.work().undo_moves(&job.id, ctx.now, LISTED).await?;
    job.state = JobState::Undone;
    job.undone = Some(ctx.now);
    if let Some(Value::Object(result)) = job.result.as_mut() {
        result.insert("undo".into(), to_json(&outcome)?);
    }
    tx.work().save_job(&job).await?;
    audit_job(tx, ctx, "person.reassign_undo", &job).await?;
    Ok((job, outcome))
}
