//! Smoke test of the real `scim-server` binary: first start on an empty database, graceful
//! SIGTERM, restart with a bootstrap token, and the admin CLI on the same database. It finds
//! the server's port and token by reading what the binary prints, never by guessing.
//! Everything finer-grained is tested in-process by the `rollcall-tests` crate.

use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

const BIN: &str = env!("CARGO_BIN_EXE_scim-server");
/// Longest wait for the server to start or for one admin command to finish.
const STARTUP: Duration = Duration::from_secs(30);
/// Longest wait for a graceful stop after SIGTERM.
const SHUTDOWN: Duration = Duration::from_secs(10);
/// Exactly 32 characters; the server wants at least 16.
const BOOTSTRAP_SECRET: &str = "smoke-bootstrap-secret-012345678";
const GENERATED_BANNER: &str = "Created tenant `default` with a bearer token (shown once, store it now):";
const LISTENING: &str = "Rollcall SCIM server listening on ";

/// A running `scim-server serve`, killed if the test ends before [`Server::stop`].
struct Server {
    child: Child,
    /// What it printed up to and including the "listening" line.
    banner: Vec<String>,
    base: String,
    origin: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    async fn start(database: &str, bootstrap: Option<&str>) -> Self {
        let mut cmd = command();
        cmd.args(["--database", database, "serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped());
        if let Some(secret) = bootstrap {
            cmd.env("SCIM_BOOTSTRAP_TOKEN", secret);
        }
        let mut child = cmd.spawn().expect("spawn scim-server serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        drain(child.stderr.take().expect("piped stderr"), Some(stderr.clone()));
        let mut server = Self { child, banner: Vec::new(), base: String::new(), origin: String::new(), stderr };
        let mut stdout = BufReader::new(server.child.stdout.take().expect("piped stdout")).lines();
        match timeout(STARTUP, read_banner(&mut stdout)).await {
            Ok(Some(banner)) => server.banner = banner,
            Ok(None) => panic!("scim-server exited before listening; stdout so far: {:?}", server.banner),
            Err(_) => panic!("scim-server did not report listening within {STARTUP:?}"),
        }
        // Keep reading so that a later `println!` neither blocks nor hits a closed pipe.
        drain_lines(stdout, None);
        server.origin = server.printed(LISTENING).to_owned();
        server.base = server.printed("SCIM base URL: ").to_owned();
        assert!(server.base.starts_with(&server.origin), "base {} is not under {}", server.base, server.origin);
        server
    }

    /// The rest of the banner line that starts with `prefix`.
    fn printed(&self, prefix: &str) -> &str {
        self.banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {:#?}", self.banner))
    }

    /// The token printed on the line after the first-start banner, if there was one.
    fn generated_token(&self) -> Option<String> {
        let at = self.banner.iter().position(|l| l == GENERATED_BANNER)?;
        let line = self.banner.get(at + 1).expect("a line after the banner");
        let token = line.strip_prefix("  ").unwrap_or_else(|| panic!("token line not indented: {line:?}"));
        Some(token.to_owned())
    }

    /// SIGTERM, then the exit status once the server has stopped by itself.
    async fn stop(self) -> ExitStatus {
        self.terminate();
        self.wait().await
    }

    /// Sends SIGTERM and returns at once.
    fn terminate(&self) {
        let pid = self.child.id().expect("server still running").to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
    }

    /// The exit status once the server has stopped by itself.
    async fn wait(mut self) -> ExitStatus {
        timeout(SHUTDOWN, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("scim-server did not stop within {SHUTDOWN:?} of SIGTERM"))
            .expect("wait for scim-server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Harmless once the child has exited.
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!("scim-server stderr:\n{}", self.stderr.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

/// The binary with no `SCIM_*` variable inherited from whoever runs the tests.
fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for var in scim_server::config::KNOWN_ENV {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    cmd
}

async fn read_banner(stdout: &mut Lines<BufReader<ChildStdout>>) -> Option<Vec<String>> {
    let mut banner = Vec::new();
    while let Some(line) = stdout.next_line().await.expect("read server stdout") {
        let done = line.starts_with(LISTENING);
        banner.push(line);
        if done {
            return Some(banner);
        }
    }
    None
}

fn drain(out: impl AsyncRead + Unpin + Send + 'static, keep: Option<Arc<Mutex<String>>>) {
    drain_lines(BufReader::new(out).lines(), keep);
}

fn drain_lines<R: AsyncRead + Unpin + Send + 'static>(
    mut lines: Lines<BufReader<R>>,
    keep: Option<Arc<Mutex<String>>>,
) {
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(keep) = &keep {
                let mut keep = keep.lock().unwrap_or_else(|e| e.into_inner());
                keep.push_str(&line);
                keep.push('\n');
            }
        }
    });
}

/// Runs an admin command (`tenant …`, `token …`) on `database` to completion.
async fn admin(database: &str, args: &[&str]) -> Output {
    let run = command().arg("--database").arg(database).args(args).output();
    timeout(STARTUP, run)
        .await
        .unwrap_or_else(|_| panic!("scim-server {args:?} did not finish within {STARTUP:?}"))
        .expect("run scim-server")
}

/// The stdout of an admin command that must succeed.
async fn admin_ok(database: &str, args: &[&str]) -> String {
    let out = admin(database, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scim-server {args:?} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout
}

/// The stderr of an admin command that must fail.
async fn admin_err(database: &str, args: &[&str]) -> String {
    let out = admin(database, args).await;
    assert!(
        !out.status.success(),
        "scim-server {args:?} should fail; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The token an admin command printed, alone on a line indented by two spaces.
fn printed_token(stdout: &str) -> String {
    let tokens: Vec<_> = stdout.lines().filter_map(|l| l.strip_prefix("  rc_")).collect();
    assert_eq!(tokens.len(), 1, "expected one token in:\n{stdout}");
    format!("rc_{}", tokens[0])
}

/// The id part of a minted `rc_<id>_<secret>` token.
fn token_id(token: &str) -> &str {
    token.strip_prefix("rc_").and_then(|rest| rest.split_once('_')).map(|(id, _)| id).expect("rc_<id>_<secret>")
}

fn client() -> reqwest::Client {
    // No proxy from the environment may stand between the test and the loopback server.
    reqwest::Client::builder().no_proxy().timeout(STARTUP).build().expect("http client")
}

async fn list_users(client: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    client.get(format!("{base}/Users")).bearer_auth(token).send().await.expect("GET /Users")
}

async fn json_body(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn first_start_restart_and_admin_cli_on_one_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("s.db").display());
    let client = client();

    // First start on an empty database: a token is minted and printed once.
    let server = Server::start(&database, None).await;
    let first = server.generated_token().expect("a generated token on first start");
    assert!(first.starts_with("rc_"), "unexpected token shape: {first}");
    let base = server.base.clone();

    let health = client.get(format!("{}/healthz", server.origin)).send().await.expect("GET /healthz");
    assert_eq!(health.status(), StatusCode::OK);

    let created = client
        .post(format!("{base}/Users"))
        .bearer_auth(&first)
        .json(&json!({"userName": "smoke"}))
        .send()
        .await
        .expect("POST /Users");
    assert_eq!(created.status(), StatusCode::CREATED, "{}", json_body(created).await);

    let found = client
        .get(format!("{base}/Users"))
        .query(&[("filter", r#"userName eq "smoke""#)])
        .bearer_auth(&first)
        .send()
        .await
        .expect("GET /Users?filter");
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(json_body(found).await["totalResults"], 1);

    let wrong_secret = format!("{}_{}", &first[..first.rfind('_').expect("rc_<id>_<secret>")], "0".repeat(64));
    for wrong in [wrong_secret.as_str(), "not-a-token-at-all"] {
        assert_eq!(list_users(&client, &base, wrong).await.status(), StatusCode::UNAUTHORIZED, "token {wrong}");
    }

    // The client keeps its idle keep-alive connection open, as identity providers do.
    let status = server.stop().await;
    assert!(status.success(), "SIGTERM should stop the server cleanly, got {status}");

    // Restart with a bootstrap secret: nothing printed, both tokens work, the data is still there.
    let server = Server::start(&database, Some(BOOTSTRAP_SECRET)).await;
    assert_eq!(server.generated_token(), None, "a token was printed again: {:#?}", server.banner);
    assert!(!server.banner.iter().any(|l| l.starts_with("  ")), "a secret was printed: {:#?}", server.banner);
    let base = server.base.clone();
    for token in [first.as_str(), BOOTSTRAP_SECRET] {
        let listed = list_users(&client, &base, token).await;
        assert_eq!(listed.status(), StatusCode::OK, "token {token}");
        assert_eq!(json_body(listed).await["totalResults"], 1, "token {token}");
    }

    // The admin CLI on the same database while the server runs.
    let acme = printed_token(&admin_ok(&database, &["tenant", "create", "acme"]).await);
    let read =
        printed_token(&admin_ok(&database, &["token", "create", "--tenant", "acme", "--scope", "scim:read"]).await);
    let listing = admin_ok(&database, &["token", "list", "--tenant", "acme"]).await;
    let ids: Vec<_> = listing.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids, [token_id(&acme), token_id(&read)], "listing:\n{listing}");
    for token in [&acme, &read] {
        let secret = &token[token.rfind('_').expect("rc_<id>_<secret>") + 1..];
        assert!(!listing.contains(secret), "`token list` shows a secret:\n{listing}");
    }

    // Tenants are isolated, and a read-only token cannot write.
    let listed = list_users(&client, &base, &acme).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(json_body(listed).await["totalResults"], 0);
    let write = client
        .post(format!("{base}/Users"))
        .bearer_auth(&read)
        .json(&json!({"userName": "nope"}))
        .send()
        .await
        .expect("POST /Users");
    assert_eq!(write.status(), StatusCode::FORBIDDEN);

    // A token never presented before its revocation is refused at once.
    let unused = printed_token(&admin_ok(&database, &["token", "create", "--tenant", "acme"]).await);
    admin_ok(&database, &["token", "revoke", "--tenant", "acme", token_id(&unused)]).await;
    assert_eq!(list_users(&client, &base, &unused).await.status(), StatusCode::UNAUTHORIZED);

    // A token the server has cached is refused once the cache entry expires (5 s).
    admin_ok(&database, &["token", "revoke", "--tenant", "acme", token_id(&read)]).await;
    let deadline = Instant::now() + Duration::from_secs(7);
    loop {
        let status = list_users(&client, &base, &read).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "a revoked token still gets {status} after the cache lifetime");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(list_users(&client, &base, &acme).await.status(), StatusCode::OK, "revoking one token hit another");

    let listing = admin_ok(&database, &["token", "list", "--tenant", "acme"]).await;
    assert_eq!(listing.matches("(revoked)").count(), 2, "listing:\n{listing}");

    let status = server.stop().await;
    assert!(status.success(), "SIGTERM should stop the server cleanly, got {status}");
}

#[tokio::test]
async fn admin_cli_refuses_unknown_tenants_ids_and_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("s.db").display());

    admin_ok(&database, &["tenant", "create", "acme"]).await;
    let duplicate = admin_err(&database, &["tenant", "create", "acme"]).await;
    assert!(duplicate.contains("acme"), "stderr: {duplicate}");

    let unknown = admin_err(&database, &["token", "create", "--tenant", "nosuch"]).await;
    assert!(unknown.contains("nosuch"), "stderr: {unknown}");
    let unknown = admin_err(&database, &["token", "list", "--tenant", "nosuch"]).await;
    assert!(unknown.contains("nosuch"), "stderr: {unknown}");

    let missing = admin_err(&database, &["token", "revoke", "--tenant", "acme", "0123456789abcdef"]).await;
    assert!(missing.contains("0123456789abcdef"), "stderr: {missing}");
    let bad_scope = admin_err(&database, &["token", "create", "--tenant", "acme", "--scope", "scim:admin"]).await;
    assert!(bad_scope.contains("scim:admin"), "stderr: {bad_scope}");
}

/// SIGTERM stops new connections but lets a request already under way finish: here one whose
/// body is still arriving when the signal comes (`Expect: 100-continue` proves the handler had
/// started reading it, and the log line proves the server had begun shutting down).
#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().expect("temp dir");
    let database = format!("sqlite://{}", dir.path().join("s.db").display());
    let server = Server::start(&database, Some(BOOTSTRAP_SECRET)).await;
    let address = server.origin.strip_prefix("http://").expect("http origin").to_owned();
    let body = json!({"userName": "in-flight"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);

    let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {BOOTSTRAP_SECRET}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    let mut interim = vec![0u8; 64];
    let n = timeout(STARTUP, stream.read(&mut interim)).await.expect("100 Continue in time").expect("read");
    assert!(String::from_utf8_lossy(&interim[..n]).starts_with("HTTP/1.1 100"), "got {:?}", &interim[..n]);
    stream.write_all(first.as_bytes()).await.expect("send half the body");

    server.terminate();
    let deadline = Instant::now() + SHUTDOWN;
    while !server.stderr.lock().unwrap_or_else(|e| e.into_inner()).contains("shutting down") {
        assert!(Instant::now() < deadline, "the server never said it was shutting down");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.write_all(rest.as_bytes()).await.expect("send the rest of the body");
    let mut answer = String::new();
    timeout(SHUTDOWN, stream.read_to_string(&mut answer)).await.expect("an answer in time").expect("read answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "the in-flight request was not served: {answer}");
    let status = server.wait().await;
    assert!(status.success(), "SIGTERM should stop the server cleanly, got {status}");

    // It was committed, not just answered.
    let server = Server::start(&database, Some(BOOTSTRAP_SECRET)).await;
    let found = client()
        .get(format!("{}/Users", server.base))
        .query(&[("filter", r#"userName eq "in-flight""#)])
        .bearer_auth(BOOTSTRAP_SECRET)
        .send()
        .await
        .expect("GET /Users");
    assert_eq!(json_body(found).await["totalResults"], 1);
    assert!(server.stop().await.success());
}
