//! PATCH request bodies (RFC 7644 §3.5.2) into domain operations. Strict about what cannot
//! mean anything, lenient about what identity providers really send: op names in any case
//! (Entra's `"Replace"`), `Operations` in any case, a missing `schemas`.

use serde_json::{Map, Value};

use crate::domain::normalize::get_ci;
use crate::domain::patch::{PatchOp, PatchOpKind};
use crate::domain::Error;
use crate::protocol::filter::parse_path;

/// The schema of a PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH request may carry.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// Parses a PATCH request body (`{"schemas": [PatchOp], "Operations": [...]}`). `schemas`
/// is not checked: clients forget it, and the operations say what is meant.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOp>, Error> {
    let Value::Object(body) = body else {
        return Err(Error::InvalidSyntax("a PATCH request must be a JSON object".into()));
    };
    let operations = match get_ci(body, "Operations") {
        None | Some(Value::Null) => return Err(Error::InvalidValue("the PATCH request has no `Operations`".into())),
        Some(Value::Array(ops)) => ops,
        Some(_) => return Err(Error::InvalidSyntax("`Operations` must be an array".into())),
    };
    if operations.is_empty() {
        return Err(Error::InvalidValue("`Operations` is empty".into()));
    }
    if operations.len() > MAX_PATCH_OPERATIONS {
        return Err(Error::TooMany(format!("a PATCH request may carry at most {MAX_PATCH_OPERATIONS} operations")));
    }
    let mut out = Vec::with_capacity(operations.len());
    for (index, op) in operations.iter().enumerate() {
        parse_operation(op, &mut out).map_err(|e| at(index, e))?;
    }
    Ok(out)
}

fn parse_operation(op: &Value, out: &mut Vec<PatchOp>) -> Result<(), Error> {
    let Value::Object(op) = op else {
        return Err(Error::InvalidSyntax("an operation must be a JSON object".into()));
    };
    let kind = match get_ci(op, "op") {
        Some(Value::String(name)) => match name.trim().to_ascii_lowercase().as_str() {
            "add" => PatchOpKind::Add,
            "remove" => PatchOpKind::Remove,
            "replace" => PatchOpKind::Replace,
            _ => return Err(Error::InvalidSyntax(format!("unknown op `{name}`: expected add, remove or replace"))),
        },
        Some(_) => return Err(Error::InvalidSyntax("`op` must be a string: add, remove or replace".into())),
        None => return Err(Error::InvalidSyntax("an operation needs an `op`: add, remove or replace".into())),
    };
    let path = match get_ci(op, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(parse_path(p)?),
        Some(_) => return Err(Error::InvalidPath("`path` must be a string".into())),
    };
    let value = get_ci(op, "value").cloned();
    if value.is_none() && kind != PatchOpKind::Remove {
        return Err(Error::InvalidValue("an add or replace operation needs a `value`".into()));
    }
    if let (None, Some(Value::Object(attrs))) = (&path, &value) {
        if attrs.keys().any(|k| k.contains('[')) {
            return split_value_paths(kind, attrs, out);
        }
    }
    out.push(PatchOp { kind, path, value });
    Ok(())
}

/// A path-less value whose keys are value paths (`{"emails[type eq \"work\"].value": "x"}`,
/// sent by older Entra jobs) becomes one operation per such key, after the plain keys.
fn split_value_paths(kind: PatchOpKind, attrs: &Map<String, Value>, out: &mut Vec<PatchOp>) -> Result<(), Error> {
    let (filtered, plain): (Vec<_>, Vec<_>) = attrs.iter().partition(|(k, _)| k.contains('['));
    if !plain.is_empty() {
        let plain = plain.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        out.push(PatchOp { kind, path: None, value: Some(Value::Object(plain)) });
    }
    for (key, value) in filtered {
        out.push(PatchOp { kind, path: Some(parse_path(key)?), value: Some(value.clone()) });
    }
    Ok(())
}

/// Names the failing operation, numbered from 1 as `domain::patch` does.
fn at(index: usize, e: Error) -> Error {
    let at = |m: String| format!("operation {}: {m}", index + 1);
    match e {
        Error::InvalidSyntax(m) => Error::InvalidSyntax(at(m)),
        Error::InvalidValue(m) => Error::InvalidValue(at(m)),
        Error::InvalidPath(m) => Error::InvalidPath(at(m)),
        Error::InvalidFilter(m) => Error::InvalidFilter(at(m)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::patch::{apply, MemberOp};
    use crate::domain::schema::{ResourceType, ENTERPRISE_USER};

    fn parse(ops: Value) -> Result<Vec<PatchOp>, Error> {
        parse_patch_request(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))
    }

    fn patch_user(data: Value, ops: Value) -> Value {
        let Value::Object(mut data) = data else { panic!("not an object") };
        apply(ResourceType::User, &mut data, &parse(ops).unwrap()).unwrap();
        Value::Object(data)
    }

    #[test]
    fn op_names_and_keys_in_any_case() {
        let ops = parse_patch_request(&json!({"operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"OP": "ADD", "Path": "title", "Value": "x"},
            {"op": "remove", "path": "title"},
        ]}))
        .unwrap();
        let kinds: Vec<_> = ops.iter().map(|o| o.kind).collect();
        assert_eq!(kinds, [PatchOpKind::Replace, PatchOpKind::Add, PatchOpKind::Remove]);
        assert_eq!(ops[0].path.as_ref().unwrap().attr.name, "active");
        assert!(ops[2].value.is_none());
    }

    #[test]
    fn refuses_what_cannot_mean_anything() {
        assert!(matches!(parse_patch_request(&json!([])), Err(Error::InvalidSyntax(_))));
        assert!(matches!(parse_patch_request(&json!({"schemas": []})), Err(Error::InvalidValue(_))));
        assert!(matches!(parse(json!([])), Err(Error::InvalidValue(_))));
        assert!(matches!(parse(json!({"op": "add"})), Err(Error::InvalidSyntax(_))));
        assert!(
            matches!(parse(json!([{"op": "merge", "value": {}}])), Err(Error::InvalidSyntax(m)) if m.contains("merge"))
        );
        assert!(matches!(parse(json!([{"path": "title", "value": "x"}])), Err(Error::InvalidSyntax(_))));
        assert!(matches!(parse(json!([{"op": "add", "path": "title"}])), Err(Error::InvalidValue(_))));
        assert!(matches!(parse(json!([{"op": "add", "path": 3, "value": 1}])), Err(Error::InvalidPath(_))));
        assert!(matches!(
            parse(json!([{"op": "add", "path": "emails[type eq", "value": 1}])),
            Err(Error::InvalidPath(_))
        ));
        let many: Vec<Value> = (0..=MAX_PATCH_OPERATIONS).map(|_| json!({"op": "remove", "path": "title"})).collect();
        assert!(matches!(parse(Value::Array(many)), Err(Error::TooMany(_))));
    }

    #[test]
    fn entra_user_update() {
        let data = json!({"userName": "ann", "active": true, "emails": [{"value": "a@old", "type": "work"}]});
        let patched = patch_user(
            data,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@new"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
                {"op": "Add", "path": format!("{ENTERPRISE_USER}:manager"), "value": "m-42"},
                {"op": "Replace", "value": {"active": "False", "name.givenName": "Ann"}},
            ]),
        );
        assert_eq!(
            patched,
            json!({
                "userName": "ann", "active": false, "emails": [{"value": "a@new", "type": "work"}],
                "phoneNumbers": [{"type": "mobile", "value": "+1 555"}],
                ENTERPRISE_USER: {"manager": {"value": "m-42"}}, "name": {"givenName": "Ann"},
            })
        );
    }

    #[test]
    fn value_path_keys_in_a_pathless_value_become_operations() {
        let ops =
            parse(json!([{"op": "add", "value": {"emails[type eq \"work\"].value": "a@x", "title": "Dr"}}])).unwrap();
        assert_eq!(ops.len(), 2);
        assert!(ops[0].path.is_none());
        assert_eq!(ops[1].path.as_ref().unwrap().sub_after_filter.as_deref(), Some("value"));
        let patched = patch_user(
            json!({"userName": "ann"}),
            json!([{"op": "add", "value": {"emails[type eq \"work\"].value": "a@x"}}]),
        );
        assert_eq!(patched["emails"], json!([{"type": "work", "value": "a@x"}]));
    }

    #[test]
    fn entra_and_okta_group_membership() {
        let ops = parse(json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u3\"]"},
            {"op": "replace", "value": {"displayName": "Ops", "id": "ignored"}},
        ]))
        .unwrap();
        let mut data = json!({"displayName": "ops"}).as_object().cloned().unwrap();
        let member_ops = apply(ResourceType::Group, &mut data, &ops).unwrap();
        assert_eq!(data["displayName"], "Ops");
        assert_eq!(member_ops.len(), 3);
        assert!(matches!(&member_ops[0], MemberOp::Add(m) if m.len() == 2));
        assert_eq!(member_ops[1], MemberOp::Remove(vec!["u2".into()]));
        assert_eq!(member_ops[2], MemberOp::Remove(vec!["u3".into()]));
    }
}
