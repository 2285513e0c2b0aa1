//! The outcome of a run, and its three renderings: console lines, JSON and JUnit XML.

use std::fmt;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::case::Source;

/// Whether a case met every expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub source: Source,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// For a failed case: the failing step, what was expected and what came back.
    pub detail: Option<String>,
    pub duration_ms: u64,
    /// Cleanup requests that did not succeed: the server may keep something this case created.
    pub cleanup_warnings: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// `PASS id — title`, or `FAIL id — title — <what went wrong>`, plus indented warnings.
    pub fn line(&self) -> String {
        let mut line = match &self.detail {
            None => format!("PASS {} — {}", self.id, self.title),
            Some(failure) => format!("FAIL {} — {} — {failure}", self.id, self.title),
        };
        for warning in &self.cleanup_warnings {
            line.push_str(&format!("\n     warning: {warning}"));
        }
        line
    }
}

/// Every selected case's result, in the order they ran.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub results: Vec<CaseResult>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// `N passed, M failed`: the closing line CI and people look for.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    /// The machine-readable report written by `--json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "passed": self.passed(),
            "failed": self.failed(),
            "results": self.results,
        })
    }

    /// JUnit XML, one test case per conformance case, classed by its origin tag.
    pub fn to_junit(&self) -> Result<String, quick_junit::SerializeError> {
        let mut suite = TestSuite::new("scim-conformance");
        for result in &self.results {
            let status = match &result.detail {
                None => TestCaseStatus::success(),
                Some(failure) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(failure.as_str()).set_type("expectation");
                    status
                }
            };
            let mut case = TestCase::new(result.id.as_str(), status);
            case.set_classname(result.tags.first().map_or("scim", String::as_str))
                .set_time(Duration::from_millis(result.duration_ms))
                .add_property(("title", result.title.as_str()))
                .add_property(("source", format!("{} {}", result.source.name, result.source.url).as_str()));
            if !result.cleanup_warnings.is_empty() {
                case.set_system_err(result.cleanup_warnings.join("\n").as_str());
            }
            suite.add_test_case(case);
        }
        let mut report = quick_junit::Report::new("scim-conformance");
        report.add_test_suite(suite);
        report.to_string()
    }
}

/// Every case line, then the summary: what the CLI prints, and what a failing test shows.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            writeln!(f, "{}", result.line())?;
        }
        write!(f, "{}", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, failure: Option<&str>) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: "A title".into(),
            source: Source {
                name: "RFC 7644 §3.3".into(),
                url: "https://www.rfc-editor.org/rfc/rfc7644#section-3.3".into(),
            },
            tags: vec!["rfc".into(), "users".into()],
            outcome: if failure.is_some() { Outcome::Failed } else { Outcome::Passed },
            detail: failure.map(str::to_owned),
            duration_ms: 12,
            cleanup_warnings: vec![],
        }
    }

    fn report() -> Report {
        Report { results: vec![result("a", None), result("b", Some("step 1 `GET /x`: expected status 200, got 500"))] }
    }

    #[test]
    fn counts_and_summary() {
        let r = report();
        assert_eq!((r.passed(), r.failed()), (1, 1));
        assert_eq!(r.summary(), "1 passed, 1 failed");
        let text = r.to_string();
        assert!(text.ends_with("\n1 passed, 1 failed"));
        assert!(text.contains("PASS a — A title"));
        assert!(text.contains("FAIL b — A title — step 1 `GET /x`: expected status 200, got 500"));
    }

    #[test]
    fn json_report() {
        let json = report().to_json();
        assert_eq!(json["passed"], 1);
        assert_eq!(json["results"][1]["outcome"], "failed");
        assert_eq!(json["results"][1]["source"]["url"], "https://www.rfc-editor.org/rfc/rfc7644#section-3.3");
    }

    #[test]
    fn junit_report() {
        let xml = report().to_junit().unwrap();
        assert!(xml.contains(r#"tests="2""#) && xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains("expected status 200, got 500"));
    }
}
