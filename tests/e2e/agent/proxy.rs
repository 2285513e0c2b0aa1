//! A target that is overloaded for a while: a small HTTP proxy in front of the real server
//! answers 429 with `Retry-After` and then 503 to the first requests, and forwards the rest.
//! The agent must wait, retry and finish with everything done.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rollcall_tests::TestApp;
use scim_agent::cli::Command;
use scim_agent::Exit;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::{all, args, env, run, write_csv, Row};

/// How the proxy misbehaves: after `skip` requests (the agent's reads), the next
/// `throttled` get 429 with `Retry-After: 1`, the next `unavailable` 503.
struct Faults {
    skip: usize,
    throttled: usize,
    unavailable: usize,
    seen: AtomicUsize,
}

/// Starts the proxy on an ephemeral loopback port; answers its SCIM base URL.
async fn start(upstream: String, faults: Arc<Faults>) -> String {
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

    let n = faults.seen.fetch_add(1, Ordering::SeqCst).wrapping_sub(faults.skip);
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
        match request.body(body).send().await {
            Ok(r) => (r.status().as_u16(), String::new(), r.text().await.unwrap_or_default()),
            Err(e) => (502, String::new(), format!("{{\"detail\":\"{e}\"}}")),
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
    let faults = Arc::new(Faults { skip: 3, throttled: 8, unavailable: 8, seen: AtomicUsize::new(0) });
    let target = start(upstream, faults.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    // The reads (Users, Groups, ServiceProviderConfig) pass; the writes meet the faults.
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
    assert!(report.retries >= 16, "only {} retries", report.retries);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "Retry-After was not honoured");
    assert_eq!(all(&app, "Users").await.len(), 60);

    // Idempotent through the proxy too.
    let (outcome, text) = run(Command::Plan(a), &env(&app.token)).await;
    assert!(outcome.plan.unwrap().is_empty(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stays_down_fails_cleanly() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let upstream = server.base_url.trim_end_matches("/scim/v2").to_owned();
    let faults = Arc::new(Faults { skip: 0, throttled: 0, unavailable: usize::MAX / 2, seen: AtomicUsize::new(0) });
    let target = start(upstream, faults).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "retry_base_ms = 10\nretry_max_ms = 50\nretries = 2\n").unwrap();
    let mut a = args(dir.path(), &write_csv(dir.path(), "p.csv", &[Row::new(1)]), &target);
    a.config = Some(config);
    let (outcome, text) = run(Command::Apply(a), &env(&app.token)).await;
    assert_eq!(outcome.exit, Exit::Failed, "{text}");
    assert!(text.contains("HTTP 503"), "{text}");
}
