use proptest::prelude::*;
use serde_json::json;

use super::*;

fn stored(text: &str) -> Document {
    Document::from_stored(text.to_owned()).expect("an object")
}

fn members(doc: &Document) -> Option<Vec<(String, String)>> {
    Some(doc.stored_members()?.map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

#[test]
fn a_stored_object_keeps_its_members_as_text_in_order() {
    let doc = stored(r#"{"userName":"ann","name":{"givenName":"Ann"}, "active" : true ,"n":-12.5e3}"#);
    assert_eq!(
        members(&doc).expect("kept as text"),
        vec![
            ("userName".into(), r#""ann""#.into()),
            ("name".into(), r#"{"givenName":"Ann"}"#.into()),
            ("active".into(), "true".into()),
            ("n".into(), "-12.5e3".into()),
        ]
    );
    assert!(doc.has("active") && !doc.has("title"));
    assert_eq!(doc.value_of("name").as_deref(), Some(&json!({"givenName": "Ann"})));
    assert_eq!(doc.value_of("title"), None);
    // Reading the map leaves the text in place: nothing changed.
    assert_eq!(doc.get("n"), Some(&json!(-12500.0)));
    assert!(doc.stored_members().is_some());
}

#[test]
fn changing_the_document_makes_the_map_its_only_truth() {
    let mut doc = stored(r#"{"userName":"ann","active":true}"#);
    doc.insert("active".into(), json!(false));
    assert!(doc.stored_members().is_none());
    assert_eq!(doc.value_of("active").as_deref(), Some(&json!(false)));
    assert_eq!(doc.clone().into_map(), json!({"userName": "ann", "active": false}).as_object().cloned().unwrap());
}

#[test]
fn escaped_or_repeated_keys_are_left_to_the_map() {
    let escaped = stored(r#"{"user\u004eame":"ann"}"#);
    assert!(escaped.stored_members().is_none());
    assert_eq!(escaped.get("userName"), Some(&json!("ann")));

    // The map keeps the last value of a repeated key, in the first one's place.
    let repeated = stored(r#"{"a":1,"b":2,"a":3}"#);
    assert!(repeated.stored_members().is_none());
    assert_eq!(
        repeated.iter().map(|(k, v)| (k.as_str(), v.clone())).collect::<Vec<_>>(),
        [("a", json!(3)), ("b", json!(2))]
    );
}

#[test]
fn text_that_is_not_one_json_object_is_refused() {
    for text in ["", "[]", "\"x\"", "{", r#"{"a":}"#, r#"{"a":1} {}"#, r#"{"a":1}x"#, "null"] {
        assert_eq!(Document::from_stored(text.to_owned()).map(|_| ()), Err(NotAnObject), "{text}");
    }
}

#[test]
fn a_document_made_from_a_map_has_no_stored_text() {
    let doc: Document = json!({"a": 1}).as_object().cloned().unwrap().into();
    assert!(doc.stored_members().is_none());
    assert!(doc.has("a"));
    assert_eq!(doc, stored(r#"{"a":1}"#));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,3}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    /// However the object was written (compact, pretty), the document is what serde_json
    /// parses from its text, and each stored member is that member's value.
    #[test]
    fn a_stored_document_is_its_text_parsed(
        kv in prop::collection::vec((".{0,6}", json_value()), 0..8),
        pretty in any::<bool>(),
    ) {
        let object: Map<String, Value> = kv.into_iter().collect();
        let text = if pretty { serde_json::to_string_pretty(&object) } else { serde_json::to_string(&object) }.unwrap();
        let doc = Document::from_stored(text.clone()).expect("an object");
        let parsed: Map<String, Value> = serde_json::from_str(&text).unwrap();
        if let Some(members) = doc.stored_members() {
            let members: Vec<(&str, &str)> = members.collect();
            prop_assert_eq!(members.len(), parsed.len());
            for ((k, v), (pk, pv)) in members.iter().zip(&parsed) {
                prop_assert_eq!(*k, pk.as_str());
                prop_assert_eq!(&serde_json::from_str::<Value>(v).unwrap(), pv);
                let value = doc.value_of(k);
                prop_assert_eq!(value.as_deref(), Some(pv));
            }
        }
        prop_assert_eq!(&*doc, &parsed);
        prop_assert_eq!(doc.into_map(), parsed);
    }
}
