//! The case format, and the loader for the case files embedded in the binary.
//!
//! Cases are data (`conformance/cases/*.json`) so that adding one needs no new code, and so
//! that a reviewer can compare a case with the RFC section or the identity provider's document
//! it names. JSON rather than TOML because request bodies are JSON, and identity providers send
//! `null`s that TOML cannot express. Unknown fields are rejected so that a typo in a case fails
//! the loader tests instead of silently weakening an expectation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::template;

/// The case files, in the order their cases run.
const FILES: &[(&str, &str)] = &[
    ("discovery.json", include_str!("../cases/discovery.json")),
    ("users.json", include_str!("../cases/users.json")),
    ("filter.json", include_str!("../cases/filter.json")),
    ("list.json", include_str!("../cases/list.json")),
    ("patch.json", include_str!("../cases/patch.json")),
    ("etag.json", include_str!("../cases/etag.json")),
    ("groups.json", include_str!("../cases/groups.json")),
    ("errors.json", include_str!("../cases/errors.json")),
    ("okta-users.json", include_str!("../cases/okta-users.json")),
    ("okta-groups.json", include_str!("../cases/okta-groups.json")),
    ("entra-users.json", include_str!("../cases/entra-users.json")),
    ("entra-groups.json", include_str!("../cases/entra-groups.json")),
    ("bulk.json", include_str!("../cases/bulk.json")),
    ("cursors.json", include_str!("../cases/cursors.json")),
];

/// Every case must carry exactly one of these: where its expectations come from.
pub const ORIGIN_TAGS: &[&str] = &["rfc", "okta", "entra"];

/// The names `types` expectations may use.
const JSON_TYPES: &[&str] = &["string", "number", "boolean", "array", "object", "null"];

/// The methods a step may use.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One conformance case: a sequence of requests with expectations, and the requests that undo
/// whatever it created.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Stable identifier, e.g. `rfc7644-3.4.2.2-filter-eq`.
    pub id: String,
    pub title: String,
    pub source: Source,
    pub tags: Vec<String>,
    pub steps: Vec<Step>,
    /// `"METHOD path"` lines run after the steps, even when a step failed. A line whose
    /// placeholders were never captured is skipped: there is nothing to undo.
    #[serde(default)]
    pub cleanup: Vec<String>,
}

/// The document a case reproduces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// e.g. `RFC 7644 §3.4.2.2`, or the title of an identity provider's page.
    pub name: String,
    pub url: String,
}

/// One HTTP exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// `"METHOD path"`, the path relative to the base URL (or an absolute `{location}`).
    /// Paths are sent as written, after substitution, so a case controls the query encoding.
    pub request: String,
    /// What the step is for, when the request line alone does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Extra headers; they replace the defaults (Accept, Content-Type) of the same name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Auth,
    /// A JSON body, sent as `application/scim+json` unless `headers` say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A body sent byte for byte, for malformed-input cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// Variable name → `/json/pointer` or `header:Name`. Best effort: a capture that finds
    /// nothing leaves the variable unset, and the step that uses it fails saying so.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capture: BTreeMap<String, String>,
}

/// Which credentials a step presents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// `Authorization: Bearer <the configured token>`.
    #[default]
    Bearer,
    /// No Authorization header.
    None,
    /// A bearer token the server cannot know.
    Invalid,
}

/// What a response must look like. Every field is optional; all given ones must hold.
/// JSON paths are RFC 6901 pointers; values may contain placeholders.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One status, or the statuses the RFC allows (e.g. `[200, 204]` for PATCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Statuses>,
    /// The Content-Type's media type, ignoring parameters such as charset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers_present: Vec<String>,
    /// Header name → exact value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Pointer → exact JSON value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub json: BTreeMap<String, Value>,
    /// Pointer → a value it must differ from (e.g. an ignored read-only attribute).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_equal: BTreeMap<String, Value>,
    /// Pointers that must hold a non-null value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub present: Vec<String>,
    /// Pointers that must be missing, `null` or `[]` (all "unassigned", RFC 7643 §2.5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent: Vec<String>,
    /// Pointer → array length.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub length: BTreeMap<String, usize>,
    /// Pointer → elements the array must contain (objects match when they have at least the
    /// given members), in any order, since SCIM does not order multi-valued attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub includes: BTreeMap<String, Vec<Value>>,
    /// Pointer → elements the array must not contain (same matching as `includes`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub excludes: BTreeMap<String, Vec<Value>>,
    /// Pointer → JSON type (`string`, `number`, `boolean`, `array`, `object`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, String>,
    /// The body is an RFC 7644 §3.12 error whose `status` is the response status as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorExpect>,
}

/// A single status or a list of acceptable ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Statuses {
    One(u16),
    Any(Vec<u16>),
}

impl Statuses {
    pub fn as_slice(&self) -> &[u16] {
        match self {
            Statuses::One(s) => std::slice::from_ref(s),
            Statuses::Any(list) => list,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorExpect {
    /// The `scimType` the body must carry, when the RFC names one.
    #[serde(default, rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
}

/// Splits a `"METHOD path"` line. The path may contain spaces (filters read better unencoded;
/// the HTTP client percent-encodes them).
pub fn request_line(line: &str) -> Result<(&str, &str), String> {
    match line.split_once(' ') {
        Some((method, path)) if METHODS.contains(&method) && (path.starts_with('/') || path.starts_with('{')) => {
            Ok((method, path))
        }
        _ => Err(format!("`{line}` is not \"METHOD /path\" with one of {METHODS:?}")),
    }
}

/// Parses and checks every embedded case file.
pub fn load() -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for (file, text) in FILES {
        let parsed: Vec<Case> = serde_json::from_str(text).map_err(|e| format!("cases/{file}: {e}"))?;
        cases.extend(parsed);
    }
    let problems = validate(&cases);
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems.join("\n"))
    }
}

/// The rules a case file can break without failing to parse.
pub fn validate(cases: &[Case]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for case in cases {
        let mut problem = |text: String| problems.push(format!("{}: {text}", case.id));
        if case.id.is_empty()
            || !case.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c))
        {
            problem("id must be lower-case letters, digits, dots and dashes".into());
        }
        if !ids.insert(case.id.as_str()) {
            problem("duplicate id".into());
        }
        if case.title.trim().is_empty() || case.source.name.trim().is_empty() {
            problem("needs a title and a source name".into());
        }
        if !case.source.url.starts_with("https://") {
            problem("source url must be an https:// link".into());
        }
        if case.tags.iter().filter(|t| ORIGIN_TAGS.contains(&t.as_str())).count() != 1 {
            problem(format!("needs exactly one of the tags {ORIGIN_TAGS:?}"));
        }
        if case.tags.len() < 2 {
            problem("needs a topic tag besides its origin".into());
        }
        if case.steps.is_empty() {
            problem("has no steps".into());
        }
        let mut captured: BTreeSet<&str> = template::BUILTINS.iter().copied().collect();
        for (n, step) in case.steps.iter().enumerate() {
            let mut step_problem = |text: String| problem(format!("step {}: {text}", n + 1));
            if let Err(e) = request_line(&step.request) {
                step_problem(e);
            }
            if step.body.is_some() && step.raw_body.is_some() {
                step_problem("has both body and raw_body".into());
            }
            if step.expect.status.is_none() {
                step_problem("has no status expectation".into());
            }
            for text in expect_problems(&step.expect) {
                step_problem(text);
            }
            for name in request_names(step) {
                if !captured.contains(name) {
                    step_problem(format!("uses {{{name}}} before any step captures it"));
                }
            }
            for (var, source) in &step.capture {
                if !(source.starts_with('/') || source.starts_with("header:")) {
                    step_problem(format!("capture {var} must be a /pointer or header:Name"));
                }
                captured.insert(var.as_str());
            }
            // Expectations may use what this very step captured (e.g. meta.version = ETag).
            for name in expect_names(&step.expect) {
                if !captured.contains(name) {
                    step_problem(format!("expects {{{name}}}, which no step captures"));
                }
            }
        }
        for line in &case.cleanup {
            if let Err(e) = request_line(line) {
                problem(format!("cleanup: {e}"));
            }
            for name in template::names(line) {
                if !captured.contains(name) {
                    problem(format!("cleanup uses {{{name}}}, which no step captures"));
                }
            }
        }
        for var in created_vars(case) {
            if !case.cleanup.iter().any(|line| line.starts_with("DELETE ") && line.contains(&format!("{{{var}}}"))) {
                problem(format!("creates {{{var}}} but has no cleanup line deleting it"));
            }
        }
    }
    problems
}

/// JSON pointers that are not pointers, and type names the checker does not know.
fn expect_problems(e: &Expect) -> Vec<String> {
    let pointers = e.json.keys().chain(e.not_equal.keys()).chain(&e.present).chain(&e.absent);
    let pointers =
        pointers.chain(e.length.keys()).chain(e.includes.keys()).chain(e.excludes.keys()).chain(e.types.keys());
    let mut problems: Vec<String> =
        pointers.filter(|p| !p.starts_with('/')).map(|p| format!("`{p}` is not a JSON pointer (/a/b)")).collect();
    for (pointer, name) in &e.types {
        if !JSON_TYPES.contains(&name.as_str()) {
            problems.push(format!("type of {pointer} must be one of {JSON_TYPES:?}, not {name}"));
        }
    }
    problems
}

/// Every placeholder a step's request uses.
fn request_names(step: &Step) -> Vec<&str> {
    let mut names = template::names(&step.request);
    names.extend(step.headers.values().flat_map(|v| template::names(v)));
    names.extend(step.body.iter().flat_map(template::json_names));
    names.extend(step.raw_body.iter().flat_map(|raw| template::names(raw)));
    names
}

/// Every placeholder a step's expectations use.
fn expect_names(e: &Expect) -> Vec<&str> {
    let mut names: Vec<&str> = e.headers.values().flat_map(|v| template::names(v)).collect();
    names.extend(e.json.values().chain(e.not_equal.values()).flat_map(template::json_names));
    names.extend(e.includes.values().chain(e.excludes.values()).flatten().flat_map(template::json_names));
    names
}

/// Variables holding the id of something a POST to a collection created: each needs a DELETE.
fn created_vars(case: &Case) -> Vec<&str> {
    let creates = |step: &&Step| {
        request_line(&step.request).is_ok_and(|(method, path)| {
            let collection = path.split('?').next().unwrap_or_default();
            method == "POST" && (collection.ends_with("/Users") || collection.ends_with("/Groups"))
        })
    };
    case.steps
        .iter()
        .filter(creates)
        .flat_map(|step| step.capture.iter().filter(|(_, source)| *source == "/id").map(|(var, _)| var.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_file_parses_and_validates() {
        let cases = load().unwrap_or_else(|problems| panic!("{problems}"));
        assert!(cases.len() > 60, "only {} cases", cases.len());
    }

    #[test]
    fn ids_are_unique_and_every_case_names_a_source_and_tags() {
        let cases = load().unwrap();
        let ids: BTreeSet<_> = cases.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), cases.len());
        for case in &cases {
            assert!(!case.source.name.is_empty() && case.source.url.starts_with("https://"), "{}", case.id);
            assert!(case.tags.len() >= 2, "{}", case.id);
        }
    }

    #[test]
    fn every_origin_has_cases() {
        let cases = load().unwrap();
        for origin in ORIGIN_TAGS {
            assert!(cases.iter().any(|c| c.tags.iter().any(|t| t == origin)), "no {origin} case");
        }
    }

    fn case(json: &str) -> Case {
        serde_json::from_str(json).unwrap()
    }

    const GOOD: &str = r#"{
        "id": "x-1", "title": "t", "source": {"name": "RFC", "url": "https://example.org"},
        "tags": ["rfc", "users"],
        "steps": [{"request": "POST /Users", "body": {"userName": "{uuid}"},
                   "expect": {"status": 201}, "capture": {"user": "/id"}},
                  {"request": "GET /Users/{user}", "expect": {"status": 200}}],
        "cleanup": ["DELETE /Users/{user}"]
    }"#;

    #[test]
    fn a_well_formed_case_has_no_problems() {
        assert_eq!(validate(&[case(GOOD)]), Vec::<String>::new());
    }

    #[test]
    fn catches_a_missing_cleanup() {
        let mut c = case(GOOD);
        c.cleanup.clear();
        assert_eq!(validate(&[c]), vec!["x-1: creates {user} but has no cleanup line deleting it"]);
    }

    #[test]
    fn catches_a_placeholder_used_before_it_is_captured() {
        let mut c = case(GOOD);
        c.steps.swap(0, 1);
        assert!(validate(&[c])[0].contains("uses {user} before any step captures it"));
    }

    #[test]
    fn catches_duplicate_ids_bad_request_lines_and_missing_tags() {
        let mut bad = case(GOOD);
        bad.steps[1].request = "FETCH /Users".into();
        bad.tags = vec!["users".into()];
        let problems = validate(&[case(GOOD), bad]);
        assert!(problems.iter().any(|p| p.contains("duplicate id")));
        assert!(problems.iter().any(|p| p.contains("is not \"METHOD /path\"")));
        assert!(problems.iter().any(|p| p.contains("needs exactly one of the tags")));
    }

    #[test]
    fn catches_malformed_pointers_and_type_names() {
        let mut c = case(GOOD);
        c.steps[1].expect.present.push("totalResults".into());
        c.steps[1].expect.types.insert("/id".into(), "integer".into());
        let problems = validate(&[c]);
        assert!(problems[0].contains("`totalResults` is not a JSON pointer"), "{problems:?}");
        assert!(problems[1].contains("type of /id must be one of"), "{problems:?}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let typo = GOOD.replace("\"expect\": {\"status\": 200}", "\"expcet\": {\"status\": 200}");
        assert!(serde_json::from_str::<Case>(&typo).is_err());
    }

    #[test]
    fn status_is_one_or_many() {
        let s: Statuses = serde_json::from_str("[200, 204]").unwrap();
        assert_eq!(s.as_slice(), &[200, 204]);
        let s: Statuses = serde_json::from_str("201").unwrap();
        assert_eq!(s.as_slice(), &[201]);
    }
}
