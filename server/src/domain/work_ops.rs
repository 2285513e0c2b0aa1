//! The use cases on owned work records: create (one or a batch), change. An owner must be
//! a live person of the tenant with the permission the record's kind needs.

use std::collections::BTreeSet;

use super::people_ops::Ctx;
use super::people_store::PeopleTx;
use super::reassign::eligibility::{may_not_own, Roles};
use super::work::{check_title, Kind, WorkRecord};
use super::{Error, Refusal, Result};

/// The most records one batch creates.
pub const MAX_BATCH: usize = 1_000;

#[derive(Debug, Clone)]
pub struct RecordInput {
    pub kind: Kind,
    pub owner: String,
    pub title: String,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RecordChange {
    pub title: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
}

/// Checks owners once per batch (a batch usually fills one person's book).
struct Owners {
    roles: Roles,
    checked: BTreeSet<(String, Kind)>,
}

impl Owners {
    async fn new(tx: &mut dyn PeopleTx) -> Result<Self> {
        Ok(Self { roles: Roles::load(tx).await?, checked: BTreeSet::new() })
    }

    async fn check(&mut self, tx: &mut dyn PeopleTx, owner: &str, kind: Kind) -> Result<()> {
        let key = (owner.to_owned(), kind);
        if self.checked.contains(&key) {
            return Ok(());
        }
        let person = tx
            .person(owner)
            .await?
            .ok_or_else(|| Error::InvalidValue(format!("there is no person with id {owner}")))?;
        if let Some(why) = may_not_own(&self.roles, &person, kind) {
            return Err(Error::refused(Refusal::IneligibleTarget, why));
        }
        self.checked.insert(key);
        Ok(())
    }
}

pub async fn create(tx: &mut dyn PeopleTx, ctx: &Ctx, inputs: &[RecordInput]) -> Result<Vec<WorkRecord>> {
    if inputs.len() > MAX_BATCH {
        return Err(Error::TooMany(format!("a batch creates at most {MAX_BATCH} records")));
    }
    let mut owners = Owners::new(tx).await?;
    let mut records = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = |e: Error| match e {
            Error::InvalidValue(m) if inputs.len() > 1 => Error::InvalidValue(format!("record {i}: {m}")),
            other => other,
        };
        owners.check(tx, &input.owner, input.kind).await.map_err(at)?;
        records.push(WorkRecord {
            id: uuid::Uuid::now_v7().to_string(),
            kind: input.kind,
            owner: input.owner.clone(),
            title: check_title(&input.title).map_err(at)?,
            status: input.kind.status(input.status.as_deref()).map_err(at)?,
            archived: false,
            version: 1,
            created: ctx.now,
            updated: ctx.now,
        });
    }
    tx.work().insert_records(&records).await?;
    Ok(records)
}

pub async fn update(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, change: &RecordChange) -> Result<WorkRecord> {
    let mut r = tx.work().record(id).await?.ok_or_else(|| Error::NotFound(format!("no record with id {id}")))?;
    if let Some(t) = &change.title {
        r.title = check_title(t)?;
    }
    if let Some(s) = &change.status {
        r.status = r.kind.status(Some(s))?;
    }
    if let Some(o) = &change.owner {
        Owners::new(tx).await?.check(tx, o, r.kind).await?;
        r.owner = o.clone();
    }
    r.version += 1;
    r.updated = ctx.now;
    tx.work().save_record(&r).await?;
    Ok(r)
}
