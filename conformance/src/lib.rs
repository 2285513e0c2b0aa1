//! SCIM 2.0 conformance cases as data, and a runner that speaks only HTTP.
//!
//! The cases (`conformance/cases/*.json`, embedded at build time) reproduce RFC 7643/7644
//! requirements and the request sequences Okta and Microsoft Entra ID actually send, each
//! naming the document it comes from. Point [`run`] at any SCIM base URL with a bearer token:
//!
//! ```no_run
//! # async fn example() {
//! let config = scim_conformance::RunConfig {
//!     base_url: "http://127.0.0.1:8080/scim/v2".into(),
//!     token: "secret".into(),
//!     tags: vec!["okta".into()],
//! };
//! let report = scim_conformance::run(&config).await;
//! assert_eq!(report.failed(), 0, "{report}");
//! # }
//! ```
//!
//! Every case uses fresh unique values (`{uuid}`) and deletes what it created, even when it
//! fails, so the suite can be rerun against a live server.

pub mod bench;
pub mod case;
pub mod expect;
pub mod report;
pub mod runner;
pub mod template;

pub use case::{Case, Source};
pub use report::{CaseResult, Outcome, Report};
pub use runner::{probe, run, run_cases, run_each, RunConfig};

/// Every embedded case, in running order.
///
/// # Panics
/// Never for a released build: the case loader tests reject any case file that would.
pub fn cases() -> Vec<Case> {
    case::load().unwrap_or_else(|problems| panic!("the embedded conformance cases are invalid:\n{problems}"))
}

/// Every tag some case carries, sorted (for `--tag` validation and help).
pub fn known_tags() -> Vec<String> {
    let mut tags: Vec<String> = cases().into_iter().flat_map(|c| c.tags).collect();
    tags.sort();
    tags.dedup();
    tags
}
