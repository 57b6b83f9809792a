//! Bad requests get an `ErrorBody` (problem details) that says what was wrong.

use crate::helpers::{StoreKind, expect_error, spawn_app};
use crate::on_both_stores;

async fn malformed_json_is_a_400_problem(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app
        .client
        .post(app.url("/api/models"))
        .header("content-type", "application/json")
        .body(r#"{"name": "churn", "owner": "#)
        .send()
        .await
        .expect("sent");
    let error = expect_error(response, 400).await;
    assert_eq!(error.kind, "/problems/bad-request");
    assert!(error.detail.starts_with("request body is not valid JSON"), "{error:?}");
}

async fn json_of_the_wrong_shape_is_a_422_naming_the_field(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.post_json("/api/models", &serde_json::json!({ "name": 42 })).await;
    let error = expect_error(response, 422).await;
    assert_eq!(error.fields["name"], "invalid type: integer `42`, expected a string");
    let response = app.post_json("/api/models", &serde_json::json!("a string")).await;
    let error = expect_error(response, 422).await;
    assert_eq!(error.fields["body"], "invalid type: string \"a string\", expected struct CreateModelRequest");
}

async fn a_body_that_is_not_json_is_a_415(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.client.post(app.url("/api/models")).body("name=churn").send().await.expect("sent");
    let error = expect_error(response, 415).await;
    assert_eq!(error.detail, "expected a body with Content-Type: application/json");
}

async fn an_oversized_body_is_a_413(store: StoreKind) {
    let app = spawn_app(store).await;
    let body = format!(r#"{{"name": "{}"}}"#, "x".repeat(keel_backend::BODY_LIMIT_BYTES));
    let response = app
        .client
        .post(app.url("/api/models"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    expect_error(response, 413).await;
}

async fn unknown_endpoints_methods_and_parameters_are_problems(store: StoreKind) {
    let app = spawn_app(store).await;
    let error = expect_error(app.get("/api/nothing-here").await, 404).await;
    assert_eq!(error.detail, "no such API endpoint");
    expect_error(app.client.delete(app.url("/api/models")).send().await.expect("sent"), 405).await;
    let error = expect_error(app.get("/api/models?stage=live").await, 400).await;
    assert!(error.detail.starts_with("invalid query parameter stage"), "{error:?}");
}

on_both_stores!(
    malformed_json_is_a_400_problem,
    json_of_the_wrong_shape_is_a_422_naming_the_field,
    a_body_that_is_not_json_is_a_415,
    an_oversized_body_is_a_413,
    unknown_endpoints_methods_and_parameters_are_problems,
);
