//! Small pieces of HTTP shared by the handlers: reading a JSON body, the base URL, ETag
//! headers, and writing `application/scim+json` answers.

use poem::http::{HeaderMap, StatusCode};
use poem::{Request, Response};
use serde_json::Value;

use crate::domain::resource::{Precondition, VersionSet};

use super::error::ScimError;
use super::SCIM_MEDIA_TYPE;

/// Reads the body as JSON, refusing it when larger than `limit` bytes.
pub async fn json_body(req: &mut Request, limit: usize) -> Result<Value, ScimError> {
    if let Some(ParsedBody(body)) = req.extensions_mut().remove::<ParsedBody>() {
        // The same limit, on the body as it would be sent: counted, not written out.
        return if json_len(&body) > limit { Err(too_large(limit)) } else { Ok(body) };
    }
    // Refuse a declared oversize body before reading it; a chunked one is cut off at the limit.
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let bytes = match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return Err(too_large(limit)),
        Err(e) => return Err(super::error::from_poem(&e.into())),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::bad_request("invalidSyntax", "the request body is empty"));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::bad_request("invalidSyntax", format!("the request body is not valid JSON: {e}")))
}

/// A body its sender already parsed, which [`json_body`] answers instead of the request's
/// bytes: a Bulk operation's `data` goes to the single-resource handler as it is, rather than
/// serialized to be parsed again (a tenth of a Bulk create's instructions).
#[derive(Clone)]
pub struct ParsedBody(pub Value);

fn too_large(limit: usize) -> ScimError {
    ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, format!("the request body is larger than {limit} bytes"))
}

/// The length of `value` as compact JSON.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Counting cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The SCIM base URL as the client reached it, unless configured.
pub fn base_url(req: &Request, configured: Option<&str>) -> String {
    if let Some(base) = configured {
        return base.trim_end_matches('/').to_owned();
    }
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host").or_else(|| header("host")).unwrap_or("localhost");
    format!("{scheme}://{host}/scim/v2")
}

/// Parses `If-Match`/`If-None-Match` into versions. Unknown tags simply match nothing.
fn version_set(headers: &HeaderMap, name: &str) -> Option<VersionSet> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    if values.is_empty() {
        return None;
    }
    let mut versions = Vec::new();
    for tag in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if tag == "*" {
            return Some(VersionSet::Any);
        }
        let bare = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
        if let Ok(v) = bare.parse() {
            versions.push(v);
        }
    }
    Some(VersionSet::Listed(versions))
}

pub fn precondition(req: &Request) -> Precondition {
    Precondition {
        if_match: version_set(req.headers(), "if-match"),
        if_none_match: version_set(req.headers(), "if-none-match"),
    }
}

/// A SCIM JSON answer.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    Response::builder().status(status).content_type(SCIM_MEDIA_TYPE).body(json_bytes(body))
}

/// A JSON body as bytes, written straight into a buffer (`to_string` goes through
/// `fmt::Display`, a formatter call per token: it showed in profiles of every answer).
fn json_bytes(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

/// A resource answer with its `ETag` (and `Location` on 201).
pub fn resource_response(status: StatusCode, body: Vec<u8>, etag: &str, location: Option<&str>) -> Response {
    let mut builder = Response::builder().status(status).content_type(SCIM_MEDIA_TYPE).header("ETag", etag);
    if let Some(location) = location {
        builder = builder.header("Location", location);
    }
    builder.body(body)
}
