//! Owned work: the records people own (contacts, leads, tasks) and write (notes). Each kind
//! names the company permission a person needs to own it, so that reassignment can tell
//! who may take a leaver's records.

use time::OffsetDateTime;

use super::{Error, Result};

/// The longest title a record may have.
pub const MAX_TITLE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Contact,
    Lead,
    Task,
    Note,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Contact, Kind::Lead, Kind::Task, Kind::Note];
    /// The kinds that move to someone else when their owner leaves (notes stay with their author).
    pub const REASSIGNED: [Kind; 3] = [Kind::Contact, Kind::Lead, Kind::Task];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Lead => "lead",
            Self::Task => "task",
            Self::Note => "note",
        }
    }

    /// The plural the seeds and the API speak of ("104 / 104 contacts").
    pub fn plural(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Lead => "leads",
            Self::Task => "tasks",
            Self::Note => "notes",
        }
    }

    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text || k.plural() == text).ok_or_else(|| {
            Error::InvalidValue(format!("unknown record type `{text}`: use contact, lead, task or note"))
        })
    }

    /// The company permission a person needs to own a record of this kind (notes: none,
    /// anyone may write one).
    pub fn permission(self) -> Option<&'static str> {
        match self {
            Self::Contact => Some("crm.contacts"),
            Self::Lead => Some("crm.leads"),
            Self::Task => Some("tasks"),
            Self::Note => None,
        }
    }

    /// The statuses a record of this kind may have, the first being the default.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Self::Task => &["pending", "completed"],
            Self::Lead => &["open", "won", "lost"],
            Self::Contact | Self::Note => &[],
        }
    }

    /// Checks a status for this kind; `None` gives the default.
    pub fn status(self, status: Option<&str>) -> Result<Option<String>> {
        let allowed = self.statuses();
        match status {
            None => Ok(allowed.first().map(|s| (*s).to_owned())),
            Some(s) if allowed.contains(&s) => Ok(Some(s.to_owned())),
            Some(s) if allowed.is_empty() => {
                Err(Error::InvalidValue(format!("a {} has no status (got `{s}`)", self.as_str())))
            }
            Some(s) => Err(Error::InvalidValue(format!(
                "a {} is {} (got `{s}`)",
                self.as_str(),
                allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" or ")
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkRecord {
    pub id: String,
    pub kind: Kind,
    pub owner: String,
    pub title: String,
    pub status: Option<String>,
    /// Kept with a person who left (completed tasks); nothing is ever deleted.
    pub archived: bool,
    pub version: i64,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
}

/// Checks a title: not blank, not too long.
pub fn check_title(title: &str) -> Result<String> {
    let t = title.trim();
    if t.is_empty() {
        return Err(Error::InvalidValue("a record needs a title".into()));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(Error::InvalidValue(format!("a title has at most {MAX_TITLE} characters")));
    }
    Ok(t.to_owned())
}

/// Records of one tenant, in id order (creation order), after a cursor.
#[derive(Debug, Clone, Default)]
pub struct WorkQuery {
    pub owner: Option<String>,
    pub kind: Option<Kind>,
    pub status: Option<String>,
    pub archived: Option<bool>,
    /// Only records whose id sorts after this one (the previous page's last id).
    pub after: Option<String>,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_singular_and_plural_and_name_their_permission() {
        assert_eq!(Kind::parse("contacts").unwrap(), Kind::Contact);
        assert_eq!(Kind::parse("lead").unwrap(), Kind::Lead);
        assert!(Kind::parse("deal").is_err());
        assert_eq!(Kind::Task.permission(), Some("tasks"));
        assert_eq!(Kind::Note.permission(), None);
    }

    #[test]
    fn statuses_are_checked_per_kind() {
        assert_eq!(Kind::Task.status(None).unwrap().as_deref(), Some("pending"));
        assert_eq!(Kind::Contact.status(None).unwrap(), None);
        assert!(Kind::Contact.status(Some("open")).is_err());
        assert!(Kind::Lead.status(Some("completed")).is_err());
        assert_eq!(Kind::Lead.status(Some("won")).unwrap().as_deref(), Some("won"));
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(check_title("  Call Ada ").unwrap(), "Call Ada");
        assert!(check_title("  ").is_err());
        assert!(check_title(&"x".repeat(MAX_TITLE + 1)).is_err());
    }
}
