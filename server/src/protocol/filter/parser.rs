//! The expression grammar of RFC 7644 §3.4.2.2 (filters) and §3.5.2 (PATCH paths):
//!
//! ```text
//! filter  = or
//! or      = and *(SP "or" SP and)          ; left-associative
//! and     = unary *(SP "and" SP unary)     ; left-associative
//! unary   = "(" filter ")" / "not" *SP "(" filter ")" / attrExp / valuePath
//! attrExp = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! path    = attrPath / attrPath "[" filter "]" *1("." ATTRNAME)
//! ```
//!
//! Precedence is `not` > `and` > `or`. SP is one or more spaces or tabs, and blanks are also
//! allowed inside `( )` and `[ ]`. Nesting depth is checked on the way down, before each
//! recursion, so that a hostile `((((…` is refused without exhausting the stack.

use nom::branch::alt;
use nom::bytes::complete::tag_no_case;
use nom::character::complete::{alphanumeric1, char, space0, space1};
use nom::combinator::{eof, opt};
use nom::sequence::{delimited, preceded, terminated};
use nom::Parser;

use super::lexical::{attr_name, attr_path, comp_value, compare_op};
use super::syntax::{expect, fail, failure, finish, PResult, SyntaxError};
use super::MAX_FILTER_DEPTH;
use crate::domain::filter::{AttrPath, Filter, PatchPath};

const OPERAND: &str = "an attribute name, `(` or `not (`";
const OPERATOR: &str = "an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr)";
const VALUE: &str = "a value: a \"string\", a number, true, false or null";

/// Where the parser is: how deeply nested, and whether inside a value filter `[ ]`, whose
/// attribute paths are relative to the element and which may not nest another `[ ]`.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    depth: usize,
    in_value: bool,
}

impl Ctx {
    const TOP: Ctx = Ctx { depth: 0, in_value: false };

    /// One level deeper, entered at `at`; refused past MAX_FILTER_DEPTH.
    fn deeper(self, at: &str) -> Result<Ctx, nom::Err<SyntaxError<'_>>> {
        if self.depth >= MAX_FILTER_DEPTH {
            let message = format!("the filter nests ( ), not ( ) and [ ] more than {MAX_FILTER_DEPTH} levels deep");
            return Err(failure(at, message));
        }
        Ok(Ctx { depth: self.depth + 1, ..self })
    }
}

/// A whole filter, with optional blanks around it.
pub(super) fn filter(input: &str) -> Result<Filter, SyntaxError<'_>> {
    finish(delimited(space0, move |i| or_expr(i, Ctx::TOP), space0).parse(input))
}

/// A whole PATCH path, with optional blanks around it.
pub(super) fn path(input: &str) -> Result<PatchPath, SyntaxError<'_>> {
    finish(delimited(space0, patch_path, space0).parse(input))
}

fn patch_path(input: &str) -> PResult<'_, PatchPath> {
    let (rest, attr) = expect("an attribute name", |i| attr_path(i, false)).parse(input)?;
    if !rest.starts_with('[') {
        return Ok((rest, PatchPath { attr, filter: None, sub_after_filter: None }));
    }
    let (rest, filter) = bracket(rest, &attr, Ctx::TOP)?;
    let (rest, sub) = opt(preceded(char('.'), expect("a sub-attribute name after `.`", attr_name))).parse(rest)?;
    Ok((rest, PatchPath { attr, filter: Some(filter), sub_after_filter: sub.map(str::to_owned) }))
}

fn or_expr(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    chain(input, ctx, "or", and_expr, Filter::Or)
}

fn and_expr(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    chain(input, ctx, "and", unary, Filter::And)
}

/// `operand *(SP word SP operand)`, folded to the left. Once `SP word SP` is seen the
/// operand is required, so `a pr and` reports the missing operand, not trailing text.
fn chain<'a>(
    input: &'a str,
    ctx: Ctx,
    word: &'static str,
    operand: fn(&'a str, Ctx) -> PResult<'a, Filter>,
    join: fn(Box<Filter>, Box<Filter>) -> Filter,
) -> PResult<'a, Filter> {
    let (mut input, mut left) = operand(input, ctx)?;
    // The keyword also counts at the very end (`a pr and`), to report the missing operand.
    let mut next = preceded((space1, tag_no_case(word), alt((space1, eof))), move |i| operand(i, ctx));
    loop {
        match next.parse(input) {
            Ok((rest, right)) => {
                left = join(Box::new(left), Box::new(right));
                input = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((input, left)),
            Err(e) => return Err(e),
        }
    }
}

/// A term is required wherever `unary` is called, so a mismatch here is a failure.
fn unary(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    if let Some(after) = input.strip_prefix('(') {
        return parenthesised(after, ctx.deeper(input)?);
    }
    // `not` is tried first but only taken when a `(` follows, so attributes called `not`
    // or `notes` still work.
    if let Ok((rest, _)) = (tag_no_case::<_, _, SyntaxError>("not"), space0, char('(')).parse(input) {
        let (rest, inner) = parenthesised(rest, ctx.deeper(input)?)?;
        return Ok((rest, Filter::Not(Box::new(inner))));
    }
    expect(OPERAND, move |i| attr_term(i, ctx)).parse(input)
}

/// The rest of `( filter )` after the `(`.
fn parenthesised(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    terminated(delimited(space0, move |i| or_expr(i, ctx), space0), expect("`)`", char(')'))).parse(input)
}

/// `attrExp` or `valuePath`, both starting with an attribute path.
fn attr_term(input: &str, ctx: Ctx) -> PResult<'_, Filter> {
    let (rest, attr) = attr_path(input, ctx.in_value)?;
    if !rest.starts_with('[') {
        return attr_expr(rest, attr);
    }
    let (rest, inner) = bracket(rest, &attr, ctx)?;
    // Lenient extension, because some clients send it: `emails[type eq "work"].value eq
    // "a@b.c"` is read as `emails[type eq "work" and value eq "a@b.c"]`. RFC 7644 allows
    // `].sub` only in PATCH paths, but in a filter the meaning is unambiguous.
    let Ok((after_dot, _)) = char::<_, SyntaxError>('.').parse(rest) else {
        return Ok((rest, Filter::ValuePath(attr, Box::new(inner))));
    };
    let (rest, sub) = expect("a sub-attribute name after `.`", attr_name).parse(after_dot)?;
    let (rest, extra) = attr_expr(rest, AttrPath::simple(sub))?;
    Ok((rest, Filter::ValuePath(attr, Box::new(Filter::And(Box::new(inner), Box::new(extra))))))
}

/// The `[ filter ]` of a value path, starting at the `[`, after `attr`.
fn bracket<'a>(input: &'a str, attr: &AttrPath, ctx: Ctx) -> PResult<'a, Filter> {
    if ctx.in_value {
        return fail(input, "value filters cannot be nested: `[` inside `[ ]`");
    }
    if attr.sub.is_some() {
        return fail(input, "a value filter `[ ]` must follow a multi-valued attribute, not a sub-attribute");
    }
    let inner = Ctx { in_value: true, ..ctx.deeper(input)? };
    let body = delimited(space0, move |i| or_expr(i, inner), space0);
    delimited(char('['), body, expect("`]`", char(']'))).parse(input)
}

/// After `attr`: `SP "pr"` or `SP compareOp SP compValue`.
fn attr_expr(input: &str, attr: AttrPath) -> PResult<'_, Filter> {
    let Ok((rest, word)) = preceded(space1::<_, SyntaxError>, alphanumeric1).parse(input) else {
        return fail(input, format!("expected {OPERATOR}"));
    };
    if word.eq_ignore_ascii_case("pr") {
        return Ok((rest, Filter::Present(attr)));
    }
    let Some(op) = compare_op(word) else {
        let word_at = &input[input.len() - rest.len() - word.len()..];
        if attr.urn.is_none() && attr.sub.is_none() && attr.name.eq_ignore_ascii_case("not") {
            return fail(input, "`not` must be followed by a filter in parentheses, as in `not (a eq 1)`");
        }
        return fail(word_at, format!("unknown operator `{word}`; expected {OPERATOR}"));
    };
    let (rest, value) = preceded(expect("a space and a value", space1), expect(VALUE, comp_value)).parse(rest)?;
    Ok((rest, Filter::Compare(attr, op, value)))
}
