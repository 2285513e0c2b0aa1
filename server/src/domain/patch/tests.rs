use proptest::prelude::*;
use serde_json::{json, Value};

use super::target::key_path;
use super::*;
use crate::domain::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::domain::schema::ENTERPRISE_USER;

fn path(s: &str) -> Option<PatchPath> {
    Some(key_path(None, s))
}

fn eq(name: &str, value: &str) -> Filter {
    Filter::Compare(AttrPath::simple(name), CompareOp::Eq, CompValue::String(value.into()))
}

fn value_path(attr: &str, filter: Filter, sub: Option<&str>) -> Option<PatchPath> {
    Some(PatchPath { attr: AttrPath::simple(attr), filter: Some(filter), sub_after_filter: sub.map(Into::into) })
}

fn op(kind: PatchOpKind, path: Option<PatchPath>, value: Option<Value>) -> PatchOp {
    PatchOp { kind, path, value }
}

fn add(path: Option<PatchPath>, value: Value) -> PatchOp {
    op(PatchOpKind::Add, path, Some(value))
}

fn replace(path: Option<PatchPath>, value: Value) -> PatchOp {
    op(PatchOpKind::Replace, path, Some(value))
}

fn remove(path: Option<PatchPath>) -> PatchOp {
    op(PatchOpKind::Remove, path, None)
}

fn ann() -> Value {
    json!({
        "userName": "ann", "active": true, "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "ann@work.example", "type": "work", "primary": true}, {"value": "ann@home.example", "type": "home"}],
        ENTERPRISE_USER: {"department": "Ops", "manager": {"value": "m1"}},
    })
}

fn run(rt: ResourceType, data: Value, ops: &[PatchOp]) -> Result<(Value, Vec<MemberOp>)> {
    let Value::Object(mut data) = data else { panic!("test data must be an object") };
    let members = apply(rt, &mut data, ops)?;
    Ok((Value::Object(data), members))
}

fn patch(ops: &[PatchOp]) -> Value {
    run(ResourceType::User, ann(), ops).unwrap().0
}

fn patch_err(ops: &[PatchOp]) -> Error {
    run(ResourceType::User, ann(), ops).unwrap_err()
}

#[test]
fn simple_attributes() {
    let v =
        patch(&[replace(path("DisplayName"), json!("Ann Lee")), add(path("title"), json!(7)), remove(path("active"))]);
    assert_eq!(v["displayName"], "Ann Lee");
    assert_eq!(v["title"], "7");
    assert!(v.get("active").is_none());
    assert_eq!(patch(&[replace(path("active"), json!("False"))])["active"], false);
    assert!(patch(&[replace(path("nickName"), json!(null))]).get("nickName").is_none());
}

#[test]
fn sub_attributes_and_complex_merge() {
    let v = patch(&[replace(path("name.givenName"), json!("Anne")), add(path("name.middleName"), json!("B"))]);
    assert_eq!(v["name"], json!({"givenName": "Anne", "familyName": "Lee", "middleName": "B"}));
    let v = patch(&[replace(path("name"), json!({"givenName": "Jo"}))]);
    assert_eq!(v["name"], json!({"givenName": "Jo", "familyName": "Lee"}), "replace merges sub-attributes");
    let v = patch(&[remove(path("name.givenName")), remove(path("name.familyName"))]);
    assert!(v.get("name").is_none(), "an emptied complex attribute is unassigned");
}

#[test]
fn multi_valued_add_replace_remove() {
    let v = patch(&[add(
        path("emails"),
        json!([{"value": "ann@work.example", "type": "work", "primary": true}, {"value": "x@y"}]),
    )]);
    assert_eq!(v["emails"].as_array().unwrap().len(), 3, "identical values are not added twice");
    let v = patch(&[add(path("emails"), json!({"value": "x@y", "type": "other"}))]);
    assert_eq!(v["emails"][2], json!({"value": "x@y", "type": "other"}));
    let v = patch(&[replace(path("emails"), json!([{"value": "only@x"}]))]);
    assert_eq!(v["emails"], json!([{"value": "only@x"}]));
    assert!(patch(&[remove(path("emails"))]).get("emails").is_none());
    let listed = op(PatchOpKind::Remove, path("emails"), Some(json!([{"value": "ANN@home.example"}])));
    assert_eq!(patch(&[listed])["emails"], json!([{"value": "ann@work.example", "type": "work", "primary": true}]));
}

#[test]
fn value_path_filters() {
    let v = patch(&[replace(value_path("emails", eq("type", "WORK"), Some("value")), json!("new@work"))]);
    assert_eq!(v["emails"][0], json!({"value": "new@work", "type": "work", "primary": true}));
    let v = patch(&[replace(value_path("emails", eq("type", "home"), None), json!({"value": "h@x", "type": "home"}))]);
    assert_eq!(v["emails"][1], json!({"value": "h@x", "type": "home"}), "replace swaps the matching element whole");
    let v = patch(&[add(value_path("emails", eq("type", "home"), None), json!({"display": "Home"}))]);
    assert_eq!(v["emails"][1], json!({"value": "ann@home.example", "type": "home", "display": "Home"}));
    let v = patch(&[remove(value_path("emails", eq("type", "home"), None))]);
    assert_eq!(v["emails"].as_array().unwrap().len(), 1);
    let v = patch(&[remove(value_path("emails", eq("type", "work"), Some("primary")))]);
    assert!(v["emails"][0].get("primary").is_none());
    let gone = remove(value_path("emails", eq("type", "nothing"), None));
    assert_eq!(patch(&[gone]), ann(), "removing what is not there succeeds and does nothing");
    assert!(patch(&[
        remove(value_path("emails", eq("type", "home"), None)),
        remove(value_path("emails", eq("type", "work"), None))
    ])
    .get("emails")
    .is_none());
}

#[test]
fn filtered_add_or_replace_that_matches_nothing_creates_the_element() {
    let v = patch(&[replace(value_path("emails", eq("type", "other"), Some("value")), json!("o@x"))]);
    assert_eq!(v["emails"][2], json!({"type": "other", "value": "o@x"}));
    let both = Filter::And(Box::new(eq("type", "work")), Box::new(eq("country", "NZ")));
    let v = patch(&[add(value_path("addresses", both, Some("streetAddress")), json!("1 Queen St"))]);
    assert_eq!(v["addresses"], json!([{"type": "work", "country": "NZ", "streetAddress": "1 Queen St"}]));
    let v = patch(&[replace(value_path("phoneNumbers", eq("type", "mobile"), None), json!({"value": "+64"}))]);
    assert_eq!(v["phoneNumbers"], json!([{"type": "mobile", "value": "+64"}]));
    let either = Filter::Or(Box::new(eq("type", "a")), Box::new(eq("type", "b")));
    assert!(matches!(
        patch_err(&[replace(value_path("emails", either, Some("value")), json!("x"))]),
        Error::NoTarget(_)
    ));
    let contains = Filter::Compare(AttrPath::simple("value"), CompareOp::Co, CompValue::String("zzz".into()));
    assert!(matches!(patch_err(&[add(value_path("emails", contains, Some("type")), json!("x"))]), Error::NoTarget(_)));
}

#[test]
fn entra_role_filter_with_a_boolean_spelled_as_a_string() {
    let primary = || Filter::Compare(AttrPath::simple("primary"), CompareOp::Eq, CompValue::String("True".into()));
    let v = patch(&[replace(value_path("roles", primary(), Some("value")), json!("admin"))]);
    assert_eq!(v["roles"], json!([{"primary": true, "value": "admin"}]));
    let v = run(ResourceType::User, v, &[replace(value_path("roles", primary(), Some("value")), json!("member"))])
        .unwrap()
        .0;
    assert_eq!(v["roles"], json!([{"primary": true, "value": "member"}]), "the existing primary role is updated");
}

#[test]
fn one_primary_at_most() {
    let v = patch(&[add(path("emails"), json!({"value": "n@x", "primary": true}))]);
    assert!(v["emails"][0].get("primary").is_none());
    assert_eq!(v["emails"][2]["primary"], true);
    let v = patch(&[replace(value_path("emails", eq("type", "home"), Some("primary")), json!("True"))]);
    assert!(v["emails"][0].get("primary").is_none());
    assert_eq!(v["emails"][1]["primary"], true);
    let v =
        patch(&[replace(path("emails"), json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]))]);
    assert_eq!(v["emails"], json!([{"value": "a", "primary": true}, {"value": "b"}]));
}

#[test]
fn extension_paths() {
    let ext = |s: &str| path(&format!("{ENTERPRISE_USER}:{s}"));
    let v = patch(&[replace(ext("department"), json!("Sales")), add(ext("costCenter"), json!(42))]);
    assert_eq!(v[ENTERPRISE_USER], json!({"department": "Sales", "manager": {"value": "m1"}, "costCenter": "42"}));
    let v = patch(&[replace(ext("manager"), json!("m2"))]);
    assert_eq!(v[ENTERPRISE_USER]["manager"], json!({"value": "m2"}));
    let v = patch(&[replace(ext("manager.value"), json!("m3"))]);
    assert_eq!(v[ENTERPRISE_USER]["manager"], json!({"value": "m3"}));
    for clear in [replace(ext("manager"), json!("")), replace(ext("manager.value"), json!("")), remove(ext("manager"))]
    {
        assert!(patch(&[clear])[ENTERPRISE_USER].get("manager").is_none());
    }
    let shouting = path(&format!("{}:DEPARTMENT", ENTERPRISE_USER.to_uppercase()));
    assert_eq!(patch(&[replace(shouting, json!("Legal"))])[ENTERPRISE_USER]["department"], "Legal");
    let whole = path(ENTERPRISE_USER);
    let v = patch(&[replace(whole.clone(), json!({"division": "East", "manager": [{"value": "m9"}]}))]);
    assert_eq!(v[ENTERPRISE_USER], json!({"department": "Ops", "manager": {"value": "m9"}, "division": "East"}));
    assert!(patch(&[remove(whole)]).get(ENTERPRISE_USER).is_none());
    let fresh = run(ResourceType::User, json!({"userName": "bo"}), &[add(ext("department"), json!("R&D"))]).unwrap().0;
    assert_eq!(fresh, json!({"userName": "bo", ENTERPRISE_USER: {"department": "R&D"}}));
}

#[test]
fn pathless_add_merges_and_appends() {
    let v = patch(&[add(
        None,
        json!({
            "emails": [{"value": "n@x"}], "name": {"middleName": "B"}, "nickName": "A",
            ENTERPRISE_USER.to_lowercase(): {"Division": "East"}, format!("{ENTERPRISE_USER}:costCenter"): "9",
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Dr", "bogus": 1, "urn:x:y:z": {"a": 1},
            "id": "nope", "meta": {"version": "W/\"9\""}, "groups": [{"value": "g"}], "schemas": ["x"],
        }),
    )]);
    assert_eq!(v["emails"].as_array().unwrap().len(), 3);
    assert_eq!(v["name"], json!({"givenName": "Ann", "familyName": "Lee", "middleName": "B"}));
    assert_eq!(
        v[ENTERPRISE_USER],
        json!({"department": "Ops", "manager": {"value": "m1"}, "division": "East", "costCenter": "9"})
    );
    assert_eq!((v["nickName"].as_str(), v["title"].as_str()), (Some("A"), Some("Dr")));
    for ignored in ["bogus", "urn:x:y:z", "id", "meta", "groups", "schemas"] {
        assert!(v.get(ignored).is_none(), "{ignored}");
    }
}

#[test]
fn pathless_replace_as_entra_sends_it() {
    let v = patch(&[replace(None, json!({"active": "False", "name.givenName": "x", "emails": [{"value": "only@x"}]}))]);
    assert_eq!(v["active"], false);
    assert_eq!(v["name"], json!({"givenName": "x", "familyName": "Lee"}));
    assert_eq!(v["emails"], json!([{"value": "only@x"}]));
    let v = patch(&[replace(None, json!({format!("{ENTERPRISE_USER}:manager"): "m7", "userName": "ann2"}))]);
    assert_eq!((v["userName"].as_str(), &v[ENTERPRISE_USER]["manager"]), (Some("ann2"), &json!({"value": "m7"})));
}

#[test]
fn read_only_targets_are_ignored() {
    let ops = [
        replace(path("id"), json!("x")),
        replace(path("meta.version"), json!("x")),
        add(path("groups"), json!([{"value": "g"}])),
        remove(path("schemas")),
        replace(path(&format!("{ENTERPRISE_USER}:manager.displayName")), json!("Bob")),
        // Schemas this server does not know: ignored, as they are in a body.
        replace(path("urn:x:y:title"), json!(1)),
        add(path("urn:example:custom:2.0:User:foo"), json!("x")),
        remove(path("urn:example:custom:2.0:User")),
    ];
    assert_eq!(patch(&ops), ann());
}

#[test]
fn errors() {
    let err = |ops: &[PatchOp]| patch_err(ops);
    assert!(matches!(err(&[remove(None)]), Error::NoTarget(_)));
    assert!(matches!(err(&[replace(path("bogus"), json!(1))]), Error::InvalidPath(m) if m.contains("bogus")));
    assert!(matches!(err(&[replace(path("name.bogus"), json!(1))]), Error::InvalidPath(_)));
    let core_bogus = format!("{}:bogus", crate::domain::schema::CORE_USER);
    assert!(matches!(err(&[replace(path(&core_bogus), json!(1))]), Error::InvalidPath(_)));
    assert!(matches!(err(&[replace(value_path("title", eq("a", "b"), None), json!(1))]), Error::InvalidPath(_)));
    assert!(matches!(
        err(&[replace(value_path("emails", eq("bogus", "b"), None), json!({}))]),
        Error::InvalidFilter(_)
    ));
    let gt = Filter::Compare(AttrPath::simple("primary"), CompareOp::Gt, CompValue::Bool(true));
    assert!(matches!(err(&[remove(value_path("emails", gt, None))]), Error::InvalidFilter(_)));
    assert!(matches!(err(&[replace(path("active"), json!("maybe"))]), Error::InvalidValue(m) if m.contains("active")));
    assert!(matches!(err(&[replace(path("title"), json!({"a": 1}))]), Error::InvalidValue(_)));
    assert!(matches!(err(&[remove(path("userName"))]), Error::InvalidValue(m) if m.contains("userName")));
    assert!(matches!(err(&[replace(path("userName"), json!(""))]), Error::InvalidValue(_)));
    assert!(matches!(err(&[replace(None, json!("x"))]), Error::InvalidValue(_)));
    assert!(matches!(err(&[op(PatchOpKind::Add, path("title"), None)]), Error::InvalidValue(_)));
    assert!(matches!(err(&[replace(path(ENTERPRISE_USER), json!("x"))]), Error::InvalidValue(_)));
    assert!(
        matches!(err(&[add(path("members"), json!([{"value": "u"}]))]), Error::InvalidPath(_)),
        "users have no members"
    );
}

#[test]
fn a_failing_operation_changes_nothing() {
    let Value::Object(mut data) = ann() else { unreachable!() };
    let before = data.clone();
    let ops = [replace(path("title"), json!("Dr")), remove(path("emails")), replace(path("bogus"), json!(1))];
    let e = apply(ResourceType::User, &mut data, &ops).unwrap_err();
    assert!(matches!(e, Error::InvalidPath(m) if m.starts_with("operation 3:")));
    assert_eq!(data, before);
}

fn group() -> Value {
    json!({"displayName": "Ops"})
}

fn members(ops: &[PatchOp]) -> Result<Vec<MemberOp>> {
    run(ResourceType::Group, group(), ops).map(|(_, m)| m)
}

fn refs(ids: &[&str]) -> Vec<MemberRef> {
    ids.iter().map(|id| MemberRef { value: (*id).into(), kind: None, display: None }).collect()
}

#[test]
fn group_members() {
    let list = json!([{"value": "u1", "display": "Ann"}, {"value": "u2", "type": "User"}]);
    let two = vec![
        MemberRef { value: "u1".into(), kind: None, display: Some("Ann".into()) },
        MemberRef { value: "u2".into(), kind: Some("User".into()), display: None },
    ];
    assert_eq!(members(&[add(path("members"), list.clone())]).unwrap(), [MemberOp::Add(two.clone())]);
    assert_eq!(
        members(&[replace(path("members"), list.clone())]).unwrap(),
        [MemberOp::Clear, MemberOp::Add(two.clone())]
    );
    assert_eq!(members(&[replace(path("members"), json!([]))]).unwrap(), [MemberOp::Clear]);
    assert_eq!(members(&[remove(path("members"))]).unwrap(), [MemberOp::Clear]);
    let listed = op(PatchOpKind::Remove, path("members"), Some(json!([{"value": "u1"}])));
    assert_eq!(members(&[listed]).unwrap(), [MemberOp::Remove(vec!["u1".into()])]);
    let one = value_path("members", eq("value", "u1"), None);
    assert_eq!(members(&[remove(one)]).unwrap(), [MemberOp::Remove(vec!["u1".into()])]);
    let either = Filter::Or(Box::new(eq("value", "a")), Box::new(eq("VALUE", "b")));
    assert_eq!(
        members(&[remove(value_path("members", either, None))]).unwrap(),
        [MemberOp::Remove(vec!["a".into(), "b".into()])]
    );
    let (data, ops) =
        run(ResourceType::Group, group(), &[add(None, json!({"Members": list, "displayName": "Ops 2"}))]).unwrap();
    assert_eq!((data, ops), (json!({"displayName": "Ops 2"}), vec![MemberOp::Add(two)]));
    let ops = members(&[replace(None, json!({"members": [{"value": "u3"}]}))]).unwrap();
    assert_eq!(ops, [MemberOp::Clear, MemberOp::Add(refs(&["u3"]))]);
}

#[test]
fn group_member_errors() {
    let by_type = value_path("members", eq("type", "Group"), None);
    assert!(matches!(members(&[remove(by_type)]), Err(Error::InvalidFilter(m)) if m.contains("value")));
    assert!(matches!(members(&[replace(path("members.display"), json!("x"))]), Err(Error::Mutability(_))));
    assert!(matches!(
        members(&[add(value_path("members", eq("value", "a"), None), json!({}))]),
        Err(Error::InvalidPath(_))
    ));
    assert!(matches!(members(&[add(path("members"), json!([{"display": "x"}]))]), Err(Error::InvalidValue(_))));
    assert!(matches!(members(&[remove(path("displayName"))]), Err(Error::InvalidValue(_))));
}

fn simple_paths() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "title",
        "nickName",
        "name.middleName",
        "locale",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division",
    ])
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["value", "type", "primary", "givenName", "emails", "title", "x"])
                    .prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn add_then_remove_leaves_no_trace(p in simple_paths(), s in "[a-zA-Z0-9 ]{1,12}") {
        let ops = [add(path(p), json!(s)), remove(path(p))];
        let Value::Object(mut data) = json!({"userName": "ann"}) else { unreachable!() };
        apply(ResourceType::User, &mut data, &ops).unwrap();
        prop_assert_eq!(Value::Object(data), json!({"userName": "ann"}));
    }

    #[test]
    fn never_panics_and_fails_atomically(
        kinds in prop::collection::vec(0..3u8, 1..4),
        keys in prop::collection::vec(prop::sample::select(vec!["emails", "name", "title", "active", "members", "displayName", "userName", ENTERPRISE_USER]), 1..4),
        values in prop::collection::vec(any_json(), 1..4),
    ) {
        let ops: Vec<PatchOp> = kinds.iter().zip(keys.iter().cycle()).zip(values.iter().cycle()).map(|((k, key), v)| {
            let kind = [PatchOpKind::Add, PatchOpKind::Replace, PatchOpKind::Remove][*k as usize];
            op(kind, if v.is_object() && kind != PatchOpKind::Remove { None } else { path(key) }, Some(v.clone()))
        }).collect();
        for rt in [ResourceType::User, ResourceType::Group] {
            let Value::Object(mut data) = ann() else { unreachable!() };
            data.insert("displayName".into(), json!("x"));
            let before = data.clone();
            if apply(rt, &mut data, &ops).is_err() {
                prop_assert_eq!(&data, &before);
            }
        }
    }
}
