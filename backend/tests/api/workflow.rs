//! The workflow core: an operation's change, audit entry and event commit together or
//! not at all; stored settings that do not decode are reported, not defaulted.

use keel_shared::models::{ModelSummary, RiskTier};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{StoreKind, TestApp, expect_error, spawn_app};
use crate::on_both_stores;

/// Runs `sql` on the app's database behind its back.
async fn execute(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut connection).await.expect("executed");
}

/// Makes every event append fail, as a full disk or a lost connection would mid-operation.
async fn break_event_appends(app: &TestApp, store: StoreKind) {
    let sql = match store {
        StoreKind::Sqlite => {
            "CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'refused'); END;"
        }
        StoreKind::Postgres => {
            "CREATE FUNCTION refuse_events() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql;
             CREATE TRIGGER refuse_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events();"
        }
    };
    execute(app, sql).await;
}

async fn monitored(app: &TestApp) -> ModelSummary {
    let model = app.create_model("pricing", RiskTier::Limited).await;
    app.create_version(&model, "v1", "production").await;
    let reference: String =
        std::iter::once("age\n".to_owned()).chain((0..200).map(|i| format!("{}\n", 20 + i % 40))).collect();
    let uploaded = app
        .client
        .put(app.url(&format!("/api/models/{}/versions/v1/reference", model.id)))
        .header("content-type", "text/csv")
        .body(reference)
        .send()
        .await
        .expect("sent");
    assert_eq!(uploaded.status(), 201);
    let rows: Vec<Value> =
        (0..100).map(|i| json!({ "prediction_id": format!("p{i}"), "features": { "age": 30 + i % 30 } })).collect();
    let pushed = app
        .ingest_client()
        .await
        .post(app.url(&format!("/api/models/{}/features", model.id)))
        .json(&json!({ "rows": rows }))
        .send()
        .await
        .expect("sent");
    assert_eq!(pushed.status(), 200);
    model
}

async fn audit_total(app: &TestApp, query: &str) -> u64 {
    let list: Value = app.get(&format!("/api/audit?{query}")).await.json().await.expect("audit");
    list["total"].as_u64().expect("a total")
}

async fn a_drift_run_is_audited_and_a_failed_step_rolls_the_whole_run_back(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = monitored(&app).await;
    let runs = format!("/api/models/{}/drift/runs", model.id);
    assert_eq!(app.post_json(&runs, &json!({})).await.status(), 201);
    assert_eq!(audit_total(&app, "action=drift.evaluate&target_type=drift_run").await, 1, "the run is audited");

    break_event_appends(&app, store).await;
    expect_error(app.post_json(&runs, &json!({})).await, 500).await;
    let history: Value =
        app.get(&format!("/api/models/{}/drift/history?feature=age", model.id)).await.json().await.expect("history");
    assert_eq!(history["points"].as_array().expect("points").len(), 1, "no second run was stored");
    assert_eq!(audit_total(&app, "action=drift.evaluate").await, 1, "and no audit entry for it");
}

async fn a_corrupt_stored_setting_is_reported_not_defaulted(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("fraud", RiskTier::High).await;
    let path = format!("/api/models/{}/monitoring", model.id);
    assert_eq!(app.put_json(&path, &json!({ "window_minutes": 120 })).await.status(), 200);
    // A field renamed by hand (or by a future version) must not reset the settings.
    execute(
        &app,
        &format!(
            "UPDATE monitoring_settings SET settings = replace(settings, 'window_minutes', 'window_mins') WHERE model_id = '{}'",
            model.id
        ),
    )
    .await;
    let error = expect_error(app.get(&path).await, 500).await;
    assert_eq!(error.kind, "/problems/corrupt-data");
    assert!(error.detail.contains("monitoring settings") && error.detail.contains("window_mins"), "{error:?}");

    // Saving them again replaces what could not be read.
    assert_eq!(app.put_json(&path, &json!({ "window_minutes": 90 })).await.status(), 200);
    let settings: Value = app.get(&path).await.json().await.expect("settings");
    assert_eq!(settings["window_minutes"], 90);
}

on_both_stores!(
    a_drift_run_is_audited_and_a_failed_step_rolls_the_whole_run_back,
    a_corrupt_stored_setting_is_reported_not_defaulted,
);

/// PostgreSQL stops taking the app's connections (as when it restarts): requests are
/// answered 503 within the pool's 2 s, `/api/health` says why, and all is well again as
/// soon as it takes them back.
#[tokio::test]
async fn an_absent_store_answers_503_fast_and_keel_recovers_by_itself() {
    let app = spawn_app(StoreKind::Postgres).await;
    let (admin_url, database) = app.database_url.rsplit_once('/').expect("a database URL");
    let admin_url = format!("{admin_url}/postgres");
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("connect");
    let refuse = format!(
        "ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}';"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(refuse)).execute(&mut admin).await.expect("refused");

    let started = std::time::Instant::now();
    let error = expect_error(app.get("/api/models").await, 503).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered after {:?}", started.elapsed());
    assert!(error.detail.contains("store"), "{error:?}");
    let health = expect_error(app.get("/api/health").await, 503).await;
    assert!(health.detail.contains("store"), "{health:?}");

    let allow = format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
    sqlx::raw_sql(sqlx::AssertSqlSafe(allow)).execute(&mut admin).await.expect("allowed");
    assert_eq!(app.get("/api/health").await.status(), 200);
    assert_eq!(app.get("/api/models").await.status(), 200);
}
