//! PATCH on a group's `members`, which live beside the data: each operation becomes a
//! [`MemberOp`] for the store. Set-based, so adding one member to a large group never
//! rewrites the others.

use serde_json::Value;

use super::target::MembersPath;
use super::{missing_value, MemberOp, PatchOpKind};
use crate::domain::filter::{CompValue, CompareOp, Filter};
use crate::domain::normalize::parse_members;
use crate::domain::{Error, Result};

pub(super) fn apply(
    kind: PatchOpKind,
    path: &MembersPath,
    value: Option<&Value>,
    out: &mut Vec<MemberOp>,
) -> Result<()> {
    if path.has_sub {
        return Err(Error::Mutability(
            "the sub-attributes of a group member cannot be changed; remove and add the member instead".into(),
        ));
    }
    match (kind, &path.filter) {
        (PatchOpKind::Remove, None) => match value {
            None | Some(Value::Null) => out.push(MemberOp::Clear),
            // Entra removes members by listing them: remove those only, never everyone.
            Some(listed) => {
                let ids: Vec<String> = parse_members(listed)?.into_iter().map(|m| m.value).collect();
                if !ids.is_empty() {
                    out.push(MemberOp::Remove(ids));
                }
            }
        },
        (PatchOpKind::Remove, Some(filter)) => {
            let mut ids = Vec::new();
            member_ids(filter, &mut ids)?;
            out.push(MemberOp::Remove(ids));
        }
        (_, Some(_)) => {
            return Err(Error::InvalidPath(
                "members are added or replaced with the path `members`; a filter selects members to remove".into(),
            ))
        }
        (PatchOpKind::Add, None) => {
            let members = parse_members(value.ok_or_else(|| missing_value(kind))?)?;
            if !members.is_empty() {
                out.push(MemberOp::Add(members));
            }
        }
        (PatchOpKind::Replace, None) => {
            let members = parse_members(value.ok_or_else(|| missing_value(kind))?)?;
            out.push(MemberOp::Clear);
            if !members.is_empty() {
                out.push(MemberOp::Add(members));
            }
        }
    }
    Ok(())
}

/// The ids of `value eq "id" [or value eq "id2" ...]`: the only member filters supported,
/// since members are rows matched by id, not JSON.
fn member_ids(filter: &Filter, ids: &mut Vec<String>) -> Result<()> {
    match filter {
        Filter::Or(a, b) => {
            member_ids(a, ids)?;
            member_ids(b, ids)
        }
        Filter::Compare(attr, CompareOp::Eq, CompValue::String(id))
            if attr.urn.is_none() && attr.sub.is_none() && attr.name.eq_ignore_ascii_case("value") =>
        {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
            Ok(())
        }
        _ => Err(Error::InvalidFilter(
            "only `value eq \"id\"` filters, joined with `or`, are supported on members".into(),
        )),
    }
}
