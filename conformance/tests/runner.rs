//! The runner end to end against a throwaway responder: a loopback socket that records each
//! request and answers with canned responses. It knows nothing of SCIM; it lets us see what the
//! runner puts on the wire (auth, media types, query encoding, substituted ids) and that
//! cleanup runs after a failure. The real proof is the suite against the real server.

use std::sync::{Arc, Mutex};

use scim_conformance::{run_cases, Case, RunConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A request as the responder saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<String>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.headers.iter().find(|h| h.to_ascii_lowercase().starts_with(&prefix)).map(|h| h[prefix.len()..].trim())
    }
}

/// Serves `answers` in order (status, extra headers, body), one connection per request, and
/// returns the base URL and what it saw.
async fn responder(answers: Vec<(u16, &'static str, String)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/scim/v2", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, headers, body) in answers {
            let (stream, _) = listener.accept().await.unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            let mut request = Seen { line: line.trim().to_owned(), headers: vec![], body: String::new() };
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).await.unwrap();
                if header.trim().is_empty() {
                    break;
                }
                request.headers.push(header.trim().to_owned());
            }
            let length: usize = request.header("content-length").map_or(0, |n| n.parse().unwrap());
            let mut bytes = vec![0; length];
            reader.read_exact(&mut bytes).await.unwrap();
            request.body = String::from_utf8(bytes).unwrap();
            log.lock().unwrap().push(request);
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/scim+json\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            reader.get_mut().write_all(response.as_bytes()).await.unwrap();
        }
    });
    (base, seen)
}

fn config(base: String) -> RunConfig {
    RunConfig { base_url: base, token: "t0ken".into(), tags: vec![] }
}

fn case(steps: serde_json::Value) -> Case {
    serde_json::from_value(serde_json::json!({
        "id": "test-case", "title": "A case", "source": {"name": "RFC 7644", "url": "https://www.rfc-editor.org/rfc/rfc7644"},
        "tags": ["rfc", "users"], "steps": steps, "cleanup": ["DELETE /Users/{user}"]
    }))
    .unwrap()
}

#[tokio::test]
async fn a_passing_case_substitutes_captures_and_cleans_up() {
    let created = r#"{"id": "u-1", "userName": "x", "meta": {"version": "W/\"7\""}}"#.to_owned();
    let (base, seen) = responder(vec![
        (201, "etag: W/\"7\"\r\nlocation: /scim/v2/Users/u-1\r\n", created),
        (200, "", r#"{"totalResults": 1, "Resources": [{"id": "u-1"}]}"#.to_owned()),
        (204, "", String::new()),
    ])
    .await;
    let case = case(serde_json::json!([
        {"request": "POST /Users", "body": {"userName": "a-{uuid}"},
         "expect": {"status": 201, "json": {"/meta/version": "{etag}"}, "headers_present": ["Location"]},
         "capture": {"user": "/id", "etag": "header:ETag"}},
        {"request": "GET /Users?filter=userName eq \"a-{uuid}\"&count=1",
         "expect": {"status": 200, "json": {"/totalResults": 1, "/Resources/0/id": "{user}"}}}
    ]));
    let report = run_cases(&config(base), &[case], |_| {}).await;
    assert_eq!(report.failed(), 0, "{report}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].line, "POST /scim/v2/Users HTTP/1.1");
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0ken"));
    assert_eq!(seen[0].header("content-type"), Some("application/scim+json"));
    assert_eq!(seen[0].header("accept"), Some("application/scim+json"));
    let sent: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    let user_name = sent["userName"].as_str().unwrap();
    assert!(user_name.starts_with("a-") && user_name.len() == 38, "{user_name}");
    // Spaces and quotes in the filter are percent-encoded; everything else goes as written.
    assert_eq!(seen[1].line, format!("GET /scim/v2/Users?filter=userName%20eq%20%22{user_name}%22&count=1 HTTP/1.1"));
    assert_eq!(seen[2].line, "DELETE /scim/v2/Users/u-1 HTTP/1.1", "cleanup deletes the captured id");
}

#[tokio::test]
async fn a_failing_step_stops_the_case_says_why_and_still_cleans_up() {
    let (base, seen) = responder(vec![
        (201, "", r#"{"id": "u-2"}"#.to_owned()),
        (200, "", r#"{"id": "u-2", "schemas": ["urn:x"]}"#.to_owned()),
        (204, "", String::new()),
    ])
    .await;
    let case = case(serde_json::json!([
        {"request": "POST /Users", "body": {}, "expect": {"status": 201}, "capture": {"user": "/id"}},
        {"request": "GET /Users/{user}", "auth": "none", "expect": {"status": 404, "error": {}}},
        {"request": "GET /never-sent", "expect": {"status": 200}}
    ]));
    let report = run_cases(&config(base), &[case], |_| {}).await;
    assert_eq!((report.passed(), report.failed()), (0, 1));
    let failure = report.results[0].detail.as_deref().unwrap();
    assert!(failure.starts_with("step 2 `GET /Users/{user}`: expected status 404, got 200"), "{failure}");
    assert!(failure.contains("expected an error body"), "{failure}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen[1].header("authorization"), None, "auth none sends no token");
    assert_eq!(seen.len(), 3, "step 3 is skipped, cleanup still runs");
    assert_eq!(seen[2].line, "DELETE /scim/v2/Users/u-2 HTTP/1.1");
}

#[tokio::test]
async fn cleanup_is_skipped_when_nothing_was_created() {
    let (base, seen) = responder(vec![(500, "", "oops".to_owned())]).await;
    let case = case(serde_json::json!([
        {"request": "POST /Users", "body": {}, "expect": {"status": 201}, "capture": {"user": "/id"}}
    ]));
    let report = run_cases(&config(base), &[case], |_| {}).await;
    assert_eq!(report.failed(), 1);
    assert!(report.to_string().contains("expected status 201, got 500 (response 500: oops)"), "{report}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_fails_the_probe() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/scim/v2", listener.local_addr().unwrap());
    drop(listener);
    let error = scim_conformance::probe(&config(base)).await.unwrap_err();
    assert!(error.starts_with("cannot reach"), "{error}");
}
