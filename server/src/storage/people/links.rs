//! Sign-up and password-reset links: stored under their key (`secret::link_keys`), never
//! as their token.

use time::OffsetDateTime;

use crate::domain::secret::{LinkPurpose, LinkRecord};
use crate::domain::Result;

use super::query::{opt_time, req_text, req_time, Sql};
use super::tx::{bad, SqlTx};
use super::Backend;

/// Stores a new link (under its key, never as its token).
pub async fn put<D: Backend>(tx: &mut SqlTx<D>, link: &LinkRecord) -> Result<()> {
    Sql::<D>::new(
        "INSERT INTO person_links (tenant_id, token_hash, user_id, purpose, created_at, expires_at) VALUES (",
    )
    .text(tx.tenant.clone())
    .sql(", ")
    .text(link.key.clone())
    .sql(", ")
    .text(link.person.clone())
    .sql(", ")
    .text(link.purpose.as_str())
    .sql(", ")
    .time(link.created_at)
    .sql(", ")
    .time(link.expires_at)
    .sql(")")
    .run(tx.conn())
    .await?;
    Ok(())
}

/// Ends the person's unused links of this purpose.
pub async fn kill<D: Backend>(
    tx: &mut SqlTx<D>,
    person: &str,
    purpose: LinkPurpose,
    now: OffsetDateTime,
) -> Result<()> {
    Sql::<D>::new("UPDATE person_links SET used_at = ")
        .time(now)
        .sql(" WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND user_id = ")
        .text(person)
        .sql(" AND purpose = ")
        .text(purpose.as_str())
        .sql(" AND used_at IS NULL")
        .run(tx.conn())
        .await?;
    Ok(())
}

/// The link stored under any of `keys`, used or not.
pub async fn find<D: Backend>(tx: &mut SqlTx<D>, keys: &[String]) -> Result<Option<LinkRecord>> {
    let rows = Sql::<D>::new(
        "SELECT token_hash, user_id, purpose, created_at, expires_at, used_at FROM person_links WHERE tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" AND token_hash IN ")
    .list(keys)
    .rows(tx.conn())
    .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some(LinkRecord {
        key: req_text(r, 0)?,
        person: req_text(r, 1)?,
        purpose: LinkPurpose::parse(&req_text(r, 2)?).ok_or_else(|| bad("link purpose"))?,
        created_at: req_time(r, 3)?,
        expires_at: req_time(r, 4)?,
        used_at: opt_time(r, 5)?,
    }))
}

/// Marks the link used: it signs nobody in again.
pub async fn use_up<D: Backend>(tx: &mut SqlTx<D>, key: &str, now: OffsetDateTime) -> Result<()> {
    Sql::<D>::new("UPDATE person_links SET used_at = ")
        .time(now)
        .sql(" WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND token_hash = ")
        .text(key)
        .run(tx.conn())
        .await?;
    Ok(())
}
