//! A stored SCIM resource and the questions asked of the store about resources: how to
//! list them, what a write must check first.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::document::Document;
use super::filter::{AttrPath, Filter};
use super::normalize::MemberRef;
use super::schema::ResourceType;

/// The tenant a request acts for. Every store call takes one; no query runs without it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(pub String);

/// Server-maintained metadata (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub created: OffsetDateTime,
    pub last_modified: OffsetDateTime,
    /// Bumped by every write; the ETag is derived from it.
    pub version: i64,
}

/// A member of a group as read back. `kind` is what the member is; `declared_kind` and
/// `display` are what the client sent, returned as sent (clients compare them).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub value: String,
    pub kind: String,
    pub declared_kind: Option<String>,
    pub display: Option<String>,
}

/// A group a user belongs to (the read-only `groups` attribute).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRef {
    pub value: String,
    pub display: String,
}

/// A resource as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub resource_type: ResourceType,
    pub id: String,
    pub data: Document,
    pub meta: Meta,
    /// Groups only, and only when asked for: the members.
    pub members: Option<Vec<Member>>,
    /// Users only, and only when asked for: the groups the user is a direct member of.
    pub groups: Option<Vec<GroupRef>>,
    /// Users only: what the lifecycle says of the person, when the store read it with the
    /// document (so the SCIM rendering needs no second read).
    pub standing: Option<super::lifecycle::Standing>,
    /// Groups only: whether a binding (to a company role or to projects) names the group,
    /// when the store read that with the document. An unbound group's answer has no
    /// lifecycle overlay, so it needs no second read; `None` means not known.
    pub bound: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

/// What a list or search asks for. Index paging is 1-based, as on the wire.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<(AttrPath, SortOrder)>,
    /// Index paging: ignored when `keyset` is set.
    pub start_index: u64,
    pub count: u64,
    /// Whether to read group members / user groups (skipped when the client excluded them).
    pub with_relations: bool,
    /// Keyset paging (cursors): `Some(None)` is the first page, `Some(Some(k))` the rows
    /// strictly after `k` in the list order. `None` is index paging.
    pub keyset: Option<Option<Keyset>>,
    /// Whether to count every match for `Page::total` (a cursor walk counts once, on its
    /// first page, and carries the count: counting a large tenant on every page would cost
    /// more than the page).
    pub count_total: bool,
}

/// A position in a list's order: the sort key (when sorted) and the id of a row. A walk
/// resumes strictly after it, so rows inserted or deleted elsewhere in the order move no
/// other row across the page boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    /// The row's sort value, `None` when the list is not sorted.
    pub sort: Option<SortKey>,
    pub id: String,
}

/// A sort value as compared by the database: text (already case-folded where the attribute
/// is case-insensitive), a number, a boolean, or absent (sorted last).
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
}

/// One page of results and the total number of matches.
#[derive(Debug, Clone)]
pub struct Page {
    /// Every match, when the query asked for it (`count_total`); 0 otherwise.
    pub total: u64,
    pub items: Vec<StoredResource>,
    /// Keyset paging only: where the next page starts, when more rows follow this page.
    pub next: Option<Keyset>,
}

/// A set of versions named by `If-Match` or `If-None-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSet {
    /// `*`
    Any,
    /// The versions named; tags this server could never have produced are left out, so a
    /// list of only such tags matches nothing.
    Listed(Vec<i64>),
}

impl VersionSet {
    pub fn contains(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::Listed(v) => v.contains(&version),
        }
    }
}

/// A write's preconditions (RFC 7232 as used by RFC 7644 §3.14).
#[derive(Debug, Clone, Default)]
pub struct Precondition {
    pub if_match: Option<VersionSet>,
    pub if_none_match: Option<VersionSet>,
}

impl Precondition {
    /// Whether a write may go ahead on a resource at `version`.
    pub fn allows(&self, version: i64) -> bool {
        self.if_match.as_ref().is_none_or(|s| s.contains(version))
            && self.if_none_match.as_ref().is_none_or(|s| !s.contains(version))
    }
}

/// A resource to create.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub data: Map<String, Value>,
    pub members: Option<Vec<MemberRef>>,
}

/// How an update changes a resource: a function run inside the store's transaction on the
/// current data, returning the group member changes to apply with it. PUT replaces the data;
/// PATCH applies its operations. Running it inside the transaction makes read-modify-write
/// atomic without holding anything across requests.
pub type Mutation = Box<dyn FnOnce(&mut Map<String, Value>) -> super::Result<Vec<super::patch::MemberOp>> + Send>;
