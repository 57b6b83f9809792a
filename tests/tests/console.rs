//! The console in a real browser against the real `keel` binary.

use fantoccini::Locator;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel};

/// Fills the registration form; `name` decides whether the server accepts it.
async fn fill_model_form(browser: &Browser, name: &str) -> anyhow::Result<()> {
    browser.wait_for("#model-name").await?.send_keys(name).await?;
    browser.client.find(Locator::Css("#model-owner")).await?.send_keys("Retention analytics").await?;
    browser
        .client
        .find(Locator::Css("#model-use-case"))
        .await?
        .send_keys("Target retention offers at likely churners")
        .await?;
    browser.client.find(Locator::Css("input[name=risk_tier][value=limited]")).await?.click().await?;
    browser.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
    Ok(())
}

#[tokio::test]
async fn a_model_registered_in_the_form_is_listed_and_deep_linkable() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/models"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text("h1", "Models").await?;
    browser.wait_for_text(".state-empty h2", "No models yet").await?;

    browser.client.find(Locator::Css("a[href='/models/new']")).await?.click().await?;
    browser.wait_for_text("h1", "Register a model").await?;
    fill_model_form(&browser, "churn-propensity").await?;

    // The console goes to the new model's page.
    browser.wait_for_text("h1", "churn-propensity").await?;
    let model_url = browser.client.current_url().await?;
    assert!(model_url.path().starts_with("/models/0"), "{model_url}");

    browser.client.find(Locator::Css("nav a[href='/models']")).await?.click().await?;
    browser.wait_for_text("table a.table-link", "churn-propensity").await?;
    browser.wait_for_text(".pager span", "1–1 of 1 model").await?;

    // A fresh page load of the deep link: served index.html, routed by the console.
    browser.client.goto("about:blank").await?;
    browser.client.goto(model_url.as_str()).await?;
    browser.wait_for_text("h1", "churn-propensity").await?;
    browser.wait_for_text(".facts dd", "Retention analytics").await?;
    browser.wait_for_text(".facts dd", "Limited risk").await?;
    browser.wait_for_text(".muted", "No versions registered yet.").await?;

    // A version is registered where it serves no traffic, and moved on from there in place;
    // canary and production are reached only through a change request, so never offered here.
    let stages = browser
        .client
        .execute("return [...document.querySelectorAll('#version-stage option')].map(option => option.value);", vec![]);
    assert_eq!(stages.await?, serde_json::json!(["development", "staging", "archived"]));
    browser.client.find(Locator::Css("#version-tag")).await?.send_keys("v1.0.0").await?;
    browser.client.find(Locator::XPath("//button[text()='Register version']")).await?.click().await?;
    browser.wait_for("button[aria-label='Move v1.0.0 to Staging']").await?.click().await?;
    browser.wait_for_text("table[aria-label=Versions] .badge", "Staging").await?;
    let offered = browser.client.execute(
        "return [...document.querySelectorAll('.stage-moves button')].map(button => button.textContent);",
        vec![],
    );
    assert_eq!(offered.await?, serde_json::json!(["Development", "Archived"]));
    if let Ok(path) = std::env::var("KEEL_SCREENSHOT") {
        std::fs::write(path, browser.client.screenshot().await?)?;
    }

    browser.close().await
}

#[tokio::test]
async fn an_invalid_form_shows_the_servers_messages() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/models/new"), "admin", ADMIN_PASSWORD).await?;
    fill_model_form(&browser, "churn model!").await?;
    browser
        .wait_for_text(
            "#model-name-error",
            "may contain only letters, digits, '-', '_' or '.', and must start with a letter or digit",
        )
        .await?;
    browser.wait_for_text(".alert-error strong", "Unprocessable Entity").await?;
    let invalid = browser.client.find(Locator::Css("#model-name")).await?.attr("aria-invalid").await?;
    assert_eq!(invalid.as_deref(), Some("true"));
    let url = browser.client.current_url().await?;
    assert_eq!(url.path(), "/models/new", "an invalid form stays on the page");

    browser.close().await
}

#[tokio::test]
async fn the_demo_fleet_is_shown_and_filterable() -> anyhow::Result<()> {
    let keel = Keel::start("demo")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/models"), "eva.engineer", "keel-engineer-demo").await?;
    browser.wait_for_text("table a.table-link", "credit-risk-scoring").await?;
    browser.wait_for_text(".pager span", "1–7 of 7 models").await?;

    browser.client.find(Locator::Css("select[name=risk_tier]")).await?.select_by_value("high").await?;
    browser.wait_for_text(".pager span", "1–2 of 2 models").await?;
    browser.client.find(Locator::Css("input[name=q]")).await?.send_keys("hiring vacancies").await?;
    browser.wait_for_text(".state-empty h2", "No matching models").await?;
    browser.client.find(Locator::Css(".state-empty button")).await?.click().await?;
    browser.wait_for_text(".pager span", "1–7 of 7 models").await?;

    browser.close().await
}

#[tokio::test]
async fn a_viewer_sees_no_controls_to_change_anything_and_cannot_forge_one() -> anyhow::Result<()> {
    let keel = Keel::start("demo")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/models"), "vera.viewer", "keel-viewer-demo").await?;
    browser.wait_for_text(".user-role", "Viewer").await?;
    browser.wait_for_text("table a.table-link", "credit-risk-scoring").await?;
    assert!(browser.client.find_all(Locator::Css("a[href='/models/new']")).await?.is_empty());
    let nav = browser.client.find(Locator::Css("nav")).await?.text().await?;
    assert_eq!(
        nav.split_whitespace().collect::<Vec<_>>(),
        ["Overview", "Models", "Incidents", "Changes", "Business", "value", "Alert", "rules", "Runbooks"],
        "pages to read only: no audit, users, integrations or tokens"
    );
    browser.client.find(Locator::Css("table a.table-link")).await?.click().await?;
    browser.wait_for(".facts").await?;
    // Only the chart range form: no version form, no thresholds form.
    browser.wait_for(".custom-range").await?;
    let forms = browser.client.find_all(Locator::Css("form:not(.custom-range)")).await?;
    assert!(forms.is_empty(), "no version or thresholds form for a viewer");

    // The same request the hidden form would send, forged from the page, is refused.
    let status = browser
        .client
        .execute_async(
            r#"const done = arguments[0];
               fetch('/api/models', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                 body: JSON.stringify({ name: 'forged', owner: 'x', use_case: 'y', risk_tier: 'high' }) })
                 .then(response => done(response.status));"#,
            vec![],
        )
        .await?;
    assert_eq!(status, serde_json::json!(403));

    browser.client.find(Locator::Css(".user-menu button")).await?.click().await?;
    browser.wait_for("#login-username").await?;
    browser.close().await
}

#[tokio::test]
async fn an_admin_creates_a_token_and_sees_it_once() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/tokens"), "admin", ADMIN_PASSWORD).await?;
    browser.wait_for_text("h1", "API tokens").await?;
    browser.wait_for_text(".muted", "No API tokens yet.").await?;
    browser.wait_for("#token-name").await?.send_keys("fraud-model-server").await?;
    browser.client.find(Locator::Css("form button[type=submit]")).await?.click().await?;
    let secret = browser.wait_for("#new-token-secret").await?.text().await?;
    assert!(secret.starts_with("keel_") && secret.len() == 69, "{secret}");
    browser.wait_for_text("table td", "fraud-model-server").await?;

    // The secret works as a bearer token...
    let status = browser
        .client
        .execute_async(
            "const [token, done] = arguments;
             fetch('/api/auth/me', { headers: { Authorization: 'Bearer ' + token }, credentials: 'omit' })
               .then(response => done(response.status));",
            vec![serde_json::json!(secret)],
        )
        .await?;
    assert_eq!(status, serde_json::json!(200));
    // ...and is not shown again after a reload.
    browser.client.refresh().await?;
    browser.wait_for_text("table td", "fraud-model-server").await?;
    let page = browser.client.find(Locator::Css("main")).await?.text().await?;
    assert!(!page.contains(&secret), "the secret is gone after reload");
    assert!(page.contains(&secret[..11]), "only its prefix is listed");

    browser.close().await
}

#[tokio::test]
async fn the_first_administrator_is_set_up_through_the_printed_link() -> anyhow::Result<()> {
    let keel = Keel::start_with_admin_password("serve", "")?;
    let setup_url = keel.setup_url.clone().expect("keel printed a setup link");
    let browser = Browser::start().await?;

    browser.client.goto(&setup_url).await?;
    browser.wait_for_text("h1", "Set up Keel").await?;
    browser.wait_for("#setup-password").await?.send_keys("short").await?;
    browser.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
    browser.wait_for_text("#setup-password-error", "must be at least 12 characters").await?;
    browser.client.find(Locator::Css("#setup-password")).await?.send_keys("-and-now-long-enough").await?;
    browser.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
    browser.wait_for_text("h1", "Models").await?;
    browser.wait_for_text(".user-role", "Admin").await?;

    // The link works once.
    browser.client.find(Locator::Css(".user-menu button")).await?.click().await?;
    browser.client.goto(&setup_url).await?;
    browser.wait_for("#setup-password").await?.send_keys("yet-another-password").await?;
    browser.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
    browser.wait_for_text(".alert-error", "Keel already has an administrator: sign in instead").await?;
    browser.close().await
}

#[tokio::test]
async fn the_model_page_charts_the_models_telemetry() -> anyhow::Result<()> {
    let keel = Keel::start("demo")?;
    let browser = Browser::start().await?;

    browser.sign_in(&keel.url("/models"), "eva.engineer", "keel-engineer-demo").await?;
    browser.wait_for_text("table a.table-link", "churn-propensity").await?;
    browser.client.find(Locator::LinkText("churn-propensity")).await?.click().await?;
    browser.wait_for_text("h2", "Health").await?;
    // The demo's 24 hours of latency: three quantile lines and a latest value.
    browser.wait_for(".chart-svg svg").await?;
    let latency = browser.client.find(Locator::Css(".chart")).await?;
    let caption = latency.find(Locator::Css(".chart-latest")).await?.text().await?;
    assert!(caption.starts_with("Latest p50: ") && caption.ends_with(" ms"), "{caption}");
    let legend = latency.find(Locator::Css(".chart-legend")).await?.text().await?;
    assert_eq!(legend.split_whitespace().collect::<Vec<_>>(), ["p50", "p95", "p99"]);

    // Pointing at the chart reads out the values under the pointer.
    browser
        .client
        .execute(
            r#"const chart = document.querySelector('.chart-svg');
               const box = chart.getBoundingClientRect();
               chart.dispatchEvent(new MouseEvent('mousemove',
                 { clientX: box.left + box.width * 0.8, clientY: box.top + box.height / 2, bubbles: true }));"#,
            vec![],
        )
        .await?;
    let readout = latency.find(Locator::Css(".chart-readout")).await?.text().await?;
    assert!(readout.contains(" UTC: p50 ") && readout.contains(" ms, p95 ") && readout.ends_with(" ms"), "{readout}");

    // The range fields show the range on screen: the 24-hour preset, then the 1-hour one.
    let shown_minutes = || async {
        let fields = browser
            .client
            .execute(
                "return ['from', 'to'].map(name => document.querySelector(`.custom-range input[name=${name}]`).value);",
                vec![],
            )
            .await?;
        let parse = |index: usize| {
            chrono::NaiveDateTime::parse_from_str(fields[index].as_str().unwrap_or_default(), "%Y-%m-%dT%H:%M")
        };
        anyhow::Ok((parse(1)? - parse(0)?).num_minutes())
    };
    assert_eq!(shown_minutes().await?, 24 * 60);
    browser
        .client
        .execute("[...document.querySelectorAll('button')].find(b => b.textContent === '1h').click();", vec![])
        .await?;
    let mut minutes = shown_minutes().await?;
    for _ in 0..50 {
        if minutes == 60 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        minutes = shown_minutes().await?;
    }
    assert_eq!(minutes, 60, "the fields follow the chosen preset");

    // A custom range before any telemetry: every chart says so.
    browser
        .client
        .execute(
            r#"for (const [name, value] of [['from', '2020-01-01T00:00'], ['to', '2020-01-02T00:00']]) {
                 const input = document.querySelector(`.custom-range input[name=${name}]`);
                 input.value = value;
                 input.dispatchEvent(new Event('input', { bubbles: true }));
               }
               document.querySelector('.custom-range button').click();"#,
            vec![],
        )
        .await?;
    browser.wait_for_text(".chart-empty", "No data in this range.").await?;

    // A model without telemetry says so instead of drawing an empty chart.
    browser.client.find(Locator::Css(".breadcrumb a")).await?.click().await?;
    browser.wait_for_text("table a.table-link", "cv-screening-assistant").await?;
    browser.client.find(Locator::LinkText("cv-screening-assistant")).await?.click().await?;
    browser.wait_for_text(".chart-empty", "No data in this range.").await?;
    browser.close().await
}
