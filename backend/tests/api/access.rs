//! Every route × every kind of caller against an explicit table of expected outcomes.
//! A route added to the router without a row here makes this test fail.

use std::collections::BTreeSet;

use keel_shared::auth::Role;
use keel_shared::models::RiskTier;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, StoreKind, spawn_app};
use crate::on_both_stores;

/// Expected outcome for one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Any 2xx.
    Ok,
    /// 401 Unauthorized.
    Unauth,
    /// 403 Forbidden.
    Denied,
    /// Past the access check, whatever the handler then answers (for routes such as the
    /// one-time setup, which no request can pass once an administrator exists).
    Reached,
}
use Outcome::{Denied as D, Ok as A, Reached as R, Unauth as U};

/// The callers, in the column order of `TABLE`.
const CALLERS: [&str; 8] =
    ["admin", "approver", "engineer", "viewer", "read token", "ingest token", "revoked token", "anonymous"];

/// method, path, outcome per caller (columns as `CALLERS`). Logout comes last: it ends sessions.
const TABLE: &[(&str, &str, [Outcome; 8])] = &[
    ("GET", "/api/health", [A, A, A, A, A, A, A, A]),
    ("GET", "/metrics", [A, A, A, A, A, A, A, A]),
    ("POST", "/api/auth/login", [A, A, A, A, A, A, A, A]),
    ("GET", "/api/auth/me", [A, A, A, A, A, A, U, U]),
    ("POST", "/api/auth/setup", [R, R, R, R, R, R, R, R]),
    // Reached: `{}` is not a valid new password (422); a token may not change one (403).
    ("POST", "/api/auth/password", [R, R, R, R, D, D, U, U]),
    ("GET", "/api/models", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/models", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/models/{id}", [A, A, A, A, A, D, U, U]),
    ("PATCH", "/api/models/{id}", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/models/{id}/versions", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/models/{id}/versions", [A, D, A, D, D, D, U, U]),
    // Reached: a move to where the version already is answers 409, past the access check.
    ("POST", "/api/models/{id}/versions/{tag}/stage", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/models/{id}/series", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/metrics", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/fleet", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/fleet/health", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/sparklines", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/health-thresholds", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/live", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/analysis/drift", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/monitoring", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/monitoring", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/models/{id}/references", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/versions/{tag}/reference", [A, D, A, D, D, D, U, U]),
    // No rows in the window: a 422 once past the check.
    ("POST", "/api/models/{id}/versions/{tag}/reference/window", [R, D, R, D, D, D, U, U]),
    ("POST", "/api/models/{id}/features", [A, D, A, D, D, A, U, U]),
    ("POST", "/api/models/{id}/labels", [A, D, A, D, D, A, U, U]),
    ("GET", "/api/models/{id}/drift", [A, A, A, A, A, D, U, U]),
    // No rows to evaluate: a 409 once past the check.
    ("POST", "/api/models/{id}/drift/runs", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/models/{id}/drift/history", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/ingest", [A, D, A, D, D, A, U, U]),
    ("POST", "/v1/metrics", [A, D, A, D, D, A, U, U]),
    ("PUT", "/metrics/job/{job}", [A, D, A, D, D, A, U, U]),
    ("POST", "/metrics/job/{job}", [A, D, A, D, D, A, U, U]),
    ("PUT", "/metrics/job/{job}/{*grouping}", [A, D, A, D, D, A, U, U]),
    ("POST", "/metrics/job/{job}/{*grouping}", [A, D, A, D, D, A, U, U]),
    ("GET", "/api/users", [A, D, D, D, D, D, U, U]),
    ("POST", "/api/users", [A, D, D, D, D, D, U, U]),
    // Reached: the id in the path names no user (404).
    ("POST", "/api/users/{id}/deactivate", [R, D, D, D, D, D, U, U]),
    ("POST", "/api/users/{id}/reactivate", [R, D, D, D, D, D, U, U]),
    ("GET", "/api/tokens", [A, D, D, D, D, D, U, U]),
    ("POST", "/api/tokens", [A, D, D, D, D, D, U, U]),
    ("POST", "/api/tokens/{id}/revoke", [A, D, D, D, D, D, U, U]),
    ("GET", "/api/audit", [A, A, D, D, D, D, U, U]),
    ("GET", "/api/audit/verify", [A, A, D, D, D, D, U, U]),
    ("GET", "/api/audit/export.csv", [A, A, D, D, D, D, U, U]),
    ("GET", "/api/incidents", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/incidents", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/incidents/stats", [A, A, A, A, A, D, U, U]),
    // Reached: `{id}` names no incident (404) once past the check.
    ("GET", "/api/incidents/{id}", [R, R, R, R, R, D, U, U]),
    ("PATCH", "/api/incidents/{id}", [R, D, R, D, D, D, U, U]),
    ("POST", "/api/incidents/{id}/transitions", [R, D, R, D, D, D, U, U]),
    // People comment, tokens do not.
    ("POST", "/api/incidents/{id}/comments", [R, R, R, R, D, D, U, U]),
    ("POST", "/api/incidents/{id}/runbook-steps", [R, D, R, D, D, D, U, U]),
    ("PUT", "/api/incidents/{id}/postmortem", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/incidents/{id}/postmortem.md", [R, R, R, R, R, D, U, U]),
    ("PUT", "/api/incidents/{id}/serious", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/incidents/{id}/serious-report.md", [R, R, R, R, R, D, U, U]),
    ("GET", "/api/notifications", [A, A, A, A, A, A, U, U]),
    ("POST", "/api/incidents/{id}/read", [R, R, R, R, R, D, U, U]),
    ("GET", "/api/alert-rules", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/alert-rules", [A, D, A, D, D, D, U, U]),
    ("POST", "/api/alert-rules/preview", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/alert-rules/{id}", [R, R, R, R, R, D, U, U]),
    ("PUT", "/api/alert-rules/{id}", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/alert-history", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/silences", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/silences", [A, D, A, D, D, D, U, U]),
    ("DELETE", "/api/silences/{id}", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/runbooks", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/runbooks", [A, D, A, D, D, D, U, U]),
    ("PUT", "/api/runbooks/{id}", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/escalation", [A, D, A, D, D, D, U, U]),
    ("PUT", "/api/escalation", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/escalation/signing-secret", [A, D, D, D, D, D, U, U]),
    ("GET", "/api/sla", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/sla", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/integrations", [A, D, D, D, D, D, U, U]),
    ("POST", "/api/integrations", [A, D, D, D, D, D, U, U]),
    ("DELETE", "/api/integrations/{id}", [R, D, D, D, D, D, U, U]),
    // The sender's own authentication: a bearer integration key or ingest token.
    ("POST", "/api/integrations/alertmanager", [U, U, U, U, U, A, U, U]),
    // PagerDuty's: the body's routing key (none of these callers has one: 400).
    ("POST", "/v2/enqueue", [R, R, R, R, R, R, R, R]),
    ("GET", "/api/changes", [A, A, A, A, A, D, U, U]),
    // Reached: the body names no model (422).
    ("POST", "/api/changes", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/changes/policy", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/changes/policy", [A, D, D, D, D, D, U, U]),
    ("GET", "/api/changes/freeze-windows", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/changes/freeze-windows", [A, D, D, D, D, D, U, U]),
    // Reached: the model's id is no change's (404).
    ("GET", "/api/changes/{id}", [R, R, R, R, R, D, U, U]),
    ("PATCH", "/api/changes/{id}", [R, D, R, D, D, D, U, U]),
    ("POST", "/api/changes/{id}/transitions", [R, D, R, D, D, D, U, U]),
    // Approving is for people who may approve; no token ever may.
    ("POST", "/api/changes/{id}/approvals", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/models/{id}/deployments", [A, A, A, A, A, D, U, U]),
    // PagerDuty Change Events authenticate by the body's routing key (none here: 400).
    ("POST", "/v2/change/enqueue", [R, R, R, R, R, R, R, R]),
    // Reached: no results yet (404) or a body that is no JUnit XML (422).
    ("GET", "/api/models/{id}/versions/{tag}/evidence/junit", [R, R, R, R, R, D, U, U]),
    ("PUT", "/api/models/{id}/versions/{tag}/evidence/junit", [R, D, R, D, D, D, U, U]),
    ("GET", "/api/models/{id}/versions/{tag}/fairness", [R, R, R, R, R, D, U, U]),
    ("PUT", "/api/models/{id}/versions/{tag}/fairness", [R, D, R, D, D, D, U, U]),
    ("POST", "/api/models/{id}/versions/{tag}/fairness/sign-off", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/models/{id}/fairness-thresholds", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/fairness-thresholds", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/models/{id}/versions/{tag}/model-card", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/versions/{tag}/model-card", [A, D, A, D, D, D, U, U]),
    ("GET", "/api/models/{id}/versions/{tag}/model-card.md", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/readiness", [A, A, A, A, A, D, U, U]),
    // Engineers and approvers attest; a viewer or a token may not.
    ("PUT", "/api/models/{id}/readiness", [A, A, A, D, D, D, U, U]),
    ("GET", "/api/kpis", [A, A, A, A, A, D, U, U]),
    // Reached: no body (4xx), or no such KPI (404). Approvers and admins keep the KPIs.
    ("POST", "/api/kpis", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/kpis/{id}", [R, R, R, R, R, D, U, U]),
    ("POST", "/api/kpis/{id}/values", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/kpis/{id}/chart.svg", [R, R, R, R, R, D, U, U]),
    ("GET", "/api/models/{id}/ledger", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/ledger", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/models/{id}/ledger.csv", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/roi", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/models/{id}/incident-cost", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/exchange-rates", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/exchange-rates", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/programmes", [A, A, A, A, A, D, U, U]),
    ("PUT", "/api/programmes/{name}", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/programmes/{name}/roi", [R, R, R, R, R, D, U, U]),
    ("GET", "/api/stakeholder", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/stakeholder/chart.svg", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/models/{id}/roi/chart.svg", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/reports/governance", [A, A, A, A, A, D, U, U]),
    ("POST", "/api/reports/frozen", [R, R, D, D, D, D, U, U]),
    ("GET", "/api/reports/frozen", [A, A, A, A, A, D, U, U]),
    ("GET", "/api/reports/frozen/{id}", [R, R, R, R, R, D, U, U]),
    ("POST", "/api/auth/logout", [A, A, A, A, A, A, U, U]),
];

/// A rule every caller may preview or create.
fn rule_spec(call: usize) -> Value {
    json!({
        "name": format!("rule {call}"),
        "signal": { "kind": "metric", "metric": "latency_ms", "aggregation": "p95", "window_minutes": 5 },
        "condition": { "op": "above", "threshold": 500.0 },
        "severity": "sev3"
    })
}

fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// A request body that the route accepts, unique per call where uniqueness matters.
fn body_for(method: &str, path: &str, call: usize) -> Option<Value> {
    match (method, path) {
        ("POST", "/api/auth/login") => Some(json!({ "username": "admin", "password": ADMIN_PASSWORD })),
        ("POST", "/api/auth/setup") => Some(json!({ "token": "x", "password": "a-long-password" })),
        ("POST", "/api/models") => Some(json!({
            "name": format!("model-{call}"), "owner": "o", "use_case": "u", "risk_tier": "minimal"
        })),
        ("PATCH", "/api/models/{id}") => Some(json!({ "description": format!("edit {call}") })),
        ("POST", "/api/models/{id}/versions") => Some(json!({ "tag": format!("v{call}") })),
        ("POST", "/api/models/{id}/versions/{tag}/stage") => {
            Some(json!({ "stage": if call.is_multiple_of(2) { "development" } else { "archived" } }))
        }
        ("POST", "/api/users") => Some(json!({
            "username": format!("user-{call}"), "role": "viewer", "password": "a-long-password"
        })),
        ("POST", "/api/ingest") => Some(json!({ "points": [] })),
        ("PUT", "/api/models/{id}/health-thresholds") => Some(json!({ "no_data_after_minutes": 10 + call % 50 })),
        ("POST", "/v1/metrics") => Some(json!({ "resourceMetrics": [] })),
        ("POST", "/api/analysis/drift") => Some(json!({ "reference": [1.0, 2.0], "current": [2.0, 3.0] })),
        ("PUT", "/api/models/{id}/monitoring") => Some(json!({ "window_minutes": 10 + call % 50 })),
        ("PUT", "/api/models/{id}/versions/{tag}/reference") => Some(json!([{ "age": 1.5 }, { "age": 2.5 }])),
        ("POST", "/api/models/{id}/versions/{tag}/reference/window") => {
            Some(json!({ "from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z" }))
        }
        ("POST", "/api/models/{id}/features") => Some(json!({ "rows": [] })),
        ("POST", "/api/models/{id}/labels") => Some(json!({ "labels": [] })),
        ("POST", "/api/auth/password") => Some(json!({})),
        ("POST", "/api/tokens") => Some(json!({ "name": format!("token {call}"), "scopes": ["read"] })),
        ("POST", "/api/incidents") => Some(json!({ "title": format!("incident {call}"), "severity": "sev4" })),
        ("PATCH", "/api/incidents/{id}") => Some(json!({ "impact": "x" })),
        ("POST", "/api/incidents/{id}/transitions") => Some(json!({ "to": "investigating" })),
        ("POST", "/api/incidents/{id}/comments") => Some(json!({ "text": "a comment" })),
        ("POST", "/api/incidents/{id}/runbook-steps") => Some(json!({ "step": 0, "done": true })),
        ("PUT", "/api/incidents/{id}/postmortem") => Some(json!({ "summary": "s", "impact": "i", "root_cause": "r" })),
        ("PUT", "/api/incidents/{id}/serious") => {
            Some(json!({ "categories": ["other_serious"], "aware_at": "2026-01-01T00:00:00Z" }))
        }
        ("POST", "/api/alert-rules" | "/api/alert-rules/preview") | ("PUT", "/api/alert-rules/{id}") => {
            Some(rule_spec(call))
        }
        ("POST", "/api/silences") => Some(json!({
            "model": format!("m-{call}"), "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z",
            "reason": "maintenance"
        })),
        ("POST", "/api/runbooks") | ("PUT", "/api/runbooks/{id}") => {
            Some(json!({ "title": format!("runbook {call}"), "body": "- [ ] look" }))
        }
        ("PUT", "/api/escalation") => Some(json!({ "fleet": [] })),
        ("PUT", "/api/sla") => Some(json!(keel_shared::incidents::SlaPolicy::default())),
        ("POST", "/api/integrations") => Some(json!({ "name": format!("am {call}"), "kind": "alertmanager" })),
        ("POST", "/api/integrations/alertmanager") => Some(json!({ "version": "4", "alerts": [] })),
        ("POST", "/v2/enqueue") => Some(json!({ "event_action": "trigger" })),
        ("POST", "/api/changes") => Some(json!({ "kind": "configuration", "model_id": "none", "title": "t" })),
        ("PUT", "/api/changes/policy") => Some(json!(keel_shared::changes::ApprovalPolicy::default())),
        ("PUT", "/api/changes/freeze-windows") => Some(json!({ "windows": [] })),
        ("PATCH", "/api/changes/{id}") => Some(json!({ "title": "t" })),
        ("POST", "/api/changes/{id}/transitions") => Some(json!({ "to": "submitted" })),
        ("POST", "/api/changes/{id}/approvals") => Some(json!({ "decision": "approve" })),
        ("POST", "/v2/change/enqueue") => Some(json!({ "payload": {} })),
        ("POST", "/api/models/{id}/versions/{tag}/fairness/sign-off") => Some(json!({ "comment": "c" })),
        ("PUT", "/api/models/{id}/fairness-thresholds") => {
            Some(json!(keel_shared::evidence::FairnessThresholds::default()))
        }
        ("PUT", "/api/models/{id}/versions/{tag}/model-card") => {
            Some(json!({ "sections": { "model_details": format!("edit {call}") } }))
        }
        ("PUT", "/api/models/{id}/readiness") => {
            Some(json!({ "attestations": { "on_call_named": format!("rota {call}") } }))
        }
        _ => None,
    }
}

async fn every_route_answers_each_caller_as_the_table_says(store: StoreKind) {
    let app = spawn_app(store).await;

    let listed: BTreeSet<(String, String)> = keel_backend::routes::route_table()
        .into_iter()
        .map(|route| (route.method.to_string(), route.path.to_owned()))
        .collect();
    let tabled: BTreeSet<(String, String)> =
        TABLE.iter().map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned())).collect();
    assert_eq!(listed, tabled, "the table must have exactly one row per route in the router");

    let model = app.create_model("access-check", RiskTier::Limited).await;
    app.create_version(&model, "access-v1", "staging").await;
    let (read_token, _) = app.token(&["read"]).await;
    let (ingest_token, _) = app.token(&["ingest"]).await;
    let (revoked_token, revoked_id) = app.token(&["read", "ingest"]).await;
    let revoked = app.post_json(&format!("/api/tokens/{revoked_id}/revoke"), &json!({})).await;
    assert_eq!(revoked.status(), 200);
    let callers: [reqwest::Client; 8] = [
        app.client.clone(),
        app.client_as(Role::Approver).await,
        app.client_as(Role::Engineer).await,
        app.client_as(Role::Viewer).await,
        bearer_client(&read_token),
        bearer_client(&ingest_token),
        bearer_client(&revoked_token),
        reqwest::Client::new(),
    ];

    let mut call = 0;
    let mut mismatches = Vec::new();
    for (method, path, expected) in TABLE {
        for (caller, (client, outcome)) in callers.iter().zip(expected).enumerate() {
            call += 1;
            let concrete = if *path == "/api/tokens/{id}/revoke" {
                let (_, id) = app.token(&["read"]).await;
                path.replace("{id}", &id)
            } else {
                path.replace("{id}", &model.id.0)
            };
            let concrete = concrete
                .replace("{job}", "access-check")
                .replace("{*grouping}", "region/cz")
                .replace("{tag}", "access-v1")
                .replace("{name}", "access-programme");
            let concrete = match *path {
                "/api/models/{id}/series" => format!("{concrete}?metric=latency_ms"),
                "/api/models/{id}/drift/history" => format!("{concrete}?feature=age"),
                _ => concrete,
            };
            let mut request = client.request(method.parse().expect("method"), app.url(&concrete));
            if let Some(body) = body_for(method, path, call) {
                request = request.json(&body);
            }
            if path.starts_with("/metrics/job/") {
                request = request.header("content-type", "text/plain; version=0.0.4").body("up 1\n");
            }
            let status = request.send().await.expect("sent").status().as_u16();
            let actual = match status {
                401 => U,
                403 => D,
                _ if *outcome == R => R,
                200..=299 => A,
                other => panic!("{method} {path} as {}: unexpected status {other}", CALLERS[caller]),
            };
            if actual != *outcome {
                mismatches.push(format!("{method} {path} as {}: expected {outcome:?}, got {status}", CALLERS[caller]));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

on_both_stores!(every_route_answers_each_caller_as_the_table_says);
