use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::domain::document::Document;
use crate::domain::resource::{GroupRef, Member, Meta};
use crate::domain::schema::{ENTERPRISE_USER, ROLLCALL_GROUP, ROLLCALL_USER};

/// The general path's bytes under the default projection: render, overlay, serialization.
fn general(res: StoredResource, base: &str, overlay: Option<&Map<String, Value>>) -> Vec<u8> {
    general_under(res, base, overlay, &Projection::default())
}

/// The general path's bytes: render, overlay, projection, serialization.
fn general_under(
    res: StoredResource,
    base: &str,
    overlay: Option<&Map<String, Value>>,
    projection: &Projection,
) -> Vec<u8> {
    let rt = res.resource_type;
    let mut body = render(res, base);
    crate::protocol::people::apply_overlay(&mut body, overlay);
    crate::protocol::projection::apply(rt, &mut body, projection);
    serde_json::to_vec(&body).expect("serializes")
}

fn direct(res: &StoredResource, base: &str, overlay: Option<&Map<String, Value>>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    write_default(&mut out, res, base, overlay, Trim::default()).then_some(out)
}

fn excluding(names: &[&str]) -> Projection {
    Projection { attributes: Vec::new(), excluded: names.iter().map(|n| (*n).to_owned()).collect() }
}

fn user(data: Value) -> StoredResource {
    StoredResource {
        resource_type: ResourceType::User,
        id: "0192-u".into(),
        data: data.as_object().cloned().expect("an object").into(),
        meta: Meta {
            created: datetime!(2026-12-06 10:00:00.123456 UTC),
            last_modified: datetime!(2026-12-07 00:30 UTC),
            version: 7,
        },
        members: None,
        groups: Some(vec![
            GroupRef { value: "g1".into(), display: "Sales \"EU\"".into() },
            GroupRef { value: "g2".into(), display: "Ops".into() },
        ]),
        standing: None,
        bound: None,
    }
}

#[test]
fn a_user_with_extensions_groups_and_an_overlay_is_written_as_the_general_path_writes_it() {
    let res = user(json!({
        "userName": "ann@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee\u{1f}\u{e9}"},
        "emails": [{"value": "ann@example.com", "type": "work", "primary": true}],
        "active": true,
        ENTERPRISE_USER: {"department": "Sales", "manager": {"value": "m1"}},
        "userType": "Employee",
        "score": 1.5e300,
    }));
    let overlay = json!({"active": false, "userType": "Contractor"});
    let overlay = overlay.as_object();
    let base = "http://127.0.0.1:8080/scim/v2";
    let written = direct(&res, base, overlay).expect("written directly");
    assert_eq!(
        String::from_utf8(written.clone()).unwrap(),
        String::from_utf8(general(res.clone(), base, overlay)).unwrap()
    );
    let answer: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(answer["active"], json!(false));
    assert_eq!(answer["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER]));
    assert_eq!(answer["groups"][0]["$ref"], json!(format!("{base}/Groups/g1")));
    assert_eq!(answer["meta"]["version"], json!("W/\"7\""));
    assert_eq!(answer["meta"]["created"], json!("2026-12-06T10:00:00.123456Z"));
    // Through `present`, with an escaped base too.
    let odd_base = "http://h\"x\\/scim/v2";
    assert_eq!(present(res.clone(), odd_base, &Projection::default(), overlay), general(res, odd_base, overlay));
}

#[test]
fn a_group_with_members_is_written_as_the_general_path_writes_it() {
    let res = StoredResource {
        resource_type: ResourceType::Group,
        id: "g1".into(),
        data: json!({"displayName": "Sales", "externalId": "x"}).as_object().cloned().unwrap().into(),
        meta: Meta {
            created: datetime!(2026-01-01 0:00 UTC),
            last_modified: datetime!(2026-01-02 0:00 UTC),
            version: 2,
        },
        members: Some(vec![
            Member {
                value: "u1".into(),
                kind: "User".into(),
                declared_kind: Some("User".into()),
                display: Some("Ann".into()),
            },
            Member { value: "g2".into(), kind: "Group".into(), declared_kind: None, display: None },
        ]),
        groups: None,
        standing: None,
        bound: None,
    };
    let base = "https://scim.example.com/scim/v2";
    let written = direct(&res, base, None).expect("written directly");
    assert_eq!(written, general(res.clone(), base, None));
    let answer: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(answer["members"][1]["$ref"], json!(format!("{base}/Groups/g2")));
    // No members at all: no `members` key, as before.
    let empty = StoredResource { members: Some(Vec::new()), ..res };
    assert_eq!(direct(&empty, base, None).unwrap(), general(empty, base, None));
}

#[test]
fn shapes_the_general_path_treats_specially_are_left_to_it() {
    let base = "http://h/scim/v2";
    // A stored attribute the answer writes itself.
    let res = user(json!({"userName": "a", "groups": [{"value": "x"}]}));
    assert!(direct(&res, base, None).is_none());
    assert_eq!(present(res.clone(), base, &Projection::default(), None), general(res, base, None));
    // An overlay that adds an attribute, a schema or sets the primary role.
    let res = user(json!({"userName": "a", "roles": [{"value": "admin"}]}));
    for overlay in [
        json!({"title": "new"}),
        json!({ROLLCALL_USER: {"partner": true}}),
        json!({"roles": [{"value": "admin", "primary": true}]}),
    ] {
        assert!(direct(&res, base, overlay.as_object()).is_none(), "{overlay}");
        assert_eq!(
            present(res.clone(), base, &Projection::default(), overlay.as_object()),
            general(res.clone(), base, overlay.as_object())
        );
    }
    // A projection goes the general way, and is applied.
    let projected = Projection { attributes: vec!["userName".into()], excluded: Vec::new() };
    let answer: Value = serde_json::from_slice(&present(res.clone(), base, &projected, None)).unwrap();
    assert_eq!(answer.as_object().unwrap().keys().collect::<Vec<_>>(), ["schemas", "id", "userName"]);
    for other in [excluding(&["userName"]), excluding(&["groups.display"]), excluding(&["members", "title"])] {
        assert_eq!(Trim::of(ResourceType::User, &other), None, "{other:?}");
    }
}

#[test]
fn excluding_the_relations_is_written_directly() {
    let base = "http://h/scim/v2";
    let group = StoredResource {
        resource_type: ResourceType::Group,
        id: "g".into(),
        data: json!({"displayName": "Ops", ROLLCALL_GROUP: {}}).as_object().cloned().unwrap().into(),
        meta: user(json!({})).meta,
        members: Some(vec![Member { value: "u1".into(), kind: "User".into(), declared_kind: None, display: None }]),
        groups: None,
        standing: None,
        bound: Some(false),
    };
    // What Entra and Okta send: the members and the empty extension (pruned by any
    // exclusion) are left out, and the bytes are the general path's.
    for names in [&["members"][..], &["MEMBERS"], &["urn:ietf:params:scim:schemas:core:2.0:Group:members"]] {
        let projection = excluding(names);
        let trim = Trim::of(ResourceType::Group, &projection).expect("only the relations");
        assert_eq!(trim, Trim { relations: true, empty_extensions: true });
        let mut out = Vec::new();
        assert!(write_default(&mut out, &group, base, None, trim));
        assert_eq!(out, general_under(group.clone(), base, None, &projection));
        let answer: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(answer["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]));
        assert!(answer.get("members").is_none() && answer.get(ROLLCALL_GROUP).is_none());
    }
    // A bound group's overlay fills the extension: it stays.
    let overlay = json!({ROLLCALL_GROUP: {"companyRole": "admin"}});
    let answer: Value =
        serde_json::from_slice(&present(group, base, &excluding(&["members"]), overlay.as_object())).unwrap();
    assert_eq!(answer[ROLLCALL_GROUP], json!({"companyRole": "admin"}));
}

#[test]
fn stored_text_is_written_as_stored_only_where_serde_json_would_write_the_same() {
    let text = r#"{"userName":"ann","title":"caf\u00e9 \/ \"x\"","n":-0,"f":1.50,"e":1e3,"big":123456789012345678901,
        "nested":{"a": [1, 2]},"plain":{"a":[1,-2,true,null,"x"]},"ok":12345}"#;
    let mut res = user(json!({}));
    res.data = Document::from_stored(text.to_owned()).unwrap();
    let written = direct(&res, "http://h/scim/v2", None).expect("written directly");
    assert_eq!(written, general(res.clone(), "http://h/scim/v2", None));
    let answer = String::from_utf8(written).unwrap();
    assert!(
        answer.contains(r#""title":"café / \"x\"","n":-0.0,"f":1.5,"e":1000.0,"big":1.2345678901234567e+20"#),
        "{answer}"
    );
    assert!(answer.contains(r#""nested":{"a":[1,2]},"plain":{"a":[1,-2,true,null,"x"]},"ok":12345"#), "{answer}");
    for (text, written) in
        [("\"x\"", true), ("-0", false), ("10", true), ("1e5", false), ("[true, 1]", false), ("\"a\\nb\"", false)]
    {
        assert_eq!(as_written(text), written, "{text}");
    }
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys as they occur, including the ones the answer writes itself and the extensions.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "name",
            "emails",
            "active",
            "userType",
            "roles",
            "title",
            "schemas",
            "id",
            "meta",
            "groups",
            "members",
            "password",
            ENTERPRISE_USER,
            ROLLCALL_USER,
            ROLLCALL_GROUP,
            "urn:other:ext",
        ])
        .prop_map(str::to_owned),
        ".{0,6}",
    ]
}

fn map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), json_value()), 0..8).prop_map(|kv| kv.into_iter().collect())
}

proptest! {
    /// Whatever the document, overlay, relations, base and exclusions: when the answer is
    /// written directly, its bytes are the general path's; and `present` always gives them.
    #[test]
    fn the_direct_answer_is_the_general_answer(
        is_user in any::<bool>(),
        id in ".{1,6}",
        data in map(),
        overlay in prop::option::of(map()),
        base in prop_oneof![Just("http://127.0.0.1:1/scim/v2".to_owned()), ".{0,10}"],
        relations in prop::collection::vec((".{1,5}", ".{0,5}", any::<bool>(), prop::option::of(".{0,4}")), 0..3),
        version in any::<i64>(),
        stored_as in 0..3u8,
        excluded in prop::sample::select(vec![
            &[][..],
            &["members"],
            &["groups"],
            &["Members"],
            &["urn:ietf:params:scim:schemas:core:2.0:User:groups"],
            &["members", "groups"],
            &["no-such-attribute"],
            &["userName"],
            &["emails.value"],
        ]),
    ) {
        let rt = if is_user { ResourceType::User } else { ResourceType::Group };
        let members = (!is_user).then(|| relations.iter().map(|(v, d, g, t)| Member {
            value: v.clone(),
            kind: if *g { "Group".into() } else { "User".into() },
            declared_kind: t.clone(),
            display: (!d.is_empty()).then(|| d.clone()),
        }).collect());
        let groups = is_user.then(|| relations.iter().map(|(v, d, _, _)| GroupRef { value: v.clone(), display: d.clone() }).collect());
        // As a map, or as stored text written compactly (as we store it) or not.
        let data = match stored_as {
            0 => data.into(),
            1 => Document::from_stored(serde_json::to_string(&data).unwrap()).unwrap(),
            _ => Document::from_stored(serde_json::to_string_pretty(&data).unwrap()).unwrap(),
        };
        let res = StoredResource {
            resource_type: rt,
            id,
            data,
            meta: Meta { created: datetime!(2026-12-06 0:00 UTC), last_modified: datetime!(2026-12-06 0:00:01 UTC), version },
            members,
            groups,
            standing: None,
            bound: None,
        };
        let projection = excluding(excluded);
        let expected = general_under(res.clone(), &base, overlay.as_ref(), &projection);
        if let Some(trim) = Trim::of(rt, &projection) {
            let mut written = Vec::new();
            if write_default(&mut written, &res, &base, overlay.as_ref(), trim) {
                prop_assert_eq!(&written, &expected);
            }
        }
        prop_assert_eq!(present(res, &base, &projection, overlay.as_ref()), expected);
    }
}
