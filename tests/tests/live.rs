//! Live updates in a real browser: the stream keeps pages current without a reload.

use fantoccini::Locator;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel};
use serde_json::json;

#[tokio::test]
async fn the_model_page_updates_in_place_when_points_arrive() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;
    browser.sign_in(&keel.url("/models"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text("h1", "Models").await?;
    let model =
        json!({ "name": "fraud-detection", "owner": "Risk", "use_case": "Stop card fraud", "risk_tier": "high" });
    let model = browser.fetch_json("POST", "/api/models", &model).await?;
    let token = browser.fetch_json("POST", "/api/tokens", &json!({ "name": "server", "scopes": ["ingest"] })).await?;

    browser.client.goto(&keel.url(&format!("/models/{}", model["id"].as_str().unwrap_or_default()))).await?;
    browser.wait_for_text(".connection", "Live").await?;
    browser.wait_for_text(".page-header .badge", "No data").await?;
    browser.wait_for_text(".chart-empty", "No data in this range.").await?;
    // Set on this page load: a reload would lose it.
    browser.client.execute("window.loadedOnce = 'still here';", vec![]).await?;

    let now = chrono::Utc::now().timestamp_millis();
    let points = json!({ "points": [
        { "model": "fraud-detection", "metric": "latency_ms", "ts": now - 1000, "value": 123.0 },
        { "model": "fraud-detection", "metric": "accuracy", "ts": now - 1000, "value": 0.5 },
        { "model": "fraud-detection", "metric": "drift_score", "ts": now - 1000, "value": 0.25 },
    ] });
    let pushed = reqwest::Client::new()
        .post(keel.url("/api/ingest"))
        .bearer_auth(token["token"].as_str().unwrap_or_default())
        .json(&points)
        .send()
        .await?;
    assert_eq!(pushed.status(), 200);

    // The accuracy chart (an average: exact; the latency chart shows sketch quantiles).
    browser.wait_for_text(".chart-latest", "Latest mean: 50.0 %").await?;
    browser.wait_for_text(".page-header .badge", "Critical").await?;
    // A metric Keel has no chart for gets one of its own.
    browser.wait_for_text(".chart-title", "drift_score").await?;
    browser.wait_for_text(".chart-latest", "Latest mean: 0.250").await?;
    browser.wait_for_text(".status-line", "Critical — accuracy 50.0 % is below 75.0 %.").await?;
    let marker = browser.client.execute("return window.loadedOnce;", vec![]).await?;
    assert_eq!(marker, json!("still here"), "the page must not have reloaded");
    browser.close().await
}

#[tokio::test]
async fn the_overview_shows_every_model_with_its_status() -> anyhow::Result<()> {
    let keel = Keel::start("demo")?;
    let browser = Browser::start().await?;
    browser.sign_in(&keel.url("/"), "vera.viewer", "keel-viewer-demo").await?;
    browser.wait_for_text("h1", "Overview").await?;
    browser.wait_for(".tile").await?;
    let tiles = browser.client.find_all(Locator::Css(".tile")).await?;
    assert_eq!(tiles.len(), 7);
    let mut statuses = Vec::new();
    for tile in tiles {
        let name = tile.find(Locator::Css(".tile-name")).await?.text().await?;
        let status = tile.find(Locator::Css(".tile-header .badge")).await?.text().await?;
        statuses.push((name, status));
    }
    let status_of = |model: &str| statuses.iter().find(|(name, _)| name == model).map(|(_, status)| status.as_str());
    // The simulator's churn model has lost accuracy over the day; the others are fine.
    assert_eq!(status_of("churn-propensity"), Some("Degraded"), "{statuses:?}");
    assert_eq!(status_of("credit-risk-scoring"), Some("Healthy"), "{statuses:?}");
    assert_eq!(status_of("cv-screening-assistant"), Some("No data"), "{statuses:?}");
    // Churn has a telemetry reason and several performance ones: its tile shows the first
    // and a count, the full list on hover.
    let churn_reasons = "//li[contains(@class, 'tile')][.//a[text()='churn-propensity']]//p[@class='tile-reasons']";
    let reasons = browser.client.find(Locator::XPath(churn_reasons)).await?;
    let (shown, full) = (reasons.text().await?, reasons.attr("title").await?.unwrap_or_default());
    assert!(shown.starts_with("accuracy ") && shown.contains("; and ") && shown.ends_with(" more"), "{shown}");
    assert!(full.len() > shown.len() && full.starts_with(shown.split("; and").next().unwrap_or_default()), "{full}");
    let sparklines = browser.client.find_all(Locator::Css(".tile .sparkline path")).await?;
    assert_eq!(sparklines.len(), 5 * 3, "three sparklines for each of the five simulated models");
    browser.close().await
}
