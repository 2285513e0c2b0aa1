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
    /// The database failed; the cause is logged, never sent (500).
    #[error("internal storage error")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
