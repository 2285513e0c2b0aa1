//! The test harness: a [`TestApp`] is the real application on a fresh database, with a
//! tenant and a token, driven in-process through poem's test client. [`TestServer`] serves
//! the same app on an ephemeral loopback port for clients that speak real HTTP (the
//! conformance runner, replicas).
//!
//! The database is SQLite in a temporary directory, or a fresh PostgreSQL database per test
//! in the `e2e_postgres` test binary (see [`postgres`]): the same tests run on both.

pub mod postgres;
pub mod smtp;

use std::sync::Arc;

use poem::http::{HeaderMap, Method};
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use scim_server::domain::clock::ManualClock;
use scim_server::domain::store::Store;
use scim_server::domain::tenant;
use scim_server::{build_app, storage, AppState};
use serde_json::Value;
use tempfile::TempDir;
use time::OffsetDateTime;

pub type App = poem::endpoint::BoxEndpoint<'static, Response>;

/// A response as tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, showing the body when it is not the expected one.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {:#}", self.body);
        self
    }
}

pub struct TestApp {
    pub client: TestClient<App>,
    /// The app's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub token: String,
    /// The database URL (`sqlite://…` or `postgres://…`).
    pub url: String,
    _scratch: Scratch,
}

/// Where a test's database lives; removed when the test ends.
enum Scratch {
    Dir(#[expect(dead_code, reason = "held to be deleted on drop")] TempDir),
    Postgres(#[expect(dead_code, reason = "held to be dropped on drop")] postgres::TestDatabase),
    /// The database belongs to the caller.
    Borrowed,
}

impl TestApp {
    /// A fresh database with the `default` tenant and a token for it: SQLite, or
    /// PostgreSQL in the `e2e_postgres` binary when PostgreSQL is reachable.
    pub async fn new() -> Self {
        match postgres::fresh_database_for_suite().await {
            Some(db) => Self::fresh(db.url.clone(), Scratch::Postgres(db)).await,
            None => Self::sqlite().await,
        }
    }

    /// A fresh SQLite database, whichever binary the test runs in.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::fresh(format!("sqlite://{}", dir.path().join("test.db").display()), Scratch::Dir(dir)).await
    }

    async fn fresh(url: String, scratch: Scratch) -> Self {
        let store = storage::connect(&url).await.expect("open database");
        let token = match tenant::ensure_default_tenant(store.as_ref(), None, OffsetDateTime::now_utc()).await {
            Ok(tenant::Bootstrap::GeneratedToken(t)) => t,
            other => panic!("unexpected bootstrap: {other:?}"),
        };
        Self::with_store(store, token, url, scratch)
    }

    /// The app on an existing database (kept by the caller), acting with `token`.
    pub async fn attach(url: &str, token: &str) -> Self {
        let store = storage::connect(url).await.expect("open database");
        Self::with_store(store, token.to_owned(), url.to_owned(), Scratch::Borrowed)
    }

    fn with_store(store: Arc<dyn Store>, token: String, url: String, scratch: Scratch) -> Self {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mut state = AppState::new(store.clone());
        state.clock = clock.clone();
        let app = build_app(Arc::new(state)).boxed();
        Self { client: TestClient::new(app), clock, store, token, url, _scratch: scratch }
    }

    /// Runs one statement on this app's database beside the server (SQLite or PostgreSQL):
    /// for a test that sets up what no API can, such as rows as an older version stored them.
    pub async fn execute(&self, sql: &str) {
        if self.url.starts_with("postgres") {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("connect to PostgreSQL");
            sqlx::query(sql).execute(&pool).await.expect("run the statement");
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect to SQLite");
            sqlx::query(sql).execute(&pool).await.expect("run the statement");
        }
    }

    /// Another connection pool on this app's database, as a second server replica has.
    pub async fn replica_store(&self) -> Arc<dyn Store> {
        storage::connect(&self.url).await.expect("open database again")
    }

    /// Creates another tenant and answers a token for it.
    pub async fn tenant(&self, name: &str) -> String {
        self.store.create_tenant(name).await.expect("create tenant");
        tenant::create_token(self.store.as_ref(), name, Vec::new(), None, OffsetDateTime::now_utc())
            .await
            .expect("create token")
            .0
    }

    /// Sends a request as the default tenant to `path` under `/scim/v2`.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, path, body, Some(&self.token), &[]).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// The general form: any token (or none) and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let direct = ["/scim/v2", "/healthz", "/admin", "/auth"].iter().any(|p| path.starts_with(p));
        let uri = if path.starts_with('/') && !direct { format!("/scim/v2{path}") } else { path.to_owned() };
        let media = if path.starts_with("/admin") || path.starts_with("/auth") {
            "application/json"
        } else {
            "application/scim+json"
        };
        let mut req = self.client.request(method, uri);
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.content_type(media).body(body.to_string());
        }
        let response = req.send().await.0;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.into_body().into_string().await.expect("body");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    /// Calls the admin API (`path` under `/admin/v1`) as the default tenant.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(method, &format!("/admin/v1{path}"), body, Some(&self.token), &[]).await
    }

    /// Sends a CSV body to the admin API.
    pub async fn admin_csv(&self, path: &str, csv: &str) -> Reply {
        let req = self
            .client
            .post(format!("/admin/v1{path}"))
            .header("Authorization", format!("Bearer {}", self.token))
            .content_type("text/plain")
            .body(csv.to_owned());
        let response = req.send().await.0;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.into_body().into_string().await.expect("body");
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    /// A reassignment worker on this app's database and clock.
    pub fn jobs_worker(&self) -> scim_server::jobs::Worker {
        scim_server::jobs::Worker::new(self.store.clone(), self.clock.clone())
    }

    /// A mail delivery worker for this app's outbox, sending to `smtp`.
    pub fn mail_worker(&self, smtp: &smtp::SmtpReceiver) -> scim_server::mail::Worker {
        let settings = scim_server::mail::SmtpSettings {
            host: "127.0.0.1".into(),
            port: Some(smtp.port),
            tls: scim_server::mail::SmtpTls::None,
            username: None,
            password: None,
            from: "Rollcall <no-reply@rollcall.test>".into(),
        };
        let mailer = scim_server::mail::Mailer::new(&settings).expect("mailer");
        scim_server::mail::Worker::new(self.store.clone(), mailer, self.clock.clone())
    }

    /// A second in-process app on another connection pool to this database (another
    /// replica), sharing this app's clock.
    pub async fn replica(&self) -> TestClient<App> {
        let mut state = AppState::new(self.replica_store().await);
        state.clock = self.clock.clone();
        TestClient::new(build_app(Arc::new(state)).boxed())
    }

    /// Creates a user and answers its id.
    pub async fn user(&self, user_name: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Given", "familyName": "Family"},
            "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
            "active": true
        });
        self.post("/Users", body).await.expect(201).body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a group with these member ids and answers its id.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| serde_json::json!({"value": m})).collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": members
        });
        self.post("/Groups", body).await.expect(201).body["id"].as_str().expect("id").to_owned()
    }

    /// Serves this app's database on an ephemeral loopback port.
    pub async fn serve(&self) -> TestServer {
        TestServer::start(self.store.clone()).await
    }
}

/// The app on a real socket, stopped when dropped.
pub struct TestServer {
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub async fn start(store: Arc<dyn Store>) -> Self {
        use poem::listener::{Acceptor, Listener, TcpListener};
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().expect("socket address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = build_app(Arc::new(AppState::new(store)));
        tokio::spawn(async move {
            let server = poem::Server::new_with_acceptor(acceptor);
            let _ = server.run_with_graceful_shutdown(app, async { drop(stopped.await) }, None).await;
        });
        Self { base_url: format!("http://{addr}/scim/v2"), stop: Some(stop) }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
