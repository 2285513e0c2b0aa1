//! The conformance runner, over real HTTP, against the real app.

use rollcall_tests::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_passes() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let config =
        scim_conformance::RunConfig { base_url: server.base_url.clone(), token: app.token.clone(), tags: Vec::new() };
    let report = scim_conformance::run(&config).await;
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("{}: {}", r.id, r.detail.as_deref().unwrap_or("")))
        .collect();
    assert!(failures.is_empty(), "conformance failures:\n{}", failures.join("\n"));
    assert!(report.results.len() > 40, "the suite ran only {} cases", report.results.len());
}
