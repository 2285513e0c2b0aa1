//! A tenant's settings and policies: the seat limit, how long sign-up links live, what SCIM
//! writes do to people, and the public join link.

use time::Duration;

use super::lifecycle::UserTarget;

/// What a SCIM `active: false` does to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deactivation {
    Contact,
    Deleted,
}

impl Deactivation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Contact, Self::Deleted].into_iter().find(|d| d.as_str() == s)
    }
}

impl UserTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Invited, Self::Active].into_iter().find(|d| d.as_str() == s)
    }
}

pub const DEFAULT_LINK_HOURS: u32 = 24;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    /// Paid seats; `None` until an admin sets a limit.
    pub seat_limit: Option<u32>,
    /// How long sign-up and reset links stay valid.
    pub link_validity_hours: u32,
    /// What a SCIM POST creates (`invited`, or `active` for SSO-only tenants).
    pub scim_create: UserTarget,
    /// What SCIM `active: false` does.
    pub scim_deactivate: Deactivation,
    /// What SCIM `active: true` does to a contact.
    pub scim_reactivate: UserTarget,
    /// Whether invitations are mailed when people are invited by SCIM or the join link.
    pub send_invitations: bool,
    /// Whether the public join link is on (its secret is kept hashed elsewhere).
    pub join_link_enabled: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            seat_limit: None,
            link_validity_hours: DEFAULT_LINK_HOURS,
            scim_create: UserTarget::Invited,
            scim_deactivate: Deactivation::Contact,
            scim_reactivate: UserTarget::Invited,
            send_invitations: true,
            join_link_enabled: false,
        }
    }
}

impl TenantSettings {
    pub fn link_validity(&self) -> Duration {
        Duration::hours(i64::from(self.link_validity_hours))
    }
}

/// The seats of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    pub limit: Option<u32>,
    pub used: u64,
}

impl Seats {
    pub fn free(&self) -> Option<u64> {
        self.limit.map(|l| u64::from(l).saturating_sub(self.used))
    }
}
