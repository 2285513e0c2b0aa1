//! What owned work and reassignment need from storage, inside a lifecycle transaction
//! ([`PeopleTx::work`](super::people_store::PeopleTx::work)): the records, the set-based
//! moves of a reassignment and their undo, the jobs and the tenant's default policy. The
//! moves are single statements over all of a leaver's records of a kind, never one
//! statement per record.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::allocation::Layout;
use super::reassign::{Job, JobQuery, Move, Policy, UndoOutcome};
use super::work::{Kind, WorkQuery, WorkRecord};
use super::Result;

#[async_trait]
pub trait WorkTx: Send {
    async fn insert_records(&mut self, records: &[WorkRecord]) -> Result<()>;
    async fn record(&mut self, id: &str) -> Result<Option<WorkRecord>>;
    /// Writes title, status, owner and archived with the record's (already raised) version.
    async fn save_record(&mut self, record: &WorkRecord) -> Result<()>;
    async fn records(&mut self, query: &WorkQuery) -> Result<Vec<WorkRecord>>;

    /// How many of `owner`'s records of `kind` would move: not archived, not completed.
    async fn open_count(&mut self, owner: &str, kind: Kind) -> Result<u64>;
    /// The ids of those at allocation positions `offset..offset + limit` (id order).
    async fn open_ids(&mut self, owner: &str, kind: Kind, offset: u64, limit: u32) -> Result<Vec<String>>;
    /// `owner`'s completed tasks not yet archived, and the notes they wrote.
    async fn kept_counts(&mut self, owner: &str) -> Result<(u64, u64)>;

    /// Moves `owner`'s open records of `kind` to the layout's targets by position, records
    /// each move under `job`, and answers how many moved.
    async fn assign(&mut self, job: &str, owner: &str, kind: Kind, layout: &Layout, now: OffsetDateTime)
        -> Result<u64>;
    /// Archives `owner`'s completed tasks (they stay theirs), recorded under `job`.
    async fn archive_completed(&mut self, job: &str, owner: &str, now: OffsetDateTime) -> Result<u64>;
    /// Puts back every record `job` touched that nobody changed since; lists (up to
    /// `list_limit`) the others with the reason.
    async fn undo_moves(&mut self, job: &str, now: OffsetDateTime, list_limit: u32) -> Result<UndoOutcome>;
    /// The moves of a job, in record order, after a record id.
    async fn moves(&mut self, job: &str, after: Option<&str>, limit: u32) -> Result<Vec<Move>>;

    /// The member ids of a group of this tenant; `None` when there is no such group.
    async fn group_members(&mut self, group: &str) -> Result<Option<Vec<String>>>;

    async fn insert_job(&mut self, job: &Job) -> Result<()>;
    /// Writes the job's state, result, error and times.
    async fn save_job(&mut self, job: &Job) -> Result<()>;
    async fn job(&mut self, id: &str) -> Result<Option<Job>>;
    /// Jobs newest first.
    async fn jobs(&mut self, query: &JobQuery) -> Result<Vec<Job>>;

    async fn policy(&mut self) -> Result<Policy>;
    async fn save_policy(&mut self, policy: &Policy) -> Result<()>;
}
