//! Property tests: any filter the parser can produce prints and parses back to itself, and
//! no input, however odd, makes the parser panic.

use proptest::prelude::*;
use serde_json::Number;

use super::{parse_filter, parse_path, to_wire, MAX_FILTER_LEN};
use crate::domain::filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => Just("$ref".to_owned()),
        // Keywords are still names where a name is expected.
        1 => prop::sample::select(vec!["not", "and", "or", "pr", "eq", "true", "null", "urn"]).prop_map(str::to_owned),
    ]
}

fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        "urn:[a-z]{1,6}(:[a-zA-Z0-9.-]{1,8}){0,4}",
    ]
}

/// A path inside `[ ]`: no URN.
fn relative_path() -> BoxedStrategy<AttrPath> {
    (name(), prop::option::of(name())).prop_map(|(name, sub)| AttrPath { urn: None, name, sub }).boxed()
}

fn absolute_path() -> BoxedStrategy<AttrPath> {
    (prop::option::of(urn()), name(), prop::option::of(name()))
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
        .boxed()
}

fn operator() -> impl Strategy<Value = CompareOp> {
    use CompareOp::*;
    prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le])
}

/// A decimal with few enough digits that serde_json reads it exactly (its default float
/// parsing is only exact on that fast path, and both sides of the round trip use it).
fn decimal(mantissa: i32, exponent: i32) -> CompValue {
    CompValue::Number(serde_json::from_str::<Number>(&format!("{mantissa}e{exponent}")).expect("a JSON number"))
}

fn value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        (any::<i32>(), -20i32..=20).prop_map(|(m, e)| decimal(m, e)),
        any::<String>().prop_map(CompValue::String),
        r#"[a-z"\\é😀 \t\n\x01/\]\[()]{0,12}"#.prop_map(CompValue::String),
    ]
}

fn leaf(path: BoxedStrategy<AttrPath>) -> BoxedStrategy<Filter> {
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, operator(), value()).prop_map(|(p, op, v)| Filter::Compare(p, op, v)),
    ]
    .boxed()
}

fn logic(inner: BoxedStrategy<Filter>) -> impl Strategy<Value = Filter> {
    prop_oneof![
        (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::And(Box::new(l), Box::new(r))),
        (inner.clone(), inner.clone()).prop_map(|(l, r)| Filter::Or(Box::new(l), Box::new(r))),
        inner.prop_map(|f| Filter::Not(Box::new(f))),
    ]
}

/// What may appear inside `[ ]`. Depth 3 keeps a value filter at 8 terms or fewer.
fn value_filter() -> impl Strategy<Value = Filter> {
    leaf(relative_path()).prop_recursive(3, 8, 2, logic)
}

/// Depth 3 over leaves of at most 8 terms stays within MAX_FILTER_TERMS and, with one
/// bracket level, well within MAX_FILTER_DEPTH.
fn any_filter() -> impl Strategy<Value = Filter> {
    let value_path = (prop::option::of(urn()), name(), value_filter())
        .prop_map(|(urn, name, f)| Filter::ValuePath(AttrPath { urn, name, sub: None }, Box::new(f)));
    prop_oneof![3 => leaf(absolute_path()), 1 => value_path].prop_recursive(3, 8, 2, logic)
}

/// Pieces of filter syntax, so random input gets past the first few characters.
fn fragment() -> impl Strategy<Value = &'static str> {
    let pieces = "(|)|[|]|\"|\\| |\t|.|:|not|not (| and | or | eq | pr|a|b.c|$ref|urn:x:2.0:|1|-|e|true|\"s\"|\\u12|é";
    prop::sample::select(pieces.split('|').collect::<Vec<_>>())
}

proptest! {
    #[test]
    fn printed_filters_parse_back(filter in any_filter()) {
        let wire = to_wire(&filter);
        // Long random strings can push a large filter past the length limit.
        prop_assume!(wire.chars().count() <= MAX_FILTER_LEN);
        match parse_filter(&wire) {
            Ok(parsed) => prop_assert_eq!(parsed, filter, "{}", wire),
            Err(e) => prop_assert!(false, "`{}` did not parse: {}", wire, e),
        }
    }

    #[test]
    fn printed_value_paths_parse_back_as_patch_paths(
        attr in absolute_path(),
        filter in value_filter(),
        sub in prop::option::of(name()),
    ) {
        let attr = AttrPath { sub: None, ..attr };
        let urn = attr.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
        let suffix = sub.as_ref().map(|s| format!(".{s}")).unwrap_or_default();
        let wire = format!("{urn}{}[{}]{suffix}", attr.name, to_wire(&filter));
        prop_assume!(wire.chars().count() <= MAX_FILTER_LEN);
        let expected = PatchPath { attr, filter: Some(filter), sub_after_filter: sub };
        match parse_path(&wire) {
            Ok(parsed) => prop_assert_eq!(parsed, expected, "{}", wire),
            Err(e) => prop_assert!(false, "`{}` did not parse: {}", wire, e),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        let _ = parse_filter(&input);
        let _ = parse_path(&input);
    }

    #[test]
    fn filter_like_text_never_panics(pieces in prop::collection::vec(fragment(), 0..40)) {
        let input = pieces.concat();
        let _ = parse_filter(&input);
        let _ = parse_path(&input);
    }
}
