//! Leavers' work: the `[reassignment]` policy is checked before anything is sent, resolved
//! per leaver against the target (the manager, else the fallback), shown in the plan, and
//! reported with one outcome per deprovisioned person. Whether the agent may ask the server
//! depends on what the server says it is (`/Schemas`, `/ServiceProviderConfig`); the test
//! reads the same documents, so it holds before and after the server gains its Rollcall
//! schema.

use poem::http::Method;
use rollcall_tests::TestApp;
use scim_agent::cli::Command;
use scim_agent::reassign::{detect, TargetKind};
use scim_agent::Exit;
use serde_json::{json, Value};

use super::{all, args, env, run, write_csv, Row};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_leaver_gets_one_reassignment_outcome() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    let mut rows: Vec<Row> = (0..40).map(Row::new).collect();
    let source = write_csv(dir.path(), "v1.csv", &rows);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");

    // A policy that cannot work stops the run before anything is read or sent.
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "[reassignment]\nstrategy = \"ratio\"\ntargets = [\"person1@example.com\"]\n").unwrap();
    rows.retain(|r| ![9, 10, 17].contains(&r.id));
    let source = write_csv(dir.path(), "v2.csv", &rows);
    let mut a = args(dir.path(), &source, &server.base_url);
    a.config = Some(config.clone());
    let (outcome, text) = run(Command::Apply(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Failed, "{text}");
    assert!(text.contains("person1@example.com\" needs a count"), "{text}");
    assert!(all(&app, "Users").await.iter().all(|u| u["active"] == true));

    // Manager, else fallback: person9 and person17 report to person1; person10 reports to
    // person2; person1 stays. The fallback is person0.
    std::fs::write(&config, "[reassignment]\nstrategy = \"manager\"\nfallback = \"person0@example.com\"\n").unwrap();
    a.json = Some(dir.path().join("plan.json"));
    let (outcome, text) = run(Command::Plan(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let row = text.lines().find(|l| l.contains("person9@example.com (E00009)")).unwrap_or_default();
    assert!(row.ends_with("left the source; work → person1@example.com (manager)"), "{text}");
    let plan: Value = serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["plan"]["reassignments"].as_array().unwrap().len(), 3, "{plan:#}");

    a.json = Some(dir.path().join("report.json"));
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let users = all(&app, "Users").await;
    let id_of = |name: &str| users.iter().find(|u| u["userName"] == name).unwrap()["id"].clone();
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let items: Vec<&Value> =
        report["report"]["items"].as_array().unwrap().iter().filter(|i| i["action"] == "deactivate").collect();
    assert_eq!(items.len(), 3, "{report:#}");
    for item in &items {
        let outcome = &item["reassignment"];
        assert_eq!(outcome["plan"]["strategy"], "manager");
        assert_eq!(outcome["plan"]["id"], item["id"]);
        let manager = if item["who"].as_str().unwrap().starts_with("person10@") {
            "person2@example.com"
        } else {
            "person1@example.com"
        };
        assert_eq!(outcome["plan"]["targets"][0]["id"], id_of(manager), "{item}");
    }

    // What the agent did with the plan follows from what the target says it is.
    let schemas = app.get("/Schemas").await.body;
    let spc = app
        .get(&format!("/ServiceProviderConfig?attributes={}", scim_agent::reassign::ROLLCALL_SPC_EXTENSION))
        .await
        .body;
    let kind = detect(Some(&schemas), Some(&spc));
    assert_eq!(report["targetKind"], serde_json::to_value(kind).unwrap());
    let status = &items[0]["reassignment"]["status"];
    match kind {
        TargetKind::Other | TargetKind::Rollcall => {
            assert_eq!(status, "skipped");
            assert!(text.contains(&format!("the target is {}", kind.describe())), "{text}");
        }
        TargetKind::RollcallWithReassignment => assert_ne!(status, "no-policy"),
    }
}

/// Against our server, each leaver's work is reassigned through its API after the SCIM
/// deprovisioning: the manager gets it (else the fallback), the report gives the seeds'
/// counts, the policy job the deprovisioning recorded is superseded, and a re-run asks for
/// nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leavers_work_goes_to_their_manager_through_the_server() {
    let app = TestApp::new().await;
    super::super::reassignment::sso(&app).await;
    let server = app.serve().await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    let mut rows: Vec<Row> = (0..30).map(Row::new).collect();
    let source = write_csv(dir.path(), "v1.csv", &rows);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &server.base_url)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert_eq!(detect_here(&app).await, TargetKind::RollcallWithReassignment);

    let users = all(&app, "Users").await;
    let id_of = |n: usize| by_name(&users, n);
    for n in [0, 1, 2, 9, 10, 17] {
        let body = json!({"permissions": ["crm.contacts", "crm.leads"]});
        app.admin(Method::PUT, &format!("/people/{}/permissions", id_of(n)), Some(body)).await.expect(200);
    }
    super::super::reassignment::fill(&app, &id_of(9), "contact", None, 12).await;
    super::super::reassignment::fill(&app, &id_of(10), "lead", None, 5).await;
    super::super::reassignment::fill(&app, &id_of(17), "task", Some("pending"), 3).await;

    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "[reassignment]\nstrategy = \"manager\"\nfallback = \"person0@example.com\"\n").unwrap();
    rows.retain(|r| ![9, 10, 17].contains(&r.id));
    let source = write_csv(dir.path(), "v2.csv", &rows);
    let mut a = args(dir.path(), &source, &server.base_url);
    a.config = Some(config);
    a.json = Some(dir.path().join("report.json"));
    let (outcome, text) = run(Command::Apply(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let report: Value = serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let items: Vec<&Value> =
        report["report"]["items"].as_array().unwrap().iter().filter(|i| i["action"] == "deactivate").collect();
    assert_eq!(items.len(), 3, "{report:#}");
    for item in &items {
        assert_eq!(item["reassignment"]["status"], "reassigned", "{item}");
    }
    let detail = |n: usize| {
        let id = id_of(n);
        let item = items.iter().find(|i| i["id"] == id.as_str()).unwrap();
        item["reassignment"]["detail"].as_str().unwrap().to_owned()
    };
    assert!(detail(9).contains("12 / 12 contacts accounted for"), "{}", detail(9));
    assert!(detail(10).contains("5 / 5 leads accounted for"), "{}", detail(10));
    // person9 and person17 report to person1, person10 to person2.
    assert_eq!(super::super::reassignment::owned(&app, &id_of(1), "contact", false).await, 12);
    assert_eq!(super::super::reassignment::owned(&app, &id_of(2), "lead", false).await, 5);
    assert_eq!(super::super::reassignment::owned(&app, &id_of(1), "task", false).await, 3);
    let jobs = app.admin(Method::GET, &format!("/reassignments?person={}", id_of(9)), None).await.expect(200).body;
    let states: Vec<(&str, &str)> = jobs["reassignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| (j["source"].as_str().unwrap(), j["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("explicit", "done"), ("policy", "superseded")]);

    // Nothing changed in the source: nothing to deprovision, nothing asked again.
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert_eq!(outcome.report.map(|r| r.succeeded), Some(0), "{text}");
    let jobs = app.admin(Method::GET, "/reassignments?source=explicit", None).await.expect(200).body;
    assert_eq!(jobs["reassignments"].as_array().unwrap().iter().filter(|j| j["source"] == "explicit").count(), 3);
}

async fn detect_here(app: &TestApp) -> TargetKind {
    let schemas = app.get("/Schemas").await.body;
    let spc = app
        .get(&format!("/ServiceProviderConfig?attributes={}", scim_agent::reassign::ROLLCALL_SPC_EXTENSION))
        .await
        .body;
    detect(Some(&schemas), Some(&spc))
}

fn by_name(users: &[Value], n: usize) -> String {
    let name = format!("person{n}@example.com");
    users.iter().find(|u| u["userName"] == name.as_str()).unwrap()["id"].as_str().unwrap().to_owned()
}
