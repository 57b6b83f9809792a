//! Sessions, API tokens, CSRF, login limits and security headers.

use keel_shared::auth::{MeResponse, Role, TokenSummary};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, StoreKind, expect_error, spawn_app};
use crate::on_both_stores;

async fn a_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "ADMIN", "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(cookie.starts_with("keel_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "Secure only when configured");
    let me: MeResponse = response.json().await.expect("me");
    assert_eq!((me.user.username.as_str(), me.user.role), ("admin", Role::Admin));

    let client = app.signed_in_client("admin", ADMIN_PASSWORD).await;
    assert_eq!(client.get(app.url("/api/auth/me")).send().await.expect("sent").status(), 200);
    let logout = client.post(app.url("/api/auth/logout")).send().await.expect("sent");
    assert_eq!(logout.status(), 204);
    assert!(logout.headers()["set-cookie"].to_str().expect("cookie").contains("Max-Age=0"));
    // The same cookie, replayed after logout, no longer opens anything.
    let error = expect_error(client.get(app.url("/api/auth/me")).send().await.expect("sent"), 401).await;
    assert_eq!(error.detail, "your session has expired or ended: sign in again");
}

async fn a_wrong_password_is_refused_and_repeated_failures_are_limited(store: StoreKind) {
    let app = spawn_app(store).await;
    let attempt = |password: &'static str| {
        let url = app.url("/api/auth/login");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "username": "admin", "password": password }))
                .send()
                .await
                .expect("sent")
        }
    };
    let error = expect_error(attempt("wrong").await, 401).await;
    assert_eq!(error.detail, "unknown username or wrong password");
    for _ in 0..4 {
        assert_eq!(attempt("wrong").await.status(), 401);
    }
    let limited = attempt(ADMIN_PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().expect("header").parse().expect("seconds");
    assert!(retry_after > 800 && retry_after <= 900, "{retry_after}");
    expect_error(limited, 429).await;
    let failures = app.get("/api/audit?action=session.login_failed").await.json::<serde_json::Value>().await;
    assert_eq!(failures.expect("audit")["total"], 5, "each failure is in the audit log");
}

async fn a_signed_in_browser_cannot_be_made_to_write_from_another_site(store: StoreKind) {
    let app = spawn_app(store).await;
    let session = app.client.get(app.url("/api/auth/me")).send().await.expect("sent");
    assert_eq!(session.status(), 200);
    let body = json!({ "name": "forged", "owner": "x", "use_case": "y", "risk_tier": "high" });
    let forged =
        app.client.post(app.url("/api/models")).header("origin", "http://evil.example").json(&body).send().await;
    let error = expect_error(forged.expect("sent"), 403).await;
    assert!(error.detail.starts_with("cross-site request refused"), "{error:?}");
    // The same host and port over another scheme is another origin.
    let other_scheme = app.address.replace("http://", "https://");
    let forged = app.client.post(app.url("/api/models")).header("origin", other_scheme).json(&body).send().await;
    expect_error(forged.expect("sent"), 403).await;
    // Reading from another origin is harmless (and CORS keeps the answer from the page).
    let read = app.client.get(app.url("/api/models")).header("origin", "http://evil.example").send().await;
    assert_eq!(read.expect("sent").status(), 200);
    let listed = app.get("/api/models").await;
    assert_eq!(listed.headers()["cache-control"], "no-store", "API answers are never cached");
    let list: serde_json::Value = listed.json().await.expect("list");
    assert_eq!(list["total"], 0, "nothing was created");
}

async fn a_token_is_shown_once_works_by_scope_and_dies_when_revoked(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.post_json("/api/tokens", &json!({ "name": "fraud-model-server", "scopes": ["read"] })).await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.expect("token");
    let secret = created["token"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("keel_") && secret.len() == 69);

    let listed_text = app.get("/api/tokens").await.text().await.expect("list");
    assert!(!listed_text.contains(&secret), "the secret is never listed");
    let listed: Vec<TokenSummary> = serde_json::from_str(&listed_text).expect("tokens");
    assert_eq!(listed.len(), 1);
    assert!(secret.starts_with(&listed[0].prefix));
    assert_eq!(listed[0].owner, "admin");

    let machine = reqwest::Client::new();
    let read = machine.get(app.url("/api/models")).bearer_auth(&secret).send().await.expect("sent");
    assert_eq!(read.status(), 200);
    let write = machine
        .post(app.url("/api/models"))
        .bearer_auth(&secret)
        .json(&json!({ "name": "x", "owner": "x", "use_case": "y", "risk_tier": "high" }))
        .send()
        .await
        .expect("sent");
    let error = expect_error(write, 403).await;
    assert_eq!(error.detail, "this API token's scopes do not include the WriteModels permission");

    let revoked = app.post_json(&format!("/api/tokens/{}/revoke", listed[0].id), &json!({})).await;
    assert_eq!(revoked.status(), 200);
    let summary: TokenSummary = revoked.json().await.expect("summary");
    assert!(summary.revoked_at.is_some());
    let after = machine.get(app.url("/api/models")).bearer_auth(&secret).send().await.expect("sent");
    let error = expect_error(after, 401).await;
    assert_eq!(error.detail, "the API token is invalid or has been revoked");

    let error = expect_error(app.post_json("/api/tokens", &json!({ "name": " ", "scopes": [] })).await, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["name", "scopes"]);
}

async fn responses_carry_security_headers(store: StoreKind) {
    let app = spawn_app(store).await;
    let response = app.get("/api/health").await;
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
}

async fn users_are_validated_and_unique(store: StoreKind) {
    let app = spawn_app(store).await;
    let error =
        expect_error(app.post_json("/api/users", &json!({ "username": "x y", "password": "short" })).await, 422).await;
    assert_eq!(error.fields.keys().collect::<Vec<_>>(), ["password", "role", "username"]);
    let body = json!({ "username": "vera", "role": "viewer", "password": "a-long-password" });
    assert_eq!(app.post_json("/api/users", &body).await.status(), 201);
    expect_error(
        app.post_json("/api/users", &json!({ "username": "VERA", "role": "admin", "password": "a-long-password" }))
            .await,
        409,
    )
    .await;
    let users: Vec<keel_shared::auth::UserSummary> = app.get("/api/users").await.json().await.expect("users");
    let names: Vec<_> = users.iter().map(|user| (user.username.as_str(), user.role)).collect();
    assert_eq!(names, [("admin", Role::Admin), ("vera", Role::Viewer)]);
}

async fn without_a_configured_password_a_one_time_link_creates_the_administrator(store: StoreKind) {
    let scratch = std::env::temp_dir().join(format!("keel-test-{}", uuid::Uuid::now_v7().simple()));
    let database_url = match store {
        StoreKind::Sqlite => None,
        StoreKind::Postgres => Some(crate::helpers::create_postgres_database().await),
    };
    let app = crate::helpers::spawn_app_with(keel_backend::config::Settings {
        addr: "127.0.0.1:0".parse().expect("address"),
        data_dir: scratch.join("data"),
        database_url,
        dist_dir: scratch.join("dist"),
        secure_cookies: false,
        admin_password: None,
        ..Default::default()
    })
    .await;
    let path = app.setup_path.clone().expect("a setup link");
    let secret = path.strip_prefix("/setup#").expect("/setup#<secret>").to_owned();
    let setup = |token: String, password: &'static str| {
        let url = app.url("/api/auth/setup");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "token": token, "password": password }))
                .send()
                .await
                .expect("sent")
        }
    };
    expect_error(setup("not-the-secret".into(), "a-long-password").await, 403).await;
    let error = expect_error(setup(secret.clone(), "short").await, 422).await;
    assert_eq!(error.fields["password"], "must be at least 12 characters");
    let created = setup(secret.clone(), "the-chosen-password").await;
    assert_eq!(created.status(), 200);
    assert!(created.headers()["set-cookie"].to_str().expect("cookie").starts_with("keel_session="));
    let me: MeResponse = created.json().await.expect("me");
    assert_eq!((me.user.username.as_str(), me.user.role), ("admin", Role::Admin));
    let again = expect_error(setup(secret, "another-password").await, 409).await;
    assert_eq!(again.detail, "Keel already has an administrator: sign in instead");
    app.signed_in_client("admin", "the-chosen-password").await;
}

on_both_stores!(
    without_a_configured_password_a_one_time_link_creates_the_administrator,
    a_login_sets_a_strict_http_only_cookie_and_logout_ends_the_session,
    a_wrong_password_is_refused_and_repeated_failures_are_limited,
    a_signed_in_browser_cannot_be_made_to_write_from_another_site,
    a_token_is_shown_once_works_by_scope_and_dies_when_revoked,
    responses_carry_security_headers,
    users_are_validated_and_unique,
    parallel_wrong_passwords_are_limited_as_if_they_came_one_by_one,
    an_over_long_username_is_refused_before_the_limiter_and_the_audit_log,
    a_deactivated_user_is_shut_out_at_once_and_can_be_let_back_in,
    a_user_changes_their_own_password_and_their_other_sessions_end,
);

/// The check and the count are one step: thirty attempts at once get the five failures
/// an account is allowed and then 429s, as thirty attempts in a row would.
async fn parallel_wrong_passwords_are_limited_as_if_they_came_one_by_one(store: StoreKind) {
    let app = spawn_app(store).await;
    let attempts = (0..30).map(|_| {
        reqwest::Client::new()
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": "admin", "password": "wrong" }))
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.expect("sent").status().as_u16())
        .collect();
    assert_eq!(statuses.iter().filter(|status| **status == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 25, "{statuses:?}");
}

async fn an_over_long_username_is_refused_before_the_limiter_and_the_audit_log(store: StoreKind) {
    let app = spawn_app(store).await;
    let username = "a".repeat(500_000);
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": "wrong" }))
        .send()
        .await
        .expect("sent");
    let error = expect_error(response, 422).await;
    assert_eq!(error.fields["username"], "must be at most 64 characters");
    let failures: serde_json::Value =
        app.get("/api/audit?action=session.login_failed").await.json().await.expect("audit");
    assert_eq!(failures["total"], 0, "nothing written for it");
}

/// Creates a user of `role` with `password` and returns their id.
async fn user(app: &crate::helpers::TestApp, username: &str, role: &str, password: &str) -> String {
    let response =
        app.post_json("/api/users", &json!({ "username": username, "role": role, "password": password })).await;
    assert_eq!(response.status(), 201);
    response.json::<serde_json::Value>().await.expect("user")["id"].as_str().expect("id").to_owned()
}

async fn login(app: &crate::helpers::TestApp, username: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sent")
}

async fn a_deactivated_user_is_shut_out_at_once_and_can_be_let_back_in(store: StoreKind) {
    let app = spawn_app(store).await;
    let id = user(&app, "leaver", "engineer", "a-long-test-password").await;
    let session = app.signed_in_client("leaver", "a-long-test-password").await;
    let created = app.post_json("/api/tokens", &json!({ "name": "ci", "scopes": ["read"], "owner": "leaver" })).await;
    let token = created.json::<serde_json::Value>().await.expect("token")["token"].as_str().expect("secret").to_owned();
    let with_token = || reqwest::Client::new().get(app.url("/api/models")).bearer_auth(&token).send();
    assert_eq!(session.get(app.url("/api/auth/me")).send().await.expect("sent").status(), 200);
    assert_eq!(with_token().await.expect("sent").status(), 200);

    let deactivated = app.post_json(&format!("/api/users/{id}/deactivate"), &json!({})).await;
    assert_eq!(deactivated.status(), 200);
    let summary: serde_json::Value = deactivated.json().await.expect("user");
    assert!(summary["deactivated_at"].is_string(), "{summary}");
    expect_error(session.get(app.url("/api/auth/me")).send().await.expect("sent"), 401).await;
    expect_error(with_token().await.expect("sent"), 401).await;
    let refused = expect_error(login(&app, "leaver", "a-long-test-password").await, 401).await;
    assert_eq!(refused.detail, "this account is deactivated; ask an administrator");
    let me: serde_json::Value = app.get("/api/auth/me").await.json().await.expect("me");
    let own_id = me["user"]["id"].as_str().expect("id");
    let error = expect_error(app.post_json(&format!("/api/users/{own_id}/deactivate"), &json!({})).await, 409).await;
    assert_eq!(error.detail, "you cannot deactivate yourself");

    assert_eq!(app.post_json(&format!("/api/users/{id}/reactivate"), &json!({})).await.status(), 200);
    assert_eq!(with_token().await.expect("sent").status(), 200, "the token works again");
    expect_error(session.get(app.url("/api/auth/me")).send().await.expect("sent"), 401).await;
    assert_eq!(login(&app, "leaver", "a-long-test-password").await.status(), 200, "a new sign-in works");
    let audit: serde_json::Value = app.get(&format!("/api/audit?target_id={id}")).await.json().await.expect("audit");
    let actions: Vec<&str> =
        audit["items"].as_array().expect("items").iter().filter_map(|entry| entry["action"].as_str()).collect();
    assert!(actions.contains(&"user.deactivate") && actions.contains(&"user.reactivate"), "{actions:?}");
}

async fn a_user_changes_their_own_password_and_their_other_sessions_end(store: StoreKind) {
    let app = spawn_app(store).await;
    user(&app, "mover", "viewer", "the-first-password").await;
    let here = app.signed_in_client("mover", "the-first-password").await;
    let elsewhere = app.signed_in_client("mover", "the-first-password").await;
    let change = |current: &str, new: &str| {
        here.post(app.url("/api/auth/password"))
            .json(&json!({ "current_password": current, "new_password": new }))
            .send()
    };
    let error = expect_error(change("wrong", "the-second-password").await.expect("sent"), 422).await;
    assert_eq!(error.fields["current_password"], "is not your current password");
    let error = expect_error(change("the-first-password", "short").await.expect("sent"), 422).await;
    assert!(error.fields.contains_key("new_password"), "{error:?}");
    assert_eq!(change("the-first-password", "the-second-password").await.expect("sent").status(), 204);

    assert_eq!(here.get(app.url("/api/auth/me")).send().await.expect("sent").status(), 200, "this session stays");
    expect_error(elsewhere.get(app.url("/api/auth/me")).send().await.expect("sent"), 401).await;
    expect_error(login(&app, "mover", "the-first-password").await, 401).await;
    assert_eq!(login(&app, "mover", "the-second-password").await.status(), 200);
}
