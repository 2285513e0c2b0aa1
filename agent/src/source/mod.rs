//! Where the desired state comes from, and the shape every source produces: a
//! [`Directory`] of people keyed by `externalId`, with the groups they belong to.
//!
//! `csv:PATH`, `json:PATH` and `scim:URL` all end up as the same value, so the plan never
//! knows (or cares) which one it was.

pub mod csv;
pub mod json;
pub mod scim;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An attribute of a person that the agent keeps in sync. `externalId` is the key and is
/// not in this list; group memberships are carried by [`Group`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Attr {
    UserName,
    GivenName,
    FamilyName,
    DisplayName,
    Email,
    UserType,
    Active,
    CompanyRole,
    Department,
    /// The manager's `externalId` (the target stores its own id; the client translates).
    Manager,
}

impl Attr {
    pub const ALL: [Attr; 10] = [
        Attr::UserName,
        Attr::GivenName,
        Attr::FamilyName,
        Attr::DisplayName,
        Attr::Email,
        Attr::UserType,
        Attr::Active,
        Attr::CompanyRole,
        Attr::Department,
        Attr::Manager,
    ];

    /// The name used in CSV headers, the config file and the plan.
    pub fn name(self) -> &'static str {
        match self {
            Attr::UserName => "userName",
            Attr::GivenName => "givenName",
            Attr::FamilyName => "familyName",
            Attr::DisplayName => "displayName",
            Attr::Email => "email",
            Attr::UserType => "userType",
            Attr::Active => "active",
            Attr::CompanyRole => "companyRole",
            Attr::Department => "department",
            Attr::Manager => "manager",
        }
    }

    /// userName and e-mail addresses compare case-insensitively (RFC 7643 §4.1.1).
    pub fn same(self, a: Option<&str>, b: Option<&str>) -> bool {
        match (self, a, b) {
            (Attr::UserName | Attr::Email, Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => a == b,
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Attr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Attr::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown attribute {s:?}"))
    }
}

/// One person as a source describes them, or as the target holds them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// The key. Target users without one are matched by userName only when adoption is on.
    pub external_id: Option<String>,
    /// Every attribute but `externalId`, as text (`active` is `"true"`/`"false"`); an absent
    /// key means "no value".
    pub attrs: BTreeMap<Attr, String>,
}

impl Person {
    pub fn get(&self, attr: Attr) -> Option<&str> {
        self.attrs.get(&attr).map(String::as_str)
    }

    pub fn user_name(&self) -> &str {
        self.get(Attr::UserName).unwrap_or_default()
    }

    /// A person with no `active` value is active (SCIM's default for a new user).
    pub fn active(&self) -> bool {
        self.get(Attr::Active) != Some("false")
    }

    /// A short human label: the userName, else the externalId.
    pub fn label(&self) -> &str {
        match self.get(Attr::UserName) {
            Some(u) => u,
            None => self.external_id.as_deref().unwrap_or("?"),
        }
    }
}

/// A group as a source describes it: members are people's `externalId`s.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Set by sources that have a stable group identity (SCIM); lets a rename be seen as one.
    pub external_id: Option<String>,
    pub display_name: String,
    pub members: BTreeSet<String>,
}

/// The desired state: everyone the source lists, and the groups it mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub people: Vec<Person>,
    pub groups: Vec<Group>,
    /// The attributes this source provides: the others are left as they are in the target
    /// (a CSV without a `department` column must not clear everyone's department).
    pub provided: BTreeSet<Attr>,
}

/// `csv:PATH`, `json:PATH` or `scim:URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Csv(String),
    Json(String),
    Scim(String),
}

impl FromStr for SourceSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("csv", path)) if !path.is_empty() => Ok(Self::Csv(path.to_owned())),
            Some(("json", path)) if !path.is_empty() => Ok(Self::Json(path.to_owned())),
            Some(("scim", url)) if !url.is_empty() => Ok(Self::Scim(url.to_owned())),
            _ => Err(format!("source {s:?} is not csv:PATH, json:PATH or scim:URL")),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Csv(p) => write!(f, "csv:{p}"),
            Self::Json(p) => write!(f, "json:{p}"),
            Self::Scim(u) => write!(f, "scim:{u}"),
        }
    }
}

/// How a bad record is located: a line of a CSV file, or the position of a record in a
/// JSON export's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Locator {
    Line,
    Record,
}

/// A row (or record) that could not be read, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRecord {
    /// 1-based: the line in a CSV file (the header is line 1), the record in a JSON list.
    pub line: u64,
    pub at: Locator,
    pub reason: String,
}

impl BadRecord {
    pub fn line(line: u64, reason: String) -> Self {
        Self { line, at: Locator::Line, reason }
    }

    pub fn record(index: u64, reason: String) -> Self {
        Self { line: index, at: Locator::Record, reason }
    }
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.at {
            Locator::Line => "line",
            Locator::Record => "record",
        };
        write!(f, "{what} {}: {}", self.line, self.reason)
    }
}

/// What a file source read: the good records, the bad ones, and notes for the reader (a
/// column that is not synced, say).
#[derive(Debug, Default)]
pub struct Loaded {
    pub directory: Directory,
    pub bad: Vec<BadRecord>,
    pub notes: Vec<String>,
}

/// Builds the group list from each person's group names (CSV and JSON exports carry
/// memberships on the person).
pub fn groups_from_names<'a>(memberships: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Group> {
    let mut by_name: BTreeMap<String, Group> = BTreeMap::new();
    for (external_id, name) in memberships {
        by_name
            .entry(name.to_owned())
            .or_insert_with(|| Group { external_id: None, display_name: name.to_owned(), members: BTreeSet::new() })
            .members
            .insert(external_id.to_owned());
    }
    by_name.into_values().collect()
}

/// Checks the rules every file source shares: a key, a userName, no duplicates.
/// Answers the reason a record is bad.
pub(crate) fn check_unique(
    person: &Person,
    seen_ids: &mut BTreeSet<String>,
    seen_names: &mut BTreeSet<String>,
) -> Result<(), String> {
    let Some(id) = person.external_id.as_deref().filter(|s| !s.is_empty()) else {
        return Err("externalId is empty".into());
    };
    let name = person.user_name();
    if name.is_empty() {
        return Err("userName is empty".into());
    }
    if seen_ids.contains(id) {
        return Err(format!("externalId {id:?} appears twice"));
    }
    if seen_names.contains(&name.to_lowercase()) {
        return Err(format!("userName {name:?} appears twice"));
    }
    seen_ids.insert(id.to_owned());
    seen_names.insert(name.to_lowercase());
    Ok(())
}

/// Parses a boolean as exports write it.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" | "active" => Some(true),
        "false" | "no" | "0" | "n" | "inactive" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs_parse() {
        assert_eq!("csv:a.csv".parse::<SourceSpec>().unwrap(), SourceSpec::Csv("a.csv".into()));
        assert_eq!(
            "scim:http://127.0.0.1:1/scim/v2".parse::<SourceSpec>().unwrap(),
            SourceSpec::Scim("http://127.0.0.1:1/scim/v2".into())
        );
        assert!("ldap:x".parse::<SourceSpec>().is_err());
        assert!("csv:".parse::<SourceSpec>().is_err());
    }

    #[test]
    fn user_names_compare_case_insensitively() {
        assert!(Attr::UserName.same(Some("A@x.com"), Some("a@X.com")));
        assert!(!Attr::GivenName.same(Some("Ann"), Some("ann")));
    }
}
