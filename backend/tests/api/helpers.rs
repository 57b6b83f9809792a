//! `spawn_app()` and what the tests share.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use keel_backend::Application;
use keel_backend::clock::Clock;
use keel_backend::config::Settings;
use keel_backend::store::Store;
use keel_backend::store::audit::Actor;
use keel_shared::ErrorBody;
use keel_shared::auth::Role;
use keel_shared::models::{CreateModelRequest, ModelSummary, RiskTier, Stage};
use serde_json::{Value, json};
use sqlx::Connection;

/// The PostgreSQL server to create test databases on. Unreachable means failed tests,
/// never skipped ones.
fn postgres_admin_url() -> String {
    std::env::var("KEEL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(StoreKind)` as two tests: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::StoreKind::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::helpers::StoreKind::Postgres).await })*
        }
    };
}

/// A running Keel on its own fresh database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    /// The one-time setup link's path, when started without an administrator.
    pub setup_path: Option<String>,
    /// The app's clock: a test advances it instead of sleeping.
    pub clock: Clock,
    /// The app's store, for what only a workflow not yet built can do (see `create_version`).
    pub store: Store,
    scratch: PathBuf,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

pub async fn spawn_app(kind: StoreKind) -> TestApp {
    let scratch = std::env::temp_dir().join(format!("keel-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&scratch).expect("scratch directory");
    let database_url = match kind {
        StoreKind::Sqlite => format!("sqlite://{}?mode=rwc", scratch.join("keel.db").display()),
        StoreKind::Postgres => create_postgres_database().await,
    };
    spawn_app_with(Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: scratch.join("data"),
        database_url: Some(database_url),
        dist_dir: scratch.join("dist"),
        secure_cookies: false,
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await
}

/// A second Keel on the same database as `app` (PostgreSQL: replicas), signed in as admin.
pub async fn spawn_replica(app: &TestApp) -> TestApp {
    let scratch = std::env::temp_dir().join(format!("keel-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&scratch).expect("scratch directory");
    spawn_app_with(Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: scratch.join("data"),
        database_url: Some(app.database_url.clone()),
        dist_dir: scratch.join("dist"),
        secure_cookies: false,
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Default::default()
    })
    .await
}

/// The first administrator's password in tests.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    // Server errors show up in a failing test's output.
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn").try_init();
    let scratch = settings.dist_dir.parent().expect("scratch directory").to_owned();
    let database_url = settings.database_url();
    let admin_password = settings.admin_password.clone();
    let clock = Clock::manual();
    let application = Application::build_with_clock(settings, clock.clone()).await.expect("the application starts");
    let address = format!("http://{}", application.local_addr());
    let setup_path = application.setup_path();
    let store = application.store().clone();
    let server = tokio::spawn(application.run_until_stopped());
    let mut app =
        TestApp { address, client: reqwest::Client::new(), database_url, setup_path, clock, store, scratch, server };
    if let Some(password) = admin_password {
        app.client = app.signed_in_client("admin", &password).await;
    }
    app
}

/// A new, empty database on the PostgreSQL server; databases of earlier runs older
/// than an hour are dropped on the way.
pub async fn create_postgres_database() -> String {
    let admin_url = postgres_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL at {admin_url} is required for these tests: {error}"));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let stale: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'keel_test_%'")
        .fetch_all(&mut admin)
        .await
        .expect("list databases");
    for name in stale {
        let created = name.split('_').nth(2).and_then(|secs| secs.parse::<u64>().ok()).unwrap_or(now);
        if now.saturating_sub(created) > 3600 {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                .execute(&mut admin)
                .await;
        }
    }
    let name = format!("keel_test_{now}_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
    format!("{base}/{name}")
}

impl TestApp {
    /// Stops the server and its background jobs at once, as a crash would (the
    /// database stays, for a restart with `spawn_replica`).
    pub async fn kill(&self) {
        self.server.abort();
        while !self.server.is_finished() {
            tokio::task::yield_now().await;
        }
    }

    /// Logs in through the API and returns a client that sends the session cookie and,
    /// like a browser on Keel's own pages, an `Origin` of this server.
    pub async fn signed_in_client(&self, username: &str, password: &str) -> reqwest::Client {
        let response = reqwest::Client::new()
            .post(self.url("/api/auth/login"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("login sent");
        assert_eq!(response.status(), 200, "login as {username}");
        let cookie =
            response.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("cookie", cookie.parse().expect("header"));
        headers.insert("origin", self.address.parse().expect("header"));
        reqwest::Client::builder().default_headers(headers).build().expect("client")
    }

    /// Creates a user of `role` (as the admin) and returns a client signed in as them.
    pub async fn client_as(&self, role: Role) -> reqwest::Client {
        let username = format!("{role}-{}", uuid::Uuid::now_v7().simple());
        let password = "a-long-test-password";
        let response =
            self.post_json("/api/users", &json!({ "username": username, "role": role, "password": password })).await;
        assert_eq!(response.status(), 201, "creating {username}");
        self.signed_in_client(&username, password).await
    }

    /// Creates an API token (as the admin) for the admin with these scopes.
    pub async fn token(&self, scopes: &[&str]) -> (String, String) {
        let response = self.post_json("/api/tokens", &json!({ "name": "test token", "scopes": scopes })).await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("token");
        (body["token"].as_str().expect("secret").to_owned(), body["summary"]["id"].as_str().expect("id").to_owned())
    }

    /// A client pushing with a fresh `ingest` token, as a model server would.
    pub async fn ingest_client(&self) -> reqwest::Client {
        let (token, _) = self.token(&["ingest"]).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
        reqwest::Client::builder().default_headers(headers).build().expect("client")
    }

    /// A directory only this test uses (the app's dist dir lives in it).
    pub fn scratch_dir(&self) -> &std::path::Path {
        &self.scratch
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("request sent")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.put(self.url(path)).json(body).send().await.expect("request sent")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.patch(self.url(path)).json(body).send().await.expect("request sent")
    }

    /// Registers a model (which must succeed) and returns it.
    pub async fn create_model(&self, name: &str, risk_tier: RiskTier) -> ModelSummary {
        let request = CreateModelRequest {
            name: name.into(),
            description: format!("{name} description"),
            owner: "ML platform".into(),
            use_case: format!("{name} use case"),
            risk_tier: Some(risk_tier),
        };
        let response = self.post_json("/api/models", &json!(request)).await;
        assert_eq!(response.status(), 201, "creating {name}");
        response.json().await.expect("model")
    }

    /// Registers a version in `stage` (which must succeed). Canary and production are
    /// reached only through an implemented change: the version is registered in staging
    /// and moved there in the store, as implementing the change does.
    pub async fn create_version(&self, model: &ModelSummary, tag: &str, stage: &str) {
        let stage: Stage = stage.parse().expect("a stage");
        let registered = if stage.registrable() { stage } else { Stage::Staging };
        let path = format!("/api/models/{}/versions", model.id);
        let response = self.post_json(&path, &json!({ "tag": tag, "stage": registered })).await;
        assert_eq!(response.status(), 201, "creating {tag}");
        if registered != stage {
            self.store
                .move_version_stage(&model.id, tag, registered, stage, &Actor::system())
                .await
                .expect("moved as an implemented change would");
        }
    }
}

/// Asserts the status and the problem-details shape, and returns the body.
pub async fn expect_error(response: reqwest::Response, status: u16) -> ErrorBody {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"].to_str().expect("content type").to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: ErrorBody = response.json().await.expect("an ErrorBody");
    assert_eq!(body.status, status);
    assert!(body.kind.starts_with("/problems/"), "{body:?}");
    assert!(!body.detail.is_empty());
    body
}
