//! A target that misbehaves: a small HTTP proxy in front of the real server. Reads pass;
//! the first writes get 429 with `Retry-After`, then 503, then some are carried out but
//! answered 503 as if the answer were lost; the rest are forwarded. The agent must wait,
//! retry, take what its lost answers created, and finish with everything done. The proxy
//! also counts the writes it forwarded, so that a test can stop the agent mid-apply.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use rollcall_tests::TestApp;
use scim_agent::cli::Command;
use scim_agent::Exit;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{all, args, env, run, write_csv, Row};

/// How the proxy misbehaves with writes (reads always pass): the first `throttled` get 429
/// with `Retry-After: 1`, the next `unavailable` 503, the next `lost` are carried out and
/// answered 503 anyway.
#[derive(Default)]
pub struct Faults {
    pub throttled: usize,
    pub unavailable: usize,
    pub lost: usize,
    /// Reads meet the faults too.
    pub reads_too: bool,
    /// Pages of lists hold at most this many resources, whatever the agent asks for.
    pub page_cap: Option<usize>,
    seen: AtomicUsize,
    /// Writes the server carried out.
    pub forwarded: AtomicUsize,
    pub on_write: Notify,
}

impl Faults {
    /// Waits until the server has carried out `n` writes.
    pub async fn wait_for_writes(&self, n: usize) {
        loop {
            let notified = self.on_write.notified();
            if self.forwarded.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

/// Starts the proxy on an ephemeral loopback port; answers its SCIM base URL.
pub async fn start(upstream: String, faults: Arc<Faults>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (faults, http, upstream) = (faults.clone(), http.clone(), upstream.clone());
            tokio::spawn(async move {
                let _ = serve(stream, &faults, &http, &upstream).await;
            });
        }
    });
    format!("http://{addr}/scim/v2")
}

/// One request per connection (`Connection: close`): read it, answer it.
async fn serve(stream: TcpStream, faults: &Faults, http: &reqwest::Client, upstream: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("GET").to_owned(), parts.next().unwrap_or("/").to_owned());
    let mut headers = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let path = match faults.page_cap {
        Some(cap) if method == "GET" => path.replace("count=1000", &format!("count={cap}")),
        _ => path,
    };

    let n = if method == "GET" && !faults.reads_too { usize::MAX } else { faults.seen.fetch_add(1, Ordering::SeqCst) };
    let lose = n >= faults.throttled + faults.unavailable && n < faults.throttled + faults.unavailable + faults.lost;
    let (status, extra, text) = if n < faults.throttled {
        (429, "Retry-After: 1\r\n".to_owned(), r#"{"detail":"slow down"}"#.to_owned())
    } else if n < faults.throttled + faults.unavailable {
        (503, String::new(), r#"{"detail":"maintenance"}"#.to_owned())
    } else {
        let mut request = http.request(method.parse().expect("method"), format!("{upstream}{path}"));
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("content-type") {
                request = request.header(k, v);
            }
        }
        let answer = match request.body(body).send().await {
            Ok(r) => (r.status().as_u16(), String::new(), r.text().await.unwrap_or_default()),
            Err(e) => (502, String::new(), format!("{{\"detail\":\"{e}\"}}")),
        };
        if method != "GET" {
            faults.forwarded.fetch_add(1, Ordering::SeqCst);
            faults.on_write.notify_waiters();
        }
        if lose {
            (503, String::new(), r#"{"detail":"the answer was lost"}"#.to_owned())
        } else {
            answer
        }
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{text}",
        text.len()
    );
    let mut stream = reader.into_inner();
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_waits_out_429_and_503() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let upstream = server.base_url.trim_end_matches("/scim/v2").to_owned();
    // Pages of 7: the agent reads 60 users in 9 pages, some of them at once.
    let faults = Arc::new(Faults { throttled: 8, unavailable: 8, lost: 10, page_cap: Some(7), ..Faults::default() });
    let target = start(upstream, faults.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    // Short back-off so that the 503s cost little; the 429s still wait the server's second.
    std::fs::write(&config, "retry_base_ms = 50\nretry_max_ms = 2000\nretries = 20\n").unwrap();
    let rows: Vec<Row> = (0..60).map(Row::new).collect();
    let mut a = args(dir.path(), &write_csv(dir.path(), "p.csv", &rows), &target);
    a.config = Some(config);
    a.concurrency = Some(4);

    let started = std::time::Instant::now();
    let (outcome, text) = run(Command::Apply(a.clone()), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Done, "{text}");
    let report = outcome.report.unwrap();
    assert_eq!(report.failed, 0, "{text}");
    assert!(report.retries >= 26, "only {} retries", report.retries);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After was not honoured");
    // The creates whose answers were lost were taken on retry (409, then a lookup), not
    // made twice and not reported failed; the groups are whole.
    let users = all(&app, "Users").await;
    assert_eq!(users.len(), 60);
    let groups = all(&app, "Groups").await;
    assert_eq!(groups.len(), 9);
    let everyone = groups.iter().find(|g| g["displayName"] == "Everyone").unwrap();
    assert_eq!(everyone["members"].as_array().unwrap().len(), 60);

    // Idempotent through the proxy too.
    let (outcome, text) = run(Command::Plan(a), &env(&app.token)).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stays_down_fails_cleanly() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let upstream = server.base_url.trim_end_matches("/scim/v2").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "retry_base_ms = 10\nretry_max_ms = 50\nretries = 2\n").unwrap();
    let source = write_csv(dir.path(), "p.csv", &[Row::new(1), Row::new(2)]);

    // Down for reads too: nothing can be planned (exit code 1).
    let faults = Arc::new(Faults { unavailable: usize::MAX / 2, reads_too: true, ..Faults::default() });
    let mut a = args(dir.path(), &source, &start(upstream.clone(), faults).await);
    a.config = Some(config.clone());
    let (outcome, text) = run(Command::Apply(a), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Failed, "{text}");
    assert!(text.contains("cannot read the target") && text.contains("HTTP 503"), "{text}");

    // Down for writes only: every item fails after its retries (exit code 3), the report and
    // the state say so, and nothing was half-made.
    let faults = Arc::new(Faults { unavailable: usize::MAX / 2, ..Faults::default() });
    let mut a = args(dir.path(), &source, &start(upstream, faults).await);
    a.config = Some(config);
    a.json = Some(dir.path().join("report.json"));
    let (outcome, text) = run(Command::Apply(a), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Partial, "{text}");
    assert_eq!(Exit::Partial.code(), 3);
    assert!(text.contains("failed: create person1@example.com (E00001): POST"), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["outcome"], "partial");
    assert_eq!(report["report"]["failed"], 2 + 3, "{report:#}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).unwrap()).unwrap();
    let last = &state["targets"].as_object().unwrap().values().next().unwrap()["lastRun"];
    assert_eq!(last["outcome"], "some operations failed");
    assert_eq!(all(&app, "Users").await.len(), 0);
}
