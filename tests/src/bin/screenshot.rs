//! Takes the README's screenshot: `keel demo` on a fresh store, signed in as the
//! administrator, a console page in headless Chromium, saved as a PNG.
//!
//! Usage: `cargo run -p keel-e2e --bin screenshot -- [PATH] [CONSOLE-PATH | model:NAME | drift:NAME[#ID]]`
//! (defaults: `docs/screenshot.png`, the overview `/`; `drift:NAME[#ID]` for a model's drift page, scrolled to ID;
//! `/PATH#ID` scrolls a page to the element with that id).
//! `KEEL_SCREENSHOT_USER` and `KEEL_SCREENSHOT_PASSWORD` sign in as another demo user
//! (default: the administrator). Needs the `keel` binary and `dist/` built.

use anyhow::Context;
use keel_e2e::{ADMIN_PASSWORD, Browser, Keel, workspace_root};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let output = args.next().map_or_else(|| workspace_root().join("docs/screenshot.png"), Into::into);
    let page = args.next().unwrap_or_else(|| "/".to_owned());
    let username = std::env::var("KEEL_SCREENSHOT_USER").unwrap_or_else(|_| "admin".into());
    let password = std::env::var("KEEL_SCREENSHOT_PASSWORD").unwrap_or_else(|_| ADMIN_PASSWORD.into());
    let keel = Keel::start("demo")?;
    let browser = Browser::start().await?;
    // `model:<name>` opens that model's page from the list; `drift:<name>` its drift page.
    // `drift:<name>#<id>` scrolls to the element with that id.
    if let Some(target) = page.strip_prefix("drift:") {
        let (name, anchor) = target.split_once('#').unwrap_or((target, ""));
        browser.sign_in(&keel.url("/models"), "admin", ADMIN_PASSWORD).await?;
        browser.wait_for_text("table a.table-link", name).await?;
        browser.client.find(fantoccini::Locator::LinkText(name)).await?.click().await?;
        browser.client.find(fantoccini::Locator::LinkText("Drift and data quality")).await?.click().await?;
        browser.wait_for(".chart-svg svg").await?;
        if !anchor.is_empty() {
            browser.client.execute(&format!("document.getElementById('{anchor}').scrollIntoView();"), vec![]).await?;
        }
    }
    match page.strip_prefix("model:") {
        Some(name) => {
            browser.sign_in(&keel.url("/models"), "admin", ADMIN_PASSWORD).await?;
            browser.wait_for_text("table a.table-link", name).await?;
            browser.client.find(fantoccini::Locator::LinkText(name)).await?.click().await?;
            browser.wait_for(".chart-svg svg").await?;
            // The charts, not the facts above them.
            browser.client.execute("document.getElementById('health-heading').scrollIntoView();", vec![]).await?;
        }
        None if page.starts_with("drift:") => {}
        None => {
            let (path, _) = page.split_once('#').unwrap_or((&page, ""));
            browser.sign_in(&keel.url(path), &username, &password).await?;
        }
    }
    // Every page ends loading with its heading and no loading indicator.
    browser.wait_for("main h1").await?;
    browser.wait_for_gone(".state-loading").await?;
    if let Some((_, anchor)) = page.split_once('#').filter(|_| !page.starts_with("drift:")) {
        browser.wait_for(&format!("#{anchor}")).await?;
        browser.client.execute(&format!("document.getElementById('{anchor}').scrollIntoView();"), vec![]).await?;
    }
    let png = browser.client.screenshot().await?;
    std::fs::write(&output, png).with_context(|| format!("cannot write {}", output.display()))?;
    println!("Saved {}", output.display());
    browser.close().await
}
