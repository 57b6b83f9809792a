//! The model registry: creating, finding, reading and changing models.

use keel_shared::models::{ModelListResponse, ModelResponse, ModelSummary, RiskTier};
use serde_json::json;

use crate::helpers::{StoreKind, expect_error, spawn_app};
use crate::on_both_stores;

async fn a_created_model_is_returned_located_and_listed(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app
        .post_json(
            "/api/models",
            &json!({
                "name": "  churn-propensity ",
                "owner": "Retention analytics",
                "use_case": "Target retention offers",
                "risk_tier": "limited"
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().expect("location").to_owned();
    let created: ModelSummary = response.json().await.expect("model");
    assert_eq!(created.name, "churn-propensity");
    assert_eq!(created.description, "");
    assert_eq!(created.risk_tier, RiskTier::Limited);
    assert_eq!((created.version_count, created.production_version.as_deref()), (0, None));
    assert_eq!(location, format!("/api/models/{}", created.id));

    let fetched: ModelResponse = app.get(&location).await.json().await.expect("model");
    assert_eq!(fetched.model, created);
    assert!(fetched.versions.is_empty());

    let list: ModelListResponse = app.get("/api/models").await.json().await.expect("list");
    assert_eq!(list.total, 1);
    assert_eq!(list.items, vec![created]);
}

async fn model_names_are_unique_regardless_of_case(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("fraud-detection", RiskTier::High).await;
    let response = app
        .post_json(
            "/api/models",
            &json!({ "name": "Fraud-Detection", "owner": "x", "use_case": "y", "risk_tier": "high" }),
        )
        .await;
    let error = expect_error(response, 409).await;
    assert_eq!(error.detail, "a model named 'Fraud-Detection' already exists");
    let list: ModelListResponse = app.get("/api/models").await.json().await.expect("list");
    assert_eq!(list.total, 1, "the duplicate was not stored");
}

async fn each_invalid_field_is_named_and_nothing_is_stored(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.post_json("/api/models", &json!({ "name": "churn model!", "use_case": "x".repeat(501) })).await;
    let error = expect_error(response, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["name", "owner", "risk_tier", "use_case"]);
    assert_eq!(error.fields["owner"], "is required");
    assert_eq!(error.fields["use_case"], "must be at most 500 characters");
    let list: ModelListResponse = app.get("/api/models").await.json().await.expect("list");
    assert_eq!(list.total, 0);
}

async fn the_list_is_searched_filtered_and_paged(store: StoreKind) {
    let app = spawn_app(store).await;
    let credit = app.create_model("credit-risk", RiskTier::High).await;
    let churn = app.create_model("churn", RiskTier::Limited).await;
    let forecast = app.create_model("demand_forecast", RiskTier::Minimal).await;
    app.create_version(&credit, "v1", "production").await;
    app.create_version(&churn, "v1", "staging").await;
    app.create_version(&forecast, "v1", "production").await;

    let names = |list: ModelListResponse| list.items.into_iter().map(|model| model.name).collect::<Vec<_>>();
    let list = |query: &'static str| {
        let app = &app;
        async move {
            let response = app.get(&format!("/api/models?{query}")).await;
            assert_eq!(response.status(), 200, "{query}");
            response.json::<ModelListResponse>().await.expect("list")
        }
    };
    assert_eq!(names(list("").await), ["churn", "credit-risk", "demand_forecast"]);
    assert_eq!(names(list("q=CREDIT").await), ["credit-risk"]);
    assert_eq!(names(list("q=use%20case").await).len(), 3, "searches the use case too");
    // `_` is a literal underscore, not a LIKE wildcard.
    assert_eq!(names(list("q=d_f").await), ["demand_forecast"]);
    assert_eq!(names(list("stage=production").await), ["credit-risk", "demand_forecast"]);
    assert_eq!(names(list("stage=production&risk_tier=minimal").await), ["demand_forecast"]);
    assert_eq!(names(list("stage=archived").await), Vec::<String>::new());

    let page = list("per_page=2&page=2").await;
    assert_eq!((page.total, page.page, page.per_page), (3, 2, 2));
    assert_eq!(names(page), ["demand_forecast"]);

    let error = expect_error(app.get("/api/models?per_page=0").await, 422).await;
    assert_eq!(error.fields["per_page"], "must be between 1 and 200");
}

async fn an_unknown_model_is_not_found(store: StoreKind) {
    let app = spawn_app(store).await;
    let error = expect_error(app.get("/api/models/0190-not-a-model").await, 404).await;
    assert_eq!(error.detail, "no model with id '0190-not-a-model'");
    expect_error(app.patch_json("/api/models/0190-not-a-model", &json!({ "owner": "x" })).await, 404).await;
    expect_error(app.get("/api/models/0190-not-a-model/versions").await, 404).await;
}

async fn an_update_changes_only_the_given_fields(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("churn", RiskTier::Limited).await;
    let other = app.create_model("credit-risk", RiskTier::High).await;
    let path = format!("/api/models/{}", model.id);

    let response = app.patch_json(&path, &json!({ "owner": " Growth team ", "risk_tier": "high" })).await;
    assert_eq!(response.status(), 200);
    let updated: ModelSummary = response.json().await.expect("model");
    assert_eq!((updated.owner.as_str(), updated.risk_tier), ("Growth team", RiskTier::High));
    assert_eq!((updated.name.as_str(), updated.use_case.as_str()), ("churn", "churn use case"));
    assert!(updated.updated_at >= model.updated_at);
    let stored: ModelResponse = app.get(&path).await.json().await.expect("model");
    assert_eq!(stored.model, updated);

    let error = expect_error(app.patch_json(&path, &json!({ "name": other.name })).await, 409).await;
    assert_eq!(error.detail, "a model named 'credit-risk' already exists");
    let error = expect_error(app.patch_json(&path, &json!({ "owner": "" })).await, 422).await;
    assert_eq!(error.fields["owner"], "is required");
}

on_both_stores!(
    a_created_model_is_returned_located_and_listed,
    model_names_are_unique_regardless_of_case,
    each_invalid_field_is_named_and_nothing_is_stored,
    the_list_is_searched_filtered_and_paged,
    an_unknown_model_is_not_found,
    an_update_changes_only_the_given_fields,
);
