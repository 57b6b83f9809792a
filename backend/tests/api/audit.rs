//! The audit trail: written with each change, filterable, exportable, and tamper-evident.

use keel_shared::audit::{AuditListResponse, AuditVerifyResponse};
use keel_shared::models::RiskTier;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::{StoreKind, TestApp, spawn_app};
use crate::on_both_stores;

async fn audit(app: &TestApp, query: &str) -> AuditListResponse {
    let response = app.get(&format!("/api/audit?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("audit list")
}

async fn verify(app: &TestApp) -> AuditVerifyResponse {
    let response = app.get("/api/audit/verify").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("verification")
}

/// Runs SQL straight against the app's database, as someone with database access would.
async fn tamper(app: &TestApp, sql: &'static str) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(&app.database_url).await.expect("connect");
    sqlx::query(sql).execute(&mut connection).await.expect("tamper");
}

async fn each_change_is_recorded_with_its_actor_and_fields(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let response = app.patch_json(&format!("/api/models/{}", model.id), &json!({ "owner": "Growth" })).await;
    assert_eq!(response.status(), 200);
    // A refused change leaves no entry.
    let duplicate = app
        .post_json("/api/models", &json!({ "name": "churn", "owner": "x", "use_case": "y", "risk_tier": "high" }))
        .await;
    assert_eq!(duplicate.status(), 409);

    let list = audit(&app, &format!("target_type=model&target_id={}", model.id)).await;
    let actions: Vec<_> = list.items.iter().map(|entry| entry.action.as_str()).collect();
    assert_eq!(actions, ["model.update", "model.create"], "newest first");
    let update = &list.items[0];
    assert_eq!(update.actor, "admin");
    assert_eq!(update.changes.keys().collect::<Vec<_>>(), ["owner"], "only changed fields");
    assert_eq!(update.changes["owner"].before.as_deref(), Some("ML platform"));
    assert_eq!(update.changes["owner"].after.as_deref(), Some("Growth"));
    assert_eq!(list.items[1].changes["risk_tier"].after.as_deref(), Some("limited"));
    assert_eq!(update.prev_hash, list.items[1].hash, "each entry links to the one before");

    let by_action = audit(&app, "action=model.create").await;
    assert_eq!(by_action.total, 1);
    let logins = audit(&app, "actor=admin&action=session.login").await;
    assert_eq!(logins.total, 1, "the test client's login");
    let future = audit(&app, "from=2999-01-01T00:00:00Z").await;
    assert_eq!(future.total, 0);

    let csv = app.get("/api/audit/export.csv?action=model.update").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    let text = csv.text().await.expect("csv");
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "seq,at,actor,action,target_type,target_id,changes,prev_hash,hash");
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains(",admin,model.update,model,"), "{}", lines[1]);
}

async fn an_intact_chain_verifies(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("churn", RiskTier::Limited).await;
    let result = verify(&app).await;
    let total = audit(&app, "").await.total;
    assert!(result.intact, "{result:?}");
    assert_eq!((result.checked, result.first_broken), (total, None));
}

async fn an_edited_entry_is_named_by_verification(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("churn", RiskTier::Limited).await;
    app.create_model("credit", RiskTier::High).await;
    tamper(&app, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3").await;
    let result = verify(&app).await;
    assert!(!result.intact);
    let broken = result.first_broken.expect("a broken entry");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("edited"), "{}", broken.reason);
    assert_eq!(result.checked, 2, "the entries before it are fine");
}

async fn a_deleted_entry_is_detected(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("churn", RiskTier::Limited).await;
    app.create_model("credit", RiskTier::High).await;
    tamper(&app, "DELETE FROM audit_log WHERE seq = 2").await;
    let broken = verify(&app).await.first_broken.expect("a broken entry");
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("deleted"), "{}", broken.reason);
}

on_both_stores!(
    each_change_is_recorded_with_its_actor_and_fields,
    an_intact_chain_verifies,
    an_edited_entry_is_named_by_verification,
    a_deleted_entry_is_detected,
);
