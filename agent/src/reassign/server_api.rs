//! The one place where the agent calls a Rollcall server's reassignment API.
//!
//! - **Discovery**: `/ServiceProviderConfig?attributes=<the Rollcall extension>` carries
//!   `{"reassignment": {"supported": true, "endpoint": …}}` (see [`super::detect`]).
//! - **Trigger**: `POST /admin/v1/people/{id}/reassignment` from the server's origin, with
//!   the agent's token (which needs the `reassign` scope), after the person was deprovisioned
//!   over SCIM. The server supersedes the policy job that deprovisioning recorded if it has
//!   not run yet, and a repeat (a re-run after a crash) moves nothing twice: it answers the
//!   job that did the work.
//! - **Answer**: the job, whose `result` has per type the seeds' counts ("104 / 104 contacts
//!   accounted for"); an ineligible target is refused with the reason, which the report keeps.

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::Client;

use super::{LeaverWork, Strategy, WorkOutcome, WorkStatus};

/// The body the server takes, from the plan's resolution: `manager` (and its fallback)
/// is already one person, shared as round robin over that person.
pub fn request_body(work: &LeaverWork) -> Value {
    let strategy = match work.strategy {
        Strategy::Manager => "round_robin",
        other => other.name(),
    };
    let mut body = json!({"strategy": strategy});
    match &work.group {
        Some(g) => body["group"] = json!(g.id),
        None => {
            body["targets"] = work
                .targets
                .iter()
                .map(|t| json!({"id": t.id, "count": t.count.unwrap_or(0)}))
                .collect::<Vec<_>>()
                .into();
        }
    }
    body
}

/// The counts of a job's result, one phrase per type: "104 / 104 contacts accounted for".
fn summary(job: &Value) -> String {
    let types = job.pointer("/result/types").and_then(Value::as_array).cloned().unwrap_or_default();
    let parts: Vec<String> = types.iter().filter_map(|t| t.get("summary")?.as_str().map(str::to_owned)).collect();
    if parts.is_empty() {
        "nothing to reassign".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Asks the server to reassign one deprovisioned person's work under the resolved policy.
pub async fn request_reassignment(client: &Client, work: &LeaverWork) -> WorkOutcome {
    let path = format!("/admin/v1/people/{}/reassignment", work.id);
    let outcome = |status, detail: String| WorkOutcome { status, detail, plan: Some(work.clone()) };
    match client.admin(Method::POST, &path, Some(&request_body(work))).await {
        Ok(reply) => {
            let job = &reply.body;
            let id = job.get("id").and_then(Value::as_str).unwrap_or("?");
            let source = job.get("source").and_then(Value::as_str).unwrap_or("explicit");
            let by = if source == "policy" { " (already done by the server's default policy)" } else { "" };
            outcome(WorkStatus::Reassigned, format!("reassigned{by}: {} (job {id})", summary(job)))
        }
        Err(e) => outcome(WorkStatus::Failed, format!("the server refused the reassignment: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Assignee, GroupRef};
    use super::*;

    fn work(strategy: Strategy) -> LeaverWork {
        LeaverWork {
            id: "leaver".into(),
            user_name: "leaver@example.com".into(),
            strategy,
            targets: vec![Assignee { id: "a".into(), user_name: "a@example.com".into(), count: Some(5) }],
            group: None,
            via: None,
            unresolved: None,
        }
    }

    #[test]
    fn the_body_speaks_the_servers_plan() {
        assert_eq!(
            request_body(&work(Strategy::Ratio)),
            json!({"strategy": "ratio", "targets": [{"id": "a", "count": 5}]})
        );
        let mut m = work(Strategy::Manager);
        m.targets[0].count = None;
        assert_eq!(request_body(&m), json!({"strategy": "round_robin", "targets": [{"id": "a", "count": 0}]}));
        let mut g = work(Strategy::RoundRobin);
        g.targets.clear();
        g.group = Some(GroupRef { id: "g".into(), display_name: "Sales".into(), eligible_members: 3 });
        assert_eq!(request_body(&g), json!({"strategy": "round_robin", "group": "g"}));
    }

    #[test]
    fn the_summary_reads_like_the_seeds() {
        let job = json!({"result": {"types": [{"summary": "104 / 104 contacts accounted for"}, {"summary": "0 / 0 leads accounted for"}]}});
        assert_eq!(summary(&job), "104 / 104 contacts accounted for; 0 / 0 leads accounted for");
        assert_eq!(summary(&json!({})), "nothing to reassign");
    }
}
