//! The drift page in a real browser: a reference uploaded through the form (with its
//! progress and a cancel), live rows evaluated on demand, the features sorted by drift.

use fantoccini::Locator;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel, Scratch};
use serde_json::{Value, json};

/// A signed-in browser on a fresh Keel with a model and its version v1 in staging;
/// returns the model's id.
async fn model_with_a_version(keel: &Keel, browser: &Browser) -> anyhow::Result<String> {
    browser.sign_in(&keel.url("/models"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text("h1", "Models").await?;
    let model = json!({ "name": "churn", "owner": "CRM", "use_case": "Keep customers", "risk_tier": "limited" });
    let model = browser.fetch_json("POST", "/api/models", &model).await?;
    let id = model["id"].as_str().unwrap_or_default().to_owned();
    browser
        .fetch_json("POST", &format!("/api/models/{id}/versions"), &json!({ "tag": "v1", "stage": "staging" }))
        .await?;
    Ok(id)
}

/// A plan named like markup: category labels from uploads must reach the page as text.
const HOSTILE_PLAN: &str = "<img src=x onerror=window.injected=1>premium";
const PLANS: [&str; 3] = ["basic", "plus", HOSTILE_PLAN];

fn reference_csv(rows: usize) -> String {
    let mut csv = String::from("spend,plan\n");
    for i in 0..rows {
        csv.push_str(&format!("{},{}\n", 500.0 + (i * 37 % 200) as f64, PLANS[i % 3]));
    }
    csv
}

#[tokio::test]
async fn a_reference_uploaded_in_the_form_and_live_rows_show_the_drifted_feature_first() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;
    let id = model_with_a_version(&keel, &browser).await?;
    let token = browser.fetch_json("POST", "/api/tokens", &json!({ "name": "server", "scopes": ["ingest"] })).await?;

    browser.client.goto(&keel.url(&format!("/models/{id}"))).await?;
    browser.wait_for("a.button[href$='/drift']").await?.click().await?;
    browser.wait_for_text(".state-empty h2", "No evaluation yet").await?;
    let files = Scratch::new("keel-e2e-reference")?;
    let path = files.path().join("validation.csv");
    std::fs::write(&path, reference_csv(600))?;
    browser.wait_for("#reference-file").await?.send_keys(&path.display().to_string()).await?;
    browser.client.find(Locator::Css(".form-actions button[type=submit]")).await?.click().await?;
    browser.wait_for_text(".alert-success", "validation.csv is the reference now.").await?;
    browser.wait_for_text("table[aria-label=References] td", "upload: validation.csv").await?;

    // Live rows: spending doubled, plans as before.
    let rows: Vec<Value> = (0..300_u32)
        .map(|i| {
            let features = json!({ "spend": 1000.0 + f64::from(i % 200), "plan": PLANS[i as usize % 3] });
            json!({ "prediction_id": format!("p{i}"), "version": "v1", "features": features })
        })
        .collect();
    let pushed = reqwest::Client::new()
        .post(keel.url(&format!("/api/models/{id}/features")))
        .bearer_auth(token["token"].as_str().unwrap_or_default())
        .json(&json!({ "rows": rows }))
        .send()
        .await?;
    assert_eq!(pushed.status(), 200);
    browser.client.find(Locator::Css(".toolbar .button-primary")).await?.click().await?;
    browser.wait_for_text("#run-heading", "Latest evaluation").await?;
    let first_row = browser.wait_for("table[aria-label='Features by drift score'] tbody tr").await?;
    let cells: Vec<String> = {
        let mut texts = Vec::new();
        for cell in first_row.find_all(Locator::Css("td")).await? {
            texts.push(cell.text().await?);
        }
        texts
    };
    assert_eq!((cells[0].as_str(), cells[2].as_str(), cells[5].as_str()), ("spend", "ks", "Drifted"), "{cells:?}");
    browser.wait_for_text(".chart-title", "Distribution of spend").await?;
    browser.wait_for("#feature-charts .chart-svg svg").await?;
    // Choosing another feature redraws the charts for it.
    browser
        .client
        .find(Locator::Css("table[aria-label='Features by drift score'] tbody tr:nth-child(2) .link-button"))
        .await?
        .click()
        .await?;
    browser.wait_for_text(".chart-title", "Distribution of plan").await?;
    // The chart (SVG through inner_html) shows the label as text; nothing ran, no element was made.
    let probe = browser
        .client
        .execute(
            r#"const charts = document.querySelector('#feature-charts');
               return [window.injected === undefined, charts.querySelectorAll('img').length, charts.textContent];"#,
            vec![],
        )
        .await?;
    assert_eq!((probe[0].as_bool(), probe[1].as_u64()), (Some(true), Some(0)), "{probe}");
    assert!(probe[2].as_str().unwrap_or_default().contains("<img src=x"), "the label is shown as text: {probe}");
    browser.close().await
}

#[tokio::test]
async fn a_slow_upload_shows_its_progress_and_can_be_cancelled() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;
    let id = model_with_a_version(&keel, &browser).await?;
    browser.client.goto(&keel.url(&format!("/models/{id}/drift"))).await?;
    let files = Scratch::new("keel-e2e-reference")?;
    let path = files.path().join("large.csv");
    std::fs::write(&path, reference_csv(200_000))?;
    browser.throttle_uploads(200_000).await?;
    browser.wait_for("#reference-file").await?.send_keys(&path.display().to_string()).await?;
    browser.client.find(Locator::Css(".form-actions button[type=submit]")).await?.click().await?;
    browser.wait_for(".upload-progress progress").await?;
    // At 200 kB/s the file takes about 20 seconds: a second later it is still going.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let status = browser.client.find(Locator::Css(".upload-progress")).await?.text().await?;
    assert!(status.contains("MB sent"), "{status}");
    browser.client.find(Locator::XPath("//button[text()='Cancel upload']")).await?.click().await?;
    browser.wait_for_text("p[role=status]", "Upload cancelled; nothing was stored.").await?;
    browser.throttle_uploads(100_000_000).await?;
    let references = browser.fetch_json("GET", &format!("/api/models/{id}/references"), &Value::Null).await;
    assert_eq!(references?, json!([]), "nothing was stored");
    browser.close().await
}
