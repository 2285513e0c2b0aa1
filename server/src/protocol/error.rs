//! Every non-2xx SCIM answer, as the RFC 7644 §3.12 error body. Domain errors map here, in
//! one place; a storage failure is logged and the client gets a plain message.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use serde_json::json;

use crate::domain::{Error, Refusal};

use super::SCIM_MEDIA_TYPE;

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error: status, optional `scimType`, and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::InvalidFilter(_) => Self::bad_request("invalidFilter", detail),
            Error::InvalidSyntax(_) => Self::bad_request("invalidSyntax", detail),
            Error::InvalidValue(_) => Self::bad_request("invalidValue", detail),
            Error::InvalidPath(_) => Self::bad_request("invalidPath", detail),
            Error::NoTarget(_) => Self::bad_request("noTarget", detail),
            Error::Mutability(_) => Self::bad_request("mutability", detail),
            Error::TooMany(_) => Self::bad_request("tooMany", detail),
            Error::Uniqueness(_) => Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail),
            Error::NotFound(_) => Self::not_found(detail),
            Error::VersionMismatch => Self::new(StatusCode::PRECONDITION_FAILED, None, detail),
            // A full seat count is a quota, not a conflict with another resource: 403, as
            // for any operation the tenant is not allowed to do; clients show the detail.
            Error::Refused { code: Refusal::SeatLimit, .. } => Self::new(StatusCode::FORBIDDEN, None, detail),
            Error::Refused { code: Refusal::EmailTaken, .. } => {
                Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
            }
            Error::Refused {
                code:
                    Refusal::UnknownRole
                    | Refusal::UnknownPermission
                    | Refusal::PermissionNotAllowed
                    | Refusal::EmailRequired
                    | Refusal::OwnerNeedsPermission,
                ..
            } => Self::bad_request("invalidValue", detail),
            Error::Refused { .. } => Self::new(StatusCode::CONFLICT, None, detail),
            Error::Storage(cause) => {
                tracing::error!(error = %cause, "storage failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal server error")
            }
        }
    }
}

impl ScimError {
    /// The RFC 7644 §3.12 body (also used inside Bulk responses).
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = Response::builder().status(self.status).content_type(SCIM_MEDIA_TYPE).body(body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert("WWW-Authenticate", poem::http::HeaderValue::from_static("Bearer realm=\"scim\""));
        }
        response
    }
}

/// Turns errors raised by poem itself (no route, wrong method, body too large) into SCIM
/// error bodies, so that every non-2xx answer under `/scim/v2` has the same shape.
pub fn from_poem(e: &poem::Error) -> ScimError {
    let status = e.status();
    let detail = match status {
        StatusCode::NOT_FOUND => "no such SCIM endpoint".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed on this endpoint".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than the advertised limit".to_owned(),
        _ => e.to_string(),
    };
    let scim_type = (status == StatusCode::BAD_REQUEST).then_some("invalidSyntax");
    ScimError::new(status, scim_type, detail)
}
