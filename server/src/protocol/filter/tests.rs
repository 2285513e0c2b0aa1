//! Unit tests: the RFC 7644 §3.4.2.2 examples, each construct, the limits and the errors.

use std::time::{Duration, Instant};

use serde_json::Number;

use super::*;
use crate::domain::filter::{AttrPath, CompValue, CompareOp, Filter, PatchPath};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn parse(input: &str) -> Filter {
    parse_filter(input).unwrap_or_else(|e| panic!("`{input}` should parse: {e}"))
}

fn filter_error(input: &str) -> String {
    match parse_filter(input) {
        Err(Error::InvalidFilter(message)) => message,
        other => panic!("`{input}` should be an invalid filter, got {other:?}"),
    }
}

fn path_error(input: &str) -> String {
    match parse_path(input) {
        Err(Error::InvalidPath(message)) => message,
        other => panic!("`{input}` should be an invalid path, got {other:?}"),
    }
}

fn attr(name: &str) -> AttrPath {
    AttrPath::simple(name)
}

fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath { urn: None, name: name.to_owned(), sub: Some(sub.to_owned()) }
}

fn urn(urn: &str, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { urn: Some(urn.to_owned()), name: name.to_owned(), sub: sub.map(str::to_owned) }
}

fn str_value(s: &str) -> CompValue {
    CompValue::String(s.to_owned())
}

fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare(path, op, value)
}

fn eq(path: AttrPath, s: &str) -> Filter {
    cmp(path, CompareOp::Eq, str_value(s))
}

fn co(path: AttrPath, s: &str) -> Filter {
    cmp(path, CompareOp::Co, str_value(s))
}

fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}

fn and(left: Filter, right: Filter) -> Filter {
    Filter::And(Box::new(left), Box::new(right))
}

fn or(left: Filter, right: Filter) -> Filter {
    Filter::Or(Box::new(left), Box::new(right))
}

fn not(inner: Filter) -> Filter {
    Filter::Not(Box::new(inner))
}

fn value_path(path: AttrPath, inner: Filter) -> Filter {
    Filter::ValuePath(path, Box::new(inner))
}

#[test]
fn rfc_7644_examples() {
    let lm = || sub("meta", "lastModified");
    let date = "2011-05-13T04:42:34Z";
    let emails = || or(co(attr("emails"), "example.com"), co(sub("emails", "value"), "example.org"));
    let cases = [
        (r#"userName eq "bjensen""#, eq(attr("userName"), "bjensen")),
        (r#"name.familyName co "O'Malley""#, co(sub("name", "familyName"), "O'Malley")),
        (r#"userName sw "J""#, cmp(attr("userName"), CompareOp::Sw, str_value("J"))),
        (
            &format!(r#"{CORE_USER}:userName sw "J""#),
            cmp(urn(CORE_USER, "userName", None), CompareOp::Sw, str_value("J")),
        ),
        ("title pr", pr(attr("title"))),
        (&format!(r#"meta.lastModified gt "{date}""#), cmp(lm(), CompareOp::Gt, str_value(date))),
        (&format!(r#"meta.lastModified ge "{date}""#), cmp(lm(), CompareOp::Ge, str_value(date))),
        (&format!(r#"meta.lastModified lt "{date}""#), cmp(lm(), CompareOp::Lt, str_value(date))),
        (&format!(r#"meta.lastModified le "{date}""#), cmp(lm(), CompareOp::Le, str_value(date))),
        (r#"title pr and userType eq "Employee""#, and(pr(attr("title")), eq(attr("userType"), "Employee"))),
        (r#"title pr or userType eq "Intern""#, or(pr(attr("title")), eq(attr("userType"), "Intern"))),
        (&format!(r#"schemas eq "{ENTERPRISE}""#), eq(attr("schemas"), ENTERPRISE)),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            and(eq(attr("userType"), "Employee"), emails()),
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            and(cmp(attr("userType"), CompareOp::Ne, str_value("Employee")), not(emails())),
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            and(eq(attr("userType"), "Employee"), eq(sub("emails", "type"), "work")),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(
                eq(attr("userType"), "Employee"),
                value_path(attr("emails"), and(eq(attr("type"), "work"), co(attr("value"), "@example.com"))),
            ),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            or(
                value_path(attr("emails"), and(eq(attr("type"), "work"), co(attr("value"), "@example.com"))),
                value_path(attr("ims"), and(eq(attr("type"), "xmpp"), co(attr("value"), "@foo.com"))),
            ),
        ),
    ];
    for (input, expected) in cases {
        let parsed = parse(input);
        assert_eq!(parsed, expected, "{input}");
        assert_eq!(parse(&to_wire(&parsed)), parsed, "round trip of {input}");
    }
}

#[test]
fn every_operator_in_any_case() {
    let ops = [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("ew", CompareOp::Ew),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ];
    for (name, op) in ops {
        for spelling in [name.to_owned(), name.to_uppercase(), format!("{}{}", &name[..1].to_uppercase(), &name[1..])] {
            assert_eq!(parse(&format!(r#"a {spelling} "x""#)), cmp(attr("a"), op, str_value("x")));
        }
    }
    assert_eq!(parse("a PR"), pr(attr("a")));
    assert_eq!(parse("a Pr AND b pr Or NOT (c pr)"), or(and(pr(attr("a")), pr(attr("b"))), not(pr(attr("c")))));
}

#[test]
fn precedence_and_associativity() {
    let [a, b, c] = ["a", "b", "c"].map(|n| pr(attr(n)));
    assert_eq!(parse("a pr or b pr and c pr"), or(a.clone(), and(b.clone(), c.clone())));
    assert_eq!(parse("a pr and b pr or c pr"), or(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("a pr or b pr or c pr"), or(or(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("a pr and b pr and c pr"), and(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(parse("a pr and (b pr or c pr)"), and(a.clone(), or(b.clone(), c.clone())));
    assert_eq!(parse("not (a pr) and b pr"), and(not(a.clone()), b.clone()));
    assert_eq!(parse("((a pr))"), a);
}

#[test]
fn blanks_are_lenient() {
    let expected = and(pr(attr("a")), not(eq(attr("b"), "x")));
    for input in [
        r#"a pr and not (b eq "x")"#,
        "  a pr \t and\t\tnot(  b   eq  \"x\" )  ",
        r#"a pr and NOT(b eq "x")"#,
        r#"( a pr ) and not ( b eq "x" )"#,
    ] {
        assert_eq!(parse(input), expected, "{input}");
    }
    assert_eq!(parse(r#"emails[ type eq "work" ]"#), value_path(attr("emails"), eq(attr("type"), "work")));
}

#[test]
fn comparison_values() {
    let value = |text: &str| match parse(&format!("a eq {text}")) {
        Filter::Compare(_, _, value) => value,
        other => panic!("{other:?}"),
    };
    let number = |text: &str| CompValue::Number(serde_json::from_str::<Number>(text).expect("a JSON number"));
    assert_eq!(value("true"), CompValue::Bool(true));
    assert_eq!(value("False"), CompValue::Bool(false));
    assert_eq!(value("NULL"), CompValue::Null);
    for text in ["0", "42", "-7", "3.25", "-0.5", "1e10", "2.5E-3", "-1E+2", "18446744073709551615"] {
        assert_eq!(value(text), number(text), "{text}");
    }
    assert_eq!(value(r#""""#), str_value(""));
    assert_eq!(value(r#""a\"b\\c\/d\u00e9\n\t\ud83d\ude00""#), str_value("a\"b\\c/d\u{e9}\n\t\u{1f600}"));
    assert_eq!(value(r#""caf\u00E9 déjà""#), str_value("café déjà"));
    assert_eq!(value(r#""2011-05-13T04:42:34Z""#), str_value("2011-05-13T04:42:34Z"));
}

#[test]
fn attribute_paths() {
    assert_eq!(parse(&format!("{ENTERPRISE}:manager.value pr")), pr(urn(ENTERPRISE, "manager", Some("value"))));
    assert_eq!(parse(&format!(r#"{ENTERPRISE}:department eq "R&D""#)), eq(urn(ENTERPRISE, "department", None), "R&D"));
    assert_eq!(parse(&format!("{CORE_USER}:name.familyName pr")), pr(urn(CORE_USER, "name", Some("familyName"))));
    // Names keep their case; the schema resolves it later.
    assert_eq!(parse("USERNAME pr"), pr(attr("USERNAME")));
    assert_eq!(parse("x-custom_1.a2 pr"), pr(sub("x-custom_1", "a2")));
    assert_eq!(parse("manager.$ref pr"), pr(sub("manager", "$ref")));
    assert_eq!(parse(r#"members[$ref eq "u/1"]"#), value_path(attr("members"), eq(attr("$ref"), "u/1")));
    // Words that are also keywords are still attribute names where a name is expected.
    assert_eq!(parse("notes pr and not pr"), and(pr(attr("notes")), pr(attr("not"))));
    assert_eq!(parse(r#"or eq "x" or and pr"#), or(eq(attr("or"), "x"), pr(attr("and"))));
}

#[test]
fn value_paths() {
    assert_eq!(
        parse(r#"emails[type eq "work" or (primary eq true and not (value ew ".org"))]"#),
        value_path(
            attr("emails"),
            or(
                eq(attr("type"), "work"),
                and(
                    cmp(attr("primary"), CompareOp::Eq, CompValue::Bool(true)),
                    not(cmp(attr("value"), CompareOp::Ew, str_value(".org")))
                )
            )
        )
    );
    assert_eq!(
        parse(&format!(r#"{ENTERPRISE}:manager[value eq "x"]"#)),
        value_path(urn(ENTERPRISE, "manager", None), eq(attr("value"), "x"))
    );
    assert_eq!(parse("x[a.b pr]"), value_path(attr("x"), pr(sub("a", "b"))));
}

#[test]
fn lenient_sub_attribute_after_value_filter() {
    assert_eq!(
        parse(r#"emails[type eq "work"].value eq "a@b.c""#),
        value_path(attr("emails"), and(eq(attr("type"), "work"), eq(attr("value"), "a@b.c")))
    );
    assert_eq!(
        parse(r#"emails[type eq "work"].display pr and userName pr"#),
        and(value_path(attr("emails"), and(eq(attr("type"), "work"), pr(attr("display")))), pr(attr("userName")))
    );
}

#[test]
fn limits() {
    let too_long = format!(r#"a eq "{}""#, "x".repeat(MAX_FILTER_LEN));
    assert!(filter_error(&too_long).contains("4096 characters"));

    let nested = |depth: usize| format!("{}a pr{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(parse(&nested(MAX_FILTER_DEPTH)), pr(attr("a")));
    assert!(filter_error(&nested(MAX_FILTER_DEPTH + 1)).contains("16 levels"));
    let nots = |depth: usize| format!("{}a pr{}", "not (".repeat(depth), ")".repeat(depth));
    assert!(parse_filter(&nots(MAX_FILTER_DEPTH)).is_ok());
    assert!(filter_error(&nots(MAX_FILTER_DEPTH + 1)).contains("16 levels"));
    // Brackets count too: 15 parentheses plus one `[ ]` is the limit.
    let around = |depth: usize| format!("{}x[a pr]{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse_filter(&around(MAX_FILTER_DEPTH - 1)).is_ok());
    assert!(filter_error(&around(MAX_FILTER_DEPTH)).contains("16 levels"));

    let terms = |n: usize| vec!["a pr"; n].join(" and ");
    assert!(parse_filter(&terms(MAX_FILTER_TERMS)).is_ok());
    assert!(filter_error(&terms(MAX_FILTER_TERMS + 1)).contains("more than 100"));
}

#[test]
fn hostile_nesting_fails_fast() {
    // Far beyond the length limit: refused before parsing.
    let huge = "(".repeat(100_000);
    assert!(filter_error(&huge).contains("4096"));
    // Within the length limit: refused by the depth check while parsing, without recursing
    // 4000 levels deep.
    let started = Instant::now();
    for opener in ["(", "not (", "not(", "a pr and ("] {
        let deep = opener.repeat(MAX_FILTER_LEN / opener.len());
        assert!(filter_error(&deep).contains("levels"), "{opener}");
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn error_messages_say_what_and_where() {
    let cases = [
        ("", "the filter is empty"),
        ("  \t ", "the filter is empty"),
        (r#"userName eq "bjensen" xyz"#, "unexpected text at position 23: `xyz`"),
        (r#"userName eq "bjensen"#, "unterminated string (no closing `\"`) at position 13"),
        (r#"userName eq "a\"#, "unterminated string"),
        (r#"userName eq "\x""#, "invalid string"),
        (r#"userName eq "\ud800""#, "invalid string"),
        (r#"userName xx "a""#, "unknown operator `xx`"),
        (r#"userName eqq "a""#, "unknown operator `eqq`"),
        ("userName eq", "expected a space and a value at the end of the input"),
        ("userName eq ", "expected a value"),
        (
            "userName eq bjensen",
            "expected a value: a \"string\", a number, true, false or null at position 13: `bjensen`",
        ),
        ("userName eq 1e999", "number out of range"),
        ("userName", "expected an operator"),
        (r#"userName "x""#, "expected an operator"),
        ("a pr and", "expected an attribute name, `(` or `not (`"),
        ("a pr and ", "expected an attribute name, `(` or `not (` at the end of the input"),
        ("a pr or )", "expected an attribute name, `(` or `not (` at position 9: `)`"),
        ("(a pr", "expected `)` at the end of the input"),
        ("a pr)", "unexpected text at position 5: `)`"),
        ("not a pr", "`not` must be followed by a filter in parentheses"),
        (r#"emails[type eq "work""#, "expected `]`"),
        (r#"emails[type[value pr]]"#, "value filters cannot be nested"),
        (&format!("emails[{CORE_USER}:type pr]"), "cannot have a schema URN"),
        ("name.givenName[a pr]", "not a sub-attribute"),
        ("emails[a pr].", "expected a sub-attribute name after `.`"),
        ("emails[a pr].value", "expected an operator"),
        ("name. pr", "expected a sub-attribute name after `.` at position 6"),
        ("urn:foo:bar: pr", "expected an attribute name after the schema URN at position 13"),
        ("1a pr", "expected an attribute name"),
    ];
    for (input, expected) in cases {
        let message = filter_error(input);
        assert!(message.contains(expected), "`{input}`: `{message}` should contain `{expected}`");
    }
    let long = format!("a pr xyz{}", "z".repeat(100));
    assert!(filter_error(&long).ends_with("zzz…`"));
}

#[test]
fn patch_paths() {
    let plain = |attr: AttrPath| PatchPath { attr, filter: None, sub_after_filter: None };
    assert_eq!(parse_path("userName").ok(), Some(plain(attr("userName"))));
    assert_eq!(parse_path(" name.givenName ").ok(), Some(plain(sub("name", "givenName"))));
    assert_eq!(parse_path(&format!("{ENTERPRISE}:manager")).ok(), Some(plain(urn(ENTERPRISE, "manager", None))));
    assert_eq!(
        parse_path(&format!("{ENTERPRISE}:manager.value")).ok(),
        Some(plain(urn(ENTERPRISE, "manager", Some("value"))))
    );
    // The bare extension schema id: the PATCH engine reads this as the whole extension.
    assert_eq!(
        parse_path(ENTERPRISE).ok(),
        Some(plain(urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0", "User", None)))
    );
    assert_eq!(
        parse_path(r#"emails[type eq "work"].value"#).ok(),
        Some(PatchPath {
            attr: attr("emails"),
            filter: Some(eq(attr("type"), "work")),
            sub_after_filter: Some("value".to_owned())
        })
    );
    assert_eq!(
        parse_path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).ok(),
        Some(PatchPath {
            attr: attr("members"),
            filter: Some(eq(attr("value"), "2819c223-7f76-453a-919d-413861904646")),
            sub_after_filter: None
        })
    );
    assert_eq!(
        parse_path(r#"addresses[type eq "work" and not (primary eq false)].streetAddress"#).ok(),
        Some(PatchPath {
            attr: attr("addresses"),
            filter: Some(and(
                eq(attr("type"), "work"),
                not(cmp(attr("primary"), CompareOp::Eq, CompValue::Bool(false)))
            )),
            sub_after_filter: Some("streetAddress".to_owned())
        })
    );
}

#[test]
fn patch_path_errors() {
    let cases = [
        ("", "the path is empty"),
        ("name.givenName.x", "unexpected text at position 15: `.x`"),
        ("emails[type eq \"work\"", "expected `]`"),
        ("emails[type eq \"work\"].", "expected a sub-attribute name"),
        ("emails[type eq \"work\"]x", "unexpected text"),
        ("emails[type eq \"work\"].value eq \"x\"", "unexpected text"),
        ("emails[]", "expected an attribute name"),
        ("emails[x[y pr]]", "value filters cannot be nested"),
        ("userName eq \"x\"", "unexpected text"),
        ("[type pr]", "expected an attribute name at position 1"),
    ];
    for (input, expected) in cases {
        let message = path_error(input);
        assert!(message.contains(expected), "`{input}`: `{message}` should contain `{expected}`");
    }
    assert!(path_error(&"a".repeat(MAX_FILTER_LEN + 1)).contains("path is longer than 4096"));
    let many = format!("x[{}]", vec!["a pr"; MAX_FILTER_TERMS + 1].join(" or "));
    assert!(path_error(&many).contains("more than 100"));
}

#[test]
fn to_wire_is_canonical() {
    let cases = [
        (r#"userName EQ "x" AND NOT(a PR)"#, r#"userName eq "x" and not (a pr)"#),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        (r#"  x[ a eq "q\"\\\u00e9" ]  "#, "x[a eq \"q\\\"\\\\\u{e9}\"]"),
        ("a eq TRUE or b eq Null or c gt -1.5e3", "a eq true or b eq null or c gt -1500.0"),
        (r#"emails[type eq "w"].value pr"#, r#"emails[type eq "w" and value pr]"#),
    ];
    for (input, wire) in cases {
        let parsed = parse(input);
        assert_eq!(to_wire(&parsed), wire, "{input}");
        assert_eq!(parse(wire), parsed, "{wire}");
    }
}
