//! Incident response in a real browser: a breaching metric opens an incident that
//! appears live on an open incidents page; the responder acknowledges it, ticks a
//! runbook step, resolves it, writes the postmortem the SEV2 needs and closes it. The
//! runbook's Markdown is rendered without running anything it smuggles in.

use fantoccini::Locator;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel};
use serde_json::{Value, json};

async fn click_button(browser: &Browser, label: &str) -> anyhow::Result<()> {
    let xpath = format!("//button[normalize-space()='{label}']");
    browser.client.wait().for_element(Locator::XPath(&xpath)).await?.click().await?;
    Ok(())
}

const RUNBOOK: &str = "# Queue backlog\n<img src=x onerror=\"window.injected=1\">\n\
- [ ] Scale the consumers\n- [ ] Tell the [business owner](javascript:window.injected=2)\n";

#[tokio::test]
async fn a_breach_opens_a_live_incident_that_is_acknowledged_worked_resolved_and_closed() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;
    browser.sign_in(&keel.url("/incidents"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text(".state-empty h2", "No open incidents").await?;
    let model = browser
        .fetch_json(
            "POST",
            "/api/models",
            &json!({ "name": "pricing", "owner": "Sales", "use_case": "Quote prices", "risk_tier": "limited" }),
        )
        .await?;
    let rule = json!({
        "name": "Queue too deep", "scope": { "model": model["id"] },
        "signal": { "kind": "metric", "metric": "queue_depth", "aggregation": "max", "window_minutes": 5 },
        "condition": { "op": "above", "threshold": 100.0 }, "severity": "sev2"
    });
    browser.fetch_json("POST", "/api/alert-rules", &rule).await?;
    browser
        .fetch_json("POST", "/api/runbooks", &json!({ "title": "Queue backlog", "body": RUNBOOK, "severity": "sev2" }))
        .await?;
    let token = browser.fetch_json("POST", "/api/tokens", &json!({ "name": "server", "scopes": ["ingest"] })).await?;
    browser.wait_for_text(".connection", "Live").await?;

    let point = json!({ "model": "pricing", "metric": "queue_depth", "ts": chrono::Utc::now().timestamp_millis(), "value": 900.0 });
    let pushed = reqwest::Client::new()
        .post(keel.url("/api/ingest"))
        .bearer_auth(token["token"].as_str().unwrap_or_default())
        .json(&json!({ "points": [point] }))
        .send()
        .await?;
    assert_eq!(pushed.status(), 200);
    // No reload: the open page shows it.
    browser.wait_for_text(".incident-row .table-link", "INC-1 Queue too deep on pricing").await?;
    browser.wait_for_text(".incident-row .badge", "SEV2").await?;

    browser.client.find(Locator::Css(".incident-row .table-link")).await?.click().await?;
    browser.wait_for_text("h1", "INC-1 Queue too deep on pricing").await?;
    browser.wait_for_text(".page-lede .badge", "Triage").await?;
    click_button(&browser, "Acknowledge").await?;
    browser.wait_for_text(".page-lede .badge", "Investigating").await?;
    browser.wait_for_text(".timeline-text", "Triage → Investigating").await?;
    click_button(&browser, "Assign to me").await?;
    browser.wait_for_text(".timeline-text", "Assignee: admin").await?;
    // Waiting for admin now, and seen: the page is open (the bell counts what is unread).
    browser.wait_for(".bell[aria-label='1 incident waiting for you, seen']").await?;

    browser.wait_for_text("#runbook-heading", "Runbook: Queue backlog").await?;
    browser.wait_for(".checklist input[type=checkbox]").await?.click().await?;
    browser.wait_for_text(".timeline-text", "Runbook step done: Scale the consumers").await?;
    browser.client.find(Locator::Css(".incident-main details summary")).await?.click().await?;
    browser.wait_for_text(".markdown li", "☐ Tell the business owner").await?;
    let dangerous = browser.client.find_all(Locator::Css(".markdown a[href^='javascript'], .markdown img")).await?;
    assert!(dangerous.is_empty(), "a javascript: link or raw HTML was rendered");
    let injected = browser.client.execute("return window.injected === undefined;", vec![]).await?;
    assert_eq!(injected, json!(true), "nothing from the runbook ran");

    click_button(&browser, "Resolve").await?;
    browser.wait_for_text(".page-lede .badge", "Resolved").await?;
    // Closing is final: the console asks first; the test answers yes.
    browser.client.execute("window.confirm = () => true;", vec![]).await?;
    click_button(&browser, "Close").await?;
    browser.wait_for(".alert-error").await?;
    let refusal = browser.client.find(Locator::Css(".alert-error")).await?.text().await?;
    assert!(refusal.contains("needs its postmortem"), "{refusal}");

    for (field, text) in [
        ("#pm-summary", "The queue backed up"),
        ("#pm-impact", "Quotes were late for 20 min"),
        ("#pm-root-cause", "A consumer crashed on a bad message"),
    ] {
        browser.client.find(Locator::Css(field)).await?.send_keys(text).await?;
    }
    click_button(&browser, "Save postmortem").await?;
    browser.wait_for_text(".timeline-text", "Postmortem written").await?;
    browser.client.execute("window.confirm = () => true;", vec![]).await?;
    click_button(&browser, "Close").await?;
    browser.wait_for_text(".page-lede .badge", "Closed").await?;
    browser.close().await
}

async fn select(browser: &Browser, css: &str, value: &str) -> anyhow::Result<()> {
    browser.wait_for(css).await?.select_by_value(value).await?;
    Ok(())
}

#[tokio::test]
async fn a_fleet_rule_made_in_the_form_is_previewed_then_listed() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;
    browser.sign_in(&keel.url("/alerts"), "admin", ADMIN_PASSWORD).await?;
    for (name, tier) in [("credit", "high"), ("churn", "limited")] {
        let model = json!({ "name": name, "owner": "Risk", "use_case": "Score", "risk_tier": tier });
        browser.fetch_json("POST", "/api/models", &model).await?;
    }
    browser.wait_for_text("td", "every model").await?;
    click_button(&browser, "New rule").await?;
    browser.wait_for("#rule-name").await?.send_keys("High-risk models degraded").await?;
    select(&browser, "#rule-scope", "tier").await?;
    select(&browser, "#rule-tier", "high").await?;
    select(&browser, "#rule-signal", "health").await?;
    browser.client.find(Locator::Css("#rule-threshold")).await?.send_keys("0.5").await?;
    browser.client.find(Locator::Css("#rule-keep")).await?.clear().await?;
    browser.client.find(Locator::Css("#rule-keep")).await?.send_keys("10").await?;
    click_button(&browser, "Preview").await?;
    // Only the high-risk model is covered; it has sent nothing yet.
    browser.wait_for_text("table[aria-label='Preview'] td", "credit").await?;
    browser.wait_for_text("table[aria-label='Preview'] td", "no data").await?;
    assert_eq!(browser.client.find_all(Locator::Css("table[aria-label='Preview'] tbody tr")).await?.len(), 1);
    click_button(&browser, "Create rule").await?;
    browser.wait_for_text("td", "every high risk model").await?;
    let rules = browser.fetch_json("GET", "/api/alert-rules", &Value::Null).await?;
    let created = rules
        .as_array()
        .into_iter()
        .flatten()
        .find(|rule| rule["name"] == "High-risk models degraded")
        .cloned()
        .unwrap_or_default();
    assert_eq!(created["scope"], json!({ "risk_tier": "high" }));
    assert_eq!(created["keep_firing_for_seconds"], 600);
    browser.close().await
}
