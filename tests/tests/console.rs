//! The console in a real browser against the real `keel` binary.

use fantoccini::Locator;
use keel_e2e::{Browser, Keel};

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

    browser.client.goto(&keel.url("/")).await?;
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
    browser.wait_for_text(".muted", "No versions registered yet. Register the first one below.").await?;

    browser.close().await
}

#[tokio::test]
async fn an_invalid_form_shows_the_servers_messages() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let browser = Browser::start().await?;

    browser.client.goto(&keel.url("/models/new")).await?;
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

    browser.client.goto(&keel.url("/models")).await?;
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
