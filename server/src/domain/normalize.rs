//! Turns a client's resource body (POST, PUT) or a PATCH value into the stored shape: names
//! spelled as in the schema, extension attributes under their exact URN, values coerced to
//! the schema's types. Lenient where identity providers are quirky (unknown attributes are
//! dropped, `"False"` is a boolean), strict where a value cannot mean anything (an object
//! given for a string).

use serde_json::{Map, Number, Value};

use super::schema::{AttrDef, AttrType, Mutability, ResourceType};
use super::{Error, Result};

/// A group member as a client names it. `kind` and `display` are kept as sent: storage
/// works out what the member really is, and clients compare what they get back with what
/// they sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    pub value: String,
    /// The `type` the client gave (`User` or `Group`), if any.
    pub kind: Option<String>,
    pub display: Option<String>,
}

/// A resource body in stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    pub data: Map<String, Value>,
    /// Groups only: `Some` when the body had `members` (possibly empty).
    pub members: Option<Vec<MemberRef>>,
}

/// Normalises a POST/PUT body of a `rt` resource. Unknown attributes and schemas are
/// dropped, as are read-only ones (`id`, `meta`, `groups`, `schemas`); required attributes
/// must be present.
pub fn normalize(rt: ResourceType, input: &Value) -> Result<Normalized> {
    let Value::Object(input) = input else {
        return Err(Error::InvalidSyntax("the resource must be a JSON object".into()));
    };
    let mut data = Map::new();
    let mut members = None;
    for (key, value) in input {
        if let Some(ext) = rt.extension(key) {
            let Some(attrs) = extension_object(ext.id, value)? else { continue };
            for (key, value) in attrs {
                let (name, sub) = split_sub(key);
                if let Some(found) = rt.resolve(Some(ext.id), name) {
                    put(object_entry(&mut data, ext.id), found.def, sub, value)?;
                }
            }
            continue;
        }
        let (urn, rest) = split_urn(key);
        let (name, sub) = split_sub(rest);
        let Some(found) = rt.resolve(urn, name) else { continue };
        if rt == ResourceType::Group && found.schema.is_none() && found.def.name == "members" {
            if sub.is_none() {
                members = Some(parse_members(value)?);
            }
            continue;
        }
        match found.schema {
            Some(ext) => put(object_entry(&mut data, ext.id), found.def, sub, value)?,
            None => put(&mut data, found.def, sub, value)?,
        }
    }
    data.retain(|_, v| !v.as_object().is_some_and(Map::is_empty));
    check_required(rt, &data)?;
    Ok(Normalized { data, members })
}

/// Normalises one attribute value against its definition: `None` when the value is
/// unassigned (`null`, `[]`, an object with nothing in it). A single value given for a
/// multi-valued attribute is wrapped into an array.
pub fn normalize_value(def: &AttrDef, value: &Value) -> Result<Option<Value>> {
    if !def.multi_valued {
        return normalize_element(def, value);
    }
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_element(def, item)? {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// Normalises one value of `def` (one element when `def` is multi-valued).
pub(crate) fn normalize_element(def: &AttrDef, value: &Value) -> Result<Option<Value>> {
    match value {
        Value::Null => Ok(None),
        _ if def.ty == AttrType::Complex => complex(def, value),
        Value::Object(_) | Value::Array(_) => Err(invalid(def, "a single simple value", value)),
        _ => simple(def, value).map(Some),
    }
}

fn complex(def: &AttrDef, value: &Value) -> Result<Option<Value>> {
    let value_sub = def.sub("value");
    let mut out = Map::new();
    match value {
        Value::Object(obj) => {
            for (key, v) in obj {
                let Some(sub) = def.sub(key) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_value(sub, v)? {
                    out.insert(sub.name.to_owned(), v);
                }
            }
        }
        Value::Array(items) if !def.multi_valued => {
            // Some clients wrap a single complex value (the manager) in an array of one.
            return match items.as_slice() {
                [] => Ok(None),
                [one] => complex(def, one),
                _ => Err(invalid(def, "a single object", value)),
            };
        }
        Value::Array(_) => return Err(invalid(def, "an object", value)),
        // `"manager": "123"`, `"roles": ["admin"]`: the scalar is the element's value.
        scalar => match value_sub {
            Some(sub) => {
                out.insert(sub.name.to_owned(), simple(sub, scalar)?);
            }
            None => return Err(invalid(def, "an object", value)),
        },
    }
    // A single-valued reference (the manager) without a value points at nobody.
    if !def.multi_valued && value_sub.is_some() && out.get("value").is_none_or(is_blank) {
        return Ok(None);
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

fn simple(def: &AttrDef, value: &Value) -> Result<Value> {
    match def.ty {
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            // Entra sends `"active": "False"`.
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(invalid(def, "a boolean", value)),
        },
        AttrType::Integer => {
            let n = match value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.map(Value::from).ok_or_else(|| invalid(def, "an integer", value))
        }
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| invalid(def, "a number", value)),
            _ => Err(invalid(def, "a number", value)),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(invalid(def, "a string", value)),
        },
        AttrType::Complex => Err(invalid(def, "an object", value)),
    }
}

fn invalid(def: &AttrDef, expected: &str, got: &Value) -> Error {
    let mut shown = got.to_string();
    if shown.len() > 60 {
        let cut = (0..=57).rev().find(|&i| shown.is_char_boundary(i)).unwrap_or(0);
        shown.truncate(cut);
        shown.push_str("...");
    }
    Error::InvalidValue(format!("attribute `{}` must be {expected}, got {shown}", def.name))
}

fn is_blank(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim().is_empty())
}

/// Stores one attribute (or, for a dotted key like `name.givenName`, one sub-attribute of a
/// single-valued complex attribute) in `container`. Read-only and unknown ones are dropped.
fn put(container: &mut Map<String, Value>, def: &AttrDef, sub: Option<&str>, value: &Value) -> Result<()> {
    if def.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let Some(sub) = sub else {
        match normalize_value(def, value)? {
            Some(v) => container.insert(def.name.to_owned(), v),
            None => container.remove(def.name),
        };
        return Ok(());
    };
    let Some(sub) = def.sub(sub).filter(|s| !def.multi_valued && s.mutability != Mutability::ReadOnly) else {
        return Ok(());
    };
    let parent = object_entry(container, def.name);
    match normalize_value(sub, value)? {
        Some(v) => parent.insert(sub.name.to_owned(), v),
        None => parent.remove(sub.name),
    };
    if parent.is_empty() {
        container.remove(def.name);
    }
    Ok(())
}

/// The attributes of an extension given as `"urn:...": {...}`; `None` for `null`.
pub(crate) fn extension_object<'a>(urn: &str, value: &'a Value) -> Result<Option<&'a Map<String, Value>>> {
    match value {
        Value::Null => Ok(None),
        Value::Object(attrs) => Ok(Some(attrs)),
        _ => Err(Error::InvalidValue(format!("the extension `{urn}` must be a JSON object"))),
    }
}

/// Parses group members: an array of `{"value": id, "type": ..., "display": ...}` (a single
/// object or a bare id is accepted too). `$ref` is the server's to say, so it is dropped;
/// a member listed twice is kept once.
pub(crate) fn parse_members(value: &Value) -> Result<Vec<MemberRef>> {
    let items = match value {
        Value::Null => &[][..],
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    let text = |obj: &Map<String, Value>, name: &str| {
        get_ci(obj, name).and_then(Value::as_str).filter(|s| !s.trim().is_empty()).map(str::to_owned)
    };
    let mut out: Vec<MemberRef> = Vec::with_capacity(items.len());
    for item in items {
        let member = match item {
            Value::String(id) => Some(MemberRef { value: id.clone(), kind: None, display: None }),
            Value::Object(obj) => text(obj, "value").map(|value| MemberRef {
                value,
                kind: text(obj, "type"),
                display: text(obj, "display"),
            }),
            _ => None,
        };
        let Some(member) = member.filter(|m| !m.value.trim().is_empty()) else {
            return Err(Error::InvalidValue("each member needs a non-empty string `value`".into()));
        };
        if !out.iter().any(|m| m.value == member.value) {
            out.push(member);
        }
    }
    Ok(out)
}

/// Fails unless every required attribute of `rt`'s core schema is a non-blank string.
pub(crate) fn check_required(rt: ResourceType, data: &Map<String, Value>) -> Result<()> {
    for def in rt.core().attributes.iter().filter(|a| a.required) {
        if data.get(def.name).is_none_or(|v| !v.is_string() || is_blank(v)) {
            return Err(Error::InvalidValue(format!("`{}` is required and must not be empty", def.name)));
        }
    }
    Ok(())
}

/// Looks a key up exactly, then case-insensitively.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The object under `key`, created (or replacing a non-object) when missing.
pub(crate) fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(obj) => obj,
        _ => unreachable!("the slot was just made an object"),
    }
}

/// Splits `urn:...:name` into the URN and the rest; keys without a URN come back whole.
pub(crate) fn split_urn(key: &str) -> (Option<&str>, &str) {
    let is_urn = key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    match key.rsplit_once(':') {
        Some((urn, rest)) if is_urn => (Some(urn), rest),
        _ => (None, key),
    }
}

/// Splits `name.sub` (Entra sends `"name.givenName"` as a key).
pub(crate) fn split_sub(key: &str) -> (&str, Option<&str>) {
    match key.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (key, None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::schema::ENTERPRISE_USER;

    fn user(body: Value) -> Map<String, Value> {
        normalize(ResourceType::User, &body).unwrap().data
    }

    fn user_err(body: Value) -> Error {
        normalize(ResourceType::User, &body).unwrap_err()
    }

    #[test]
    fn respells_names_and_drops_read_only_and_unknown() {
        let data = user(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "x", "meta": {"version": "1"}, "groups": [{"value": "g"}],
            "USERNAME": "Ann@Example.com ", "NAME": {"GivenName": "Ann", "nick": "?"},
            "Emails": [{"VALUE": "a@x.org", "Type": "work", "bogus": 1}],
            "unknownThing": 1, "urn:example:custom:1.0:User": {"a": 1}, "password": "s3cret",
        }));
        assert_eq!(
            Value::Object(data),
            json!({
                "userName": "Ann@Example.com ", "name": {"givenName": "Ann"},
                "emails": [{"value": "a@x.org", "type": "work"}], "password": "s3cret",
            })
        );
    }

    #[test]
    fn accepts_extensions_in_any_case_and_urn_qualified_keys() {
        let data = user(json!({
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "ann",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"Department": "Ops", "manager": {"value": "m1", "displayName": "Bob"}},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "42",
            "urn:unknown:schema:thing": "dropped",
        }));
        assert_eq!(data["userName"], "ann");
        assert_eq!(data[ENTERPRISE_USER], json!({"department": "Ops", "manager": {"value": "m1"}, "costCenter": "42"}));
        assert_eq!(data.len(), 2);
    }

    #[test]
    fn coerces_scalars_to_the_schema_types() {
        for (sent, want) in
            [(json!("True"), true), (json!("false"), false), (json!("TRUE"), true), (json!(false), false)]
        {
            assert_eq!(user(json!({"userName": "a", "active": sent}))["active"], want);
        }
        let data = user(json!({"userName": 12, "title": true, "emails": [{"value": "a@x", "primary": "true"}]}));
        assert_eq!(data["userName"], "12");
        assert_eq!(data["title"], "true");
        assert_eq!(data["emails"][0]["primary"], true);
        assert!(
            matches!(user_err(json!({"userName": "a", "active": "yes"})), Error::InvalidValue(m) if m.contains("active"))
        );
        assert!(
            matches!(user_err(json!({"userName": "a", "title": {"x": 1}})), Error::InvalidValue(m) if m.contains("title"))
        );
        assert!(matches!(user_err(json!({"userName": "a", "displayName": ["x"]})), Error::InvalidValue(_)));
        assert!(
            matches!(user_err(json!({"userName": "a", "name": "Ann"})), Error::InvalidValue(m) if m.contains("name"))
        );
    }

    #[test]
    fn coerces_numbers() {
        let nick = ResourceType::User.resolve(None, "nickName").unwrap().def;
        let int = AttrDef { ty: AttrType::Integer, ..*nick };
        assert_eq!(normalize_value(&int, &json!("42")).unwrap(), Some(json!(42)));
        assert_eq!(normalize_value(&int, &json!(7.0)).unwrap(), Some(json!(7)));
        assert!(normalize_value(&int, &json!("4.5")).is_err());
        let dec = AttrDef { ty: AttrType::Decimal, ..*nick };
        assert_eq!(normalize_value(&dec, &json!("2.5")).unwrap(), Some(json!(2.5)));
        assert_eq!(normalize_value(&dec, &json!(3)).unwrap(), Some(json!(3)));
        assert!(normalize_value(&dec, &json!("NaN")).is_err());
    }

    #[test]
    fn wraps_single_values_and_drops_unassigned_ones() {
        let data = user(json!({
            "userName": "a", "emails": {"value": "a@x"}, "phoneNumbers": [], "roles": ["admin"],
            "nickName": null, "addresses": [null], "name": {"givenName": null},
        }));
        assert_eq!(
            Value::Object(data),
            json!({"userName": "a", "emails": [{"value": "a@x"}], "roles": [{"value": "admin"}]})
        );
    }

    #[test]
    fn manager_shapes() {
        let manager =
            |m: Value| user(json!({"userName": "a", ENTERPRISE_USER: {"manager": m}})).get(ENTERPRISE_USER).cloned();
        let want = Some(json!({"manager": {"value": "123"}}));
        assert_eq!(manager(json!("123")), want);
        assert_eq!(manager(json!({"value": "123"})), want);
        assert_eq!(manager(json!([{"value": "123", "displayName": "Bob"}])), want);
        assert_eq!(manager(json!("")), None);
        assert_eq!(manager(json!(null)), None);
        assert_eq!(manager(json!({"value": ""})), None);
        assert_eq!(manager(json!([])), None);
        assert!(normalize(
            ResourceType::User,
            &json!({"userName": "a", ENTERPRISE_USER: {"manager": [{"value": "1"}, {"value": "2"}]}})
        )
        .is_err());
        assert!(normalize(ResourceType::User, &json!({"userName": "a", ENTERPRISE_USER: "x"})).is_err());
    }

    #[test]
    fn dotted_keys_set_sub_attributes() {
        let data =
            user(json!({"userName": "a", "name.givenName": "Ann", "name.familyName": "Lee", "emails.value": "x"}));
        assert_eq!(data["name"], json!({"givenName": "Ann", "familyName": "Lee"}));
        assert!(!data.contains_key("emails"));
    }

    #[test]
    fn required_attributes() {
        assert!(
            matches!(user_err(json!({"name": {"givenName": "a"}})), Error::InvalidValue(m) if m.contains("userName"))
        );
        assert!(matches!(user_err(json!({"userName": "  "})), Error::InvalidValue(_)));
        assert!(matches!(user_err(json!({"userName": null})), Error::InvalidValue(_)));
        assert!(matches!(user_err(json!(["userName"])), Error::InvalidSyntax(_)));
        assert!(normalize(ResourceType::Group, &json!({"members": []})).is_err());
    }

    #[test]
    fn group_members_are_taken_out_of_data() {
        let n = normalize(
            ResourceType::Group,
            &json!({"displayName": "Ops", "Members": [
                {"value": "u1", "display": "Ann", "$ref": "https://x/Users/u1"},
                {"value": "g1", "type": "Group"}, {"value": "u1"}, "u2",
            ]}),
        )
        .unwrap();
        assert_eq!(Value::Object(n.data), json!({"displayName": "Ops"}));
        let member = |value: &str, kind: Option<&str>, display: Option<&str>| MemberRef {
            value: value.into(),
            kind: kind.map(Into::into),
            display: display.map(Into::into),
        };
        assert_eq!(
            n.members.unwrap(),
            [member("u1", None, Some("Ann")), member("g1", Some("Group"), None), member("u2", None, None)]
        );
        let none = normalize(ResourceType::Group, &json!({"displayName": "Ops"})).unwrap();
        assert_eq!(none.members, None);
        let empty = normalize(ResourceType::Group, &json!({"displayName": "Ops", "members": []})).unwrap();
        assert_eq!(empty.members, Some(vec![]));
        assert!(normalize(ResourceType::Group, &json!({"displayName": "Ops", "members": [{"display": "x"}]})).is_err());
        assert!(normalize(ResourceType::Group, &json!({"displayName": "Ops", "members": [{"value": ""}]})).is_err());
        assert!(normalize(ResourceType::Group, &json!({"displayName": "Ops", "members": [{"value": 7}]})).is_err());
    }
}
