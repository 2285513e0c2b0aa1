//! Evaluates a value-path filter (`emails[type eq "work"]`) against one element of a
//! multi-valued attribute, for PATCH. List filters never come here: storage runs them as SQL.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::normalize::get_ci;
use super::schema::{AttrDef, AttrType};
use super::{Error, Result};

/// Whether one element of the multi-valued attribute `def` matches `filter`, whose attribute
/// paths name sub-attributes of the element (`value` is the element itself when the
/// attribute's values are simple). Both sides of `and`/`or` are always evaluated, so running
/// this on `Value::Null` checks a filter without any data.
pub fn matches(def: &AttrDef, element: &Value, filter: &Filter) -> Result<bool> {
    match filter {
        Filter::And(a, b) => {
            let (a, b) = (matches(def, element, a)?, matches(def, element, b)?);
            Ok(a && b)
        }
        Filter::Or(a, b) => {
            let (a, b) = (matches(def, element, a)?, matches(def, element, b)?);
            Ok(a || b)
        }
        Filter::Not(inner) => Ok(!matches(def, element, inner)?),
        Filter::ValuePath(..) => Err(Error::InvalidFilter("a value filter cannot contain another value filter".into())),
        Filter::Present(path) => {
            let (_, actual) = operand(def, element, path)?;
            Ok(actual.is_some_and(|v| !matches!(v, Value::String(s) if s.is_empty())))
        }
        Filter::Compare(path, op, expected) => {
            let (attr, actual) = operand(def, element, path)?;
            compare(attr, actual, *op, expected)
        }
    }
}

/// The definition and the value (if assigned) of the sub-attribute `path` names.
fn operand<'d, 'v>(def: &'d AttrDef, element: &'v Value, path: &AttrPath) -> Result<(&'d AttrDef, Option<&'v Value>)> {
    let unknown =
        || Error::InvalidFilter(format!("`{}` has no sub-attribute `{}` to filter on", def.name, display(path)));
    if path.urn.is_some() || path.sub.is_some() {
        return Err(unknown());
    }
    if def.ty != AttrType::Complex {
        // Simple multi-valued values: `value` is the element itself.
        if !path.name.eq_ignore_ascii_case("value") {
            return Err(unknown());
        }
        return Ok((def, Some(element).filter(|v| !v.is_null())));
    }
    let attr = def.sub(&path.name).ok_or_else(unknown)?;
    let actual = element.as_object().and_then(|obj| get_ci(obj, attr.name)).filter(|v| !v.is_null());
    Ok((attr, actual))
}

fn display(path: &AttrPath) -> String {
    let mut s = path.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
    s.push_str(&path.name);
    if let Some(sub) = &path.sub {
        s.push('.');
        s.push_str(sub);
    }
    s
}

fn compare(attr: &AttrDef, actual: Option<&Value>, op: CompareOp, expected: &CompValue) -> Result<bool> {
    use CompareOp::*;
    let ordering = matches!(op, Gt | Ge | Lt | Le);
    let substring = matches!(op, Co | Sw | Ew);
    if attr.ty == AttrType::Complex {
        return Err(Error::InvalidFilter(format!("`{}` is complex and cannot be compared", attr.name)));
    }
    let boolean = attr.ty == AttrType::Boolean || matches!(expected, CompValue::Bool(_));
    if boolean && (ordering || substring) {
        return Err(Error::InvalidFilter(format!("`{}` is a boolean: only eq, ne and pr apply", attr.name)));
    }
    if substring && matches!(attr.ty, AttrType::Integer | AttrType::Decimal) {
        return Err(Error::InvalidFilter(format!("`{}` is a number: co, sw and ew apply to strings", attr.name)));
    }
    if matches!(expected, CompValue::Null) {
        return match op {
            Eq => Ok(actual.is_none()),
            Ne => Ok(actual.is_some()),
            _ => Err(Error::InvalidFilter("null can only be compared with eq or ne".into())),
        };
    }
    let Some(actual) = actual else { return Ok(op == Ne) };
    // Entra writes `roles[primary eq "True"]`: a boolean spelled as a string.
    let expected = match expected {
        CompValue::String(s) if attr.ty == AttrType::Boolean && s.eq_ignore_ascii_case("true") => {
            &CompValue::Bool(true)
        }
        CompValue::String(s) if attr.ty == AttrType::Boolean && s.eq_ignore_ascii_case("false") => {
            &CompValue::Bool(false)
        }
        other => other,
    };
    Ok(match (actual, expected) {
        (Value::Bool(a), CompValue::Bool(b)) => holds(op, a.cmp(b)),
        (Value::Number(a), CompValue::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| holds(op, o)),
            _ => false,
        },
        (Value::String(a), CompValue::String(b)) => compare_strings(attr, a, b, op),
        // Values of different types are never equal.
        _ => op == Ne,
    })
}

fn compare_strings(attr: &AttrDef, a: &str, b: &str, op: CompareOp) -> bool {
    use CompareOp::*;
    if matches!(op, Gt | Ge | Lt | Le) {
        if let (Ok(x), Ok(y)) = (OffsetDateTime::parse(a, &Rfc3339), OffsetDateTime::parse(b, &Rfc3339)) {
            return holds(op, x.cmp(&y));
        }
    }
    let (a, b): (Cow<str>, Cow<str>) =
        if attr.case_exact { (a.into(), b.into()) } else { (a.to_lowercase().into(), b.to_lowercase().into()) };
    match op {
        Co => a.contains(b.as_ref()),
        Sw => a.starts_with(b.as_ref()),
        Ew => a.ends_with(b.as_ref()),
        _ => holds(op, a.cmp(&b)),
    }
}

/// Whether `op` holds for two values ordered `ord` (eq, ne and the ordering operators).
fn holds(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord.is_eq(),
        CompareOp::Ne => ord.is_ne(),
        CompareOp::Gt => ord.is_gt(),
        CompareOp::Ge => ord.is_ge(),
        CompareOp::Lt => ord.is_lt(),
        CompareOp::Le => ord.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::schema::{ResourceType, ENTERPRISE_USER};

    fn def(name: &str) -> &'static AttrDef {
        ResourceType::User.resolve(None, name).unwrap().def
    }

    fn cmp(name: &str, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare(AttrPath::simple(name), op, value)
    }

    fn s(v: &str) -> CompValue {
        CompValue::String(v.into())
    }

    fn check(element: &Value, filter: &Filter) -> Result<bool> {
        matches(def("emails"), element, filter)
    }

    #[test]
    fn compares_strings_by_the_sub_attribute_case_rule() {
        let email = json!({"value": "Ann@Example.COM", "type": "work", "primary": true});
        let yes = |f: Filter| assert!(check(&email, &f).unwrap(), "{f:?}");
        let no = |f: Filter| assert!(!check(&email, &f).unwrap(), "{f:?}");
        yes(cmp("TYPE", CompareOp::Eq, s("Work")));
        yes(cmp("value", CompareOp::Co, s("@example.")));
        yes(cmp("value", CompareOp::Sw, s("ann@")));
        yes(cmp("value", CompareOp::Ew, s(".com")));
        yes(cmp("value", CompareOp::Gt, s("a")));
        yes(cmp("value", CompareOp::Le, s("ann@example.com")));
        yes(cmp("type", CompareOp::Ne, s("home")));
        no(cmp("type", CompareOp::Eq, s("home")));
        no(cmp("value", CompareOp::Lt, s("a")));
        yes(cmp("primary", CompareOp::Eq, CompValue::Bool(true)));
        yes(cmp("primary", CompareOp::Eq, s("True")));
        no(cmp("primary", CompareOp::Eq, s("false")));
        no(cmp("primary", CompareOp::Ne, CompValue::Bool(true)));
        // A number is never equal to a string.
        no(cmp("type", CompareOp::Eq, CompValue::Number(1.into())));

        let exact = ResourceType::User.resolve(None, "externalId").unwrap().def;
        assert!(exact.case_exact);
        let group_like = AttrDef { sub_attributes: std::slice::from_ref(exact), ..*def("emails") };
        let element = json!({"externalId": "AbC"});
        assert!(!matches(&group_like, &element, &cmp("externalId", CompareOp::Eq, s("abc"))).unwrap());
        assert!(matches(&group_like, &element, &cmp("externalId", CompareOp::Eq, s("AbC"))).unwrap());
    }

    #[test]
    fn presence_null_and_logic() {
        let email = json!({"value": "a@x", "display": ""});
        assert!(check(&email, &Filter::Present(AttrPath::simple("value"))).unwrap());
        assert!(!check(&email, &Filter::Present(AttrPath::simple("display"))).unwrap());
        assert!(!check(&email, &Filter::Present(AttrPath::simple("type"))).unwrap());
        assert!(check(&email, &cmp("type", CompareOp::Eq, CompValue::Null)).unwrap());
        assert!(check(&email, &cmp("value", CompareOp::Ne, CompValue::Null)).unwrap());
        assert!(check(&email, &cmp("type", CompareOp::Ne, s("work"))).unwrap(), "an absent value is not equal");
        assert!(!check(&email, &cmp("type", CompareOp::Co, s("w"))).unwrap());
        let a = || Box::new(cmp("value", CompareOp::Eq, s("a@x")));
        let b = || Box::new(cmp("type", CompareOp::Eq, s("work")));
        assert!(!check(&email, &Filter::And(a(), b())).unwrap());
        assert!(check(&email, &Filter::Or(a(), b())).unwrap());
        assert!(check(&email, &Filter::Not(b())).unwrap());
    }

    #[test]
    fn date_times_compare_as_instants() {
        let meta = ResourceType::User.resolve(None, "meta").unwrap().def;
        let fake = AttrDef { multi_valued: true, ..*meta };
        let element = json!({"created": "2024-01-01T10:00:00+02:00"});
        let after = |t: &str| matches(&fake, &element, &cmp("created", CompareOp::Gt, s(t))).unwrap();
        assert!(after("2024-01-01T07:59:59Z"));
        assert!(!after("2024-01-01T08:00:00Z"));
        assert!(!after("2024-01-01T09:00:00.5+01:00"));
    }

    #[test]
    fn refuses_what_a_value_filter_cannot_mean() {
        let email = json!({"value": "a@x", "primary": true});
        let invalid = |f: Filter| assert!(matches!(check(&email, &f), Err(Error::InvalidFilter(_))), "{f:?}");
        invalid(cmp("primary", CompareOp::Gt, CompValue::Bool(false)));
        invalid(cmp("primary", CompareOp::Co, CompValue::Bool(true)));
        invalid(cmp("bogus", CompareOp::Eq, s("x")));
        invalid(cmp("value", CompareOp::Gt, CompValue::Null));
        invalid(Filter::Present(AttrPath { urn: None, name: "value".into(), sub: Some("x".into()) }));
        invalid(Filter::ValuePath(AttrPath::simple("emails"), Box::new(Filter::Present(AttrPath::simple("value")))));
        // Both sides are checked, even when the first decides.
        let f =
            Filter::Or(Box::new(cmp("value", CompareOp::Eq, s("a@x"))), Box::new(cmp("bogus", CompareOp::Eq, s("x"))));
        invalid(f);
        assert!(matches!(
            matches(def("emails"), &Value::Null, &cmp("nope", CompareOp::Eq, s("x"))),
            Err(Error::InvalidFilter(_))
        ));
        let manager = ResourceType::User.resolve(Some(ENTERPRISE_USER), "manager").unwrap().def;
        assert!(matches(manager, &json!({"value": "m"}), &cmp("value", CompareOp::Eq, s("M"))).unwrap());
    }

    #[test]
    fn simple_values_are_their_own_value() {
        let tags = AttrDef { multi_valued: true, ..*def("nickName") };
        assert!(matches(&tags, &json!("Blue"), &cmp("value", CompareOp::Eq, s("blue"))).unwrap());
        assert!(matches(&tags, &json!("Blue"), &cmp("type", CompareOp::Eq, s("blue"))).is_err());
    }
}
