//! The words of the filter grammar (RFC 7644 Figure 1): attribute paths, comparison
//! operators and comparison values. The expression structure lives in `parser`.

use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, tag_no_case, take_while, take_while1};
use nom::character::complete::{alphanumeric1, anychar, char, digit1, one_of, satisfy};
use nom::combinator::{map, opt, recognize};
use nom::multi::many0_count;
use nom::sequence::{pair, preceded};
use nom::Parser;
use serde_json::Number;

use super::syntax::{expect, fail, PResult, SyntaxError};
use crate::domain::filter::{AttrPath, CompValue, CompareOp};

/// The comparison operators by their wire names, matched case-insensitively.
const OPERATORS: [(&str, CompareOp); 9] = [
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

pub(super) fn compare_op(word: &str) -> Option<CompareOp> {
    OPERATORS.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)).map(|&(_, op)| op)
}

/// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`, plus `$ref`, which RFC 7643 uses as an
/// attribute name (`members[$ref eq ...]`, `manager.$ref`) although the ABNF forgets it.
pub(super) fn attr_name(input: &str) -> PResult<'_, &str> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    alt((tag_no_case("$ref"), recognize(pair(satisfy(|c| c.is_ascii_alphabetic()), take_while(name_char)))))
        .parse(input)
}

/// `ATTRNAME [ "." subAttr ]`
fn name_and_sub(input: &str) -> PResult<'_, (&str, Option<&str>)> {
    pair(attr_name, opt(preceded(char('.'), expect("a sub-attribute name after `.`", attr_name)))).parse(input)
}

/// What may appear in a schema URN here: anything up to a blank or a character that has a
/// meaning of its own in a filter. Schema ids are checked against the schema later.
fn is_urn_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '[' | ']' | '(' | ')' | '"')
}

/// `attrPath = [URI ":"] ATTRNAME *1subAttr`. The URN is everything up to the last `:`, so
/// `urn:...:enterprise:2.0:User:manager.value` keeps its `2.0` and a bare schema id such as
/// `urn:...:enterprise:2.0:User` comes out as URN `...:2.0`, name `User`.
///
/// `relative` paths (inside `[ ]`) name sub-attributes of the element and take no URN.
pub(super) fn attr_path(input: &str, relative: bool) -> PResult<'_, AttrPath> {
    let has_urn = input.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"));
    if !has_urn {
        let (rest, (name, sub)) = name_and_sub(input)?;
        return Ok((rest, path(None, name, sub)));
    }
    if relative {
        return fail(input, "attribute paths inside [ ] name sub-attributes and cannot have a schema URN");
    }
    let (rest, full) = take_while1(is_urn_char).parse(input)?;
    let Some((urn, _)) = full.rsplit_once(':') else {
        return fail(input, "expected a schema URN");
    };
    // A suffix of `input`, so that an error here reports the right position.
    let tail = &input[urn.len() + 1..full.len()];
    let tail_in_input = &input[urn.len() + 1..];
    match name_and_sub(tail) {
        Ok(("", (name, sub))) => Ok((rest, path(Some(urn), name, sub))),
        _ => fail(tail_in_input, "expected an attribute name after the schema URN"),
    }
}

fn path(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath { urn: urn.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) }
}

/// `compValue = false / null / true / number / string` (JSON, RFC 7159). A plain mismatch
/// is left to the caller, which knows what it was parsing.
pub(super) fn comp_value(input: &str) -> PResult<'_, CompValue> {
    alt((map(string, CompValue::String), map(number, CompValue::Number), literal)).parse(input)
}

/// `true`, `false` and `null`, case-insensitive (RFC 7644 §3.4.2.2 makes the whole filter
/// grammar case-insensitive apart from attribute values).
fn literal(input: &str) -> PResult<'_, CompValue> {
    let (rest, word) = alphanumeric1(input)?;
    let value = match word.to_ascii_lowercase().as_str() {
        "true" => CompValue::Bool(true),
        "false" => CompValue::Bool(false),
        "null" => CompValue::Null,
        _ => return Err(nom::Err::Error(SyntaxError { rest: input, message: None })),
    };
    Ok((rest, value))
}

/// A JSON number. nom finds its extent by the JSON grammar; serde_json then reads it, so
/// the value is exactly what a JSON body with the same text would hold.
fn number(input: &str) -> PResult<'_, Number> {
    // Not `digit0`: in nom 8.0.0 the `character::complete::*0` parsers return an empty rest
    // that points at the start of the input when they reach its end, which makes `recognize`
    // cut `42` down to `4`. `take_while` measures correctly.
    let integer = alt((tag("0"), recognize(pair(one_of("123456789"), take_while(|c: char| c.is_ascii_digit())))));
    let fraction = pair(char('.'), digit1);
    let exponent = (one_of("eE"), opt(one_of("+-")), digit1);
    let (rest, text) = recognize((opt(char('-')), integer, opt(fraction), opt(exponent))).parse(input)?;
    match serde_json::from_str::<Number>(text) {
        Ok(number) => Ok((rest, number)),
        Err(_) => fail(input, "number out of range"),
    }
}

/// A JSON string with every JSON escape. nom finds the closing quote; serde_json decodes the
/// escapes (including surrogate pairs), so `\u00e9` and friends mean what they mean in JSON.
fn string(input: &str) -> PResult<'_, String> {
    let (body, _) = char('"').parse(input)?;
    let escaped = recognize(pair(char('\\'), anychar));
    let (after_body, _) = many0_count(alt((is_not("\"\\"), escaped))).parse(body)?;
    let Ok((rest, _)) = char::<_, SyntaxError>('"').parse(after_body) else {
        return fail(input, "unterminated string (no closing `\"`)");
    };
    let literal = &input[..input.len() - rest.len()];
    match serde_json::from_str::<String>(literal) {
        Ok(text) => Ok((rest, text)),
        Err(_) => fail(input, "invalid string: bad `\\` escape or unescaped control character"),
    }
}
