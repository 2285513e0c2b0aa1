//! Add, replace and remove on one attribute of the data (RFC 7644 §3.5.2.1-§3.5.2.3). Values
//! go through `normalize` first, so a PATCH stores exactly what a PUT would.

use serde_json::{Map, Value};

use super::target::AttrTarget;
use crate::domain::filter::{CompValue, CompareOp, Filter};
use crate::domain::matcher::matches;
use crate::domain::normalize::{normalize_element, normalize_value, object_entry};
use crate::domain::schema::{AttrDef, Mutability};
use crate::domain::{Error, Result};

/// `add` (`add` = true) or `replace` of `value` at `t`. Setting a value to `null` (or `""`
/// for the manager) makes it unassigned.
pub(super) fn set(data: &mut Map<String, Value>, t: &AttrTarget, value: &Value, add: bool) -> Result<()> {
    let container = match t.ext {
        Some(ext) => object_entry(data, ext.id),
        None => data,
    };
    if t.def.multi_valued {
        return set_multi(container, t, value, add);
    }
    let Some(sub) = t.sub else {
        let new = normalize_value(t.def, value)?;
        if t.def.mutability == Mutability::Immutable
            && container.get(t.def.name).is_some_and(|old| Some(old) != new.as_ref())
        {
            return Err(Error::Mutability(format!("`{}` is immutable", t.def.name)));
        }
        match new {
            None => {
                container.remove(t.def.name);
            }
            // A complex value merges into the current one: sub-attributes not given are left
            // unchanged (RFC 7644 §3.5.2.1, §3.5.2.3). A reference (the manager) is replaced
            // whole, so its `$ref` never points at the previous manager.
            Some(Value::Object(subs)) if t.def.sub("value").is_none() => {
                object_entry(container, t.def.name).extend(subs)
            }
            Some(v) => {
                container.insert(t.def.name.to_owned(), v);
            }
        }
        return Ok(());
    };
    let new = normalize_value(sub, value)?;
    let parent = object_entry(container, t.def.name);
    match new {
        Some(v) => parent.insert(sub.name.to_owned(), v),
        None => parent.remove(sub.name),
    };
    Ok(())
}

fn set_multi(container: &mut Map<String, Value>, t: &AttrTarget, value: &Value, add: bool) -> Result<()> {
    let def = t.def;
    if t.filter.is_none() && t.sub.is_none() {
        let new = match normalize_value(def, value)? {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        if !add {
            // Replace without a filter replaces every value (RFC 7644 §3.5.2.3).
            container.remove(def.name);
        }
        let list = array_entry(container, def.name);
        let touched: Vec<usize> = new.into_iter().map(|item| upsert(list, item)).collect();
        keep_one_primary(list, &touched);
        return Ok(());
    }
    // A filter and/or a sub-attribute: work on the matching elements (all without a filter).
    let new = match t.sub {
        Some(sub) => normalize_value(sub, value)?,
        None => normalize_element(def, single(value))?,
    };
    let list = array_entry(container, def.name);
    let mut touched = Vec::new();
    for (i, element) in list.iter().enumerate() {
        if t.filter.as_ref().map_or(Ok(true), |f| matches(def, element, f))? {
            touched.push(i);
        }
    }
    if touched.is_empty() {
        let Some(new) = new else { return Ok(()) };
        list.push(created(def, t, new)?);
        touched.push(list.len() - 1);
    } else {
        for &i in &touched {
            let element = &mut list[i];
            match (t.sub, &new) {
                (Some(sub), Some(v)) => {
                    object_of(element).insert(sub.name.to_owned(), v.clone());
                }
                (Some(sub), None) => {
                    object_of(element).remove(sub.name);
                }
                (None, Some(Value::Object(subs))) if add => object_of(element).extend(subs.clone()),
                (None, Some(v)) => *element = v.clone(),
                // Pruned once all operations ran.
                (None, None) => *element = Value::Null,
            }
        }
    }
    keep_one_primary(list, &touched);
    Ok(())
}

/// The element to create when an add or replace with a value filter matched nothing. Entra
/// sends `emails[type eq "work"].value` to set a work e-mail the user does not have yet
/// (Microsoft's "Known issues and resolutions with SCIM 2.0 protocol compliance"): when the
/// filter is a conjunction of `eq` tests, they describe the new element. Anything else has
/// no obvious element to create (RFC 7644 §3.5.2: `noTarget`).
fn created(def: &AttrDef, t: &AttrTarget, new: Value) -> Result<Value> {
    let mut element = Map::new();
    if let Some(filter) = &t.filter {
        if !seed(def, filter, &mut element) {
            return Err(Error::NoTarget(format!("no value of `{}` matches the filter", def.name)));
        }
    }
    match (t.sub, new) {
        (Some(sub), v) => {
            element.insert(sub.name.to_owned(), v);
        }
        (None, Value::Object(subs)) => element.extend(subs),
        // A simple value of a multi-valued attribute without sub-attributes.
        (None, v) if def.sub_attributes.is_empty() => return Ok(v),
        (None, v) => {
            element.insert("value".to_owned(), v);
        }
    }
    Ok(Value::Object(element))
}

/// Collects the `sub eq value` tests of a conjunction into `element`; false for anything
/// else (or, or a test contradicting another).
fn seed(def: &AttrDef, filter: &Filter, element: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(a, b) => seed(def, a, element) && seed(def, b, element),
        Filter::Compare(attr, CompareOp::Eq, value) if attr.urn.is_none() && attr.sub.is_none() => {
            let Some(sub) = def.sub(&attr.name) else { return false };
            let value = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            let Ok(Some(value)) = normalize_element(sub, &value) else { return false };
            match element.get(sub.name) {
                Some(existing) => *existing == value,
                None => {
                    element.insert(sub.name.to_owned(), value);
                    true
                }
            }
        }
        _ => false,
    }
}

/// Removes `t`. A missing target is not an error: removal is idempotent. Removing a
/// multi-valued attribute with a value removes only the listed values (Entra does this).
pub(super) fn remove(data: &mut Map<String, Value>, t: &AttrTarget, value: Option<&Value>) -> Result<()> {
    let container = match t.ext {
        Some(ext) => match data.get_mut(ext.id).and_then(Value::as_object_mut) {
            Some(attrs) => attrs,
            None => return Ok(()),
        },
        None => data,
    };
    let def = t.def;
    if !def.multi_valued {
        if def.mutability == Mutability::Immutable && container.contains_key(def.name) {
            return Err(Error::Mutability(format!("`{}` is immutable", def.name)));
        }
        match t.sub {
            None => {
                container.remove(def.name);
            }
            Some(sub) => {
                if let Some(parent) = container.get_mut(def.name).and_then(Value::as_object_mut) {
                    parent.remove(sub.name);
                }
            }
        }
        return Ok(());
    }
    let listed = match value.filter(|v| !v.is_null()) {
        Some(v) if t.filter.is_none() && t.sub.is_none() => Some(normalize_value(def, v)?.unwrap_or(Value::Null)),
        _ => None,
    };
    if t.filter.is_none() && t.sub.is_none() && listed.is_none() {
        container.remove(def.name);
        return Ok(());
    }
    let Some(Value::Array(list)) = container.get_mut(def.name) else { return Ok(()) };
    if let Some(listed) = listed {
        let listed = listed.as_array().map(Vec::as_slice).unwrap_or_default();
        list.retain(|element| !listed.iter().any(|gone| same_value(def, element, gone)));
        return Ok(());
    }
    for element in list.iter_mut() {
        if t.filter.as_ref().map_or(Ok(true), |f| matches(def, element, f))? {
            match t.sub {
                Some(sub) => {
                    object_of(element).remove(sub.name);
                }
                None => *element = Value::Null,
            }
        }
    }
    Ok(())
}

/// Whether a stored element is the one a client listed: by `value` when the listed one
/// has it (compared with the sub-attribute's case rule), else exactly.
fn same_value(def: &AttrDef, element: &Value, listed: &Value) -> bool {
    match (listed.get("value"), element.get("value"), def.sub("value")) {
        (Some(Value::String(a)), Some(Value::String(b)), Some(sub)) if !sub.case_exact => {
            a.to_lowercase() == b.to_lowercase()
        }
        (Some(a), Some(b), _) => a == b,
        _ => element == listed,
    }
}

/// Appends `item` unless an element equal to it (but for `primary`) exists, in which case
/// that element takes the new `primary`. Returns the element's index.
fn upsert(list: &mut Vec<Value>, item: Value) -> usize {
    let existing = list.iter().position(|el| match (el, &item) {
        (Value::Object(a), Value::Object(b)) => {
            let others = |m: &Map<String, Value>| m.iter().filter(|(k, _)| *k != "primary").count();
            others(a) == others(b) && b.iter().all(|(k, v)| k == "primary" || a.get(k) == Some(v))
        }
        (a, b) => a == b,
    });
    match existing {
        Some(i) => {
            if let (Some(target), Some(primary)) = (list[i].as_object_mut(), item.get("primary")) {
                target.insert("primary".to_owned(), primary.clone());
            }
            i
        }
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

/// At most one element is primary (RFC 7643 §2.4): the first of `touched` that the
/// operation made primary wins, and the others lose the flag.
fn keep_one_primary(list: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    let Some(&keep) = touched.iter().find(|&&i| is_primary(&list[i])) else { return };
    for (i, element) in list.iter_mut().enumerate() {
        if i != keep && is_primary(element) {
            object_of(element).remove("primary");
        }
    }
}

/// A value for one element: an array of one is that element.
fn single(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

fn object_of(element: &mut Value) -> &mut Map<String, Value> {
    if !element.is_object() {
        *element = Value::Object(Map::new());
    }
    match element {
        Value::Object(obj) => obj,
        _ => unreachable!("the element was just made an object"),
    }
}

fn array_entry<'a>(container: &'a mut Map<String, Value>, name: &str) -> &'a mut Vec<Value> {
    let slot = container.entry(name.to_owned()).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(items) => items,
        _ => unreachable!("the slot was just made an array"),
    }
}
