//! Running cases over HTTP: send each step, capture, check, and always clean up.
//!
//! Speaks only HTTP (reqwest), so it can be pointed at any SCIM server. Cases run one after
//! another: they are few and fast, and a server's logs are easier to read that way.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Client, Method};

use crate::case::{request_line, Auth, Case, Step};
use crate::expect::{self, Response};
use crate::report::{CaseResult, Outcome, Report};
use crate::template::Vars;

/// The SCIM media type (RFC 7644 §8.1), sent as Accept and as the Content-Type of bodies.
const SCIM_JSON: &str = "application/scim+json";

/// How long one request may take before the step fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to run, and which cases.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The SCIM base URL, e.g. `http://127.0.0.1:8080/scim/v2`.
    pub base_url: String,
    /// The bearer token the server issued.
    pub token: String,
    /// Run only cases carrying at least one of these tags; all cases when empty.
    pub tags: Vec<String>,
}

impl RunConfig {
    /// Whether `case` is selected by the tags.
    pub fn selects(&self, case: &Case) -> bool {
        self.tags.is_empty() || case.tags.iter().any(|t| self.tags.contains(t))
    }
}

/// Runs every selected case and returns the report.
pub async fn run(config: &RunConfig) -> Report {
    run_each(config, |_| {}).await
}

/// Like [`run`], calling `on_result` as each case finishes (the CLI prints progress with it).
pub async fn run_each(config: &RunConfig, on_result: impl FnMut(&CaseResult)) -> Report {
    run_cases(config, &crate::cases(), on_result).await
}

/// Runs the given cases (those the config selects), e.g. cases of your own.
pub async fn run_cases(config: &RunConfig, cases: &[Case], mut on_result: impl FnMut(&CaseResult)) -> Report {
    let client = client();
    let mut results = Vec::new();
    for case in cases.iter().filter(|c| config.selects(c)) {
        let result = run_case(&client, config, case).await;
        on_result(&result);
        results.push(result);
    }
    Report { results }
}

/// Checks that something answers HTTP at the base URL (any status will do), so that an
/// unreachable server is reported once, as such, instead of as every case failing.
pub async fn probe(config: &RunConfig) -> Result<(), String> {
    let url = format!("{}/ServiceProviderConfig", config.base_url.trim_end_matches('/'));
    client()
        .get(&url)
        .bearer_auth(&config.token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot reach {url}: {}", error_chain(&e)))
}

fn client() -> Client {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        // A redirect is an answer to check, not something to follow.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client with default TLS settings builds")
}

/// Runs one case: its steps until the first failure, then its cleanup whatever happened.
async fn run_case(client: &Client, config: &RunConfig, case: &Case) -> CaseResult {
    let started = Instant::now();
    let mut vars = Vars::for_case(&config.base_url);
    let mut failure = None;
    for (n, step) in case.steps.iter().enumerate() {
        if let Err(detail) = run_step(client, config, step, &mut vars).await {
            failure = Some(format!("step {} `{}`: {detail}", n + 1, step.request));
            break;
        }
    }
    let cleanup_warnings = cleanup(client, config, case, &vars).await;
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        source: case.source.clone(),
        tags: case.tags.clone(),
        outcome: if failure.is_none() { Outcome::Passed } else { Outcome::Failed },
        detail: failure,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        cleanup_warnings,
    }
}

async fn run_step(client: &Client, config: &RunConfig, step: &Step, vars: &mut Vars) -> Result<(), String> {
    let (method, path) = request_line(&step.request)?;
    let path = vars.substitute(path).map_err(|e| e.to_string())?;
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
    let body = match (&step.body, &step.raw_body) {
        (Some(json), _) => Some(vars.substitute_json(json).map_err(|e| e.to_string())?.to_string()),
        (None, Some(raw)) => Some(vars.substitute(raw).map_err(|e| e.to_string())?),
        (None, None) => None,
    };
    if body.is_some() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    }
    match step.auth {
        Auth::Bearer => insert(&mut headers, "Authorization", &format!("Bearer {}", config.token))?,
        Auth::Invalid => {
            insert(&mut headers, "Authorization", &format!("Bearer not-a-token-{}", uuid::Uuid::new_v4()))?
        }
        Auth::None => {}
    }
    for (name, value) in &step.headers {
        insert(&mut headers, name, &vars.substitute(value).map_err(|e| e.to_string())?)?;
    }

    let response = send(client, method, &url(config, &path), headers, body).await?;
    expect::capture(&step.capture, &response, vars);
    let failures = expect::check(&step.expect, &response, vars).map_err(|e| e.to_string())?;
    if failures.is_empty() {
        return Ok(());
    }
    let mut detail = failures.join("; ");
    if !response.body.is_empty() {
        detail.push_str(&format!(" (response {}: {})", response.status, response.body_excerpt()));
    }
    Err(detail)
}

/// Runs the cleanup lines whose placeholders are all known. Anything but a 2xx or 404 (already
/// gone) is reported as a warning: the case's verdict stands, but the server keeps a leftover.
async fn cleanup(client: &Client, config: &RunConfig, case: &Case, vars: &Vars) -> Vec<String> {
    let mut warnings = Vec::new();
    for line in &case.cleanup {
        let Ok((method, path)) = request_line(line) else { continue };
        let Ok(path) = vars.substitute(path) else { continue };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(SCIM_JSON));
        if let Err(e) = insert(&mut headers, "Authorization", &format!("Bearer {}", config.token)) {
            warnings.push(format!("cleanup `{line}`: {e}"));
            continue;
        }
        match send(client, method, &url(config, &path), headers, None).await {
            Ok(r) if (200..300).contains(&r.status) || r.status == 404 => {}
            Ok(r) => warnings.push(format!("cleanup `{method} {path}` answered {}", r.status)),
            Err(e) => warnings.push(format!("cleanup `{method} {path}`: {e}")),
        }
    }
    warnings
}

/// Relative paths are appended to the base URL as written (not URL-joined, which would drop
/// its last segment); an absolute URL (a captured Location) is used as is.
fn url(config: &RunConfig, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        path.to_owned()
    } else {
        format!("{}{path}", config.base_url.trim_end_matches('/'))
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header name {name}: {e}"))?;
    let value = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
    headers.insert(name, value);
    Ok(())
}

async fn send(
    client: &Client,
    method: &str,
    url: &str,
    headers: HeaderMap,
    body: Option<String>,
) -> Result<Response, String> {
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = client.request(method, url).headers(headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.map_err(|e| format!("request to {url} failed: {}", error_chain(&e)))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let body = response.text().await.map_err(|e| format!("reading the response from {url}: {}", error_chain(&e)))?;
    Ok(Response::new(status, headers, body))
}

/// reqwest's top-level message ("error sending request") hides the useful cause.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
