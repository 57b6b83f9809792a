//! Change management in two real browser sessions: an engineer requests a promotion
//! from the model page and is offered no approval; an approver approves it on the
//! change page; the engineer implements it, and the approver's open model page shows the
//! new production version without a reload.

use fantoccini::Locator;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel};
use serde_json::{Value, json};

const PASSWORD: &str = "a-long-e2e-password";

/// A client signed in as `username`, sending this Keel's `Origin` as its pages do.
async fn signed_in(keel: &Keel, username: &str, password: &str) -> anyhow::Result<reqwest::Client> {
    let response = reqwest::Client::new()
        .post(keel.url("/api/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    anyhow::ensure!(response.status() == 200, "signing in as {username}: {}", response.status());
    let cookie = response.headers()["set-cookie"].to_str()?.split(';').next().unwrap_or_default().to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse()?);
    headers.insert("origin", keel.url("").trim_end_matches('/').parse()?);
    Ok(reqwest::Client::builder().default_headers(headers).build()?)
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

async fn click_button(browser: &Browser, label: &str) -> anyhow::Result<()> {
    let xpath = format!("//button[normalize-space()='{label}']");
    browser.client.wait().for_element(Locator::XPath(&xpath)).await?.click().await?;
    Ok(())
}

/// 200 labelled rows of one feature, as a reference CSV.
fn reference_csv() -> String {
    let mut csv = String::from("age,prediction,target\n");
    for i in 0..200 {
        csv.push_str(&format!("{},{},{}\n", 30 + i % 20, i % 2, if i % 10 == 0 { 1 - i % 2 } else { i % 2 }));
    }
    csv
}

/// A model with v1 in production (by an emergency change) and v2 in staging with every
/// piece of evidence a promotion to production needs.
async fn model_with_evidence(keel: &Keel, admin: &reqwest::Client) -> anyhow::Result<Value> {
    let body = json!({ "name": "pricing", "owner": "Sales", "use_case": "Quote prices", "risk_tier": "minimal" });
    let model = send(admin.post(keel.url("/api/models")).json(&body)).await?;
    let id = model["id"].as_str().unwrap_or_default().to_owned();
    for tag in ["v1", "v2"] {
        send(
            admin
                .post(keel.url(&format!("/api/models/{id}/versions")))
                .json(&json!({ "tag": tag, "stage": "staging" })),
        )
        .await?;
        let upload = admin
            .put(keel.url(&format!("/api/models/{id}/versions/{tag}/reference")))
            .header("content-type", "text/csv")
            .body(reference_csv());
        send(upload).await?;
    }
    let first = json!({ "kind": "promotion", "type": "emergency", "model_id": id, "version": "v1", "title": "Go live with v1" });
    let first = send(admin.post(keel.url("/api/changes")).json(&first)).await?;
    let first_id = first["id"].as_str().unwrap_or_default();
    send(admin.post(keel.url(&format!("/api/changes/{first_id}/transitions"))).json(&json!({ "to": "implemented" })))
        .await?;
    // Production traffic of v1, which v2's reference is compared with.
    let token =
        send(admin.post(keel.url("/api/tokens")).json(&json!({ "name": "ci", "scopes": ["ingest", "evidence"] })))
            .await?;
    let token = token["token"].as_str().unwrap_or_default().to_owned();
    let rows: Vec<Value> =
        (0..100).map(|i| json!({ "prediction_id": format!("r{i}"), "features": { "age": 30 + i % 20 } })).collect();
    send(
        reqwest::Client::new()
            .post(keel.url(&format!("/api/models/{id}/features")))
            .bearer_auth(&token)
            .json(&json!({ "rows": rows })),
    )
    .await?;
    let junit = r#"<testsuite name="ci"><testcase classname="pricing" name="test_margin"/></testsuite>"#;
    let upload = reqwest::Client::new()
        .put(keel.url(&format!("/api/models/{id}/versions/v2/evidence/junit")))
        .bearer_auth(&token)
        .body(junit);
    send(upload).await?;
    let mut evaluation = String::from("truth,prediction,region\n");
    for i in 0..400 {
        evaluation.push_str(&format!(
            "{},{},{}\n",
            i % 2,
            (i / 2) % 2,
            if (i / 4) % 2 == 0 { "north" } else { "south" }
        ));
    }
    let fairness =
        admin
            .put(keel.url(&format!(
                "/api/models/{id}/versions/v2/fairness?truth=truth&prediction=prediction&attributes=region"
            )))
            .header("content-type", "text/csv")
            .body(evaluation);
    send(fairness).await?;
    let reviewer = signed_in(keel, "petra", PASSWORD).await?;
    send(
        reviewer
            .post(keel.url(&format!("/api/models/{id}/versions/v2/fairness/sign-off")))
            .json(&json!({ "comment": "even" })),
    )
    .await?;
    let sections: serde_json::Map<String, Value> = keel_shared::evidence::MODEL_CARD_SECTIONS
        .iter()
        .map(|(key, label)| ((*key).to_owned(), json!(format!("{label}."))))
        .collect();
    send(
        admin.put(keel.url(&format!("/api/models/{id}/versions/v2/model-card"))).json(&json!({ "sections": sections })),
    )
    .await?;
    Ok(model)
}

#[tokio::test]
async fn an_engineer_requests_an_approver_approves_and_the_promotion_moves_production_live() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = signed_in(&keel, "admin", ADMIN_PASSWORD).await?;
    for (username, role) in [("eva", "engineer"), ("adam", "approver"), ("petra", "approver")] {
        let user = json!({ "username": username, "role": role, "password": PASSWORD });
        send(admin.post(keel.url("/api/users")).json(&user)).await?;
    }
    let model = model_with_evidence(&keel, &admin).await?;
    let model_path = format!("/models/{}", model["id"].as_str().unwrap_or_default());

    let engineer = Browser::start().await?;
    engineer.sign_in(&keel.url(&model_path), "eva", PASSWORD).await?;
    engineer.client.execute("window.confirm = () => true;", vec![]).await?;
    engineer.client.wait().for_element(Locator::LinkText("Request promotion")).await?.click().await?;
    engineer.wait_for_text("h1", "Request a change").await?;
    // Pre-filled from the model page: the model, its candidate v2, production.
    engineer
        .wait_for_text(
            ".form .muted",
            "The risk table gives Medium risk for a promotion of a minimal risk model. It is frozen when you submit.",
        )
        .await?;
    engineer.wait_for("#change-version option[value=v2]").await?;
    engineer.client.find(Locator::Css("#change-title")).await?.send_keys("Promote v2 to production").await?;
    click_button(&engineer, "Create draft").await?;
    engineer.wait_for_text("h1", "CHG-2 Promote v2 to production").await?;
    engineer.client.execute("window.confirm = () => true;", vec![]).await?;
    click_button(&engineer, "Submit for approval").await?;
    engineer.wait_for_text(".page-lede .badge", "Waiting for approval").await?;
    assert!(
        engineer.client.find_all(Locator::XPath("//button[normalize-space()='Approve']")).await?.is_empty(),
        "the requester is offered no approval"
    );
    assert!(engineer.client.find_all(Locator::XPath("//button[normalize-space()='Implement']")).await?.is_empty());
    let change_url = engineer.client.current_url().await?;

    let approver = Browser::start().await?;
    approver.sign_in(&keel.url("/changes"), "adam", PASSWORD).await?;
    approver.wait_for_text(".change-row .table-link", "CHG-2 Promote v2 to production").await?;
    approver.wait_for_text(".nav-count", "1").await?;
    approver.client.find(Locator::Css(".change-row .table-link")).await?.click().await?;
    approver.wait_for_text("h1", "CHG-2 Promote v2 to production").await?;
    approver.wait_for("[aria-label=Evidence]").await?;
    let mut verdicts = Vec::new();
    for cell in approver.client.find_all(Locator::Css("[aria-label=Evidence] td:nth-child(2)")).await? {
        verdicts.push(cell.text().await?);
    }
    assert_eq!(verdicts, ["Pass"; 6], "every gate of the promotion to production passes");
    approver.wait_for("#approval-comment").await?.send_keys("Margins hold on the canary data.").await?;
    click_button(&approver, "Approve").await?;
    approver.wait_for_text("[aria-label=Approvals] td .cell-sub", "Approver").await?;
    // The second approval the medium risk needs, from Petra; the engineer's page follows live.
    let petra = signed_in(&keel, "petra", PASSWORD).await?;
    let change_id = change_url.path().rsplit('/').next().unwrap_or_default().to_owned();
    send(petra.post(keel.url(&format!("/api/changes/{change_id}/approvals"))).json(&json!({ "decision": "approve" })))
        .await?;
    engineer.wait_for_text(".page-lede .badge", "Approved").await?;

    approver.client.goto(&keel.url(&model_path)).await?;
    approver.wait_for_text(".facts dd", "v1").await?;
    click_button(&engineer, "Implement").await?;
    engineer.wait_for_text(".page-lede .badge", "Implemented").await?;
    engineer
        .wait_for_text(
            ".timeline-text",
            "Registry moved: v2 is in production; v1 is archived and kept as the rollback target",
        )
        .await?;
    // No reload on the approver's side: the model page shows v2 in production.
    approver.wait_for_text(".facts dd", "v2").await?;
    // The engineer, who may request changes, is offered the rollback to v1 there.
    engineer.client.goto(&keel.url(&model_path)).await?;
    engineer.wait_for_text("a[href*='kind=rollback']", "Roll back to v1").await?;

    engineer.close().await?;
    approver.close().await?;
    Ok(())
}
