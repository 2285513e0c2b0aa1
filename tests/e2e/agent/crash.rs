//! A crash mid-apply: the agent is stopped dead (its future dropped, as a killed process
//! would be) after the server has carried out some of its writes. The state file says the
//! run did not finish; the next run reads the target as it is, creates only the rest,
//! manages everyone, and converges; a lost state file is rebuilt the same way.

use std::sync::Arc;

use rollcall_tests::TestApp;
use scim_agent::cli::Command;
use scim_agent::Exit;
use serde_json::Value;

use super::proxy::{start, Faults};
use super::{all, args, env, run, write_csv, Row};

fn state(dir: &std::path::Path) -> Value {
    let state: Value = serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    state["targets"].as_object().unwrap().values().next().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_apply_converges_on_the_next_run() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let upstream = server.base_url.trim_end_matches("/scim/v2").to_owned();
    let faults = Arc::new(Faults::default());
    let target = start(upstream, faults.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let env = env(&app.token);
    let mut rows: Vec<Row> = (0..1500).map(Row::new).collect();
    let source = write_csv(dir.path(), "v1.csv", &rows);
    let a = args(dir.path(), &source, &target);

    // Stop the agent dead once the server has made 600 of its 1500 people.
    let mut out = Vec::new();
    let first = Command::Apply(a.clone());
    tokio::select! {
        outcome = scim_agent::run(&first, &env, &mut out) => {
            panic!("the run finished before the crash: {:?}\n{}", outcome.exit, String::from_utf8_lossy(&out));
        }
        () = faults.wait_for_writes(600) => {}
    }
    let made = all(&app, "Users").await.len();
    assert!((600..1500).contains(&made), "{made} users after the crash");
    let last = &state(dir.path())["lastRun"];
    assert!(last["finishedAt"].is_null(), "{last}");
    assert_eq!(last["outcome"], "running");

    // The next run says so, makes only the rest, and everyone is managed.
    let (outcome, text) = run(Command::Apply(a.clone()), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("did not finish"), "{text}");
    let c = outcome.plan.unwrap().counts();
    assert_eq!(c.create, 1500 - made, "{text}");
    assert_eq!(all(&app, "Users").await.len(), 1500);
    assert_eq!(state(dir.path())["managedUsers"].as_array().unwrap().len(), 1500);
    let (outcome, text) = run(Command::Plan(a.clone()), &env).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
    assert!(text.contains("1500 of them managed by this agent"), "{text}");

    // A lost state file: an apply with nothing to do still learns who it manages, so that
    // a leaver made before the crash is deprovisioned afterwards.
    std::fs::remove_file(dir.path().join("state.json")).unwrap();
    let (outcome, text) = run(Command::Apply(a), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert!(text.contains("Nothing to apply"), "{text}");
    assert_eq!(state(dir.path())["managedUsers"].as_array().unwrap().len(), 1500);
    rows.retain(|r| !(100..110).contains(&r.id));
    let source = write_csv(dir.path(), "v2.csv", &rows);
    let (outcome, text) = run(Command::Apply(args(dir.path(), &source, &target)), &env).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    assert_eq!(outcome.plan.unwrap().counts().deactivate, 10, "{text}");
}
