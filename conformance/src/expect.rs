//! Checking a response against a step's expectations, and capturing values from it.
//!
//! Pure functions over a [`Response`] snapshot, so they are tested without a server. Every
//! expectation is checked and every failure reported, because "expected 404, got 200" is
//! much easier to act on next to "and the body has no `schemas`".

use serde_json::Value;

use crate::case::Expect;
use crate::template::{Unbound, Vars};

/// The SCIM error message schema (RFC 7644 §3.12).
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What the runner keeps of an HTTP response.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// Header names as received; looked up case-insensitively.
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
}

impl Response {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        let json = serde_json::from_str(&body).ok();
        Self { status, headers, body, json }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The start of the body, for failure messages.
    pub fn body_excerpt(&self) -> String {
        excerpt(&self.body, 400)
    }
}

/// Stores each capture that finds something; see [`crate::case::Step::capture`].
pub fn capture<'a>(captures: impl IntoIterator<Item = (&'a String, &'a String)>, response: &Response, vars: &mut Vars) {
    for (var, source) in captures {
        let value = match source.strip_prefix("header:") {
            Some(name) => response.header(name).map(str::to_owned),
            None => response.json.as_ref().and_then(|json| json.pointer(source)).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }),
        };
        if let Some(value) = value {
            vars.set(var, value);
        }
    }
}

/// Every way `response` falls short of `expect`; empty when it meets it.
pub fn check(expect: &Expect, response: &Response, vars: &Vars) -> Result<Vec<String>, Unbound> {
    let mut failures = Vec::new();
    let mut fail = |text: String| failures.push(text);

    if let Some(statuses) = &expect.status {
        let allowed = statuses.as_slice();
        if !allowed.contains(&response.status) {
            let wanted = allowed.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ");
            fail(format!("expected status {wanted}, got {}", response.status));
        }
    }
    if let Some(wanted) = &expect.media_type {
        let got = response.header("content-type").unwrap_or("");
        let essence = got.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case(wanted) {
            fail(format!("expected Content-Type {wanted}, got {}", or_none(got)));
        }
    }
    for name in &expect.headers_present {
        if response.header(name).is_none() {
            fail(format!("expected header {name}, got none"));
        }
    }
    for (name, wanted) in &expect.headers {
        let wanted = vars.substitute(wanted)?;
        match response.header(name) {
            Some(got) if got == wanted => {}
            got => fail(format!("expected header {name}: {wanted}, got {}", or_none(got.unwrap_or("")))),
        }
    }

    let has_json_expectations = !(expect.json.is_empty()
        && expect.not_equal.is_empty()
        && expect.present.is_empty()
        && expect.absent.is_empty()
        && expect.length.is_empty()
        && expect.includes.is_empty()
        && expect.excludes.is_empty()
        && expect.types.is_empty()
        && expect.error.is_none());
    let Some(json) = &response.json else {
        if has_json_expectations {
            fail(format!("expected a JSON body, got {}", or_none(&response.body_excerpt())));
        }
        return Ok(failures);
    };
    let at = |pointer: &str| json.pointer(pointer);

    for (pointer, wanted) in &expect.json {
        let wanted = vars.substitute_json(wanted)?;
        if at(pointer) != Some(&wanted) {
            fail(format!("expected {pointer} = {}, got {}", show(Some(&wanted)), show(at(pointer))));
        }
    }
    for (pointer, unwanted) in &expect.not_equal {
        let unwanted = vars.substitute_json(unwanted)?;
        if at(pointer) == Some(&unwanted) {
            fail(format!("expected {pointer} to differ from {}, but it does not", show(Some(&unwanted))));
        }
    }
    for pointer in &expect.present {
        if matches!(at(pointer), None | Some(Value::Null)) {
            fail(format!("expected {pointer} to be present, got {}", show(at(pointer))));
        }
    }
    for pointer in &expect.absent {
        if !unassigned(at(pointer)) {
            fail(format!("expected {pointer} to be absent, got {}", show(at(pointer))));
        }
    }
    for (pointer, wanted) in &expect.length {
        match at(pointer) {
            Some(Value::Array(items)) if items.len() == *wanted => {}
            Some(Value::Array(items)) => {
                fail(format!("expected {pointer} to have {wanted} items, got {}", items.len()))
            }
            // An absent or null multi-valued attribute is an empty one (RFC 7643 §2.5).
            None | Some(Value::Null) if *wanted == 0 => {}
            other => fail(format!("expected {pointer} to be an array of {wanted} items, got {}", show(other))),
        }
    }
    for (pointer, elements) in &expect.includes {
        for element in elements {
            let element = vars.substitute_json(element)?;
            if !array_has(at(pointer), &element) {
                fail(format!("expected {pointer} to include {}, got {}", show(Some(&element)), show(at(pointer))));
            }
        }
    }
    for (pointer, elements) in &expect.excludes {
        for element in elements {
            let element = vars.substitute_json(element)?;
            if array_has(at(pointer), &element) {
                fail(format!("expected {pointer} not to include {}, got {}", show(Some(&element)), show(at(pointer))));
            }
        }
    }
    for (pointer, wanted) in &expect.types {
        let got = at(pointer).map(type_name).unwrap_or("nothing");
        if got != wanted {
            fail(format!("expected {pointer} to be a {wanted}, got {got} {}", show(at(pointer))));
        }
    }
    if let Some(error) = &expect.error {
        if !array_has(json.pointer("/schemas"), &Value::from(ERROR_SCHEMA)) {
            fail(format!(
                "expected an error body with schemas [{ERROR_SCHEMA}], got {}",
                show(json.pointer("/schemas"))
            ));
        }
        // RFC 7644 §3.12: "status" is the HTTP status code "expressed as a JSON string".
        let status = Value::from(response.status.to_string());
        if json.pointer("/status") != Some(&status) {
            fail(format!("expected error /status = {}, got {}", show(Some(&status)), show(json.pointer("/status"))));
        }
        if let Some(scim_type) = &error.scim_type {
            let wanted = Value::from(scim_type.as_str());
            if json.pointer("/scimType") != Some(&wanted) {
                fail(format!("expected scimType {scim_type}, got {}", show(json.pointer("/scimType"))));
            }
        }
    }
    Ok(failures)
}

/// Missing, `null` and `[]` are all "unassigned" (RFC 7643 §2.5).
fn unassigned(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(_) => false,
    }
}

fn array_has(array: Option<&Value>, element: &Value) -> bool {
    matches!(array, Some(Value::Array(items)) if items.iter().any(|item| subset(element, item)))
}

/// Objects match when `actual` has every member of `wanted` (recursively); anything else must
/// be equal. Lets a case say "a member with this value" without knowing `display` or `$ref`.
fn subset(wanted: &Value, actual: &Value) -> bool {
    match (wanted, actual) {
        (Value::Object(w), Value::Object(a)) => w.iter().all(|(k, v)| a.get(k).is_some_and(|got| subset(v, got))),
        _ => wanted == actual,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing".to_owned(), |v| excerpt(&v.to_string(), 200))
}

fn or_none(text: &str) -> String {
    if text.is_empty() {
        "nothing".to_owned()
    } else {
        text.to_owned()
    }
}

fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn expect(json: Value) -> Expect {
        serde_json::from_value(json).unwrap()
    }

    fn response(status: u16, body: Value) -> Response {
        let headers = vec![
            ("Content-Type".to_owned(), "application/scim+json; charset=utf-8".to_owned()),
            ("ETag".to_owned(), "W/\"1\"".to_owned()),
        ];
        Response::new(status, headers, body.to_string())
    }

    fn vars() -> Vars {
        let mut vars = Vars::default();
        vars.set("id", "u1");
        vars
    }

    fn failures(e: Value, r: &Response) -> Vec<String> {
        check(&expect(e), r, &vars()).unwrap()
    }

    #[test]
    fn status_media_type_and_headers() {
        let r = response(201, json!({}));
        assert!(failures(json!({"status": [200, 201], "media_type": "application/scim+json"}), &r).is_empty());
        assert!(failures(json!({"headers_present": ["etag"], "headers": {"ETag": "W/\"1\""}}), &r).is_empty());
        assert_eq!(failures(json!({"status": [200, 204]}), &r), vec!["expected status 200 or 204, got 201"]);
        assert_eq!(failures(json!({"headers_present": ["Location"]}), &r), vec!["expected header Location, got none"]);
        assert_eq!(failures(json!({"media_type": "application/json"}), &r).len(), 1);
    }

    #[test]
    fn json_values_with_placeholders() {
        let r = response(200, json!({"id": "u1", "totalResults": 1, "name": {"givenName": "A"}}));
        assert!(failures(json!({"json": {"/id": "{id}", "/totalResults": 1}}), &r).is_empty());
        assert_eq!(
            failures(json!({"json": {"/name/givenName": "B"}}), &r),
            vec![r#"expected /name/givenName = "B", got "A""#]
        );
        assert!(failures(json!({"not_equal": {"/id": "client-chosen"}}), &r).is_empty());
        assert_eq!(failures(json!({"not_equal": {"/id": "{id}"}}), &r).len(), 1);
    }

    #[test]
    fn unbound_placeholders_in_expectations_are_errors() {
        let r = response(200, json!({}));
        assert!(check(&expect(json!({"json": {"/id": "{nope}"}})), &r, &vars()).is_err());
    }

    #[test]
    fn present_absent_and_length() {
        let r = response(200, json!({"a": 1, "n": null, "e": [], "list": [1, 2]}));
        assert!(failures(json!({"present": ["/a"], "absent": ["/n", "/e", "/missing"]}), &r).is_empty());
        assert_eq!(failures(json!({"present": ["/n"], "absent": ["/a"]}), &r).len(), 2);
        assert!(failures(json!({"length": {"/list": 2, "/e": 0, "/missing": 0}}), &r).is_empty());
        assert_eq!(failures(json!({"length": {"/list": 3}}), &r), vec!["expected /list to have 3 items, got 2"]);
    }

    #[test]
    fn includes_matches_objects_by_subset_in_any_order() {
        let r = response(200, json!({"members": [{"value": "u2", "display": "B"}, {"value": "u1", "$ref": "x"}]}));
        assert!(failures(json!({"includes": {"/members": [{"value": "{id}"}, {"value": "u2"}]}}), &r).is_empty());
        assert!(failures(json!({"excludes": {"/members": [{"value": "u3"}]}}), &r).is_empty());
        assert_eq!(failures(json!({"excludes": {"/members": [{"value": "u1"}]}}), &r).len(), 1);
        assert_eq!(failures(json!({"includes": {"/nothing": ["x"]}}), &r).len(), 1);
    }

    #[test]
    fn types() {
        let r = response(200, json!({"totalResults": 1, "startIndex": "1"}));
        assert!(failures(json!({"types": {"/totalResults": "number"}}), &r).is_empty());
        assert_eq!(
            failures(json!({"types": {"/startIndex": "number"}}), &r),
            vec![r#"expected /startIndex to be a number, got string "1""#]
        );
    }

    #[test]
    fn scim_error_bodies() {
        let good = response(
            400,
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "scimType": "invalidFilter", "detail": "bad"}),
        );
        assert!(failures(json!({"error": {"scimType": "invalidFilter"}}), &good).is_empty());
        assert_eq!(
            failures(json!({"error": {"scimType": "invalidValue"}}), &good),
            vec![r#"expected scimType invalidValue, got "invalidFilter""#]
        );
        // Status as a number, as some servers (and Okta's own examples) send it.
        let numeric = response(404, json!({"schemas": [ERROR_SCHEMA], "status": 404}));
        assert_eq!(failures(json!({"error": {}}), &numeric), vec![r#"expected error /status = "404", got 404"#]);
    }

    #[test]
    fn json_expectations_on_a_non_json_body_fail_once() {
        let r = Response::new(500, vec![], "<html>oops</html>".into());
        assert_eq!(
            failures(json!({"present": ["/id"], "absent": ["/x"]}), &r),
            vec!["expected a JSON body, got <html>oops</html>"]
        );
        let empty = Response::new(204, vec![], String::new());
        assert!(failures(json!({"status": 204}), &empty).is_empty());
    }

    #[test]
    fn captures_strings_numbers_and_headers_but_not_nulls() {
        let r = response(200, json!({"id": "u9", "n": 3, "gone": null}));
        let mut vars = Vars::default();
        let captures = [
            ("id".to_owned(), "/id".to_owned()),
            ("n".to_owned(), "/n".to_owned()),
            ("etag".to_owned(), "header:etag".to_owned()),
            ("gone".to_owned(), "/gone".to_owned()),
            ("loc".to_owned(), "header:Location".to_owned()),
        ];
        capture(captures.iter().map(|(a, b)| (a, b)), &r, &mut vars);
        assert_eq!(vars.get("id"), Some("u9"));
        assert_eq!(vars.get("n"), Some("3"));
        assert_eq!(vars.get("etag"), Some("W/\"1\""));
        assert_eq!(vars.get("gone"), None);
        assert_eq!(vars.get("loc"), None);
    }
}
