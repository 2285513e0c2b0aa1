//! Reassignment of a leaver's work: preview, process (with the deactivation), the jobs and
//! their moves, undo, and the tenant's default policy. Preview, process and reading jobs
//! take a token with the `reassign` scope (the sync agent's), the rest needs `admin`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::domain::people_ops as ops;
use crate::domain::reassign::run::{self, Request as ProcessRequest};
use crate::domain::reassign::{
    Job, JobQuery, JobState, KindOutcome, Outcome, PlanSpec, Policy, PolicyMode, Spec, TargetSpec, UndoOutcome,
};
use crate::domain::settings::Deactivation;
use crate::domain::tenant::Scope;
use crate::domain::Error;
use crate::protocol::AppState;
use crate::storage::timefmt;

use super::dto::bad;
use super::{admin_ctx, scoped_ctx, AdminToken, Answer, Failure};

#[derive(Tags)]
pub enum Tag {
    /// Reassigning a leaver's contacts, leads and pending tasks.
    Reassignment,
}

pub struct ReassignApi {
    pub state: Arc<AppState>,
}

#[derive(Debug, Object, Clone)]
pub struct TargetIn {
    /// A person's id.
    pub id: String,
    /// `ratio` and `hardcoded`: up to this many records (ignored by `round_robin`).
    #[oai(default)]
    pub count: u64,
}

#[derive(Debug, Object, Clone)]
pub struct RuleIn {
    /// `ratio`, `hardcoded`, `round_robin` or `unassigned`.
    pub strategy: String,
    #[oai(default)]
    pub targets: Vec<TargetIn>,
    /// `round_robin` over this group's eligible active members (a group id).
    pub group: Option<String>,
}

/// A plan: a rule for every type (`strategy`, `targets`, `group`), and or one per type
/// (`contacts`, `leads`, `tasks`), which wins over the common one.
#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PlanIn {
    pub strategy: Option<String>,
    #[oai(default)]
    pub targets: Vec<TargetIn>,
    pub group: Option<String>,
    pub contacts: Option<RuleIn>,
    pub leads: Option<RuleIn>,
    pub tasks: Option<RuleIn>,
    /// Process only, for someone still invited or active: `deleted` or `contact`
    /// (default: the tenant's SCIM deactivation policy).
    pub deactivate_to: Option<String>,
}

fn spec(r: RuleIn) -> Spec {
    Spec {
        strategy: r.strategy,
        targets: r.targets.into_iter().map(|t| TargetSpec { id: t.id, count: t.count }).collect(),
        group: r.group,
    }
}

impl PlanIn {
    fn plan(&self) -> Result<PlanSpec, Failure> {
        let common = self
            .strategy
            .clone()
            .map(|strategy| spec(RuleIn { strategy, targets: self.targets.clone(), group: self.group.clone() }));
        let pick = |own: &Option<RuleIn>, name: &str| -> Result<Spec, Failure> {
            own.clone()
                .map(spec)
                .or_else(|| common.clone())
                .ok_or_else(|| bad(format!("no rule for {name}: give `strategy` for every type, or `{name}`")))
        };
        Ok(PlanSpec {
            contacts: pick(&self.contacts, "contacts")?,
            leads: pick(&self.leads, "leads")?,
            tasks: pick(&self.tasks, "tasks")?,
        })
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct ShareDto {
    pub id: String,
    pub user_name: String,
    pub count: u64,
    /// The first records (at most 100) this person gets.
    pub records: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct KindDto {
    /// `contacts`, `leads` or `tasks` (pending ones).
    #[oai(rename = "type")]
    pub kind: String,
    pub strategy: String,
    pub total: u64,
    pub assigned: u64,
    pub unassigned: u64,
    /// "104 / 104 contacts accounted for".
    pub summary: String,
    pub targets: Vec<ShareDto>,
    /// The first records (at most 100) that stay unassigned, with the person.
    pub unassigned_records: Vec<String>,
    /// Policy jobs: `manager`, `fallback: …` or why nothing moved.
    pub via: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct OutcomeDto {
    pub person: String,
    pub types: Vec<KindDto>,
    /// Completed tasks that stay, archived, with the person.
    pub completed_tasks_archived: u64,
    /// Notes stay with their author.
    pub notes_kept: u64,
    pub deactivated_to: Option<String>,
}

fn kind_dto(k: KindOutcome) -> KindDto {
    KindDto {
        kind: k.kind,
        strategy: k.strategy,
        total: k.total,
        assigned: k.assigned,
        unassigned: k.unassigned,
        summary: k.summary,
        targets: k
            .targets
            .into_iter()
            .map(|t| ShareDto { id: t.id, user_name: t.user_name, count: t.count, records: t.records })
            .collect(),
        unassigned_records: k.unassigned_records,
        via: k.via,
    }
}

impl From<Outcome> for OutcomeDto {
    fn from(o: Outcome) -> Self {
        Self {
            person: o.person,
            types: o.kinds.into_iter().map(kind_dto).collect(),
            completed_tasks_archived: o.completed_tasks_archived,
            notes_kept: o.notes_kept,
            deactivated_to: o.deactivated_to,
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct JobOut {
    pub id: String,
    pub person: String,
    /// `explicit` (asked for) or `policy` (recorded with a deprovisioning).
    pub source: String,
    /// `pending`, `done`, `failed`, `superseded` (an explicit request came first) or `undone`.
    pub state: String,
    /// The plan, or the policy a policy job follows.
    pub plan: serde_json::Value,
    /// What it did (the preview's shape, with `undo` once undone).
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    /// Who asked: `token:<id>` (for a policy job, whoever deprovisioned the person).
    pub actor: String,
    pub attempts: i64,
    pub created: String,
    pub finished: Option<String>,
    pub undone: Option<String>,
}

impl From<Job> for JobOut {
    fn from(j: Job) -> Self {
        Self {
            id: j.id,
            person: j.person,
            source: j.source,
            state: j.state.as_str().to_owned(),
            plan: j.plan,
            result: j.result,
            error: j.error,
            actor: j.actor,
            attempts: j.attempts,
            created: timefmt::format(j.created),
            finished: j.finished.map(timefmt::format),
            undone: j.undone.map(timefmt::format),
        }
    }
}

#[derive(Debug, Object)]
pub struct JobList {
    pub reassignments: Vec<JobOut>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct MoveDto {
    pub record: String,
    #[oai(rename = "type")]
    pub kind: String,
    /// `move` (to another owner) or `archive` (a completed task kept with the person).
    pub action: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct MoveList {
    pub moves: Vec<MoveDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct NotRestoredDto {
    pub record: String,
    pub reason: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct UndoOut {
    pub reassignment: JobOut,
    /// Records back with the person they were taken from.
    pub restored: u64,
    /// Completed tasks no longer archived.
    pub unarchived: u64,
    /// Records changed since, left as they are.
    pub not_restored: u64,
    /// The first of them (at most 100), with the reason.
    pub not_restored_records: Vec<NotRestoredDto>,
}

impl UndoOut {
    fn of(job: Job, u: UndoOutcome) -> Self {
        Self {
            reassignment: job.into(),
            restored: u.restored,
            unarchived: u.unarchived,
            not_restored: u.not_restored,
            not_restored_records: u
                .not_restored_records
                .into_iter()
                .map(|n| NotRestoredDto { record: n.record, reason: n.reason })
                .collect(),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PolicyDto {
    /// `unassigned` (nothing moves; the job lists the work) or `manager` (to the person's
    /// enterprise manager, else to `fallback`, else unassigned).
    pub mode: String,
    /// A person's id.
    pub fallback: Option<String>,
}

impl From<Policy> for PolicyDto {
    fn from(p: Policy) -> Self {
        Self { mode: p.mode.as_str().to_owned(), fallback: p.fallback }
    }
}

fn not_found(id: &str) -> Failure {
    Error::NotFound(format!("no reassignment with id {id}")).into()
}

#[OpenApi(tag = "Tag::Reassignment")]
impl ReassignApi {
    /// What a plan would do to a person's work: per type, who gets how many and which
    /// records, and what stays unassigned. Changes nothing; the same plan on the same data
    /// always gives the same allocation.
    #[oai(path = "/people/:id/reassignment/preview", method = "post")]
    async fn preview(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        body: Json<PlanIn>,
    ) -> Answer<OutcomeDto> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let plan = body.0.plan()?;
        let mut tx = self.state.store.people().read(&ctx.tenant).await?;
        let outcome = run::preview(tx.as_mut(), &id.0, &plan).await?;
        tx.commit().await?;
        Ok(Json(outcome.into()))
    }

    /// Process a plan: deactivate the person if still invited or active (to `deactivateTo`,
    /// or by the tenant's policy) and reassign, in one transaction; everything or nothing.
    /// A pending policy job for the person is superseded. Asked again once everything is
    /// accounted for, it moves nothing and answers the job that did.
    #[oai(path = "/people/:id/reassignment", method = "post")]
    async fn process(&self, req: &Request, _auth: AdminToken, id: Path<String>, body: Json<PlanIn>) -> Answer<JobOut> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let plan = body.0.plan()?;
        let deactivate_to = match body.0.deactivate_to.as_deref() {
            None => None,
            Some(v) => {
                Some(Deactivation::parse(v).ok_or_else(|| bad(format!("expected `contact` or `deleted`, got `{v}`")))?)
            }
        };
        let mut tx = self.state.store.people().begin(&ctx.tenant).await?;
        let job = run::process(tx.as_mut(), &ctx, &id.0, &ProcessRequest { plan, deactivate_to }).await?;
        tx.commit().await?;
        Ok(Json(job.into()))
    }

    /// Reassignments, newest first: by person and state.
    #[oai(path = "/reassignments", method = "get")]
    async fn list(
        &self,
        req: &Request,
        _auth: AdminToken,
        person: Query<Option<String>>,
        state: Query<Option<String>>,
        limit: Query<Option<u32>>,
    ) -> Answer<JobList> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let query = JobQuery {
            person: person.0,
            state: state.0.as_deref().map(JobState::parse).transpose()?,
            limit: limit.0.unwrap_or(100).clamp(1, 1000),
        };
        let mut tx = self.state.store.people().read(&ctx.tenant).await?;
        let jobs = tx.work().jobs(&query).await?;
        tx.commit().await?;
        Ok(Json(JobList { reassignments: jobs.into_iter().map(JobOut::from).collect() }))
    }

    #[oai(path = "/reassignments/:id", method = "get")]
    async fn get(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<JobOut> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let mut tx = self.state.store.people().read(&ctx.tenant).await?;
        let job = tx.work().job(&id.0).await?;
        tx.commit().await?;
        Ok(Json(job.ok_or_else(|| not_found(&id.0))?.into()))
    }

    /// Every record a reassignment touched, in record order, `count` per page (at most 1,000).
    #[oai(path = "/reassignments/:id/moves", method = "get")]
    async fn moves(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        cursor: Query<Option<String>>,
        count: Query<Option<u32>>,
    ) -> Answer<MoveList> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let limit = count.0.unwrap_or(100).clamp(1, 1000);
        let mut tx = self.state.store.people().read(&ctx.tenant).await?;
        if tx.work().job(&id.0).await?.is_none() {
            return Err(not_found(&id.0));
        }
        let mut moves = tx.work().moves(&id.0, cursor.0.as_deref(), limit + 1).await?;
        tx.commit().await?;
        let more = moves.len() > limit as usize;
        moves.truncate(limit as usize);
        let next_cursor = if more { moves.last().map(|m| m.record.clone()) } else { None };
        let moves = moves
            .into_iter()
            .map(|m| MoveDto { record: m.record, kind: m.kind, action: m.action, from: m.from, to: m.to })
            .collect();
        Ok(Json(MoveList { moves, next_cursor }))
    }

    /// Undo a processed reassignment: records nobody changed since go back to the person
    /// they were taken from; the answer lists those that could not, and why. The person's
    /// state is not changed (restore them separately).
    #[oai(path = "/reassignments/:id/undo", method = "post")]
    async fn undo(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<UndoOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = self.state.store.people().begin(&ctx.tenant).await?;
        let (job, outcome) = run::undo(tx.as_mut(), &ctx, &id.0).await?;
        tx.commit().await?;
        Ok(Json(UndoOut::of(job, outcome)))
    }

    /// What a deprovisioning with no explicit plan does (SCIM `active: false` or DELETE,
    /// an admin's delete or convert-to-contact).
    #[oai(path = "/reassignment-policy", method = "get")]
    async fn policy(&self, req: &Request, _auth: AdminToken) -> Answer<PolicyDto> {
        let ctx = scoped_ctx(&self.state, req, Scope::Reassign).await?;
        let mut tx = self.state.store.people().read(&ctx.tenant).await?;
        let p = tx.work().policy().await?;
        tx.commit().await?;
        Ok(Json(p.into()))
    }

    #[oai(path = "/reassignment-policy", method = "put")]
    async fn set_policy(&self, req: &Request, _auth: AdminToken, body: Json<PolicyDto>) -> Answer<PolicyDto> {
        let ctx = admin_ctx(&self.state, req).await?;
        let policy = Policy { mode: PolicyMode::parse(&body.0.mode)?, fallback: body.0.fallback };
        let mut tx = self.state.store.people().begin(&ctx.tenant).await?;
        let before = tx.work().policy().await?;
        if let Some(f) = &policy.fallback {
            ops::load(tx.as_mut(), f).await?;
        }
        tx.work().save_policy(&policy).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "tenant.reassignment_policy",
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&policy).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(policy.into()))
    }
}
