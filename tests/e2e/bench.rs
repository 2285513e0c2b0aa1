//! `scim-bench`, the load generator, against the real app over real HTTP: every scenario runs
//! (the timed ones on the generator's own HTTP/1.1 client), every answer is 2xx, and what its
//! writes created is there afterwards.

use std::time::Duration;

use rollcall_tests::TestApp;
use scim_conformance::bench::{self, scenario, seed, BenchConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_against_the_app_with_only_2xx_answers() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let config = BenchConfig {
        base_url: server.base_url.clone(),
        token: app.token.clone(),
        users: 30,
        group_members: 20,
        duration: Duration::from_millis(200),
        concurrency: 2,
        scenarios: scenario::ALL.iter().map(|s| (*s).to_owned()).collect(),
        bulk_users: 1000,
    };
    let client = bench::client(&config).expect("client");
    let seeded = seed::seed(&client, &config).await.expect("seeded");
    assert_eq!(seeded.user_ids.len(), 30);
    assert!(seeded.group_id.is_some());
    assert!(seeded.bulk_supported && seeded.cursor_supported, "Bulk and cursors are advertised");

    let mut created = 0;
    for name in scenario::ALL {
        let summary =
            scenario::run(name, &client, &config, &seeded).await.unwrap_or_else(|| panic!("{name} did not run"));
        assert!(summary.requests > 0, "{name} sent nothing");
        assert_eq!((summary.non_2xx, summary.errors), (0, 0), "{name}: answers other than 2xx");
        created += match *name {
            "create" => summary.requests,
            "bulk-create" => summary.requests * 1000,
            "bulk-total" => summary.items.unwrap_or(0),
            _ => 0,
        };
        if *name == "walk-cursor" {
            assert_eq!(summary.items, Some(30), "the walk saw every seeded user once");
        }
    }
    assert!(created >= 2000, "creates and Bulk loads: {created}");

    // Every acknowledged create is there.
    let page: serde_json::Value = client
        .get(format!("{}/Users?count=1", server.base_url))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(page["totalResults"].as_u64(), Some(30 + created));
}
