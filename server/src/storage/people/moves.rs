//! The set-based moves of a reassignment and their undo. A leaver's open records of a kind
//! are numbered with `row_number()` in id order; a `CASE` over the number (modulo the
//! layout's period) names each one's new owner. One `INSERT … SELECT` records every move,
//! one `UPDATE … FROM` applies them: two statements per kind whatever the number of records.

use time::OffsetDateTime;

use crate::domain::allocation::Layout;
use crate::domain::reassign::{Move, NotUndone, UndoOutcome};
use crate::domain::work::Kind;
use crate::domain::Result;

use super::query::{count, int, req_text, Sql};
use super::tx::SqlTx;
use super::work::OPEN;
use super::Backend;

const MOVE_COLUMNS: &str = "tenant_id, job_id, record_id, kind, action, from_owner, to_owner, version_after";

pub async fn assign<D: Backend>(
    tx: &mut SqlTx<D>,
    job: &str,
    owner: &str,
    kind: Kind,
    layout: &Layout,
    now: OffsetDateTime,
) -> Result<u64> {
    if layout.segments.is_empty() {
        return Ok(0);
    }
    let mut s = Sql::<D>::new(&format!(
        "INSERT INTO reassignment_moves ({MOVE_COLUMNS}) SELECT tenant_id, "
    ))
    .text(job)
    .sql(", id, kind, 'move', owner_id, to_owner, version + 1 FROM (SELECT tenant_id, id, kind, owner_id, version, CASE");
    let position = match layout.period {
        Some(_) => "pos % ",
        None => "pos",
    };
    for (end, target) in &layout.segments {
        s = s.sql(" WHEN ").sql(position);
        if let Some(period) = layout.period {
            s = s.int(int(period));
        }
        s = s.sql(" < ").int(int(*end)).sql(" THEN ").text(target.clone());
    }
    s = s
        .sql(
            " END AS to_owner FROM (SELECT tenant_id, id, kind, owner_id, version, row_number() OVER (ORDER BY id) - 1 \
             AS pos FROM work_records WHERE tenant_id = ",
        )
        .text(tx.tenant.clone())
        .sql(" AND owner_id = ")
        .text(owner)
        .sql(" AND kind = ")
        .text(kind.as_str())
        .sql(OPEN)
        .sql(") numbered) allocated WHERE to_owner IS NOT NULL");
    let recorded = s.run(tx.conn()).await?;
    let moved =
        Sql::<D>::new("UPDATE work_records SET owner_id = m.to_owner, version = m.version_after, updated_at = ")
            .time(now)
            .sql(" FROM reassignment_moves m WHERE m.tenant_id = ")
            .text(tx.tenant.clone())
            .sql(" AND m.job_id = ")
            .text(job)
            .sql(" AND m.kind = ")
            .text(kind.as_str())
            .sql(" AND m.action = 'move' AND work_records.tenant_id = m.tenant_id AND work_records.id = m.record_id")
            .run(tx.conn())
            .await?;
    if moved != recorded {
        return Err(crate::domain::Error::Storage(format!("{recorded} moves recorded, {moved} applied").into()));
    }
    Ok(moved)
}

pub async fn archive_completed<D: Backend>(
    tx: &mut SqlTx<D>,
    job: &str,
    owner: &str,
    now: OffsetDateTime,
) -> Result<u64> {
    const COMPLETED: &str = " AND kind = 'task' AND status = 'completed' AND archived = 0";
    let recorded = Sql::<D>::new(&format!("INSERT INTO reassignment_moves ({MOVE_COLUMNS}) SELECT tenant_id, "))
        .text(job)
        .sql(", id, kind, 'archive', owner_id, owner_id, version + 1 FROM work_records WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND owner_id = ")
        .text(owner)
        .sql(COMPLETED)
        .run(tx.conn())
        .await?;
    Sql::<D>::new("UPDATE work_records SET archived = 1, version = version + 1, updated_at = ")
        .time(now)
        .sql(" WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND owner_id = ")
        .text(owner)
        .sql(COMPLETED)
        .run(tx.conn())
        .await?;
    Ok(recorded)
}

pub async fn undo<D: Backend>(
    tx: &mut SqlTx<D>,
    job: &str,
    now: OffsetDateTime,
    list_limit: u32,
) -> Result<UndoOutcome> {
    // A record changed since (its version moved on) keeps its present owner and state.
    let changed = " FROM reassignment_moves m JOIN work_records r ON r.tenant_id = m.tenant_id AND r.id = m.record_id \
                   WHERE m.tenant_id = ";
    let rows = Sql::<D>::new(&format!("SELECT count(*){changed}"))
        .text(tx.tenant.clone())
        .sql(" AND m.job_id = ")
        .text(job)
        .sql(" AND r.version <> m.version_after")
        .rows(tx.conn())
        .await?;
    let not_restored = count(&rows)?;
    let rows = Sql::<D>::new(&format!("SELECT m.record_id, m.to_owner, r.owner_id{changed}"))
        .text(tx.tenant.clone())
        .sql(" AND m.job_id = ")
        .text(job)
        .sql(" AND r.version <> m.version_after ORDER BY m.record_id LIMIT ")
        .int(i64::from(list_limit))
        .rows(tx.conn())
        .await?;
    let mut listed = Vec::new();
    for r in &rows {
        let (record, left_with, now_with) = (req_text(r, 0)?, req_text(r, 1)?, req_text(r, 2)?);
        let reason = if now_with == left_with {
            "changed since the reassignment".to_owned()
        } else {
            format!("reassigned again since the reassignment (now owned by {now_with})")
        };
        listed.push(NotUndone { record, reason });
    }
    let put_back = |action: &str, set: &str| {
        Sql::<D>::new(&format!("UPDATE work_records SET {set}, version = work_records.version + 1, updated_at = "))
            .time(now)
            .sql(" FROM reassignment_moves m WHERE m.tenant_id = ")
            .text(tx.tenant.clone())
            .sql(" AND m.job_id = ")
            .text(job)
            .sql(" AND m.action = ")
            .text(action)
            .sql(
                " AND work_records.tenant_id = m.tenant_id AND work_records.id = m.record_id \
                 AND work_records.version = m.version_after",
            )
    };
    let restore = put_back("move", "owner_id = m.from_owner");
    let unarchive = put_back("archive", "archived = 0");
    let restored = restore.run(tx.conn()).await?;
    let unarchived = unarchive.run(tx.conn()).await?;
    Ok(UndoOutcome { restored, unarchived, not_restored, not_restored_records: listed })
}

pub async fn list<D: Backend>(tx: &mut SqlTx<D>, job: &str, after: Option<&str>, limit: u32) -> Result<Vec<Move>> {
    let mut s = Sql::<D>::new(
        "SELECT record_id, kind, action, from_owner, to_owner FROM reassignment_moves WHERE tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" AND job_id = ")
    .text(job);
    if let Some(a) = after {
        s = s.sql(" AND record_id > ").text(a);
    }
    let rows = s.sql(" ORDER BY record_id LIMIT ").int(i64::from(limit)).rows(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            Ok(Move {
                record: req_text(r, 0)?,
                kind: req_text(r, 1)?,
                action: req_text(r, 2)?,
                from: req_text(r, 3)?,
                to: req_text(r, 4)?,
            })
        })
        .collect()
}
