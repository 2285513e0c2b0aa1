//! People: the `users` row (the SCIM document and its indexed copies, `state`) and the
//! `people` row beside it (the profile). Both are written together, with the e-mail index.

use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::lifecycle::{Invitation, State, UserType};
use crate::domain::people::{GroupRole, Identity, NewPerson, PeopleQuery, Person};
use crate::domain::schema::ResourceType;
use crate::domain::{Error, Result};
use crate::storage::rows::{document_json, Columns};

use super::exec::Row;
use super::query::{count as count_of, opt_time, req_text, req_time, Sql};
use super::tx::SqlTx;
use super::Backend;

/// The role a group binding gives the person of row `u` (by precedence), with the group:
/// `"<role> <group id>"` (role names have no spaces).
fn group_role() -> String {
    crate::storage::rows::group_role_of("u", true)
}

/// A person's row, with their hand-granted permissions folded into one column (permission
/// names hold no spaces): one statement per batch of people.
fn select<D: Backend>() -> String {
    format!(
        "SELECT u.id, CAST(u.data AS TEXT), u.version, u.created_at, u.updated_at, u.state, \
         COALESCE(p.user_type, 'Employee'), COALESCE(p.partner, 0), COALESCE(p.company_role, 'member'), \
         p.password_hash, p.invitation_sent_at, p.invitation_expires_at, {group_role}, \
         (SELECT {agg} FROM person_permissions pp WHERE pp.tenant_id = u.tenant_id AND pp.user_id = u.id) \
         FROM users u LEFT JOIN people p ON p.tenant_id = u.tenant_id AND p.user_id = u.id \
         WHERE u.tenant_id = ",
        agg = D::TEXT_AGG,
        group_role = group_role()
    )
}

fn decode(r: &Row) -> Result<Person> {
    let bad = |w: &str| Error::Storage(format!("unreadable {w}").into());
    let data = match serde_json::from_str(&req_text(r, 1)?) {
        Ok(Value::Object(map)) => map,
        _ => return Err(bad("user document")),
    };
    let group_role = r.text(12)?.and_then(|s| {
        s.split_once(' ').map(|(role, group)| GroupRole { role: role.to_owned(), group_id: group.to_owned() })
    });
    Ok(Person {
        id: req_text(r, 0)?,
        data,
        version: r.int(2)?.unwrap_or(1),
        created: req_time(r, 3)?,
        updated: req_time(r, 4)?,
        state: State::parse(&req_text(r, 5)?).ok_or_else(|| bad("state"))?,
        user_type: UserType::parse(&req_text(r, 6)?).ok_or_else(|| bad("user type"))?,
        partner: r.int(7)?.unwrap_or(0) != 0,
        role: req_text(r, 8)?,
        group_role,
        permissions: {
            let mut all: Vec<String> = r.text(13)?.unwrap_or_default().split_whitespace().map(str::to_owned).collect();
            all.sort();
            all
        },
        invitation: Invitation { sent_at: opt_time(r, 10)?, expires_at: opt_time(r, 11)? },
        password_hash: r.text(9)?,
    })
}

async fn fetch<D: Backend>(tx: &mut SqlTx<D>, q: Sql<D>) -> Result<Vec<Person>> {
    let rows = q.rows(tx.conn()).await?;
    rows.iter().map(decode).collect()
}

pub async fn person<D: Backend>(tx: &mut SqlTx<D>, id: &str) -> Result<Option<Person>> {
    let q = Sql::<D>::new(&select::<D>()).text(tx.tenant.clone()).sql(" AND u.id = ").text(id);
    Ok(fetch(tx, q).await?.into_iter().next())
}

pub async fn by_user_name<D: Backend>(tx: &mut SqlTx<D>, user_name: &str) -> Result<Option<Person>> {
    let q = Sql::<D>::new(&select::<D>())
        .text(tx.tenant.clone())
        .sql(" AND u.user_name_lower = ")
        .text(user_name.to_lowercase())
        .sql(" ORDER BY CASE WHEN u.state = 'deleted' THEN 1 ELSE 0 END, u.updated_at DESC LIMIT 1");
    Ok(fetch(tx, q).await?.into_iter().next())
}

fn states_in(states: &[State]) -> Vec<String> {
    states.iter().map(|s| s.as_str().to_owned()).collect()
}

pub async fn list<D: Backend>(tx: &mut SqlTx<D>, query: &PeopleQuery) -> Result<(u64, Vec<Person>)> {
    let filter = |mut q: Sql<D>, tenant: String| {
        q = q.text(tenant.clone());
        if let Some(ids) = &query.ids {
            q = q.sql(" AND u.id IN ").list(ids);
        }
        if !query.states.is_empty() {
            q = q.sql(" AND u.state IN ").list(&states_in(&query.states));
        } else if !query.archived {
            q = q.sql(" AND u.state <> 'deleted'");
        }
        if let Some((status, now)) = query.invitation {
            use crate::domain::lifecycle::InvitationStatus as S;
            q = match status {
                S::Unsent => q.sql(" AND u.state = 'invited' AND p.invitation_expires_at IS NULL"),
                S::Pending => q.sql(" AND u.state = 'invited' AND p.invitation_expires_at > ").time(now),
                S::NotAccepted => q.sql(" AND u.state = 'invited' AND p.invitation_expires_at <= ").time(now),
                S::Accepted => q.sql(" AND u.state = 'active' AND p.invitation_sent_at IS NOT NULL"),
            };
        }
        if let Some(role) = &query.role {
            q = q
                .sql(" AND COALESCE(")
                .sql(&crate::storage::rows::group_role_of("u", false))
                .sql(", COALESCE(p.company_role, 'member')) = ")
                .text(role.clone());
        }
        if let Some(text) = &query.search {
            let like =
                format!("%{}%", text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            // The userName, any e-mail, and the names people see (not the whole document,
            // whose keys would match every search for "user" or "name").
            q = q
                .sql(" AND (u.user_name_lower LIKE ")
                .text(like.clone())
                .sql(" ESCAPE '\\' OR EXISTS (SELECT 1 FROM user_emails e WHERE e.tenant_id = u.tenant_id AND e.user_id = u.id AND e.value_lower LIKE ")
                .text(like.clone())
                .sql(" ESCAPE '\\')");
            for keys in [&["displayName"][..], &["name", "givenName"], &["name", "familyName"], &["name", "formatted"]]
            {
                let expr = D::json_value("u.data", keys, crate::domain::schema::AttrType::String);
                q = q.sql(&format!(" OR lower({expr}) LIKE ")).text(like.clone()).sql(" ESCAPE '\\'");
            }
            q = q.sql(")");
        }
        q
    };
    // People asked for by id are counted as found (the SCIM overlays' case, once per request).
    let total = match &query.ids {
        Some(_) => None,
        None => {
            let count_sql = "SELECT count(*) FROM users u LEFT JOIN people p ON p.tenant_id = u.tenant_id \
                             AND p.user_id = u.id WHERE u.tenant_id = ";
            let rows = filter(Sql::<D>::new(count_sql), tx.tenant.clone()).rows(tx.conn()).await?;
            Some(count_of(&rows)?)
        }
    };
    let q = filter(Sql::<D>::new(&select::<D>()), tx.tenant.clone())
        .sql(" ORDER BY u.id LIMIT ")
        .int(i64::try_from(query.limit).unwrap_or(100))
        .sql(" OFFSET ")
        .int(i64::try_from(query.offset).unwrap_or(0));
    let people = fetch(tx, q).await?;
    let total = total.unwrap_or(people.len() as u64);
    Ok((total, people))
}

/// Reads [`Identity`] in one statement of four index lookups.
pub async fn identity<D: Backend>(tx: &mut SqlTx<D>, user_name: &str, external_id: Option<&str>) -> Result<Identity> {
    let rows = identity_sql::<D>("", &tx.tenant, user_name, external_id).rows(tx.conn()).await?;
    let mut found = Identity::default();
    let mut latest: Option<String> = None;
    for r in &rows {
        match req_text(r, 0)?.as_str() {
            "user_name" => found.user_name_taken = true,
            "external_id" => found.external_id_taken = true,
            _ => {
                let updated = req_text(r, 2)?;
                if latest.as_ref().is_none_or(|l| updated > *l) {
                    latest = Some(updated);
                    found.archived = Some(req_text(r, 1)?);
                }
            }
        }
    }
    Ok(found)
}

/// The statement of [`identity`]: each branch one lookup in its own index (the unique ones
/// cover live people, `users_archived_*` the others; SQLite would answer an OR by scanning
/// the tenant). `prefix` lets a test ask for the plan of this very statement.
pub fn identity_sql<D: Backend>(prefix: &str, tenant: &str, user_name: &str, external_id: Option<&str>) -> Sql<D> {
    // Written out rather than formatted: this runs inside the writer's turn for every create,
    // and formatting its pieces was 2% of a create's instructions.
    const LIVE_NAME: &str = "SELECT 'user_name', id, updated_at FROM users WHERE tenant_id = ";
    const ARCHIVED: &str = "SELECT 'archived', id, updated_at FROM users WHERE tenant_id = ";
    const LIVE_EXTERNAL: &str = "SELECT 'external_id', id, updated_at FROM users WHERE tenant_id = ";
    const NAME: &str = " AND user_name_lower = ";
    const EXTERNAL: &str = " AND external_id = ";
    const LIVE: &str = " AND state <> 'deleted'";
    const DELETED: &str = " AND state = 'deleted'";
    let branch = |q: Sql<D>, head: &str, column: &str, value: &str, state: &str| {
        q.sql(head).text(tenant).sql(column).text(value).sql(state)
    };
    let name = user_name.to_lowercase();
    let mut q = branch(Sql::<D>::new(prefix), LIVE_NAME, NAME, &name, LIVE);
    q = branch(q.sql(" UNION ALL "), ARCHIVED, NAME, &name, DELETED);
    if let Some(ext) = external_id {
        q = branch(q.sql(" UNION ALL "), LIVE_EXTERNAL, EXTERNAL, ext, LIVE);
        q = branch(q.sql(" UNION ALL "), ARCHIVED, EXTERNAL, ext, DELETED);
    }
    q
}

/// Replaces the e-mail index rows of a person.
async fn write_emails<D: Backend>(tx: &mut SqlTx<D>, id: &str, emails: &[String]) -> Result<()> {
    // Most saves (a PATCH of `active`, a title) leave the e-mails as they are: reading
    // them costs a lookup, rewriting them two index pages to journal and commit.
    if D::READS_BEFORE_WRITING
        && texts_of(tx, "SELECT value_lower FROM user_emails WHERE tenant_id = ", id, " ORDER BY position").await?
            == emails
    {
        return Ok(());
    }
    Sql::<D>::new("DELETE FROM user_emails WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND user_id = ")
        .text(id)
        .run(tx.conn())
        .await?;
    insert_emails(tx, id, emails).await
}

/// The e-mail index rows of a person who has none yet.
async fn insert_emails<D: Backend>(tx: &mut SqlTx<D>, id: &str, emails: &[String]) -> Result<()> {
    for (i, e) in emails.iter().enumerate() {
        Sql::<D>::new("INSERT INTO user_emails (tenant_id, user_id, position, value_lower) VALUES (")
            .text(tx.tenant.clone())
            .sql(", ")
            .text(id)
            .sql(", ")
            .int(i64::try_from(i).unwrap_or(0))
            .sql(", ")
            .text(e.clone())
            .sql(")")
            .run(tx.conn())
            .await?;
    }
    Ok(())
}

/// Writes the profile row and the hand-granted permissions; `fresh`: the person was just
/// inserted, so there are no permissions to clear first.
async fn write_profile<D: Backend>(tx: &mut SqlTx<D>, id: &str, p: &ProfileRow<'_>, fresh: bool) -> Result<()> {
    let t = tx.tenant.clone();
    Sql::<D>::new(
        "INSERT INTO people (tenant_id, user_id, user_type, partner, company_role, password_hash, invitation_sent_at, \
         invitation_expires_at) VALUES (",
    )
    .text(t.clone())
    .sql(", ")
    .text(id)
    .sql(", ")
    .text(p.user_type.as_str())
    .sql(", ")
    .flag(p.partner)
    .sql(", ")
    .text(p.role)
    .sql(", ")
    .opt_text(p.password_hash)
    .sql(", ")
    .opt_time(p.invitation.sent_at)
    .sql(", ")
    .opt_time(p.invitation.expires_at)
    .sql(
        ") ON CONFLICT (tenant_id, user_id) DO UPDATE SET user_type = excluded.user_type, partner = excluded.partner, \
         company_role = excluded.company_role, invitation_sent_at = excluded.invitation_sent_at, \
         invitation_expires_at = excluded.invitation_expires_at \
         WHERE (people.user_type, people.partner, people.company_role, people.invitation_sent_at, \
         people.invitation_expires_at) IS DISTINCT FROM (excluded.user_type, excluded.partner, \
         excluded.company_role, excluded.invitation_sent_at, excluded.invitation_expires_at)",
    )
    .run(tx.conn())
    .await?;
    let mut permissions = p.permissions.to_vec();
    permissions.sort();
    permissions.dedup();
    if !fresh {
        if D::READS_BEFORE_WRITING
            && texts_of(tx, "SELECT permission FROM person_permissions WHERE tenant_id = ", id, " ORDER BY permission")
                .await?
                == permissions
        {
            return Ok(());
        }
        Sql::<D>::new("DELETE FROM person_permissions WHERE tenant_id = ")
            .text(t.clone())
            .sql(" AND user_id = ")
            .text(id)
            .run(tx.conn())
            .await?;
    }
    for perm in &permissions {
        Sql::<D>::new("INSERT INTO person_permissions (tenant_id, user_id, permission) VALUES (")
            .text(t.clone())
            .sql(", ")
            .text(id)
            .sql(", ")
            .text(perm.clone())
            .sql(")")
            .run(tx.conn())
            .await?;
    }
    Ok(())
}

/// The texts of one column of a person's rows: `select` ends with the tenant's comparison,
/// `order` follows the person's.
async fn texts_of<D: Backend>(tx: &mut SqlTx<D>, select: &str, id: &str, order: &str) -> Result<Vec<String>> {
    let rows = Sql::<D>::new(select)
        .text(tx.tenant.clone())
        .sql(" AND user_id = ")
        .text(id)
        .sql(order)
        .rows(tx.conn())
        .await?;
    rows.iter().map(|r| r.text(0).map(Option::unwrap_or_default)).collect()
}

struct ProfileRow<'a> {
    user_type: UserType,
    partner: bool,
    role: &'a str,
    password_hash: Option<&'a str>,
    invitation: Invitation,
    permissions: &'a [String],
}

fn conflict(e: Error) -> Error {
    match e {
        Error::Uniqueness(_) => Error::Uniqueness("a User with this userName or externalId already exists".into()),
        other => other,
    }
}

pub async fn insert<D: Backend>(tx: &mut SqlTx<D>, new: &NewPerson, now: OffsetDateTime) -> Result<Person> {
    let id = uuid::Uuid::now_v7().to_string();
    let cols = Columns::of(ResourceType::User, &new.data)?;
    let json = document_json(&new.data);
    Sql::<D>::new(
        "INSERT INTO users (tenant_id, id, user_name, user_name_lower, external_id, active, state, data, version, \
         created_at, updated_at) VALUES (",
    )
    .text(tx.tenant.clone())
    .sql(", ")
    .text(id.clone())
    .sql(", ")
    .opt_text(cols.user_name.clone())
    .sql(", ")
    .opt_text(cols.name_lower())
    .sql(", ")
    .opt_text(cols.external_id.clone())
    .sql(", ")
    .boolean(new.state.scim_active())
    .sql(", ")
    .text(new.state.as_str())
    .sql(", ")
    .text(json)
    .sql(D::JSON_CAST)
    .sql(", 1, ")
    .time(now)
    .sql(", ")
    .time(now)
    .sql(")")
    .run(tx.conn())
    .await
    .map_err(conflict)?;
    if new.state != State::Deleted {
        insert_emails(tx, &id, &cols.emails).await?;
    }
    let profile = ProfileRow {
        user_type: new.user_type,
        partner: new.partner,
        role: &new.role,
        password_hash: None,
        invitation: new.invitation,
        permissions: &new.permissions,
    };
    write_profile(tx, &id, &profile, true).await?;
    // What was just written, without reading it back: a new person is in no group yet.
    Ok(Person {
        id,
        data: new.data.clone(),
        version: 1,
        created: now,
        updated: now,
        state: new.state,
        user_type: new.user_type,
        partner: new.partner,
        role: new.role.clone(),
        group_role: None,
        permissions: {
            let mut p = new.permissions.clone();
            p.sort();
            p.dedup();
            p
        },
        invitation: new.invitation,
        password_hash: None,
    })
}

pub async fn save<D: Backend>(tx: &mut SqlTx<D>, p: &Person, now: OffsetDateTime) -> Result<Person> {
    let cols = Columns::of(ResourceType::User, &p.data)?;
    let json = document_json(&p.data);
    let (mut user_name, mut external_id, mut state) = (true, true, true);
    if D::READS_BEFORE_WRITING {
        // SQLite rewrites the index entries of every column set, changed or not: the
        // unique names' and the state's indexes are set only when they change.
        let stored = Sql::<D>::new("SELECT user_name, external_id, state FROM users WHERE tenant_id = ")
            .text(tx.tenant.clone())
            .sql(" AND id = ")
            .text(p.id.clone())
            .rows(tx.conn())
            .await?;
        if let Some(row) = stored.first() {
            user_name = row.text(0)? != cols.user_name;
            external_id = row.text(1)? != cols.external_id;
            state = row.text(2)?.as_deref() != Some(p.state.as_str());
        }
    }
    let mut update = Sql::<D>::new("UPDATE users SET active = ").boolean(p.state.scim_active());
    if user_name {
        update = update
            .sql(", user_name = ")
            .opt_text(cols.user_name.clone())
            .sql(", user_name_lower = ")
            .opt_text(cols.name_lower());
    }
    if external_id {
        update = update.sql(", external_id = ").opt_text(cols.external_id.clone());
    }
    if state {
        update = update.sql(", state = ").text(p.state.as_str());
    }
    update
        .sql(", data = ")
        .text(json)
        .sql(D::JSON_CAST)
        .sql(", version = version + 1, updated_at = ")
        .time(now)
        .sql(" WHERE tenant_id = ")
        .text(tx.tenant.clone())
        .sql(" AND id = ")
        .text(p.id.clone())
        .run(tx.conn())
        .await
        .map_err(conflict)?;
    if p.state == State::Deleted {
        // Archived people are in no group (RFC 7644 §3.6) and free their e-mails.
        write_emails(tx, &p.id, &[]).await?;
        Sql::<D>::new("DELETE FROM group_members WHERE tenant_id = ")
            .text(tx.tenant.clone())
            .sql(" AND member_id = ")
            .text(p.id.clone())
            .run(tx.conn())
            .await?;
    } else {
        write_emails(tx, &p.id, &cols.emails).await?;
    }
    let profile = ProfileRow {
        user_type: p.user_type,
        partner: p.partner,
        role: &p.role,
        password_hash: p.password_hash.as_deref(),
        invitation: p.invitation,
        permissions: &p.permissions,
    };
    write_profile(tx, &p.id, &profile, false).await?;
    // The row is the caller's, locked with the tenant: this is what it now holds.
    let mut saved = p.clone();
    saved.permissions.sort();
    saved.permissions.dedup();
    saved.version = p.version + 1;
    saved.updated = now;
    if p.state == State::Deleted {
        saved.group_role = None;
    }
    Ok(saved)
}

async fn count<D: Backend>(tx: &mut SqlTx<D>, q: Sql<D>) -> Result<u64> {
    count_of(&q.rows(tx.conn()).await?)
}

pub async fn seats_used<D: Backend>(tx: &mut SqlTx<D>) -> Result<u64> {
    let q = Sql::<D>::new(
        "SELECT count(*) FROM users u LEFT JOIN people p ON p.tenant_id = u.tenant_id AND p.user_id = u.id \
         WHERE u.tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" AND u.state IN ('invited', 'active') AND COALESCE(p.user_type, 'Employee') <> 'Client' AND COALESCE(p.partner, 0) = 0");
    count(tx, q).await
}

pub async fn admins_other_than<D: Backend>(tx: &mut SqlTx<D>, id: &str) -> Result<u64> {
    // The group-role text is "<role> <group>": append a space to the hand-set role so that
    // both compare as "admin %".
    let q = Sql::<D>::new(
        "SELECT count(*) FROM users u LEFT JOIN people p ON p.tenant_id = u.tenant_id AND p.user_id = u.id \
         WHERE u.tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" AND u.id <> ")
    .text(id)
    .sql(" AND u.state IN ('invited', 'active') AND COALESCE(")
    .sql(&group_role())
    .sql(", COALESCE(p.company_role, 'member') || ' ') LIKE 'admin %'");
    count(tx, q).await
}

pub async fn email_taken<D: Backend>(tx: &mut SqlTx<D>, email: &str, except: &str) -> Result<bool> {
    let rows = Sql::<D>::new(
        "SELECT 1 FROM user_emails e JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.user_id WHERE e.tenant_id = ",
    )
    .text(tx.tenant.clone())
    .sql(" AND e.value_lower = ")
    .text(email.to_lowercase())
    .sql(" AND e.user_id <> ")
    .text(except)
    .sql(" AND u.state <> 'deleted' LIMIT 1")
    .rows(tx.conn())
    .await?;
    Ok(!rows.is_empty())
}
