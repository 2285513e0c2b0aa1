//! The audit log: who did what to whom, with the person before and after.

use serde_json::Value;

use crate::domain::audit::{AuditEntry, AuditQuery};
use crate::domain::Result;

use super::query::{req_text, req_time, Sql};
use super::tx::SqlTx;
use super::Backend;

/// Appends an entry.
pub async fn insert<D: Backend>(tx: &mut SqlTx<D>, e: &AuditEntry) -> Result<()> {
    Sql::<D>::new("INSERT INTO audit_log (tenant_id, id, at, actor, action, user_id, before, after) VALUES (")
        .text(tx.tenant.clone())
        .sql(", ")
        .text(e.id.clone())
        .sql(", ")
        .time(e.at)
        .sql(", ")
        .text(e.actor.clone())
        .sql(", ")
        .text(e.action.clone())
        .sql(", ")
        .opt_text(e.person.clone())
        .sql(", ")
        .opt_text(json_of(e.before.as_ref()))
        .sql(", ")
        .opt_text(json_of(e.after.as_ref()))
        .sql(")")
        .run(tx.conn())
        .await?;
    Ok(())
}

/// The entries `q` asks for, newest first.
pub async fn list<D: Backend>(tx: &mut SqlTx<D>, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut s = Sql::<D>::new("SELECT id, at, actor, action, user_id, before, after FROM audit_log WHERE tenant_id = ")
        .text(tx.tenant.clone());
    if let Some(p) = &q.person {
        s = s.sql(" AND user_id = ").text(p.clone());
    }
    if let Some(a) = &q.actor {
        s = s.sql(" AND actor = ").text(a.clone());
    }
    if let Some(a) = &q.action {
        s = s.sql(" AND action = ").text(a.clone());
    }
    if let Some(t) = q.since {
        s = s.sql(" AND at >= ").time(t);
    }
    if let Some(t) = q.until {
        s = s.sql(" AND at < ").time(t);
    }
    let rows =
        s.sql(" ORDER BY at DESC, id DESC LIMIT ").int(i64::try_from(q.limit).unwrap_or(100)).rows(tx.conn()).await?;
    let parse = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                id: req_text(r, 0)?,
                at: req_time(r, 1)?,
                actor: req_text(r, 2)?,
                action: req_text(r, 3)?,
                person: r.text(4)?,
                before: parse(r.text(5)?),
                after: parse(r.text(6)?),
            })
        })
        .collect()
}

/// Serialized straight into a buffer: `Value::to_string` goes through `fmt::Display`, a
/// formatter call per token, and this runs inside the writer for every audited write.
fn json_of(v: Option<&Value>) -> Option<String> {
    v.and_then(|v| serde_json::to_string(v).ok())
}
