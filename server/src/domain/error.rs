//! The domain's one error type. Each variant is a SCIM failure kind (RFC 7644 §3.12) named
//! without HTTP: `protocol::error` maps every variant to a status and `scimType` in one place.

/// What went wrong in a use case. Messages are written for the client; storage failures
/// carry their cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The filter is not valid or not supported (400 `invalidFilter`).
    #[error("{0}")]
    InvalidFilter(String),
    /// The request body or a parameter could not be parsed (400 `invalidSyntax`).
    #[error("{0}")]
    InvalidSyntax(String),
    /// A value is missing, of the wrong type, or not allowed (400 `invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    /// A PATCH path is malformed or names no attribute (400 `invalidPath`).
    #[error("{0}")]
    InvalidPath(String),
    /// A PATCH path's filter matched nothing where something was required (400 `noTarget`).
    #[error("{0}")]
    NoTarget(String),
    /// An attempt to change an immutable or read-only attribute (400 `mutability`).
    #[error("{0}")]
    Mutability(String),
    /// A uniqueness rule would be broken (409 `uniqueness`).
    #[error("{0}")]
    Uniqueness(String),
    /// A limit was exceeded (400 `tooMany`).
    #[error("{0}")]
    TooMany(String),
    /// The resource does not exist in this tenant (404).
    #[error("{0}")]
    NotFound(String),
    /// `If-Match` named a version that is no longer current (412).
    #[error("the resource has changed since the version given in If-Match")]
    VersionMismatch,
    /// A rule of the people lifecycle refused the operation; nothing was changed. The admin
    /// API answers `code`; SCIM maps each refusal to a status in `protocol::error`.
    #[error("{message}")]
    Refused { code: Refusal, message: String },
    /// The database failed; the cause is logged, never sent (500).
    #[error("internal storage error")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn refused(code: Refusal, message: impl Into<String>) -> Self {
        Self::Refused { code, message: message.into() }
    }
}

/// Why a lifecycle rule refused an operation. Each has a stable machine-readable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The state machine has no such move from the person's state.
    IllegalTransition,
    /// The tenant's seat limit would be exceeded.
    SeatLimit,
    /// The tenant would be left without an admin.
    LastAdmin,
    /// Another person of the tenant has this e-mail.
    EmailTaken,
    /// A user needs an e-mail (to be invited, to sign in).
    EmailRequired,
    /// No company role by that name.
    UnknownRole,
    /// No permission by that name.
    UnknownPermission,
    /// The person's role may not be granted this permission.
    PermissionNotAllowed,
    /// The role is still held by someone, or is built in.
    RoleInUse,
    /// A project owner needs the `team_and_users` permission.
    OwnerNeedsPermission,
    /// The grant came from a group binding: change the group, not the person.
    GrantedByGroup,
    /// A sign-up, reset or join link that does not exist or was already used.
    LinkInvalid,
    /// A link past its expiry.
    LinkExpired,
    /// This person may not sign in (contact, archived, not yet accepted, wrong password).
    SignInRefused,
    /// A reassignment target cannot take the work (not active, the leaver, no permission).
    IneligibleTarget,
    /// A reassignment that cannot be undone (not processed, or undone already).
    NotUndoable,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::IllegalTransition => "illegal_transition",
            Self::SeatLimit => "seat_limit_reached",
            Self::LastAdmin => "last_admin",
            Self::EmailTaken => "email_taken",
            Self::EmailRequired => "email_required",
            Self::UnknownRole => "unknown_role",
            Self::UnknownPermission => "unknown_permission",
            Self::PermissionNotAllowed => "permission_not_allowed",
            Self::RoleInUse => "role_in_use",
            Self::OwnerNeedsPermission => "owner_needs_team_and_users",
            Self::GrantedByGroup => "granted_by_group",
            Self::LinkInvalid => "link_invalid",
            Self::LinkExpired => "link_expired",
            Self::SignInRefused => "sign_in_refused",
            Self::IneligibleTarget => "ineligible_target",
            Self::NotUndoable => "not_undoable",
        }
    }
}

impl From<super::lifecycle::IllegalTransition> for Error {
    fn from(e: super::lifecycle::IllegalTransition) -> Self {
        Self::refused(Refusal::IllegalTransition, e.to_string())
    }
}
