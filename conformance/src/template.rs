//! `{name}` placeholders in request lines, headers, bodies and expected values.
//!
//! A case names values it cannot know when it is written: a `{uuid}` that is fresh for every
//! run of the case (so the suite can be rerun against a live server without colliding with
//! its own leftovers), the `{base}` URL, and ids or ETags captured from earlier responses.
//! Only `{identifier}` is a placeholder; any other brace (a raw JSON body) is left alone.

use std::collections::BTreeMap;

use serde_json::Value;

/// Names every case may use without capturing them first.
pub const BUILTINS: &[&str] = &["uuid", "UUID", "base"];

/// A placeholder that has no value: a typo, or a capture that found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{{{0}}} has no value (not a built-in, and no earlier step captured it)")]
pub struct Unbound(pub String);

/// The values placeholders stand for during one run of one case.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    /// The built-ins for a fresh run: `{uuid}` (lower case), `{UUID}` (the same, upper case,
    /// for case-insensitivity checks) and `{base}` (the base URL without a trailing slash).
    pub fn for_case(base_url: &str) -> Self {
        let uuid = uuid::Uuid::new_v4().to_string();
        let mut vars = Self::default();
        vars.set("UUID", uuid.to_uppercase());
        vars.set("uuid", uuid);
        vars.set("base", base_url.trim_end_matches('/'));
        vars
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_owned(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every `{name}` in `text`.
    pub fn substitute(&self, text: &str) -> Result<String, Unbound> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, name, after)) = next_placeholder(rest) {
            out.push_str(before);
            out.push_str(self.get(name).ok_or_else(|| Unbound(name.to_owned()))?);
            rest = after;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Replaces placeholders in every string of a JSON value (keys are left as written).
    pub fn substitute_json(&self, value: &Value) -> Result<Value, Unbound> {
        Ok(match value {
            Value::String(s) => Value::String(self.substitute(s)?),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.substitute_json(v)).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => Value::Object(
                map.iter().map(|(k, v)| Ok((k.clone(), self.substitute_json(v)?))).collect::<Result<_, Unbound>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// Every placeholder name in `text`, in order (used by the loader to check cases statically).
pub fn names(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some((_, name, after)) = next_placeholder(rest) {
        found.push(name);
        rest = after;
    }
    found
}

/// Every placeholder name in the strings of a JSON value.
pub fn json_names(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => names(s),
        Value::Array(items) => items.iter().flat_map(json_names).collect(),
        Value::Object(map) => map.values().flat_map(json_names).collect(),
        _ => Vec::new(),
    }
}

/// Finds the first `{identifier}`: returns the text before it, the name, and the text after.
fn next_placeholder(text: &str) -> Option<(&str, &str, &str)> {
    let mut search_from = 0;
    while let Some(open) = text[search_from..].find('{').map(|i| i + search_from) {
        let after_open = &text[open + 1..];
        let len = after_open.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after_open.len());
        if len > 0 && after_open[len..].starts_with('}') {
            return Some((&text[..open], &after_open[..len], &after_open[len + 1..]));
        }
        search_from = open + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars() -> Vars {
        let mut vars = Vars::default();
        vars.set("uuid", "abc");
        vars.set("id", "42");
        vars
    }

    #[test]
    fn substitutes_every_placeholder() {
        assert_eq!(vars().substitute("/Users/{id}?x={uuid}-{uuid}").unwrap(), "/Users/42?x=abc-abc");
    }

    #[test]
    fn leaves_braces_that_are_not_placeholders() {
        let raw = r#"{"schemas": [ {not a name} {} {"#;
        assert_eq!(vars().substitute(raw).unwrap(), raw);
        assert!(names(raw).is_empty());
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(vars().substitute("/Users/{user}"), Err(Unbound("user".into())));
    }

    #[test]
    fn builtins_are_fresh_and_consistent() {
        let a = Vars::for_case("http://h/scim/v2/");
        let b = Vars::for_case("http://h/scim/v2");
        assert_ne!(a.get("uuid"), b.get("uuid"));
        assert_eq!(a.get("UUID").unwrap(), a.get("uuid").unwrap().to_uppercase());
        assert_eq!(a.get("base"), Some("http://h/scim/v2"));
    }

    #[test]
    fn substitutes_inside_json_strings_only() {
        let body = json!({"userName": "u-{uuid}", "members": [{"value": "{id}"}], "active": true, "{id}": 1});
        let out = vars().substitute_json(&body).unwrap();
        assert_eq!(out, json!({"userName": "u-abc", "members": [{"value": "42"}], "active": true, "{id}": 1}));
        assert_eq!(json_names(&body), vec!["uuid", "id"]);
    }
}
