//! The real binary: exit codes and messages that scripts rely on, without a server (the
//! end-to-end tests in `tests/e2e/agent/` drive the library against the real one).

use std::process::Command;

fn agent() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scim-agent"));
    c.env_remove("SCIM_AGENT_TARGET_TOKEN").env_remove("SCIM_AGENT_SOURCE_TOKEN");
    c
}

#[test]
fn no_token_is_a_failure_that_says_where_tokens_come_from() {
    let out =
        agent().args(["plan", "--source", "csv:x.csv", "--target", "http://127.0.0.1:9/scim/v2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCIM_AGENT_TARGET_TOKEN"));
}

#[test]
fn a_file_with_bad_rows_is_refused_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, "externalId,userName\nE1,a@x\n,b@x\n").unwrap();
    let out = agent()
        .args(["apply", "--source", &format!("csv:{}", path.display()), "--target", "http://127.0.0.1:9/scim/v2"])
        .env("SCIM_AGENT_TARGET_TOKEN", "t")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("line 3: externalId is empty"), "{stdout}");
}

#[test]
fn an_unreachable_target_fails_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, "externalId,userName\nE1,a@x\n").unwrap();
    // Bind and drop a listener: the port is free, nothing answers on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "retries = 1\nretry_base_ms = 10\ntarget_token = \"t\"\nsource = \"csv:people.csv\"\n")
        .unwrap();
    let out = agent()
        .args(["plan", "--config", config.to_str().unwrap(), "--target", &format!("http://127.0.0.1:{port}/scim/v2")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("cannot read the target"), "{stdout}");
}

#[test]
fn a_command_line_that_does_not_parse_fails_with_1_not_the_refusal_code() {
    let out = agent().args(["apply", "--sauce", "csv:x.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let out = agent().args(["apply", "--target-token", "secret"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = agent().args(["apply", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--max-deprovision"));
}

#[test]
fn watch_runs_until_told_to_stop() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), "externalId,userName\nE1,a@x\n").unwrap();
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, "retries = 0\nsource = \"csv:people.csv\"\nwatch = \"1s\"\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = agent()
        .args(["plan", "--config", config.to_str().unwrap(), "--target", &format!("http://127.0.0.1:{port}/scim/v2")])
        .env("SCIM_AGENT_TARGET_TOKEN", "t")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Two runs (each fails: nothing listens), then SIGTERM during the wait.
    while seen.iter().filter(|l: &&String| l.starts_with("Next run in 1s")).count() < 2 {
        seen.push(lines.next().expect("the agent stopped early").unwrap());
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    seen.extend(lines.map_while(Result::ok));
    let code = child.wait().unwrap().code();
    let text = seen.join("\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("] run 2"), "{text}");
    assert!(text.contains("Stopped (exit code of the last run: 1)"), "{text}");
}
