//! What a PATCH path points at, checked against the schema before anything changes.

use serde_json::Value;

use crate::domain::filter::{AttrPath, Filter, PatchPath};
use crate::domain::matcher;
use crate::domain::normalize::{split_sub, split_urn};
use crate::domain::schema::{AttrDef, Mutability, ResourceType, SchemaDef};
use crate::domain::{Error, Result};

pub(super) enum Target {
    /// A read-only attribute (`id`, `meta`, `groups`, `schemas`): the server's to set, so
    /// operations on it are ignored rather than failing a whole sync.
    Ignored,
    /// An extension object as a whole (`urn:...:enterprise:2.0:User`).
    Extension(&'static SchemaDef),
    /// A group's `members`, kept outside the data.
    Members(MembersPath),
    Attr(AttrTarget),
}

pub(super) struct MembersPath {
    pub filter: Option<Filter>,
    /// The path names a sub-attribute of members (`members.display`, `members[...].type`).
    pub has_sub: bool,
}

/// An attribute in the data, possibly narrowed to the elements matching `filter` and to
/// one sub-attribute.
pub(super) struct AttrTarget {
    /// The extension holding the attribute; `None` for core and common attributes.
    pub ext: Option<&'static SchemaDef>,
    pub def: &'static AttrDef,
    /// Only on multi-valued attributes.
    pub filter: Option<Filter>,
    pub sub: Option<&'static AttrDef>,
}

/// Resolves `path` against `rt`'s schemas. Unknown attributes are `InvalidPath`.
pub(super) fn resolve(rt: ResourceType, path: &PatchPath) -> Result<Target> {
    let attr = &path.attr;
    let sub_name = match (&attr.sub, &path.sub_after_filter) {
        (Some(_), Some(_)) => return Err(Error::InvalidPath(format!("`{}` names two sub-attributes", show(attr)))),
        (a, b) => a.as_deref().or(b.as_deref()),
    };
    if let Some(urn) = &attr.urn {
        // A bare extension URN parses as `urn:...:2.0` + `User`.
        if let Some(ext) = rt.extension(&format!("{urn}:{}", attr.name)) {
            if sub_name.is_some() || path.filter.is_some() {
                return Err(Error::InvalidPath(format!("`{}` is an extension; name one of its attributes", ext.id)));
            }
            return Ok(Target::Extension(ext));
        }
    }
    if let Some(urn) = &attr.urn {
        // A schema this server does not know (an identity provider's own extension, or a
        // misspelt URN as Entra sends): its attributes are ignored, as they are in a body,
        // rather than failing the whole atomic PATCH.
        let known = |u: &str| u.eq_ignore_ascii_case(rt.core().id) || rt.extension(u).is_some();
        if !known(urn) && !known(&format!("{urn}:{}", attr.name)) {
            return Ok(Target::Ignored);
        }
    }
    if attr.urn.is_none() && attr.name.eq_ignore_ascii_case("schemas") {
        return Ok(Target::Ignored);
    }
    let found = rt
        .resolve(attr.urn.as_deref(), &attr.name)
        .ok_or_else(|| Error::InvalidPath(format!("`{}` is not an attribute of a {}", show(attr), rt.name())))?;
    let def = found.def;
    if path.filter.is_some() && !def.multi_valued {
        return Err(Error::InvalidPath(format!("`{}` is single-valued and cannot take a value filter", def.name)));
    }
    if rt == ResourceType::Group && found.schema.is_none() && def.name == "members" {
        return Ok(Target::Members(MembersPath { filter: path.filter.clone(), has_sub: sub_name.is_some() }));
    }
    if def.mutability == Mutability::ReadOnly {
        return Ok(Target::Ignored);
    }
    let sub = match sub_name {
        None => None,
        Some(name) => {
            let sub = def
                .sub(name)
                .ok_or_else(|| Error::InvalidPath(format!("`{}` has no sub-attribute `{name}`", def.name)))?;
            if sub.mutability == Mutability::ReadOnly {
                return Ok(Target::Ignored);
            }
            Some(sub)
        }
    };
    if let Some(filter) = &path.filter {
        // Checks the filter's names and operators even when there is nothing to match.
        matcher::matches(def, &Value::Null, filter)?;
    }
    Ok(Target::Attr(AttrTarget { ext: found.schema, def, filter: path.filter.clone(), sub }))
}

/// The path a key of a value object stands for: `"title"`, `"name.givenName"` (Entra),
/// `"urn:...:enterprise:2.0:User:department"`, or, inside an extension object (`urn`),
/// one of its attributes.
pub(super) fn key_path(urn: Option<&str>, key: &str) -> PatchPath {
    let (urn, rest) = match urn {
        Some(urn) => (Some(urn), key),
        None => split_urn(key),
    };
    let (name, sub) = split_sub(rest);
    PatchPath {
        attr: AttrPath { urn: urn.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) },
        filter: None,
        sub_after_filter: None,
    }
}

fn show(attr: &AttrPath) -> String {
    let mut s = attr.urn.as_ref().map(|u| format!("{u}:")).unwrap_or_default();
    s.push_str(&attr.name);
    if let Some(sub) = &attr.sub {
        s.push('.');
        s.push_str(sub);
    }
    s
}
