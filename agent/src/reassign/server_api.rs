//! The one place where the agent will call a Rollcall server's reassignment API.
//!
//! The server's API does not exist yet (it comes with the server's reassignment work). Until
//! a server advertises it, [`super::detect`] never answers
//! [`TargetKind::RollcallWithReassignment`](super::TargetKind), so this function is not
//! reached; when it is (a server that advertises the API before the agent speaks it), it says
//! so in the report instead of guessing at a request.
//!
//! What the call needs from the server, so that it can be written here and nowhere else:
//!
//! 1. **Discovery**: `/ServiceProviderConfig` carries
//!    `"urn:ietf:params:scim:schemas:extension:rollcall:2.0:ServiceProviderConfig":
//!    {"reassignment": {"supported": true}}`, readable with the agent's SCIM token.
//! 2. **Trigger** for someone already deprovisioned, reachable with the agent's SCIM token
//!    (a token scope such as `reassign`, not the full admin scope), for example
//!    `POST /scim/v2/Users/{id}/reassignment` or `POST /admin/v1/people/{id}/reassignment`,
//!    with the body built from [`LeaverWork`]: `{"strategy": "ratio"|"hardcoded"|"round_robin",
//!    "targets": [{"id", "count"}], "group": {"id"}}` (the agent resolves `manager` and
//!    `fallback` to one target itself, as `round_robin` over that person).
//! 3. **Idempotence**: a second request for the same person (a re-run after a crash) must not
//!    move anything twice: the server answers the existing job or "nothing left to reassign".
//! 4. **Answer**: the job's id and state, and per record type the counts the seeds show
//!    ("104 / 104 contacts accounted for") with the number left unassigned; errors in the
//!    RFC 7644 body with a reason for an ineligible target.
//! 5. **Interplay with the tenant's default policy**: the SCIM deprovision the agent sent
//!    first must not already have handed the work out under the default policy, or the
//!    server must let this explicit request supersede a job that has not run yet.

use crate::client::Client;

use super::{LeaverWork, WorkOutcome, WorkStatus};

/// Asks the server to reassign one deprovisioned person's work under the resolved policy.
pub async fn request_reassignment(_client: &Client, work: &LeaverWork) -> WorkOutcome {
    WorkOutcome {
        status: WorkStatus::Skipped,
        detail: "skipped: the server advertises a reassignment API that this agent version does not speak yet; \
                 the work stays with the person"
            .to_owned(),
        plan: Some(work.clone()),
    }
}
