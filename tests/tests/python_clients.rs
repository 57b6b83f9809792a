//! Real client libraries from PyPI push to a running `keel`; the points come back out of
//! the query API with the values they sent. scripts/test creates the virtualenvs.

use std::path::PathBuf;
use std::process::Command;

use keel_e2e::{ADMIN_PASSWORD, Keel, workspace_root};
use serde_json::{Value, json};

/// A running keel with one model and an `ingest` token for it.
struct Fixture {
    keel: Keel,
    admin: reqwest::Client,
    model_id: String,
    token: String,
}

impl Fixture {
    async fn start(model: &str) -> anyhow::Result<Self> {
        let keel = Keel::start("serve")?;
        let admin =
            reqwest::Client::builder().cookie_provider(std::sync::Arc::new(reqwest::cookie::Jar::default())).build()?;
        let login =
            admin.post(keel.url("/api/auth/login")).json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }));
        anyhow::ensure!(login.send().await?.status() == 200, "admin sign-in failed");
        let origin = keel.base_url.clone();
        let created: Value = admin
            .post(keel.url("/api/models"))
            .header("origin", &origin)
            .json(&json!({ "name": model, "owner": "Risk", "use_case": "Stop card fraud", "risk_tier": "high" }))
            .send()
            .await?
            .json()
            .await?;
        let token: Value = admin
            .post(keel.url("/api/tokens"))
            .header("origin", &origin)
            .json(&json!({ "name": "model-server", "scopes": ["ingest"] }))
            .send()
            .await?
            .json()
            .await?;
        Ok(Self {
            model_id: created["id"].as_str().unwrap_or_default().to_owned(),
            token: token["token"].as_str().unwrap_or_default().to_owned(),
            keel,
            admin,
        })
    }

    /// Runs `tests/clients/<script>` with the virtualenv's Python (`KEEL_PYTHON` overrides
    /// the protobuf/Prometheus one).
    fn run_client(&self, venv: &str, script: &str, args: &[&str]) -> anyhow::Result<()> {
        let python = match std::env::var_os("KEEL_PYTHON") {
            Some(python) if venv == "clients" => PathBuf::from(python),
            _ => workspace_root().join(".venv").join(venv).join("bin/python"),
        };
        anyhow::ensure!(python.exists(), "{} is missing: scripts/test creates it", python.display());
        let output = Command::new(&python)
            .arg(workspace_root().join("tests/clients").join(script))
            .args(args)
            .env("KEEL_URL", &self.keel.base_url)
            .env("KEEL_TOKEN", &self.token)
            .output()?;
        anyhow::ensure!(output.status.success(), "{script} failed: {}", String::from_utf8_lossy(&output.stderr));
        Ok(())
    }

    /// The metric's last hour in one bucket.
    async fn bucket(&self, metric: &str) -> anyhow::Result<Value> {
        let path = format!("/api/models/{}/series?metric={metric}&buckets=1", self.model_id);
        let series: Value = self.admin.get(self.keel.url(&path)).send().await?.json().await?;
        Ok(series["buckets"][0].clone())
    }
}

#[tokio::test]
async fn prometheus_client_push_to_gateway_lands_in_the_model_series() -> anyhow::Result<()> {
    let fixture = Fixture::start("fraud-detection").await?;
    fixture.run_client("clients", "push_prometheus.py", &["fraud-detection"])?;

    let counter = fixture.bucket("predictions_total").await?;
    assert_eq!(counter["count"], 1, "{counter}");
    assert_eq!(counter["max"], 1027.0);
    assert_eq!(fixture.bucket("accuracy").await?["max"], 0.914);
    // prometheus_client also sends the counter's creation time as its own series.
    assert_eq!(fixture.bucket("predictions_created").await?["count"], 1);
    Ok(())
}

/// What `export_otlp.py` records: a counter (5 + 7), a histogram (12, 30, 48) and a
/// gauge (0.931), then flushes and shuts down, which sends the cumulative data twice.
async fn assert_otlp_export_stored(fixture: &Fixture) -> anyhow::Result<()> {
    let predictions = fixture.bucket("predictions").await?;
    assert_eq!(predictions["max"], 12.0, "{predictions}");
    assert_eq!(predictions["min"], 12.0, "the cumulative total is stored as read, never added up: {predictions}");
    assert_eq!(fixture.bucket("latency_ms_count").await?["max"], 3.0);
    assert_eq!(fixture.bucket("latency_ms_sum").await?["max"], 90.0);
    assert_eq!(fixture.bucket("latency_ms_max").await?["max"], 48.0);
    assert_eq!(fixture.bucket("accuracy").await?["max"], 0.931);
    Ok(())
}

#[tokio::test]
async fn opentelemetry_sdk_protobuf_exporter_lands_in_the_model_series() -> anyhow::Result<()> {
    let fixture = Fixture::start("churn-propensity").await?;
    fixture.run_client("clients", "export_otlp.py", &["protobuf", "churn-propensity"])?;
    assert_otlp_export_stored(&fixture).await
}

#[tokio::test]
async fn opentelemetry_sdk_json_exporter_lands_in_the_model_series() -> anyhow::Result<()> {
    let fixture = Fixture::start("churn-propensity").await?;
    fixture.run_client("clients-json", "export_otlp.py", &["json", "churn-propensity"])?;
    assert_otlp_export_stored(&fixture).await
}
