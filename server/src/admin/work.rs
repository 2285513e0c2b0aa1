//! Owned work records: create (one or a batch of up to 1,000), list by owner, type, status
//! with cursor paging, show, change (title, status, owner).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::domain::work::{Kind, WorkQuery, WorkRecord};
use crate::domain::work_ops::{self, RecordChange, RecordInput};
use crate::protocol::AppState;
use crate::storage::timefmt;

use super::{admin_ctx, begin, read, AdminToken, Answer, Failure};

#[derive(Tags)]
pub enum Tag {
    /// Contacts, leads, tasks and notes that people own or write.
    Work,
}

pub struct WorkApi {
    pub state: Arc<AppState>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RecordIn {
    /// `contact`, `lead`, `task` or `note`.
    #[oai(rename = "type")]
    pub kind: String,
    /// The owner's id (a note's author). Needs the type's permission: `crm.contacts`,
    /// `crm.leads`, `tasks` (notes: none).
    pub owner: String,
    pub title: String,
    /// Tasks: `pending` (default) or `completed`; leads: `open` (default), `won`, `lost`.
    pub status: Option<String>,
}

#[derive(Debug, Object)]
pub struct BatchIn {
    /// At most 1,000 records, created together or not at all.
    pub records: Vec<RecordIn>,
}

#[derive(Debug, Object)]
pub struct BatchOut {
    pub created: u64,
    pub ids: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RecordOut {
    pub id: String,
    #[oai(rename = "type")]
    pub kind: String,
    pub owner: String,
    pub title: String,
    pub status: Option<String>,
    /// Kept with a person who left (completed tasks).
    pub archived: bool,
    /// Grows on every change.
    pub version: i64,
    pub created: String,
    pub updated: String,
}

impl From<&WorkRecord> for RecordOut {
    fn from(r: &WorkRecord) -> Self {
        Self {
            id: r.id.clone(),
            kind: r.kind.as_str().to_owned(),
            owner: r.owner.clone(),
            title: r.title.clone(),
            status: r.status.clone(),
            archived: r.archived,
            version: r.version,
            created: timefmt::format(r.created),
            updated: timefmt::format(r.updated),
        }
    }
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct RecordList {
    pub records: Vec<RecordOut>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Object)]
pub struct RecordPatch {
    pub title: Option<String>,
    pub status: Option<String>,
    /// Hand the record to someone else (who needs the type's permission).
    pub owner: Option<String>,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Created(Json<RecordOut>),
}

#[derive(ApiResponse)]
pub enum BatchCreated {
    #[oai(status = 201)]
    Created(Json<BatchOut>),
}

fn input(r: RecordIn) -> Result<RecordInput, Failure> {
    Ok(RecordInput { kind: Kind::parse(&r.kind)?, owner: r.owner, title: r.title, status: r.status })
}

#[OpenApi(prefix_path = "/work", tag = "Tag::Work")]
impl WorkApi {
    /// Create a record for an owner.
    #[oai(path = "/", method = "post")]
    async fn create(&self, req: &Request, _auth: AdminToken, body: Json<RecordIn>) -> Result<Created, Failure> {
        let ctx = admin_ctx(&self.state, req).await?;
        let one = input(body.0)?;
        let mut tx = begin(&self.state, &ctx).await?;
        let made = work_ops::create(tx.as_mut(), &ctx, &[one]).await?;
        tx.commit().await?;
        let r = made.first().ok_or_else(|| Failure::from(crate::domain::Error::Storage("nothing created".into())))?;
        Ok(Created::Created(Json(r.into())))
    }

    /// Create up to 1,000 records in one transaction (to fill a tenant).
    #[oai(path = "/batch", method = "post")]
    async fn batch(&self, req: &Request, _auth: AdminToken, body: Json<BatchIn>) -> Result<BatchCreated, Failure> {
        let ctx = admin_ctx(&self.state, req).await?;
        let inputs = body.0.records.into_iter().map(input).collect::<Result<Vec<_>, _>>()?;
        let mut tx = begin(&self.state, &ctx).await?;
        let made = work_ops::create(tx.as_mut(), &ctx, &inputs).await?;
        tx.commit().await?;
        let ids: Vec<String> = made.into_iter().map(|r| r.id).collect();
        Ok(BatchCreated::Created(Json(BatchOut { created: ids.len() as u64, ids })))
    }

    /// List records in creation order, by owner, type (`contact`, `lead`, `task`, `note`),
    /// status and archived flag; `count` per page (default 100, at most 1,000).
    #[oai(path = "/", method = "get")]
    #[expect(clippy::too_many_arguments, reason = "one argument per query parameter, as poem-openapi documents them")]
    async fn list(
        &self,
        req: &Request,
        _auth: AdminToken,
        owner: Query<Option<String>>,
        #[oai(name = "type")] kind: Query<Option<String>>,
        status: Query<Option<String>>,
        archived: Query<Option<bool>>,
        cursor: Query<Option<String>>,
        count: Query<Option<u32>>,
    ) -> Answer<RecordList> {
        let ctx = admin_ctx(&self.state, req).await?;
        let limit = count.0.unwrap_or(100).clamp(1, 1000);
        let query = WorkQuery {
            owner: owner.0,
            kind: kind.0.as_deref().map(Kind::parse).transpose()?,
            status: status.0,
            archived: archived.0,
            after: cursor.0,
            limit: limit + 1,
        };
        let mut tx = read(&self.state, &ctx).await?;
        let mut records = tx.work().records(&query).await?;
        tx.commit().await?;
        let more = records.len() > limit as usize;
        records.truncate(limit as usize);
        let next_cursor = if more { records.last().map(|r| r.id.clone()) } else { None };
        Ok(Json(RecordList { records: records.iter().map(RecordOut::from).collect(), next_cursor }))
    }

    #[oai(path = "/:id", method = "get")]
    async fn get(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<RecordOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let r = tx.work().record(&id.0).await?;
        tx.commit().await?;
        let r =
            r.ok_or_else(|| Failure::from(crate::domain::Error::NotFound(format!("no record with id {}", id.0))))?;
        Ok(Json((&r).into()))
    }

    /// Change a record's title, status or owner.
    #[oai(path = "/:id", method = "patch")]
    async fn change(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        body: Json<RecordPatch>,
    ) -> Answer<RecordOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let b = body.0;
        let change = RecordChange { title: b.title, status: b.status, owner: b.owner };
        let mut tx = begin(&self.state, &ctx).await?;
        let r = work_ops::update(tx.as_mut(), &ctx, &id.0, &change).await?;
        tx.commit().await?;
        Ok(Json((&r).into()))
    }
}
