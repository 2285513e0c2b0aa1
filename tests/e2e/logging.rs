//! The request log: poem's span and `response` event for every request when the log records
//! INFO, and nothing at all (not even the peer's address formatted) when it does not.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rollcall_tests::TestApp;
use tracing::Level;

/// Everything a subscriber at `level` writes while `app` answers `GET /Users`.
async fn log_of_a_request(app: &TestApp, level: Level) -> String {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(level).with_ansi(false).with_writer(move || writer.clone()).finish();
    {
        // The test client calls the app on this thread, so a thread-local subscriber sees it.
        let _installed = tracing::subscriber::set_default(subscriber);
        app.get("/Users").await.expect(200);
    }
    let bytes = buffer.0.lock().expect("not poisoned").clone();
    String::from_utf8(bytes).expect("UTF-8")
}

#[tokio::test]
async fn requests_are_logged_at_info_and_not_below() {
    let app = TestApp::new().await;
    let info = log_of_a_request(&app, Level::INFO).await;
    let line = info.lines().find(|l| l.contains("response")).unwrap_or_else(|| panic!("no response event in {info}"));
    for part in ["request{", "method=GET", "uri=", "status=200 OK", "duration="] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert_eq!(log_of_a_request(&app, Level::WARN).await, "", "nothing is logged under WARN");
}
