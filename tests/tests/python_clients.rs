//! Real client libraries from PyPI push to a running `keel`; the points come back out of
//! the query API with the values they sent. scripts/test creates the virtualenv.

use std::process::Command;

use keel_e2e::{ADMIN_PASSWORD, Keel, workspace_root};
use serde_json::{Value, json};

/// `KEEL_PYTHON`, or the virtualenv scripts/test creates.
fn python() -> std::path::PathBuf {
    std::env::var_os("KEEL_PYTHON")
        .map_or_else(|| workspace_root().join(".venv/clients/bin/python"), std::path::PathBuf::from)
}

#[tokio::test]
async fn prometheus_client_push_to_gateway_lands_in_the_model_series() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin =
        reqwest::Client::builder().cookie_provider(std::sync::Arc::new(reqwest::cookie::Jar::default())).build()?;
    let login =
        admin.post(keel.url("/api/auth/login")).json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }));
    assert_eq!(login.send().await?.status(), 200);
    let origin = keel.base_url.clone();
    let model: Value = admin
        .post(keel.url("/api/models"))
        .header("origin", &origin)
        .json(
            &json!({ "name": "fraud-detection", "owner": "Risk", "use_case": "Stop card fraud", "risk_tier": "high" }),
        )
        .send()
        .await?
        .json()
        .await?;
    let token: Value = admin
        .post(keel.url("/api/tokens"))
        .header("origin", &origin)
        .json(&json!({ "name": "fraud-model-server", "scopes": ["ingest"] }))
        .send()
        .await?
        .json()
        .await?;

    let python = python();
    anyhow::ensure!(python.exists(), "{} is missing: scripts/test creates it", python.display());
    let pushed = Command::new(&python)
        .arg(workspace_root().join("tests/clients/push_prometheus.py"))
        .arg("fraud-detection")
        .env("KEEL_URL", &keel.base_url)
        .env("KEEL_TOKEN", token["token"].as_str().unwrap_or_default())
        .output()?;
    assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));

    let series = |metric: &'static str| {
        let request = admin.get(keel.url(&format!(
            "/api/models/{}/series?metric={metric}&buckets=1",
            model["id"].as_str().unwrap_or_default()
        )));
        async move { request.send().await?.json::<Value>().await }
    };
    let counter = series("predictions_total").await?;
    assert_eq!(counter["buckets"][0]["count"], 1, "{counter}");
    assert_eq!(counter["buckets"][0]["max"], 1027.0);
    let gauge = series("accuracy").await?;
    assert_eq!(gauge["buckets"][0]["max"], 0.914);
    // prometheus_client also sends the counter's creation time as its own series.
    assert_eq!(series("predictions_created").await?["buckets"][0]["count"], 1);
    Ok(())
}
