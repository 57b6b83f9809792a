//! Model versions and the rules on their stages.

use keel_shared::models::{ModelResponse, RiskTier, Stage, VersionSummary};
use serde_json::json;

use crate::helpers::{StoreKind, expect_error, spawn_app};
use crate::on_both_stores;

async fn versions_are_listed_newest_first(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let path = format!("/api/models/{}/versions", model.id);
    let response = app
        .post_json(&path, &json!({ "tag": "v1.0.0", "training_data_ref": "s3://data/2024.parquet", "notes": "first" }))
        .await;
    assert_eq!(response.status(), 201);
    let first: VersionSummary = response.json().await.expect("version");
    assert_eq!((first.tag.as_str(), first.stage), ("v1.0.0", Stage::Development));
    assert_eq!(first.model_id, model.id);
    app.create_version(&model, "v1.1.0", "production").await;

    let versions: Vec<VersionSummary> = app.get(&path).await.json().await.expect("versions");
    let tags: Vec<_> = versions.iter().map(|version| version.tag.as_str()).collect();
    assert_eq!(tags, ["v1.1.0", "v1.0.0"]);
    assert_eq!(versions[1], first);

    let detail: ModelResponse = app.get(&format!("/api/models/{}", model.id)).await.json().await.expect("model");
    assert_eq!(detail.versions, versions);
    assert_eq!(detail.model.version_count, 2);
    assert_eq!(detail.model.latest_version.as_deref(), Some("v1.1.0"));
    assert_eq!(detail.model.production_version.as_deref(), Some("v1.1.0"));
}

async fn a_tag_is_unique_within_its_model(store: StoreKind) {
    let app = spawn_app(store).await;
    let churn = app.create_model("churn", RiskTier::Limited).await;
    let credit = app.create_model("credit", RiskTier::High).await;
    app.create_version(&churn, "v1", "staging").await;
    app.create_version(&credit, "v1", "staging").await;
    let response = app.post_json(&format!("/api/models/{}/versions", churn.id), &json!({ "tag": "v1" })).await;
    let error = expect_error(response, 409).await;
    assert_eq!(error.detail, "this model already has a version tagged 'v1'");
}

async fn a_model_has_at_most_one_production_version(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("credit", RiskTier::High).await;
    app.create_version(&model, "v1", "production").await;
    let path = format!("/api/models/{}/versions", model.id);
    let response = app.post_json(&path, &json!({ "tag": "v2", "stage": "production" })).await;
    let error = expect_error(response, 409).await;
    assert_eq!(error.detail, "version 'v1' is already in production; a model has at most one production version");
    let versions: Vec<VersionSummary> = app.get(&path).await.json().await.expect("versions");
    assert_eq!(versions.len(), 1, "the refused version was not stored");
}

async fn a_prohibited_model_never_reaches_production(store: StoreKind) {
    let app = spawn_app(store).await;
    let banned = app.create_model("emotion-monitor", RiskTier::Prohibited).await;
    let path = format!("/api/models/{}/versions", banned.id);
    let response = app.post_json(&path, &json!({ "tag": "v1", "stage": "production" })).await;
    let error = expect_error(response, 422).await;
    assert_eq!(
        error.fields["stage"],
        "a model in the prohibited EU AI Act risk tier cannot have a version in production"
    );
    app.create_version(&banned, "v1", "development").await;

    // Nor can a model in production be moved into the prohibited tier.
    let scoring = app.create_model("credit", RiskTier::High).await;
    app.create_version(&scoring, "v1", "production").await;
    let response = app.patch_json(&format!("/api/models/{}", scoring.id), &json!({ "risk_tier": "prohibited" })).await;
    let error = expect_error(response, 422).await;
    assert!(error.fields.contains_key("risk_tier"), "{error:?}");
    let stored: ModelResponse = app.get(&format!("/api/models/{}", scoring.id)).await.json().await.expect("model");
    assert_eq!(stored.model.risk_tier, RiskTier::High);
    // Other changes to a model in production still work.
    let response = app.patch_json(&format!("/api/models/{}", scoring.id), &json!({ "owner": "Risk" })).await;
    assert_eq!(response.status(), 200);
}

async fn an_invalid_version_names_its_fields(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let path = format!("/api/models/{}/versions", model.id);
    let error =
        expect_error(app.post_json(&path, &json!({ "tag": "v 1", "notes": "n".repeat(2001) })).await, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["notes", "tag"]);
    let error = expect_error(app.post_json(&path, &json!({ "tag": "v1", "stage": "live" })).await, 422).await;
    assert!(error.fields["stage"].starts_with("unknown variant `live`"), "{error:?}");
    let error = expect_error(app.post_json("/api/models/missing/versions", &json!({ "tag": "v1" })).await, 404).await;
    assert_eq!(error.detail, "no model with id 'missing'");
}

on_both_stores!(
    versions_are_listed_newest_first,
    a_tag_is_unique_within_its_model,
    a_model_has_at_most_one_production_version,
    a_prohibited_model_never_reaches_production,
    an_invalid_version_names_its_fields,
);
