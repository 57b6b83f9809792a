//! Model versions and the rules on their stages.

use keel_backend::domain::DomainError;
use keel_backend::store::audit::Actor;
use keel_shared::live::LiveEvent;
use keel_shared::models::{ModelResponse, RiskTier, STAGE_NEEDS_CHANGE, Stage, StageMove, VersionSummary};
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

async fn a_version_enters_production_only_through_a_change_and_archives_the_one_before(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("credit", RiskTier::High).await;
    let path = format!("/api/models/{}/versions", model.id);
    for stage in ["production", "canary"] {
        let error = expect_error(app.post_json(&path, &json!({ "tag": "v0", "stage": stage })).await, 409).await;
        assert_eq!(error.detail, STAGE_NEEDS_CHANGE);
    }
    let versions: Vec<VersionSummary> = app.get(&path).await.json().await.expect("versions");
    assert!(versions.is_empty(), "the refused versions were not stored");

    // Implementing a change moves the registry: the version before is archived and
    // remembered as the rollback target.
    app.create_version(&model, "v1", "production").await;
    app.create_version(&model, "v2", "production").await;
    let detail: ModelResponse = app.get(&format!("/api/models/{}", model.id)).await.json().await.expect("model");
    let stages: Vec<(&str, Stage)> =
        detail.versions.iter().map(|version| (version.tag.as_str(), version.stage)).collect();
    assert_eq!(stages, [("v2", Stage::Production), ("v1", Stage::Archived)]);
    assert_eq!(detail.model.production_version.as_deref(), Some("v2"));
    assert_eq!(detail.model.rollback_version.as_deref(), Some("v1"));
    let audit: serde_json::Value = app.get("/api/audit?action=version.stage").await.json().await.expect("audit");
    let moves: Vec<(&str, &str)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|entry| {
            let stage = &entry["changes"]["stage"];
            (stage["before"].as_str().expect("before"), stage["after"].as_str().expect("after"))
        })
        .collect();
    assert_eq!(
        moves,
        [("staging", "production"), ("production", "archived"), ("staging", "production")],
        "newest first, every move audited"
    );
}

/// Every (from, to) pair of the stage table through `POST …/versions/{tag}/stage`.
async fn each_stage_move_is_allowed_or_refused_as_the_table_says(store: StoreKind) {
    let app = spawn_app(store).await;
    let mut stream = crate::live::EventStream::open(&app, None).await;
    for from in Stage::ALL {
        let model = app.create_model(&format!("from-{}", from.as_str()), RiskTier::Limited).await;
        for to in Stage::ALL {
            // A model has one production version: the moves out of it share it.
            let tag = if from == Stage::Production { "p".to_owned() } else { format!("to-{}", to.as_str()) };
            if from != Stage::Production || to == Stage::Development {
                app.create_version(&model, &tag, from.as_str()).await;
            }
            let response =
                app.post_json(&format!("/api/models/{}/versions/{tag}/stage", model.id), &json!({ "stage": to })).await;
            match from.move_to(to) {
                StageMove::Direct => {
                    assert_eq!(response.status(), 200, "{from:?} -> {to:?}");
                    let moved: VersionSummary = response.json().await.expect("version");
                    assert_eq!(moved.stage, to);
                    // Live on every open model page (after the moves that set the version up).
                    let expected = LiveEvent::Stage { model_id: model.id.clone(), version: tag.clone(), from, to };
                    while stream.next_for("stage", &model).await.1 != expected {}
                }
                StageMove::ThroughChange => {
                    let error = expect_error(response, 409).await;
                    assert_eq!(error.detail, STAGE_NEEDS_CHANGE, "{from:?} -> {to:?}");
                }
                StageMove::Unchanged => {
                    let error = expect_error(response, 409).await;
                    assert!(error.detail.contains("already in"), "{error:?}");
                }
            }
            let versions: Vec<VersionSummary> =
                app.get(&format!("/api/models/{}/versions", model.id)).await.json().await.expect("versions");
            let stored = versions.iter().find(|version| version.tag == tag).expect("stored").stage;
            let expected = if from.move_to(to) == StageMove::Direct { to } else { from };
            assert_eq!(stored, expected, "{from:?} -> {to:?} as stored");
        }
    }
    let missing = app.post_json("/api/models/nope/versions/v1/stage", &json!({ "stage": "staging" })).await;
    expect_error(missing, 404).await;
}

async fn a_prohibited_model_never_reaches_production(store: StoreKind) {
    let app = spawn_app(store).await;
    let banned = app.create_model("emotion-monitor", RiskTier::Prohibited).await;
    app.create_version(&banned, "v1", "staging").await;
    let refused =
        app.store.move_version_stage(&banned.id, "v1", Stage::Staging, Stage::Production, &Actor::system()).await;
    let Err(DomainError::Invalid(fields)) = refused else { panic!("refused as invalid: {refused:?}") };
    assert_eq!(fields["stage"], "a model in the prohibited EU AI Act risk tier cannot have a version in production");

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
    a_version_enters_production_only_through_a_change_and_archives_the_one_before,
    each_stage_move_is_allowed_or_refused_as_the_table_says,
    a_prohibited_model_never_reaches_production,
    an_invalid_version_names_its_fields,
);
