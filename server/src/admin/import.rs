//! CSV import of users and of contacts. Every row is validated first and every bad row is
//! reported with its line number and reason; the good rows are then imported in one
//! transaction, or nothing is with `all_or_nothing=true` when any row is bad.

use std::collections::HashSet;
use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{Object, OpenApi, Tags};

use crate::domain::lifecycle::UserType;
use crate::domain::people_ops::{self as ops, PersonInput};

use super::dto::bad;
use super::{admin_ctx, begin, AdminToken, Answer, Failure};

#[derive(Tags)]
pub enum Tag {
    /// CSV import of users and contacts.
    Import,
}

pub struct ImportApi {
    pub state: Arc<AppState>,
}

use crate::protocol::AppState;

#[derive(Debug, Object)]
pub struct RowError {
    /// The line of the CSV file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct ImportReport {
    /// How many people were created.
    pub imported: u32,
    /// Their ids, in file order.
    pub ids: Vec<String>,
    /// Every bad row; with `all_or_nothing` any of them means nothing was imported.
    pub errors: Vec<RowError>,
}

/// At most this many rows per file.
const MAX_ROWS: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Contacts,
}

struct Row {
    line: u64,
    input: PersonInput,
}

fn parse(text: &str, kind: Kind) -> Result<(Vec<Row>, Vec<RowError>), Failure> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| bad(format!("the CSV header cannot be read: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase().replace(['_', ' '], ""))
        .collect();
    let known = ["email", "username", "givenname", "familyname", "displayname", "usertype", "role", "partner"];
    if let Some(unknown) = headers.iter().find(|h| !known.contains(&h.as_str())) {
        return Err(bad(format!("unknown CSV column `{unknown}` (known: {})", known.join(", "))));
    }
    if kind == Kind::Users && !headers.iter().any(|h| h == "email") {
        return Err(bad("a users CSV needs an `email` column"));
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Err(bad(format!("at most {MAX_ROWS} rows per import")));
        }
        let line = record.as_ref().ok().and_then(|r| r.position()).map_or(i as u64 + 2, |p| p.line());
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError { line, reason: format!("unreadable row: {e}") });
                continue;
            }
        };
        let get = |name: &str| col(name).and_then(|i| record.get(i)).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut reasons = Vec::new();
        let email = match get("email").map(|e| ops::check_email(&e)) {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                reasons.push(e.to_string());
                None
            }
            None if kind == Kind::Users => {
                reasons.push("an e-mail is required".to_owned());
                None
            }
            None => None,
        };
        if let Some(e) = &email {
            if !seen.insert(e.to_lowercase()) {
                reasons.push(format!("{e} appears twice in the file"));
            }
        }
        let user_type = match get("usertype") {
            None => None,
            Some(t) => match UserType::parse(&t) {
                Some(t) => Some(t),
                None => {
                    reasons.push(format!("userType must be Employee, Contractor or Client, got `{t}`"));
                    None
                }
            },
        };
        let partner = match get("partner").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "no" | "0") => false,
            Some("true" | "yes" | "1") => true,
            Some(other) => {
                reasons.push(format!("partner must be true or false, got `{other}`"));
                false
            }
        };
        if kind == Kind::Contacts
            && email.is_none()
            && get("givenname").is_none()
            && get("familyname").is_none()
            && get("username").is_none()
        {
            reasons.push("a contact needs a name or an e-mail".to_owned());
        }
        if !reasons.is_empty() {
            errors.push(RowError { line, reason: reasons.join("; ") });
            continue;
        }
        rows.push(Row {
            line,
            input: PersonInput {
                email,
                user_name: get("username"),
                given_name: get("givenname"),
                family_name: get("familyname"),
                display_name: get("displayname"),
                user_type,
                role: get("role"),
                partner,
                permissions: Vec::new(),
            },
        });
    }
    Ok((rows, errors))
}

impl ImportApi {
    async fn import(
        &self,
        req: &Request,
        body: String,
        kind: Kind,
        all_or_nothing: bool,
        send: bool,
    ) -> Answer<ImportReport> {
        let ctx = admin_ctx(&self.state, req).await?;
        let (rows, mut errors) = parse(&body, kind)?;
        let mut tx = begin(&self.state, &ctx).await?;
        let mut ids = Vec::new();
        for row in rows {
            if all_or_nothing && !errors.is_empty() {
                break;
            }
            let done = match kind {
                Kind::Users => ops::invite(tx.as_mut(), &ctx, &row.input, send).await,
                Kind::Contacts => ops::create_contact(tx.as_mut(), &ctx, &row.input).await,
            };
            match done {
                Ok(p) => ids.push(p.id),
                // Rule checks run before anything is written, so the transaction goes on.
                Err(
                    e @ (crate::domain::Error::Refused { .. }
                    | crate::domain::Error::Uniqueness(_)
                    | crate::domain::Error::InvalidValue(_)),
                ) => {
                    errors.push(RowError { line: row.line, reason: e.to_string() });
                }
                Err(e) => return Err(e.into()),
            }
        }
        errors.sort_by_key(|e| e.line);
        if all_or_nothing && !errors.is_empty() {
            drop(tx);
            return Ok(Json(ImportReport { imported: 0, ids: Vec::new(), errors }));
        }
        tx.commit().await?;
        Ok(Json(ImportReport { imported: u32::try_from(ids.len()).unwrap_or(u32::MAX), ids, errors }))
    }
}

#[OpenApi(prefix_path = "/import", tag = "Tag::Import")]
impl ImportApi {
    /// Import users from CSV (columns: email, userName, givenName, familyName,
    /// displayName, userType, role, partner). They are invited; `send=true` mails the
    /// invitations.
    #[oai(path = "/users", method = "post")]
    async fn users(
        &self,
        req: &Request,
        _auth: AdminToken,
        #[oai(default)] all_or_nothing: Query<bool>,
        #[oai(default)] send: Query<bool>,
        body: PlainText<String>,
    ) -> Answer<ImportReport> {
        self.import(req, body.0, Kind::Users, all_or_nothing.0, send.0).await
    }

    /// Import contacts from CSV (the same columns; e-mail optional).
    #[oai(path = "/contacts", method = "post")]
    async fn contacts(
        &self,
        req: &Request,
        _auth: AdminToken,
        #[oai(default)] all_or_nothing: Query<bool>,
        body: PlainText<String>,
    ) -> Answer<ImportReport> {
        self.import(req, body.0, Kind::Contacts, all_or_nothing.0, false).await
    }
}
