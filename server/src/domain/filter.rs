//! The SCIM filter as a value (RFC 7644 §3.4.2.2), independent of how it was written on the
//! wire and of how storage runs it. `protocol::filter` parses text into this; `storage` turns
//! it into SQL; `domain::matcher` evaluates it against one JSON value (for PATCH value paths).

use serde_json::Number;

/// An attribute reference: `[urn:]name[.sub]`. Names keep the case the client wrote; lookups
/// against the schema are case-insensitive (RFC 7643 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix when the client qualified the name, without the trailing `:`.
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A bare attribute name, as used inside value-path filters (`emails[type eq "work"]`).
    pub fn simple(name: &str) -> Self {
        Self { urn: None, name: name.to_owned(), sub: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A comparison value (`compValue` in the RFC grammar).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some element of the multi-valued `attr` matches `filter`, whose
    /// attribute paths name sub-attributes of that element. `attr` has no `sub`.
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath [ "." subAttr ]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; `sub` is set only for the plain `attr.sub` form.
    pub attr: AttrPath,
    /// The value filter of `attr[filter]`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `emails[type eq "work"].value`.
    pub sub_after_filter: Option<String>,
}
