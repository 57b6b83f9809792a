//! Business value in a real browser: entering a KPI value changes its chart and its
//! traffic light without a reload, and the governance report printed to PDF by headless
//! Chromium has its chart and no table split across pages (read back with `pdftotext`).

use std::process::Command;

use fantoccini::wd::PrintConfiguration;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel, Scratch};
use serde_json::{Value, json};

async fn admin(keel: &Keel) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login = json!({ "username": "admin", "password": ADMIN_PASSWORD });
    let response = client.post(keel.url("/api/auth/login")).json(&login).send().await?;
    anyhow::ensure!(response.status() == 200, "sign-in failed");
    Ok(client)
}

async fn send(keel: &Keel, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request.header("origin", keel.url("").trim_end_matches('/')).send().await?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

async fn model(keel: &Keel, admin: &reqwest::Client, name: &str) -> anyhow::Result<String> {
    let body = json!({ "name": name, "owner": "Lending", "use_case": "Score applications", "risk_tier": "limited" });
    let created = send(keel, admin.post(keel.url("/api/models")).json(&body)).await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let version = json!({ "tag": "v1", "stage": "staging" });
    send(keel, admin.post(keel.url(&format!("/api/models/{id}/versions"))).json(&version)).await?;
    // Into production the only way there is: a change, here an emergency one.
    let change = json!({ "kind": "promotion", "type": "emergency", "model_id": id, "version": "v1",
                         "target_stage": "production", "title": "Go live" });
    let change = send(keel, admin.post(keel.url("/api/changes")).json(&change)).await?;
    let change_id = change["id"].as_str().unwrap_or_default();
    let implemented = json!({ "to": "implemented" });
    send(keel, admin.post(keel.url(&format!("/api/changes/{change_id}/transitions"))).json(&implemented)).await?;
    Ok(id)
}

#[tokio::test]
async fn entering_a_kpi_value_changes_its_chart_and_light_without_a_reload() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = admin(&keel).await?;
    let model_id = model(&keel, &admin, "scoring").await?;
    let today = chrono::Utc::now().date_naive();
    let definition = json!({
        "name": "Manual review rate", "unit": "%", "direction": "lower", "model_id": model_id,
        "baseline": 40.0, "baseline_date": (today - chrono::Duration::days(100)).to_string(),
        "target": 20.0, "target_date": (today + chrono::Duration::days(100)).to_string(), "cadence": "monthly"
    });
    let kpi = send(&keel, admin.post(keel.url("/api/kpis")).json(&definition)).await?;
    let id = kpi["id"].as_str().unwrap_or_default().to_owned();
    let on_track = json!({ "values": [{ "day": today.to_string(), "likely": 26.0, "low": 25.0, "high": 28.0 }] });
    send(&keel, admin.post(keel.url(&format!("/api/kpis/{id}/values"))).json(&on_track)).await?;

    let browser = Browser::start().await?;
    browser.sign_in(&keel.url(&format!("/kpis/{id}")), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text(".kpi-status", "On track").await?;
    let chart = browser.wait_for("img.server-chart").await?;
    let before = chart.attr("src").await?.unwrap_or_default();
    // A marker that a reload would lose.
    browser.client.execute("window.keelMarker = 'kept'; return null;", vec![]).await?;

    let form = browser.wait_for("form.form-grid").await?;
    form.find(fantoccini::Locator::Css("input[name=likely]")).await?.send_keys("35").await?;
    form.find(fantoccini::Locator::Css("input[name=low]")).await?.send_keys("34").await?;
    form.find(fantoccini::Locator::Css("input[name=high]")).await?.send_keys("37").await?;
    form.find(fantoccini::Locator::Css("button[type=submit]")).await?.click().await?;

    browser.wait_for_text(".kpi-status", "Off track").await?;
    browser.wait_for(".light.light-red").await?;
    let after = browser.wait_for("img.server-chart").await?.attr("src").await?.unwrap_or_default();
    anyhow::ensure!(after != before, "the chart was not redrawn: {before} → {after}");
    let marker = browser.client.execute("return window.keelMarker || null;", vec![]).await?;
    anyhow::ensure!(marker == json!("kept"), "the page reloaded");
    let svg = admin.get(keel.url(&after)).send().await?.text().await?;
    anyhow::ensure!(svg.contains("Manual review rate (%)"), "the chart: {svg}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn the_governance_report_prints_to_pdf_with_its_chart_and_no_table_split() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = admin(&keel).await?;
    let this_month = chrono::Utc::now().format("%Y-%m").to_string();
    // Enough models, changes and incidents that the report runs over several A4 pages, each
    // table shorter than a page.
    for index in 0..14 {
        let model_id = model(&keel, &admin, &format!("model-{index:02}")).await?;
        let ledger = format!(
            "month,kind,category,amount,currency,czk_per_unit\n{this_month},cost,development,100000,CZK,1\n{this_month},benefit,cost_reduction,{},CZK,1\n",
            40_000 + index * 10_000
        );
        let response = admin
            .put(keel.url(&format!("/api/models/{model_id}/ledger")))
            .header("origin", keel.url("").trim_end_matches('/'))
            .header("content-type", "text/csv")
            .body(ledger)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "ledger: {}", response.status());
        let body = json!({ "title": format!("Drift {index:02}"), "severity": "sev3", "model": model_id });
        send(&keel, admin.post(keel.url("/api/incidents")).json(&body)).await?;
    }

    let browser = Browser::start().await?;
    browser.sign_in(&keel.url("/reports/governance"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for("input[type=month]").await?;
    browser
        .client
        .execute(
            "const input = document.querySelector('input[type=month]'); input.value = arguments[0]; input.dispatchEvent(new Event('input', { bubbles: true })); return null;",
            vec![json!(this_month)],
        )
        .await?;
    // The ledgers are in crowns (no euro fixing imported): report in CZK.
    browser
        .client
        .find(fantoccini::Locator::XPath("//div[@aria-label='Currency']/button[normalize-space()='CZK']"))
        .await?
        .click()
        .await?;
    browser.wait_for_text(".report-header h1", &format!("Monthly model governance report — {this_month}")).await?;
    browser.wait_for_text(".report td", "INC-14 Drift 13").await?;
    // The chart has loaded before printing.
    browser.client.wait().for_element(fantoccini::Locator::Css(".report-chart img")).await?;
    for _ in 0..50 {
        let loaded = browser
            .client
            .execute(
                "const img = document.querySelector('.report-chart img'); return img.complete && img.naturalWidth > 0;",
                vec![],
            )
            .await?;
        if loaded == json!(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pdf = browser.client.print(PrintConfiguration::default()).await?;
    browser.close().await?;

    let scratch = Scratch::new("keel-e2e-report")?;
    let path = scratch.path().join("report.pdf");
    std::fs::write(&path, &pdf)?;
    let output = Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output()?;
    anyhow::ensure!(output.status.success(), "pdftotext failed (scripts/setup --browser installs poppler-utils)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let pages: Vec<&str> = text.split('\u{c}').filter(|page| !page.trim().is_empty()).collect();
    anyhow::ensure!(pages.len() >= 2, "the report fits one page ({} pages): make it longer", pages.len());
    anyhow::ensure!(text.contains("Monthly model governance report"), "{text}");
    anyhow::ensure!(text.contains("Skutečnost / actual"), "the chart is missing from the PDF: {text}");
    anyhow::ensure!(pages[0].contains("Page 1 of"), "page numbers: {}", pages[0]);
    // Each table's first and last rows are on one page (the models table comes first, so
    // the first mention of a model is its row there).
    for (first, last) in [("model-00", "model-13"), ("INC-1 ", "INC-14")] {
        let page_of = |needle: &str| pages.iter().position(|page| page.contains(needle));
        let (start, end) = (page_of(first), page_of(last));
        anyhow::ensure!(
            start.is_some() && start == end,
            "the table from {first} to {last} is split: pages {start:?} and {end:?}\n{text}"
        );
    }
    Ok(())
}
