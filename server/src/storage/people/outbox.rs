//! The notification outbox. Messages are written in the transaction of the change they
//! announce; the delivery worker claims due ones with a lease (`locked_until`), in one
//! statement that on PostgreSQL skips rows another replica is claiming (`SKIP LOCKED`).
//! A worker that dies mid-delivery only delays its messages until the lease runs out.

use time::{Duration, OffsetDateTime};

use crate::domain::notify::{OutboxMessage, OutboxQuery};
use crate::domain::Result;

use super::exec::{Conn, Row};

use super::query::{lease_claim, opt_time, req_text, req_time, Sql};
use super::tx::SqlTx;
use super::Backend;

const COLUMNS: &str = "tenant_id, id, user_id, kind, recipient, subject, body, created_at, attempts, next_attempt_at, \
                       sent_at, last_error";

fn decode(r: &Row) -> Result<OutboxMessage> {
    Ok(OutboxMessage {
        tenant: req_text(r, 0)?,
        id: req_text(r, 1)?,
        person: r.text(2)?,
        kind: req_text(r, 3)?,
        recipient: req_text(r, 4)?,
        subject: req_text(r, 5)?,
        body: req_text(r, 6)?,
        created_at: req_time(r, 7)?,
        attempts: r.int(8)?.unwrap_or(0),
        next_attempt_at: req_time(r, 9)?,
        sent_at: opt_time(r, 10)?,
        last_error: r.text(11)?,
    })
}

pub async fn enqueue<D: Backend>(tx: &mut SqlTx<D>, m: &OutboxMessage) -> Result<()> {
    Sql::<D>::new(&format!("INSERT INTO outbox ({COLUMNS}) VALUES ("))
        .text(tx.tenant.clone())
        .sql(", ")
        .text(m.id.clone())
        .sql(", ")
        .opt_text(m.person.clone())
        .sql(", ")
        .text(m.kind.clone())
        .sql(", ")
        .text(m.recipient.clone())
        .sql(", ")
        .text(m.subject.clone())
        .sql(", ")
        .text(m.body.clone())
        .sql(", ")
        .time(m.created_at)
        .sql(", 0, ")
        .time(m.next_attempt_at)
        .sql(", NULL, NULL)")
        .run(tx.conn())
        .await?;
    Ok(())
}

pub async fn list<D: Backend>(tx: &mut SqlTx<D>, q: &OutboxQuery) -> Result<Vec<OutboxMessage>> {
    let mut s = Sql::<D>::new(&format!("SELECT {COLUMNS} FROM outbox WHERE tenant_id = ")).text(tx.tenant.clone());
    match q.sent {
        Some(true) => s = s.sql(" AND sent_at IS NOT NULL"),
        Some(false) => s = s.sql(" AND sent_at IS NULL"),
        None => {}
    }
    if let Some(p) = &q.person {
        s = s.sql(" AND user_id = ").text(p.clone());
    }
    let rows = s.sql(" ORDER BY id DESC LIMIT ").int(i64::try_from(q.limit).unwrap_or(100)).rows(tx.conn()).await?;
    rows.iter().map(decode).collect()
}

pub async fn claim<D: Backend>(
    conn: &mut dyn Conn,
    now: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<OutboxMessage>> {
    let rows = lease_claim::<D>(
        "outbox",
        |s| s.sql("sent_at IS NULL AND next_attempt_at <= ").time(now),
        "next_attempt_at, id",
        COLUMNS,
        now,
        lease,
        limit,
    )
    .rows(conn)
    .await?;
    rows.iter().map(decode).collect()
}

pub async fn sent<D: Backend>(conn: &mut dyn Conn, tenant: &str, id: &str, at: OffsetDateTime) -> Result<()> {
    Sql::<D>::new("UPDATE outbox SET sent_at = ")
        .time(at)
        .sql(", locked_until = NULL, last_error = NULL WHERE tenant_id = ")
        .text(tenant)
        .sql(" AND id = ")
        .text(id)
        .run(conn)
        .await?;
    Ok(())
}

pub async fn failed<D: Backend>(
    conn: &mut dyn Conn,
    tenant: &str,
    id: &str,
    error: &str,
    retry_at: OffsetDateTime,
) -> Result<()> {
    Sql::<D>::new("UPDATE outbox SET locked_until = NULL, next_attempt_at = ")
        .time(retry_at)
        .sql(", last_error = ")
        .text(error.chars().take(500).collect::<String>())
        .sql(" WHERE tenant_id = ")
        .text(tenant)
        .sql(" AND id = ")
        .text(id)
        .run(conn)
        .await?;
    Ok(())
}
