//! Pagination cursors (RFC 9865): an opaque, tamper-evident, expiring token naming where a
//! walk resumes. The token is `base64url(payload).base64url(tag)`, every character from the
//! unreserved set of RFC 3986 as RFC 9865 §2 requires. The payload is the position (which
//! resource type of a root `.search`, the last row's sort key and id), the walk's
//! `totalResults` (counted once, on its first page) and an expiry; the tag is an HMAC-SHA256
//! over the payload *and* the query it belongs to (tenant, resource types, filter, sort),
//! under a key kept in the database: every replica on one database accepts the
//! cursors of the others, a cursor used with another query or by another tenant is refused
//! exactly as a forged one is, and nothing is kept per walk on the server.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::domain::resource::{Keyset, SortKey};

use super::error::ScimError;

/// How long a cursor stays valid (advertised as `pagination.cursorTimeout`). Long enough for
/// an agent walking a large directory over a slow link, short enough that a leaked cursor
/// soon stops working.
pub const CURSOR_TTL: Duration = Duration::from_secs(3600);

/// The tag is truncated to 128 bits: forging one is still out of reach, and cursors stay short.
const TAG_BYTES: usize = 16;

/// Where a cursor walk resumes: the index of the resource type (0 except for root
/// `.search`, which walks every type in turn) and the row after which it goes on (`None`
/// for that type's first row).
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub type_index: usize,
    pub after: Option<Keyset>,
    /// `totalResults` as counted on the walk's first page (`None` on the first page itself).
    pub total: Option<u64>,
}

impl Position {
    pub const START: Position = Position { type_index: 0, after: None, total: None };
}

/// Issues and opens cursors under one database's key.
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn tag(&self, query: &[u8], payload: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&(query.len() as u64).to_be_bytes());
        mac.update(query);
        mac.update(payload);
        mac.finalize().into_bytes()[..TAG_BYTES].to_vec()
    }

    /// A cursor for `position` in the walk identified by `query`, valid until `now + CURSOR_TTL`.
    pub fn issue(&self, query: &[u8], position: &Position, now: OffsetDateTime) -> String {
        let expires = (now + CURSOR_TTL).unix_timestamp();
        let mut payload = json!({"t": position.type_index, "x": expires});
        if let Some(total) = position.total {
            payload["n"] = json!(total);
        }
        if let Some(after) = &position.after {
            payload["id"] = json!(after.id);
            if let Some(sort) = &after.sort {
                payload["k"] = match sort {
                    SortKey::Null => Value::Null,
                    SortKey::Text(t) => json!(t),
                    SortKey::Number(n) => json!(n),
                    SortKey::Bool(b) => json!(b),
                };
            }
        }
        let payload = payload.to_string().into_bytes();
        let tag = self.tag(query, &payload);
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The position a cursor names, when it was issued by this database for this query and
    /// has not expired. An empty cursor is the first page (RFC 9865 §2).
    pub fn open(&self, query: &[u8], cursor: &str, now: OffsetDateTime) -> Result<Position, ScimError> {
        if cursor.is_empty() {
            return Ok(Position::START);
        }
        let invalid = || {
            ScimError::bad_request(
                "invalidCursor",
                "the cursor is not one this server issued for this query: send an empty cursor for the first page \
                 and then the nextCursor of the previous page, with the same filter and sort",
            )
        };
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        let expected = self.tag(query, &payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_slice(), tag.as_slice())) {
            return Err(invalid());
        }
        // Signed by us, so well-formed; still checked rather than trusted to be.
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&payload) else { return Err(invalid()) };
        let expires = fields.get("x").and_then(Value::as_i64).ok_or_else(invalid)?;
        if now.unix_timestamp() > expires {
            return Err(ScimError::bad_request(
                "expiredCursor",
                format!(
                    "the cursor has expired: a cursor is valid for {} seconds; start again with an empty cursor",
                    CURSOR_TTL.as_secs()
                ),
            ));
        }
        let type_index = fields.get("t").and_then(Value::as_u64).ok_or_else(invalid)?;
        let after = match fields.get("id") {
            None => None,
            Some(id) => {
                let id = id.as_str().ok_or_else(invalid)?.to_owned();
                let sort = match fields.get("k") {
                    None => None,
                    Some(Value::Null) => Some(SortKey::Null),
                    Some(Value::String(t)) => Some(SortKey::Text(t.clone())),
                    Some(Value::Number(n)) => Some(SortKey::Number(n.as_f64().ok_or_else(invalid)?)),
                    Some(Value::Bool(b)) => Some(SortKey::Bool(*b)),
                    Some(_) => return Err(invalid()),
                };
                Some(Keyset { sort, id })
            }
        };
        let total = fields.get("n").map(|n| n.as_u64().ok_or_else(invalid)).transpose()?;
        Ok(Position { type_index: usize::try_from(type_index).map_err(|_| invalid())?, after, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::new(b"a key for tests".to_vec())
    }

    fn position() -> Position {
        Position {
            type_index: 1,
            after: Some(Keyset { sort: Some(SortKey::Text("smith".into())), id: "0190".into() }),
            total: Some(42),
        }
    }

    #[test]
    fn round_trip_and_unreserved_characters() {
        let now = OffsetDateTime::now_utc();
        let cursor = codec().issue(b"q", &position(), now);
        assert!(cursor.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)), "{cursor}");
        assert_eq!(codec().open(b"q", &cursor, now).unwrap(), position());
        assert_eq!(codec().open(b"q", "", now).unwrap(), Position::START);
    }

    #[test]
    fn another_query_key_or_a_changed_byte_is_refused() {
        let now = OffsetDateTime::now_utc();
        let cursor = codec().issue(b"q", &position(), now);
        let scim_type = |r: Result<Position, ScimError>| r.unwrap_err().scim_type;
        assert_eq!(scim_type(codec().open(b"other query", &cursor, now)), Some("invalidCursor"));
        assert_eq!(scim_type(CursorCodec::new(b"other key".to_vec()).open(b"q", &cursor, now)), Some("invalidCursor"));
        let mut bytes = cursor.into_bytes();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(scim_type(codec().open(b"q", &tampered, now)), Some("invalidCursor"));
        assert_eq!(scim_type(codec().open(b"q", "not a cursor", now)), Some("invalidCursor"));
    }

    #[test]
    fn cursors_expire() {
        let now = OffsetDateTime::now_utc();
        let cursor = codec().issue(b"q", &position(), now);
        assert!(codec().open(b"q", &cursor, now + CURSOR_TTL).is_ok());
        let late = codec().open(b"q", &cursor, now + CURSOR_TTL + Duration::from_secs(1));
        assert_eq!(late.unwrap_err().scim_type, Some("expiredCursor"));
    }
}
