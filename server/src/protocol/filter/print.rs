//! The canonical wire form of a filter: lower-case keywords, single spaces, strings escaped
//! as JSON, and parentheses only where precedence needs them.

use crate::domain::filter::{AttrPath, CompValue, CompareOp, Filter};

/// Prints `filter` so that `parse_filter(&to_wire(f)) == Ok(f)` for every filter the parser
/// can produce (a `ValuePath` whose attribute has a `sub`, or whose inner filter uses URNs
/// or another `ValuePath`, has no wire form and prints as something the parser refuses).
pub fn to_wire(filter: &Filter) -> String {
    let mut out = String::new();
    write_filter(&mut out, filter, Prec::Or);
    out
}

/// Binding strength, weakest first. `not`, value paths and attribute expressions are atoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Or,
    And,
    Atom,
}

fn prec(filter: &Filter) -> Prec {
    match filter {
        Filter::Or(..) => Prec::Or,
        Filter::And(..) => Prec::And,
        _ => Prec::Atom,
    }
}

/// Writes `filter` where something binding at least `min` is needed. Both operators are
/// left-associative, so a right operand of the same operator needs parentheses to keep its
/// shape: `Or(a, Or(b, c))` prints as `a or (b or c)`.
fn write_filter(out: &mut String, filter: &Filter, min: Prec) {
    if prec(filter) < min {
        out.push('(');
        write_filter(out, filter, Prec::Or);
        out.push(')');
        return;
    }
    match filter {
        Filter::Present(attr) => {
            write_attr(out, attr);
            out.push_str(" pr");
        }
        Filter::Compare(attr, op, value) => {
            write_attr(out, attr);
            out.push(' ');
            out.push_str(op_name(*op));
            out.push(' ');
            write_value(out, value);
        }
        Filter::And(left, right) => {
            write_filter(out, left, Prec::And);
            out.push_str(" and ");
            write_filter(out, right, Prec::Atom);
        }
        Filter::Or(left, right) => {
            write_filter(out, left, Prec::Or);
            out.push_str(" or ");
            write_filter(out, right, Prec::And);
        }
        Filter::Not(inner) => {
            out.push_str("not (");
            write_filter(out, inner, Prec::Or);
            out.push(')');
        }
        Filter::ValuePath(attr, inner) => {
            write_attr(out, attr);
            out.push('[');
            write_filter(out, inner, Prec::Or);
            out.push(']');
        }
    }
}

fn write_attr(out: &mut String, attr: &AttrPath) {
    if let Some(urn) = &attr.urn {
        out.push_str(urn);
        out.push(':');
    }
    out.push_str(&attr.name);
    if let Some(sub) = &attr.sub {
        out.push('.');
        out.push_str(sub);
    }
}

fn write_value(out: &mut String, value: &CompValue) {
    match value {
        CompValue::Null => out.push_str("null"),
        CompValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        CompValue::Number(n) => out.push_str(&n.to_string()),
        // serde_json escapes exactly what JSON requires, and the parser reads JSON strings.
        CompValue::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
    }
}

fn op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "eq",
        CompareOp::Ne => "ne",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Ew => "ew",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
    }
}
