//! The sync agent against the real server over real HTTP on loopback: generated CSVs of
//! thousands of people, the safety rails, a flaky target behind a proxy, SCIM → SCIM.

mod crash;
mod proxy;
mod reassignment;
mod scim_sync;
mod sources;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rollcall_tests::TestApp;
use scim_agent::cli::{Command, Env, RunArgs};
use scim_agent::{Exit, Outcome};
use serde_json::Value;

/// One generated person.
#[derive(Clone)]
pub struct Row {
    pub id: usize,
    pub given: String,
    pub dept: usize,
    pub active: bool,
}

const DEPTS: [&str; 8] = ["Sales", "Support", "Engineering", "Finance", "Legal", "Ops", "Design", "People"];

impl Row {
    pub fn new(id: usize) -> Self {
        Self { id, given: format!("Given{id}"), dept: id % DEPTS.len(), active: true }
    }
    fn key(&self) -> String {
        format!("E{:05}", self.id)
    }
    fn user_name(&self) -> String {
        format!("person{}@example.com", self.id)
    }
}

/// A CSV in the default columns; managers form a tree (everyone reports to someone with a
/// smaller number in their department), groups are the department plus "Everyone".
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from("\u{feff}externalId,userName,givenName,familyName,displayName,email,userType,active,companyRole,department,manager,groups\r\n");
    for r in rows {
        let manager = if r.id >= DEPTS.len() { format!("E{:05}", r.id % DEPTS.len()) } else { String::new() };
        let manager = if rows.iter().any(|m| m.key() == manager) { manager } else { String::new() };
        let _ = write!(
            s,
            "{},{},{},\"Family, {}\",{} Family,{},Employee,{},member,{},{},\"{};Everyone\"\r\n",
            r.key(),
            r.user_name(),
            r.given,
            r.id,
            r.given,
            r.user_name(),
            r.active,
            DEPTS[r.dept],
            manager,
            DEPTS[r.dept],
        );
    }
    s
}

/// Arguments for a run against `target` with a state file in `dir`.
pub fn args(dir: &Path, source: &str, target: &str) -> RunArgs {
    RunArgs {
        source: Some(source.to_owned()),
        target: Some(target.to_owned()),
        state_file: Some(dir.join("state.json")),
        concurrency: Some(8),
        rate_limit: Some(0),
        plan_rows: Some(5),
        ..RunArgs::default()
    }
}

pub fn env(token: &str) -> Env {
    Env { target_token: Some(token.to_owned()), source_token: None }
}

/// Runs the agent as its binary would, answering the outcome and what it printed.
pub async fn run(command: Command, env: &Env) -> (Outcome, String) {
    let mut out = Vec::new();
    let outcome = scim_agent::run(&command, env, &mut out).await;
    (outcome, String::from_utf8(out).expect("utf-8"))
}

pub fn write_csv(dir: &Path, name: &str, rows: &[Row]) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, csv(rows)).expect("write csv");
    format!("csv:{}", path.display())
}

/// Every resource of an endpoint, read in-process.
pub async fn all(app: &TestApp, endpoint: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let page = app.get(&format!("/{endpoint}?startIndex={}&count=1000", all.len() + 1)).await.expect(200).body;
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        if resources.is_empty() {
            return all;
        }
        all.extend(resources);
    }
}

fn by_user_name<'a>(users: &'a [Value], name: &str) -> &'a Value {
    users.iter().find(|u| u["userName"] == name).unwrap_or_else(|| panic!("{name} not in the target"))
}

fn group_members(groups: &[Value], name: &str) -> Vec<String> {
    let g = groups.iter().find(|g| g["displayName"] == name).unwrap_or_else(|| panic!("no group {name}"));
    g["members"]
        .as_array()
        .map(|m| m.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_load_change_and_rerun_converge() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    // A person created by hand in the target: never touched.
    let hand = app.user("hand@example.com").await;

    let mut rows: Vec<Row> = (0..2000).map(Row::new).collect();
    let source = write_csv(dir.path(), "v1.csv", &rows);
    let mut a = args(dir.path(), &source, &server.base_url);
    a.json = Some(dir.path().join("report.json"));
    let (outcome, text) = run(Command::Apply(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("2000 create"), "{text}");
    let report = outcome.report.unwrap();
    assert_eq!((report.succeeded, report.failed), (2000 + 9, 0), "{text}");
    let json: Value = serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(json["outcome"], "done");
    assert_eq!(json["report"]["items"].as_array().unwrap().len(), 2009);

    let users = all(&app, "Users").await;
    assert_eq!(users.len(), 2001);
    let p10 = by_user_name(&users, "person10@example.com");
    let p2 = by_user_name(&users, "person2@example.com");
    assert_eq!(p10["externalId"], "E00010");
    assert_eq!(p10["name"]["familyName"], "Family, 10");
    let ext = &p10["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ext["department"], "Engineering");
    assert_eq!(ext["manager"]["value"], p2["id"], "managers are linked by target id");
    let groups = all(&app, "Groups").await;
    assert_eq!(groups.len(), 9);
    assert_eq!(group_members(&groups, "Everyone").len(), 2000);
    assert_eq!(group_members(&groups, "Sales").len(), 250);

    // No change: the plan is empty.
    let (outcome, text) = run(Command::Plan(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done);
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
    assert!(text.contains("2000 of them managed by this agent"), "{text}");

    // Changes: 50 renamed, 30 leavers, 40 joiners, 20 move department, 5 marked inactive.
    for r in rows.iter_mut().take(100).skip(50) {
        r.given = format!("Renamed{}", r.id);
    }
    for r in rows.iter_mut().skip(200).take(20) {
        r.dept = (r.dept + 1) % DEPTS.len();
    }
    for r in rows.iter_mut().skip(300).take(5) {
        r.active = false;
    }
    rows.retain(|r| !(1000..1030).contains(&r.id));
    rows.extend((2000..2040).map(Row::new));
    let source = write_csv(dir.path(), "v2.csv", &rows);
    let mut a2 = args(dir.path(), &source, &server.base_url);
    a2.json = a.json.clone();
    let (outcome, text) = run(Command::Apply(a2.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let c = outcome.plan.as_ref().unwrap().counts();
    assert_eq!((c.create, c.update, c.deactivate, c.delete), (40, 70, 35, 0), "{text}");

    let users = all(&app, "Users").await;
    assert_eq!(users.len(), 2041);
    assert_eq!(by_user_name(&users, "person1010@example.com")["active"], false);
    assert_eq!(by_user_name(&users, "person304@example.com")["active"], false);
    assert_eq!(by_user_name(&users, "person60@example.com")["name"]["givenName"], "Renamed60");
    assert_eq!(by_user_name(&users, "person2039@example.com")["active"], true);
    assert_eq!(by_user_name(&users, "hand@example.com")["id"], hand.as_str());
    assert_eq!(by_user_name(&users, "hand@example.com")["active"], true);
    let groups = all(&app, "Groups").await;
    let moved = by_user_name(&users, "person200@example.com")["id"].as_str().unwrap().to_owned();
    assert!(group_members(&groups, DEPTS[(200 % DEPTS.len() + 1) % DEPTS.len()]).contains(&moved));
    assert!(!group_members(&groups, DEPTS[200 % DEPTS.len()]).contains(&moved));
    assert_eq!(group_members(&groups, "Everyone").len(), 2010);

    // And again: nothing to do, by plan and by apply.
    let (outcome, text) = run(Command::Apply(a2), &env).await;
    assert_eq!(outcome.exit, Exit::Done);
    assert!(outcome.plan.unwrap().is_empty(), "{text}");

    // A leaver who comes back is reactivated, not duplicated.
    rows.push(Row::new(1005));
    let source = write_csv(dir.path(), "v3.csv", &rows);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let c = outcome.plan.unwrap().counts();
    assert_eq!((c.create, c.reactivate), (0, 1), "{text}");
    let users = all(&app, "Users").await;
    assert_eq!(by_user_name(&users, "person1005@example.com")["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safety_rails_refuse_truncated_and_bad_files() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    let rows: Vec<Row> = (0..300).map(Row::new).collect();
    let source = write_csv(dir.path(), "full.csv", &rows);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");

    // A truncated export: 200 of 300 would go. Refused (exit code 2), nothing changed.
    let truncated = write_csv(dir.path(), "truncated.csv", &rows[..100]);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &truncated, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Refused, "{text}");
    assert_eq!(Exit::Refused.code(), 2);
    assert!(text.contains("deprovisions 200 of 300"), "{text}");
    let users = all(&app, "Users").await;
    assert!(users.iter().all(|u| u["active"] == true));

    // --expect-min-rows refuses it before the target is even read.
    let mut a = args(dir.path(), &truncated, &server.base_url);
    a.expect_min_rows = Some(250);
    let (outcome, text) = run(Command::Plan(a), &env).await;
    assert_eq!(outcome.exit, Exit::Refused, "{text}");

    // Bad rows are listed with their line numbers and refuse the file…
    let mut text_csv = csv(&rows);
    text_csv.push_str(",nokey@example.com,,,,,,,,,,\r\nE99999,person1@example.com,,,,,,maybe,,,,\r\n");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, text_csv).unwrap();
    let bad_source = format!("csv:{}", bad.display());
    let (outcome, text) = run(Command::Apply(args(dir.path(), &bad_source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Refused, "{text}");
    assert!(text.contains("line 302: externalId is empty"), "{text}");
    assert!(text.contains("line 303: active \"maybe\""), "{text}");
    // …unless told to skip them.
    let mut a = args(dir.path(), &bad_source, &server.base_url);
    a.skip_bad_rows = true;
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(outcome.plan.unwrap().is_empty(), "{text}");

    // With --yes and a protected person, the truncated file goes through, sparing them.
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "protected = [\"person150@example.com\"]\nmax_deprovision = \"50%\"\n").unwrap();
    let mut a = args(dir.path(), &truncated, &server.base_url);
    a.config = Some(config);
    a.yes = true;
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("person150@example.com: protected"), "{text}");
    let users = all(&app, "Users").await;
    assert_eq!(users.iter().filter(|u| u["active"] == false).count(), 199);
    assert_eq!(by_user_name(&users, "person150@example.com")["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_made_by_hand_is_adopted_only_when_allowed_and_delete_mode_deletes() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    let hand = app.user("person1@example.com").await;
    let rows: Vec<Row> = (0..3).map(Row::new).collect();
    let source = write_csv(dir.path(), "p.csv", &rows);

    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("turn adoption on"), "{text}");
    let mut a = args(dir.path(), &source, &server.base_url);
    a.adopt = true;
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let user = app.get(&format!("/Users/{hand}")).await.expect(200).body;
    assert_eq!(user["externalId"], "E00001");

    // Delete mode: leavers are deleted (404 afterwards).
    let source = write_csv(dir.path(), "p2.csv", &rows[..2]);
    let mut a = args(dir.path(), &source, &server.base_url);
    a.deprovision = Some("delete".into());
    a.max_deprovision = Some("1".into());
    a.json = Some(dir.path().join("r.json"));
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "[reassignment]\nstrategy = \"manager\"\nfallback = \"ops@example.com\"\n").unwrap();
    a.config = Some(config);
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    // Our server reassigns, but this policy names no one who can take the work.
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let item = &report["report"]["items"][0];
    assert_eq!(item["action"], "delete");
    assert_eq!(item["reassignment"]["status"], "unresolved", "{item}");
    assert!(
        item["reassignment"]["detail"].as_str().unwrap().contains("ops@example.com is not in the target"),
        "{item}"
    );
    let users = all(&app, "Users").await;
    assert!(users.iter().all(|u| u["userName"] != "person2@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managed_scope_decides_who_may_be_deprovisioned() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    // Provisioned by another tool: it has an externalId, but this agent never made it.
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "other@example.com", "externalId": "OTHER-1"});
    let other = app.post("/Users", body).await.expect(201).body["id"].as_str().unwrap().to_owned();
    let rows: Vec<Row> = (0..20).map(Row::new).collect();
    let source = write_csv(dir.path(), "p.csv", &rows);

    // The default scope (the state file): the other tool's person is left alone.
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let (outcome, text) = run(Command::Plan(args(dir.path(), &source, &server.base_url)), &env).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
    assert!(text.contains("21 users in the target, 20 of them managed"), "{text}");

    // Every user with an externalId: that person is this agent's to deprovision.
    let mut a = args(dir.path(), &source, &server.base_url);
    a.managed_scope = Some("external-id".into());
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("21 of them managed"), "{text}");
    assert_eq!(outcome.plan.unwrap().counts().deactivate, 1, "{text}");
    assert_eq!(app.get(&format!("/Users/{other}")).await.expect(200).body["active"], false);
}
