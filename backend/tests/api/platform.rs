//! Health, metrics, the console's files, migrations and the demo fleet.

use keel_backend::config::Settings;
use keel_backend::store::Store;
use keel_shared::models::{HealthResponse, ModelListResponse};
use keel_shared::monitoring::DriftHistory;
use sqlx::Connection;

use crate::helpers::{StoreKind, expect_error, spawn_app, spawn_app_with};
use crate::on_both_stores;

async fn health_reports_the_store(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.get("/api/health").await;
    assert_eq!(response.status(), 200);
    let health: HealthResponse = response.json().await.expect("health");
    let expected = match store {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Postgres => "postgres",
    };
    assert_eq!((health.status.as_str(), health.store.as_str()), ("ok", expected));
}

async fn metrics_count_requests_by_route_template(store: StoreKind) {
    let app = spawn_app(store).await;
    for _ in 0..3 {
        app.get("/api/models/some-id").await;
    }
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.expect("text");
    assert!(
        text.contains(r#"keel_http_requests_total{method="GET",route="/api/models/{id}",status="404"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"keel_http_request_duration_seconds_count{method="GET",route="/api/models/{id}",status="404"} 3"#
        )
    );
}

async fn deep_links_load_the_console_and_api_misses_stay_json(store: StoreKind) {
    let app = spawn_app(store).await;
    let dist = app.scratch_dir().join("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("index.html"), "<!DOCTYPE html><title>Keel console</title>").expect("index");
    std::fs::write(dist.join("app.css"), "body{}").expect("css");

    std::fs::write(dist.join("keel-frontend-0a1b2c3d4e5f6789_bg.wasm"), "wasm").expect("wasm");

    for path in ["/", "/models/0190abc", "/models/new"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "the page is checked each time: {path}");
        assert!(response.text().await.expect("html").contains("Keel console"), "{path}");
    }
    assert_eq!(app.get("/app.css").await.text().await.expect("css"), "body{}");
    let hashed = app.get("/keel-frontend-0a1b2c3d4e5f6789_bg.wasm").await;
    assert_eq!(hashed.headers()["cache-control"], "public, max-age=31536000, immutable", "named by its content");
    let missing = app.get("/api/models/0190abc/nothing").await;
    assert_eq!(missing.headers()["cache-control"], "no-store");
    expect_error(missing, 404).await;
}

async fn migrating_twice_changes_nothing(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("churn", keel_shared::models::RiskTier::Limited).await;
    let again = Store::connect(&app.database_url).await.expect("connect");
    again.migrate().await.expect("second migration");
    let list: ModelListResponse = app.get("/api/models").await.json().await.expect("list");
    assert_eq!(list.total, 1);
}

async fn the_demo_fleet_loads_once(store: StoreKind) {
    let app = spawn_app(store).await;
    let store = Store::connect(&app.database_url).await.expect("connect");
    let added = keel_backend::demo::load_demo_fleet(&store).await.expect("demo");
    assert!(added >= 5, "a fleet of at least five models, got {added}");
    assert_eq!(keel_backend::demo::load_demo_fleet(&store).await.expect("demo again"), 0);
    let list: ModelListResponse = app.get("/api/models").await.json().await.expect("list");
    assert_eq!(list.total, added as u64);
    assert!(list.items.iter().all(|model| model.version_count >= 1));
    let production: ModelListResponse = app.get("/api/models?stage=production").await.json().await.expect("list");
    assert!(production.total >= 4, "most demo models are in production");
}

/// The demo's drift pages open on a day of history: an evaluation per past hour the first
/// time, and one more per start after that.
async fn the_demo_drift_history_covers_its_day_once(store: StoreKind) {
    let app = spawn_app(store).await;
    let store = Store::connect(&app.database_url).await.expect("connect");
    keel_backend::demo::load_demo_fleet(&store).await.expect("demo");
    keel_backend::demo::monitoring::backfill(&store).await.expect("backfill");
    let list: ModelListResponse = app.get("/api/models?q=churn-propensity").await.json().await.expect("list");
    let churn = &list.items[0];
    let path = format!("/api/models/{}/drift/history?feature=monthly_spend_czk", churn.id);
    let history: DriftHistory = app.get(&path).await.json().await.expect("history");
    assert_eq!(history.points.len(), 24, "23 past hours and now");
    let (first, last) = (&history.points[0], &history.points[23]);
    let span = (last.evaluated_at - first.evaluated_at).num_minutes();
    assert!((23 * 60 - 1..=23 * 60 + 1).contains(&span), "one per hour over the day: {span} minutes");

    keel_backend::demo::monitoring::backfill(&store).await.expect("backfill again");
    let history: DriftHistory = app.get(&path).await.json().await.expect("history");
    assert_eq!(history.points.len(), 25, "a restart adds one evaluation, not another day");
}

on_both_stores!(
    health_reports_the_store,
    metrics_count_requests_by_route_template,
    deep_links_load_the_console_and_api_misses_stay_json,
    migrating_twice_changes_nothing,
    the_demo_fleet_loads_once,
    the_demo_drift_history_covers_its_day_once,
);

/// The embedded default: a SQLite file created, with its schema, under the data directory.
#[tokio::test]
async fn the_default_store_is_a_sqlite_file_in_the_data_directory() {
    let scratch = std::env::temp_dir().join(format!("keel-test-{}", uuid::Uuid::now_v7().simple()));
    let settings = Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: scratch.join("data").join("nested"),
        database_url: None,
        dist_dir: scratch.join("dist"),
        secure_cookies: false,
        admin_password: Some(crate::helpers::ADMIN_PASSWORD.into()),
        ..Default::default()
    };
    let app = spawn_app_with(settings).await;
    assert!(scratch.join("data/nested/keel.db").exists());
    assert_eq!(app.get("/api/health").await.status(), 200);
}

/// Health answers 503 once the store stops answering (its database is dropped).
#[tokio::test]
async fn health_is_unavailable_when_the_store_does_not_answer() {
    let app = spawn_app(StoreKind::Postgres).await;
    assert_eq!(app.get("/api/health").await.status(), 200);
    let (admin_url, name) = app.database_url.rsplit_once('/').expect("database name");
    let mut admin = sqlx::PgConnection::connect(&format!("{admin_url}/postgres")).await.expect("admin");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE \"{name}\" WITH (FORCE)")))
        .execute(&mut admin)
        .await
        .expect("drop");
    let started = std::time::Instant::now();
    let error = expect_error(app.get("/api/health").await, 503).await;
    assert!(error.detail.starts_with("the store does not answer"), "{error:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered after {:?}", started.elapsed());
}

/// With `metrics_public` off, `/metrics` wants a caller who may read: Prometheus sends a
/// `read` token as bearer.
#[tokio::test]
async fn private_metrics_need_a_read_token() {
    let app = spawn_app_with(Settings { metrics_public: false, ..embedded_store_settings() }).await;
    let anonymous = reqwest::Client::new();
    expect_error(anonymous.get(app.url("/metrics")).send().await.expect("sent"), 401).await;
    let (token, _) = app.token(&["read"]).await;
    let scraped = anonymous.get(app.url("/metrics")).bearer_auth(&token).send().await.expect("sent");
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.expect("text").contains("keel_"), "Prometheus text");
    let (ingest, _) = app.token(&["ingest"]).await;
    expect_error(anonymous.get(app.url("/metrics")).bearer_auth(&ingest).send().await.expect("sent"), 403).await;
}

/// A socket that sends half a request head, stays idle after an answer, or trickles 4
/// bytes of a 100-byte body is closed (or answered) after the HTTP timeout, not kept open.
#[tokio::test]
async fn slow_and_silent_connections_are_closed_after_the_http_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_with(Settings { http_timeout_seconds: 1, ..embedded_store_settings() }).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    // Everything the server sends until it closes the connection, within 5 s.
    let until_closed = |sent: &'static [u8]| {
        let address = address.clone();
        async move {
            let mut socket = tokio::net::TcpStream::connect(&address).await.expect("connect");
            socket.write_all(sent).await.expect("send");
            let mut received = Vec::new();
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read_to_end(&mut received)).await;
            assert!(read.is_ok(), "still open after 5 s (sent {:?})", String::from_utf8_lossy(sent));
            String::from_utf8_lossy(&received).into_owned()
        }
    };
    assert_eq!(until_closed(b"GET /api/health HTTP/1.1\r\nHost: keel\r\n").await, "", "half a head");
    let idle = until_closed(b"GET /api/health HTTP/1.1\r\nHost: keel\r\n\r\n").await;
    assert!(idle.starts_with("HTTP/1.1 200"), "answered, then closed when idle: {idle}");
    let trickled = until_closed(
        b"POST /api/auth/login HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"us",
    )
    .await;
    assert!(trickled.starts_with("HTTP/1.1 4"), "a body that stops is refused: {trickled}");
    assert_eq!(app.get("/api/health").await.status(), 200, "the server serves on");
}

/// Settings for a Keel on the embedded store in a directory of its own.
fn embedded_store_settings() -> Settings {
    let scratch = std::env::temp_dir().join(format!("keel-test-{}", uuid::Uuid::now_v7().simple()));
    Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: scratch.join("data"),
        dist_dir: scratch.join("dist"),
        admin_password: Some(crate::helpers::ADMIN_PASSWORD.into()),
        ..Default::default()
    }
}
