//! Owned work records, the tenant's reassignment policy and a group's members, for
//! [`WorkTx`]; the moves and jobs are in [`super::moves`] and [`super::jobs`].

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::domain::allocation::Layout;
use crate::domain::reassign::{Job, JobQuery, Move, Policy, PolicyMode, UndoOutcome};
use crate::domain::work::{Kind, WorkQuery, WorkRecord};
use crate::domain::work_store::WorkTx;
use crate::domain::{Error, Result};

use super::exec::Row;
use super::query::{count, int, req_text, req_time, Sql};
use super::tx::SqlTx;
use super::{jobs, moves, Backend};

const COLUMNS: &str = "id, kind, owner_id, title, status, archived, version, created_at, updated_at";
/// Rows per multi-row INSERT: 10 bound values each, well under SQLite's and PostgreSQL's limits.
const INSERT_CHUNK: usize = 500;
/// The records that move when their owner leaves: not archived, not a completed task.
pub(super) const OPEN: &str = " AND archived = 0 AND (status IS NULL OR status <> 'completed')";

fn decode(r: &Row) -> Result<WorkRecord> {
    Ok(WorkRecord {
        id: req_text(r, 0)?,
        kind: Kind::parse(&req_text(r, 1)?)?,
        owner: req_text(r, 2)?,
        title: req_text(r, 3)?,
        status: r.text(4)?,
        archived: r.int(5)?.unwrap_or(0) != 0,
        version: r.int(6)?.unwrap_or(1),
        created: req_time(r, 7)?,
        updated: req_time(r, 8)?,
    })
}

#[async_trait]
impl<D: Backend> WorkTx for SqlTx<D> {
    async fn insert_records(&mut self, records: &[WorkRecord]) -> Result<()> {
        for chunk in records.chunks(INSERT_CHUNK) {
            let mut s = Sql::<D>::new(&format!("INSERT INTO work_records (tenant_id, {COLUMNS}) VALUES "));
            for (i, r) in chunk.iter().enumerate() {
                s = s
                    .sql(if i == 0 { "(" } else { ", (" })
                    .text(self.tenant.clone())
                    .sql(", ")
                    .text(r.id.clone())
                    .sql(", ")
                    .text(r.kind.as_str())
                    .sql(", ")
                    .text(r.owner.clone())
                    .sql(", ")
                    .text(r.title.clone())
                    .sql(", ")
                    .opt_text(r.status.clone())
                    .sql(", ")
                    .flag(r.archived)
                    .sql(", ")
                    .int(r.version)
                    .sql(", ")
                    .time(r.created)
                    .sql(", ")
                    .time(r.updated)
                    .sql(")");
            }
            s.run(self.conn()).await?;
        }
        Ok(())
    }

    async fn record(&mut self, id: &str) -> Result<Option<WorkRecord>> {
        let rows = Sql::<D>::new(&format!("SELECT {COLUMNS} FROM work_records WHERE tenant_id = "))
            .text(self.tenant.clone())
            .sql(" AND id = ")
            .text(id)
            .rows(self.conn())
            .await?;
        rows.first().map(decode).transpose()
    }

    async fn save_record(&mut self, r: &WorkRecord) -> Result<()> {
        Sql::<D>::new("UPDATE work_records SET owner_id = ")
            .text(r.owner.clone())
            .sql(", title = ")
            .text(r.title.clone())
            .sql(", status = ")
            .opt_text(r.status.clone())
            .sql(", archived = ")
            .flag(r.archived)
            .sql(", version = ")
            .int(r.version)
            .sql(", updated_at = ")
            .time(r.updated)
            .sql(" WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND id = ")
            .text(r.id.clone())
            .run(self.conn())
            .await?;
        Ok(())
    }

    async fn records(&mut self, q: &WorkQuery) -> Result<Vec<WorkRecord>> {
        let mut s =
            Sql::<D>::new(&format!("SELECT {COLUMNS} FROM work_records WHERE tenant_id = ")).text(self.tenant.clone());
        if let Some(o) = &q.owner {
            s = s.sql(" AND owner_id = ").text(o.clone());
        }
        if let Some(k) = q.kind {
            s = s.sql(" AND kind = ").text(k.as_str());
        }
        if let Some(st) = &q.status {
            s = s.sql(" AND status = ").text(st.clone());
        }
        if let Some(a) = q.archived {
            s = s.sql(" AND archived = ").flag(a);
        }
        if let Some(after) = &q.after {
            s = s.sql(" AND id > ").text(after.clone());
        }
        let rows = s.sql(" ORDER BY id LIMIT ").int(i64::from(q.limit)).rows(self.conn()).await?;
        rows.iter().map(decode).collect()
    }

    async fn open_count(&mut self, owner: &str, kind: Kind) -> Result<u64> {
        let rows = Sql::<D>::new("SELECT count(*) FROM work_records WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND owner_id = ")
            .text(owner)
            .sql(" AND kind = ")
            .text(kind.as_str())
            .sql(OPEN)
            .rows(self.conn())
            .await?;
        count(&rows)
    }

    async fn open_ids(&mut self, owner: &str, kind: Kind, offset: u64, limit: u32) -> Result<Vec<String>> {
        let rows = Sql::<D>::new("SELECT id FROM work_records WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND owner_id = ")
            .text(owner)
            .sql(" AND kind = ")
            .text(kind.as_str())
            .sql(OPEN)
            .sql(" ORDER BY id LIMIT ")
            .int(i64::from(limit))
            .sql(" OFFSET ")
            .int(int(offset))
            .rows(self.conn())
            .await?;
        rows.iter().map(|r| req_text(r, 0)).collect()
    }

    async fn kept_counts(&mut self, owner: &str) -> Result<(u64, u64)> {
        let tenant = self.tenant.clone();
        let tally = |kind: &str, extra: &str| {
            Sql::<D>::new("SELECT count(*) FROM work_records WHERE tenant_id = ")
                .text(tenant.clone())
                .sql(" AND owner_id = ")
                .text(owner)
                .sql(" AND kind = ")
                .text(kind)
                .sql(extra)
        };
        let completed = tally("task", " AND status = 'completed' AND archived = 0").rows(self.conn()).await?;
        let completed = count(&completed)?;
        let notes = tally("note", "").rows(self.conn()).await?;
        Ok((completed, count(&notes)?))
    }

    async fn assign(
        &mut self,
        job: &str,
        owner: &str,
        kind: Kind,
        layout: &Layout,
        now: OffsetDateTime,
    ) -> Result<u64> {
        moves::assign(self, job, owner, kind, layout, now).await
    }

    async fn archive_completed(&mut self, job: &str, owner: &str, now: OffsetDateTime) -> Result<u64> {
        moves::archive_completed(self, job, owner, now).await
    }

    async fn undo_moves(&mut self, job: &str, now: OffsetDateTime, list_limit: u32) -> Result<UndoOutcome> {
        moves::undo(self, job, now, list_limit).await
    }

    async fn moves(&mut self, job: &str, after: Option<&str>, limit: u32) -> Result<Vec<Move>> {
        moves::list(self, job, after, limit).await
    }

    async fn group_members(&mut self, group: &str) -> Result<Option<Vec<String>>> {
        let found = Sql::<D>::new("SELECT 1 FROM groups WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND id = ")
            .text(group)
            .rows(self.conn())
            .await?;
        if found.is_empty() {
            return Ok(None);
        }
        let rows = Sql::<D>::new("SELECT member_id FROM group_members WHERE tenant_id = ")
            .text(self.tenant.clone())
            .sql(" AND group_id = ")
            .text(group)
            .sql(" AND member_type = 'User' ORDER BY member_id")
            .rows(self.conn())
            .await?;
        Ok(Some(rows.iter().map(|r| req_text(r, 0)).collect::<Result<_>>()?))
    }

    async fn insert_job(&mut self, job: &Job) -> Result<()> {
        jobs::insert(self, job).await
    }

    async fn save_job(&mut self, job: &Job) -> Result<()> {
        jobs::save(self, job).await
    }

    async fn job(&mut self, id: &str) -> Result<Option<Job>> {
        jobs::one(self, id).await
    }

    async fn jobs(&mut self, query: &JobQuery) -> Result<Vec<Job>> {
        jobs::list(self, query).await
    }

    async fn policy(&mut self) -> Result<Policy> {
        let rows = Sql::<D>::new("SELECT mode, fallback_id FROM reassignment_policies WHERE tenant_id = ")
            .text(self.tenant.clone())
            .rows(self.conn())
            .await?;
        let Some(r) = rows.first() else { return Ok(Policy::default()) };
        let mode = PolicyMode::parse(&req_text(r, 0)?)
            .map_err(|_| Error::Storage("unreadable reassignment policy in the database".into()))?;
        Ok(Policy { mode, fallback: r.text(1)? })
    }

    async fn save_policy(&mut self, p: &Policy) -> Result<()> {
        Sql::<D>::new("INSERT INTO reassignment_policies (tenant_id, mode, fallback_id) VALUES (")
            .text(self.tenant.clone())
            .sql(", ")
            .text(p.mode.as_str())
            .sql(", ")
            .opt_text(p.fallback.clone())
            .sql(") ON CONFLICT (tenant_id) DO UPDATE SET mode = excluded.mode, fallback_id = excluded.fallback_id")
            .run(self.conn())
            .await?;
        Ok(())
    }
}
