//! Reassignment jobs. A deprovisioning writes a pending job in its own transaction; the
//! worker claims pending jobs with a lease (`locked_until`), in one statement that on
//! PostgreSQL skips rows another replica is claiming (`SKIP LOCKED`). A worker that dies
//! mid-job leaves the job pending (its transaction rolled back) until the lease runs out,
//! then another worker, or the same server restarted, runs it.

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::domain::reassign::{Job, JobQuery, JobState};
use crate::domain::{Error, Result};

use super::exec::{Conn, Row};

use super::query::{lease_claim, opt_time, req_text, req_time, Sql};
use super::tx::SqlTx;
use super::Backend;

const COLUMNS: &str =
    "id, person_id, source, state, plan, deactivate_to, result, error, actor, attempts, created_at, finished_at, undone_at";

fn json(text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Storage(Box::new(e)))).transpose()
}

fn decode(r: &Row) -> Result<Job> {
    Ok(Job {
        id: req_text(r, 0)?,
        person: req_text(r, 1)?,
        source: req_text(r, 2)?,
        state: JobState::parse(&req_text(r, 3)?)?,
        plan: json(r.text(4)?)?.unwrap_or(Value::Null),
        deactivate_to: r.text(5)?,
        result: json(r.text(6)?)?,
        error: r.text(7)?,
        actor: req_text(r, 8)?,
        attempts: r.int(9)?.unwrap_or(0),
        created: req_time(r, 10)?,
        finished: opt_time(r, 11)?,
        undone: opt_time(r, 12)?,
    })
}

pub async fn insert<D: Backend>(tx: &mut SqlTx<D>, j: &Job) -> Result<()> {
    Sql::<D>::new(&format!("INSERT INTO reassignments (tenant_id, {COLUMNS}, locked_until) VALUES ("))
        .text(tx.tenant.clone())
        .sql(", ")
        .text(j.id.clone())
        .sql(", ")
        .text(j.person.clone())
        .sql(", ")
        .text(j.source.clone())
        .sql(", ")
        .text(j.state.as_str())
        .sql(", ")
        .text(j.plan.to_string())
        .sql(", ")
        .opt_text(j.deactivate_to.clone())
        .sql(", ")
        .opt_text(j.result.as_ref().map(Value::to_string))
        .sql(", ")
        .opt_text(j.error.clone())
        .sql(", ")
        .text(j.actor.clone())
        .sql(", ")
        .int(j.attempts)
        .sql(", ")
        .time(j.created)
        .sql(", ")
        .opt_time(j.finished)
        .sql(", ")
        .opt_time(j.undone)
        .sql(", NULL)")
        .run(tx.conn())
        .await?;
    Ok(())
}

pub async fn save<D: Backend>(tx: &mut SqlTx<D>, j: &Job) -> Result<()> {
    Sql::<D>::new("UPDATE reassignments SET state = ")
        .text(j.state.as_str())
        .sql(", result = ")
        .opt_text(j.result.as_ref().map(Value::to_string))
        .sql(", error = ")
        .opt_text(j.error.clone())
        .sql(", finished_at = ")
        .opt_time(j.finished)
        .sql(", undone_at = ")
        .opt_time(j.undone)
        .sql(", locked_until = NULL WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND id = ")
        .text(j.id.clone())
        .run(tx.conn())
        .await?;
    Ok(())
}

pub async fn one<D: Backend>(tx: &mut SqlTx<D>, id: &str) -> Result<Option<Job>> {
    let rows = Sql::<D>::new(&format!("SELECT {COLUMNS} FROM reassignments WHERE tenant_id = "))
        .text(tx.tenant.clone())
        .sql(" AND id = ")
        .text(id)
        .rows(tx.conn())
        .await?;
    rows.first().map(decode).transpose()
}

pub async fn list<D: Backend>(tx: &mut SqlTx<D>, q: &JobQuery) -> Result<Vec<Job>> {
    let mut s =
        Sql::<D>::new(&format!("SELECT {COLUMNS} FROM reassignments WHERE tenant_id = ")).text(tx.tenant.clone());
    if let Some(p) = &q.person {
        s = s.sql(" AND person_id = ").text(p.clone());
    }
    if let Some(st) = q.state {
        s = s.sql(" AND state = ").text(st.as_str());
    }
    let rows = s.sql(" ORDER BY id DESC LIMIT ").int(i64::from(q.limit)).rows(tx.conn()).await?;
    rows.iter().map(decode).collect()
}

pub async fn claim<D: Backend>(
    conn: &mut dyn Conn,
    now: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<(String, String)>> {
    let rows = lease_claim::<D>(
        "reassignments",
        |s| s.sql("state = 'pending'"),
        "created_at, id",
        "tenant_id, id",
        now,
        lease,
        limit,
    )
    .rows(conn)
    .await?;
    rows.iter().map(|r| Ok((req_text(r, 0)?, req_text(r, 1)?))).collect()
}
