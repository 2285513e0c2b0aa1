//! Owned work and its reassignment through the admin API, on a real database: the seeds'
//! own example (104 contacts over 5, 50, 20 and 29; ratio against hardcoded), round robin
//! over a group, eligibility, all-or-nothing when the database fails midway, undo, the
//! tenant's default policy run by the worker (also after a worker died), and the `reassign`
//! scope the sync agent uses.

use poem::http::Method;
use rollcall_tests::{Reply, TestApp};
use serde_json::{json, Value};

pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// People are created active (an SSO tenant) so that they can take work.
pub async fn sso(app: &TestApp) {
    app.admin(Method::PUT, "/policies", Some(json!({"scimCreate": "active", "scimDeactivate": "contact"})))
        .await
        .expect(200);
}

/// An active person with the CRM permissions (members have `tasks` already).
pub async fn seller(app: &TestApp, name: &str) -> String {
    let id = app.user(name).await;
    app.admin(
        Method::PUT,
        &format!("/people/{id}/permissions"),
        Some(json!({"permissions": ["crm.contacts", "crm.leads"]})),
    )
    .await
    .expect(200);
    id
}

/// Gives `owner` `n` records of `kind` (with `status`), in batches; answers their ids.
pub async fn fill(app: &TestApp, owner: &str, kind: &str, status: Option<&str>, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let all: Vec<Value> = (0..n)
        .map(|i| json!({"type": kind, "owner": owner, "title": format!("{kind} {i}"), "status": status}))
        .collect();
    for chunk in all.chunks(1000) {
        let made = app.admin(Method::POST, "/work/batch", Some(json!({"records": chunk}))).await.expect(201).body;
        ids.extend(made["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()));
    }
    ids
}

/// How many records of `kind` `owner` has (not archived unless asked).
pub async fn owned(app: &TestApp, owner: &str, kind: &str, archived: bool) -> usize {
    let mut total = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/work?owner={owner}&type={kind}&archived={archived}&count=1000");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.admin(Method::GET, &path, None).await.expect(200).body;
        total += page["records"].as_array().unwrap().len();
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return total,
        }
    }
}

fn kind<'a>(outcome: &'a Value, name: &str) -> &'a Value {
    outcome["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["type"] == name)
        .unwrap_or_else(|| panic!("{name} in {outcome:#}"))
}

fn counts(k: &Value) -> Vec<u64> {
    k["targets"].as_array().unwrap().iter().map(|t| t["count"].as_u64().unwrap()).collect()
}

async fn preview(app: &TestApp, person: &str, plan: Value) -> Reply {
    app.admin(Method::POST, &format!("/people/{person}/reassignment/preview"), Some(plan)).await
}

async fn process(app: &TestApp, person: &str, plan: Value) -> Reply {
    app.admin(Method::POST, &format!("/people/{person}/reassignment"), Some(plan)).await
}

struct Seeds {
    leaver: String,
    team: Vec<String>,
    group: String,
}

/// The seeds' situation: a leaver with 104 contacts, 92 leads, 12 pending tasks (and 3
/// completed ones, 2 notes), four colleagues in a "Sales reps" group.
async fn seeds(app: &TestApp) -> Seeds {
    sso(app).await;
    let leaver = seller(app, "leaver").await;
    let mut team = Vec::new();
    for name in ["alwayshelpful", "amanda", "geraldine", "mathew"] {
        team.push(seller(app, name).await);
    }
    let members: Vec<&str> = team.iter().map(String::as_str).collect();
    let group = app.group("Sales reps", &members).await;
    fill(app, &leaver, "contact", None, 104).await;
    fill(app, &leaver, "lead", None, 92).await;
    fill(app, &leaver, "task", Some("pending"), 12).await;
    fill(app, &leaver, "task", Some("completed"), 3).await;
    fill(app, &leaver, "note", None, 2).await;
    Seeds { leaver, team, group }
}

fn targets(team: &[String], numbers: &[u64]) -> Value {
    team.iter().zip(numbers).map(|(id, n)| json!({"id": id, "count": n})).collect()
}

#[tokio::test]
async fn the_seeds_example_ratio_against_hardcoded() {
    let app = TestApp::new().await;
    let s = seeds(&app).await;
    let rest = json!({"strategy": "round_robin", "group": s.group});
    // The seeds' numbers add up: both strategies give exactly them.
    for strategy in ["ratio", "hardcoded"] {
        let plan = json!({"contacts": {"strategy": strategy, "targets": targets(&s.team, &[5, 50, 20, 29])},
                          "leads": rest, "tasks": rest});
        let p = preview(&app, &s.leaver, plan).await.expect(200).body;
        let contacts = kind(&p, "contacts");
        assert_eq!(counts(contacts), [5, 50, 20, 29]);
        assert_eq!(contacts["summary"], "104 / 104 contacts accounted for");
        assert_eq!(kind(&p, "leads")["summary"], "92 / 92 leads accounted for");
        assert_eq!(counts(kind(&p, "leads")), [23, 23, 23, 23]);
        assert_eq!(kind(&p, "tasks")["total"], 12, "only pending tasks are reassigned");
        assert_eq!(p["completedTasksArchived"], 3);
        assert_eq!(p["notesKept"], 2);
    }
    // They do not add up (95): ratio repeats over the targets, hardcoded leaves the extras.
    let short = |strategy: &str| json!({"contacts": {"strategy": strategy, "targets": targets(&s.team, &[5, 50, 20, 20])}, "leads": rest, "tasks": rest});
    let ratio = preview(&app, &s.leaver, short("ratio")).await.expect(200).body;
    assert_eq!(counts(kind(&ratio, "contacts")), [10, 54, 20, 20]);
    assert_eq!(kind(&ratio, "contacts")["unassigned"], 0);
    let hard = preview(&app, &s.leaver, short("hardcoded")).await.expect(200).body;
    let contacts = kind(&hard, "contacts");
    assert_eq!(counts(contacts), [5, 50, 20, 20]);
    assert_eq!(contacts["summary"], "95 / 104 contacts accounted for");
    assert_eq!(contacts["unassigned"], 9);
    assert_eq!(contacts["unassignedRecords"].as_array().unwrap().len(), 9);
    assert_eq!(contacts["targets"][0]["records"].as_array().unwrap().len(), 5, "which records go to whom");
    // Deterministic: the same plan on the same data, the same allocation.
    assert_eq!(preview(&app, &s.leaver, short("hardcoded")).await.expect(200).body, hard);
    // Nothing changed by previewing.
    assert_eq!(owned(&app, &s.leaver, "contact", false).await, 104);

    let seats_before = app.admin(Method::GET, "/seats", None).await.expect(200).body["used"].as_u64().unwrap();
    let job = process(&app, &s.leaver, short("hardcoded")).await.expect(200).body;
    assert_eq!(job["state"], "done");
    assert_eq!(job["source"], "explicit");
    assert_eq!(job["result"]["deactivatedTo"], "contact");
    assert_eq!(kind(&job["result"], "contacts")["targets"], contacts["targets"], "processed as previewed");
    for (id, n) in s.team.iter().zip([5, 50, 20, 20]) {
        assert_eq!(owned(&app, id, "contact", false).await, n);
    }
    assert_eq!(owned(&app, &s.leaver, "contact", false).await, 9, "the extras stay, listed as unassigned");
    assert_eq!(owned(&app, &s.leaver, "lead", false).await, 0);
    assert_eq!(owned(&app, &s.leaver, "task", true).await, 3, "completed tasks stay, archived");
    assert_eq!(owned(&app, &s.leaver, "note", false).await, 2, "notes stay with their author");
    let person = app.admin(Method::GET, &format!("/people/{}", s.leaver), None).await.expect(200).body;
    assert_eq!(person["state"], "contact");
    let seats_after = app.admin(Method::GET, "/seats", None).await.expect(200).body["used"].as_u64().unwrap();
    assert_eq!(seats_after, seats_before - 1, "the seat is freed");
    let audit = app.admin(Method::GET, &format!("/audit?person={}", s.leaver), None).await.expect(200).body;
    let entry = audit.as_array().unwrap().iter().find(|e| e["action"] == "person.reassign").expect("audited");
    assert!(entry["actor"].as_str().unwrap().starts_with("token:"), "{entry}");
    // Every move is recorded, with cursor paging.
    let page =
        app.admin(Method::GET, &format!("/reassignments/{}/moves?count=100", job["id"].as_str().unwrap()), None).await;
    let page = page.expect(200).body;
    assert_eq!(page["moves"].as_array().unwrap().len(), 100);
    assert!(page["nextCursor"].is_string());
}

#[tokio::test]
async fn ineligible_targets_are_refused_with_the_reason_and_change_nothing() {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let ok = seller(&app, "ok").await;
    let plain = app.user("plain").await; // a member: tasks only
    let gone = seller(&app, "gone").await;
    app.admin(Method::POST, &format!("/people/{gone}/convert-to-contact"), Some(json!({}))).await.expect(200);
    let other = app.tenant("other").await;
    let stranger = app
        .send(Method::POST, "/scim/v2/Users", Some(json!({"userName": "stranger", "active": true})), Some(&other), &[])
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fill(&app, &leaver, "contact", None, 10).await;
    let cases = [
        (plain.as_str(), "lacks the `crm.contacts` permission"),
        (gone.as_str(), "is contact, not active"),
        (leaver.as_str(), "whose work is being reassigned"),
        (stranger.as_str(), "there is no person with id"),
    ];
    for (target, reason) in cases {
        let plan = json!({"strategy": "ratio", "targets": [{"id": ok, "count": 1}, {"id": target, "count": 1}]});
        let r = process(&app, &leaver, plan).await.expect(400);
        assert_eq!(r.body["code"], "ineligible_target");
        assert!(r.body["message"].as_str().unwrap().contains(reason), "{}", r.body);
    }
    // A plain member may take tasks, though: the permission is per type.
    let tasks_only = json!({"contacts": {"strategy": "unassigned"}, "leads": {"strategy": "unassigned"},
                            "tasks": {"strategy": "round_robin", "targets": [{"id": plain}]}});
    preview(&app, &leaver, tasks_only).await.expect(200);
    let bad = preview(&app, &leaver, json!({"strategy": "evenly", "targets": [{"id": ok}]})).await.expect(400);
    assert!(bad.body["message"].as_str().unwrap().contains("unknown strategy"), "{}", bad.body);
    preview(&app, &leaver, json!({"contacts": {"strategy": "ratio", "targets": [{"id": ok, "count": 1}]}}))
        .await
        .expect(400);
    let person = app.admin(Method::GET, &format!("/people/{leaver}"), None).await.expect(200).body;
    assert_eq!(person["state"], "active", "a refused plan deactivates no one");
    assert_eq!(owned(&app, &leaver, "contact", false).await, 10);
    let jobs = app.admin(Method::GET, &format!("/reassignments?person={leaver}"), None).await.expect(200).body;
    assert_eq!(jobs["reassignments"].as_array().unwrap().len(), 0);
}

/// Makes the database refuse to move one record, as a failing disk or a constraint would.
async fn break_record(app: &TestApp, record: &str) {
    if app.url.starts_with("postgres") {
        app.execute(
            "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql",
        )
        .await;
        app.execute(&format!(
            "CREATE TRIGGER boom BEFORE UPDATE ON work_records FOR EACH ROW WHEN (NEW.id = '{record}') EXECUTE FUNCTION boom()"
        ))
        .await;
    } else {
        app.execute(&format!(
            "CREATE TRIGGER boom BEFORE UPDATE ON work_records WHEN NEW.id = '{record}' BEGIN SELECT RAISE(ABORT, 'boom'); END"
        ))
        .await;
    }
}

#[tokio::test]
async fn a_failure_midway_leaves_everything_as_it_was() {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let target = seller(&app, "target").await;
    fill(&app, &leaver, "contact", None, 50).await;
    let leads = fill(&app, &leaver, "lead", None, 50).await;
    break_record(&app, &leads[49]).await;
    let plan = json!({"strategy": "round_robin", "targets": [{"id": target}]});
    process(&app, &leaver, plan).await.expect(500);
    // The contacts had moved before the leads failed: all of it was rolled back.
    assert_eq!(owned(&app, &leaver, "contact", false).await, 50);
    assert_eq!(owned(&app, &leaver, "lead", false).await, 50);
    assert_eq!(owned(&app, &target, "contact", false).await, 0);
    let person = app.admin(Method::GET, &format!("/people/{leaver}"), None).await.expect(200).body;
    assert_eq!(person["state"], "active");
    let jobs = app.admin(Method::GET, &format!("/reassignments?person={leaver}"), None).await.expect(200).body;
    assert_eq!(jobs["reassignments"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn undo_puts_back_what_nobody_changed_and_says_why_for_the_rest() {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let a = seller(&app, "a").await;
    let b = seller(&app, "b").await;
    let contacts = fill(&app, &leaver, "contact", None, 20).await;
    fill(&app, &leaver, "task", Some("completed"), 2).await;
    let plan = json!({"strategy": "round_robin", "targets": [{"id": a}, {"id": b}], "deactivateTo": "deleted"});
    let job = process(&app, &leaver, plan).await.expect(200).body;
    let job_id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(owned(&app, &a, "contact", false).await, 10);
    // Afterwards, one record is handed on and one is edited.
    app.admin(Method::PATCH, &format!("/work/{}", contacts[0]), Some(json!({"owner": b}))).await.expect(200);
    app.admin(Method::PATCH, &format!("/work/{}", contacts[1]), Some(json!({"title": "renamed"}))).await.expect(200);
    let undo = app.admin(Method::POST, &format!("/reassignments/{job_id}/undo"), None).await.expect(200).body;
    assert_eq!(undo["restored"], 18);
    assert_eq!(undo["unarchived"], 2);
    assert_eq!(undo["notRestored"], 2);
    let reasons: Vec<&str> =
        undo["notRestoredRecords"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("reassigned again")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("changed since")), "{reasons:?}");
    assert_eq!(undo["reassignment"]["state"], "undone");
    assert_eq!(owned(&app, &leaver, "contact", false).await, 18);
    assert_eq!(owned(&app, &leaver, "task", false).await, 2, "completed tasks no longer archived");
    let again = app.admin(Method::POST, &format!("/reassignments/{job_id}/undo"), None).await.expect(409);
    assert_eq!(again.body["code"], "not_undoable");
}

async fn set_manager(app: &TestApp, person: &str, manager: &str) {
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": {"value": manager}}]});
    app.patch(&format!("/Users/{person}"), patch).await.expect(200);
}

async fn deactivate(app: &TestApp, person: &str) {
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    app.patch(&format!("/Users/{person}"), patch).await.expect(200);
}

async fn jobs_of(app: &TestApp, person: &str) -> Vec<Value> {
    let list = app.admin(Method::GET, &format!("/reassignments?person={person}"), None).await.expect(200).body;
    list["reassignments"].as_array().unwrap().clone()
}

#[tokio::test]
async fn scim_deprovisioning_records_a_policy_job_that_the_worker_runs() {
    let app = TestApp::new().await;
    sso(&app).await;
    let boss = seller(&app, "boss").await;
    let fallback = seller(&app, "fallback").await;
    let with_boss = seller(&app, "with-boss").await;
    let alone = seller(&app, "alone").await;
    set_manager(&app, &with_boss, &boss).await;
    fill(&app, &with_boss, "contact", None, 7).await;
    fill(&app, &alone, "lead", None, 4).await;
    let policy = json!({"mode": "manager", "fallback": fallback});
    app.admin(Method::PUT, "/reassignment-policy", Some(policy.clone())).await.expect(200);
    assert_eq!(app.admin(Method::GET, "/reassignment-policy", None).await.expect(200).body, policy);

    deactivate(&app, &with_boss).await;
    app.delete(&format!("/Users/{alone}")).await.expect(204);
    // The SCIM requests did not wait: the jobs are pending until the worker runs.
    assert_eq!(jobs_of(&app, &with_boss).await[0]["state"], "pending");
    assert_eq!(owned(&app, &with_boss, "contact", false).await, 7);
    let round = app.jobs_worker().run_once().await.unwrap();
    assert_eq!(round.done, 2);
    let job = &jobs_of(&app, &with_boss).await[0];
    assert_eq!(job["state"], "done");
    assert_eq!(job["source"], "policy");
    assert_eq!(kind(&job["result"], "contacts")["via"], "manager");
    assert_eq!(owned(&app, &boss, "contact", false).await, 7);
    let job = &jobs_of(&app, &alone).await[0];
    assert_eq!(kind(&job["result"], "leads")["via"], "fallback: no manager");
    assert_eq!(owned(&app, &fallback, "lead", false).await, 4);
    assert_eq!(app.jobs_worker().run_once().await.unwrap().done, 0, "a job runs once");

    // The default policy moves nothing and lists the work.
    app.admin(Method::PUT, "/reassignment-policy", Some(json!({"mode": "unassigned"}))).await.expect(200);
    let keeper = seller(&app, "keeper").await;
    fill(&app, &keeper, "contact", None, 3).await;
    deactivate(&app, &keeper).await;
    app.jobs_worker().run_once().await.unwrap();
    let job = &jobs_of(&app, &keeper).await[0];
    let contacts = kind(&job["result"], "contacts");
    assert_eq!(contacts["summary"], "0 / 3 contacts accounted for");
    assert_eq!(contacts["unassignedRecords"].as_array().unwrap().len(), 3);
    assert_eq!(owned(&app, &keeper, "contact", false).await, 3);
}

#[tokio::test]
async fn a_job_whose_worker_died_is_run_once_its_lease_runs_out() {
    let app = TestApp::new().await;
    sso(&app).await;
    let boss = seller(&app, "boss").await;
    let leaver = seller(&app, "leaver").await;
    set_manager(&app, &leaver, &boss).await;
    fill(&app, &leaver, "contact", None, 5).await;
    app.admin(Method::PUT, "/reassignment-policy", Some(json!({"mode": "manager"}))).await.expect(200);
    deactivate(&app, &leaver).await;
    // A worker claims the job and dies before committing (its transaction rolled back).
    let worker = app.jobs_worker();
    let claimed = app
        .store
        .people()
        .claim_reassignments(scim_server::domain::clock::Clock::now(app.clock.as_ref()), worker.lease, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(worker.run_once().await.unwrap().done, 0, "the claim holds while its lease lasts");
    assert_eq!(owned(&app, &boss, "contact", false).await, 0);
    app.clock.advance(worker.lease + time::Duration::seconds(1));
    assert_eq!(worker.run_once().await.unwrap().done, 1, "resumed after the lease");
    assert_eq!(owned(&app, &boss, "contact", false).await, 5);
    let job = &jobs_of(&app, &leaver).await[0];
    assert_eq!(job["state"], "done");
    assert_eq!(job["attempts"], 2);
}

#[tokio::test]
async fn an_explicit_request_supersedes_the_policy_job_and_is_idempotent() {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let target = seller(&app, "target").await;
    fill(&app, &leaver, "contact", None, 6).await;
    deactivate(&app, &leaver).await;
    let plan = json!({"strategy": "round_robin", "targets": [{"id": target}]});
    let first = process(&app, &leaver, plan.clone()).await.expect(200).body;
    assert_eq!(first["result"]["deactivatedTo"], Value::Null, "already a contact");
    let jobs = jobs_of(&app, &leaver).await;
    let policy = jobs.iter().find(|j| j["source"] == "policy").unwrap();
    assert_eq!(policy["state"], "superseded");
    assert_eq!(app.jobs_worker().run_once().await.unwrap().done, 0);
    // A re-run (the agent after a crash) moves nothing twice and answers the same job.
    let again = process(&app, &leaver, plan).await.expect(200).body;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(owned(&app, &target, "contact", false).await, 6);
}

#[tokio::test]
async fn the_reassign_scope_reaches_reassignment_only() {
    let app = TestApp::new().await;
    sso(&app).await;
    let leaver = seller(&app, "leaver").await;
    let target = seller(&app, "target").await;
    fill(&app, &leaver, "lead", None, 2).await;
    let token = scim_server::domain::tenant::create_token(
        app.store.as_ref(),
        "default",
        vec![scim_server::domain::tenant::Scope::ScimWrite, scim_server::domain::tenant::Scope::Reassign],
        None,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap()
    .0;
    let plan = json!({"strategy": "round_robin", "targets": [{"id": target}]});
    let url = format!("/admin/v1/people/{leaver}/reassignment");
    app.send(Method::POST, &url, Some(plan), Some(&token), &[]).await.expect(200);
    app.send(Method::GET, "/admin/v1/reassignments", None, Some(&token), &[]).await.expect(200);
    app.send(Method::GET, "/admin/v1/work", None, Some(&token), &[]).await.expect(403);
    app.send(Method::PUT, "/admin/v1/reassignment-policy", Some(json!({"mode": "manager"})), Some(&token), &[])
        .await
        .expect(403);
}

#[tokio::test]
async fn work_records_are_checked_and_paged() {
    let app = TestApp::new().await;
    sso(&app).await;
    let owner = seller(&app, "owner").await;
    let plain = app.user("plain").await;
    let r = app.admin(Method::POST, "/work", Some(json!({"type": "task", "owner": plain, "title": " Call "}))).await;
    let task = r.expect(201).body;
    assert_eq!(
        (task["title"].as_str(), task["status"].as_str(), task["version"].as_i64()),
        (Some("Call"), Some("pending"), Some(1))
    );
    let refused = app.admin(Method::POST, "/work", Some(json!({"type": "lead", "owner": plain, "title": "x"}))).await;
    assert_eq!(refused.expect(400).body["code"], "ineligible_target");
    for body in [
        json!({"type": "deal", "owner": owner, "title": "x"}),
        json!({"type": "task", "owner": owner, "title": "x", "status": "won"}),
        json!({"type": "contact", "owner": owner, "title": "  "}),
        json!({"type": "contact", "owner": "nobody", "title": "x"}),
    ] {
        app.admin(Method::POST, "/work", Some(body)).await.expect(400);
    }
    let too_many: Vec<Value> =
        (0..1001).map(|i| json!({"type": "note", "owner": owner, "title": format!("n{i}")})).collect();
    let r = app.admin(Method::POST, "/work/batch", Some(json!({"records": too_many}))).await.expect(400);
    assert_eq!(r.body["code"], "too_many");
    assert_eq!(owned(&app, &owner, "note", false).await, 0, "a refused batch creates nothing");
    let ids = fill(&app, &owner, "contact", None, 25).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.admin(Method::GET, &format!("/work?owner={owner}&type=contact&count=10{cursor}"), None).await;
        let page = page.expect(200).body;
        seen.extend(page["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "every record once, in creation order");
    let path = format!("/work/{}", task["id"].as_str().unwrap());
    let done = app.admin(Method::PATCH, &path, Some(json!({"status": "completed"}))).await.expect(200);
    assert_eq!(done.body["version"], 2);
    app.admin(Method::GET, "/work/none", None).await.expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_workers_never_run_one_job_twice() {
    let app = TestApp::new().await;
    sso(&app).await;
    let boss = seller(&app, "boss").await;
    app.admin(Method::PUT, "/reassignment-policy", Some(json!({"mode": "manager"}))).await.expect(200);
    let mut leavers = Vec::new();
    for i in 0..12 {
        let id = seller(&app, &format!("leaver{i}")).await;
        set_manager(&app, &id, &boss).await;
        fill(&app, &id, "contact", None, 3).await;
        deactivate(&app, &id).await;
        leavers.push(id);
    }
    let mine = app.jobs_worker();
    let theirs = scim_server::jobs::Worker {
        batch: 2,
        ..scim_server::jobs::Worker::new(app.replica_store().await, app.clock.clone())
    };
    let mine = scim_server::jobs::Worker { batch: 2, ..mine };
    let (mut done, mut rounds) = (0, 0);
    while done < leavers.len() && rounds < 50 {
        let (a, b) = tokio::join!(mine.run_once(), theirs.run_once());
        done += a.unwrap().done + b.unwrap().done;
        rounds += 1;
    }
    assert_eq!(done, leavers.len(), "every job ran exactly once across the two workers");
    assert_eq!(owned(&app, &boss, "contact", false).await, 36);
    let audit = app.admin(Method::GET, "/audit?action=person.reassign&limit=100", None).await.expect(200).body;
    assert_eq!(audit.as_array().unwrap().len(), leavers.len());
}
