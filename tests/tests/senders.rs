//! Real alert senders open and close incidents in a running `keel`: Debian's
//! `prometheus-alertmanager` with a webhook receiver pointed at Keel, and PyPI's
//! `pagerduty` client (`EventsApiV2Client` with `base_url` set to Keel behind TLS).
//! scripts/setup installs Alertmanager and socat; scripts/test creates the Python virtualenv.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keel_e2e::{ADMIN_PASSWORD, Keel, Scratch, workspace_root};
use serde_json::{Value, json};

/// A signed-in admin client of `keel` that sends Keel's own `Origin`.
async fn admin(keel: &Keel) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", keel.base_url.parse()?);
    let client = reqwest::Client::builder()
        .cookie_provider(std::sync::Arc::new(reqwest::cookie::Jar::default()))
        .default_headers(headers)
        .build()?;
    let login =
        client.post(keel.url("/api/auth/login")).json(&json!({ "username": "admin", "password": ADMIN_PASSWORD }));
    anyhow::ensure!(login.send().await?.status() == 200, "admin sign-in failed");
    Ok(client)
}

async fn post(client: &reqwest::Client, keel: &Keel, path: &str, body: &Value) -> anyhow::Result<Value> {
    let response = client.post(keel.url(path)).json(body).send().await?;
    anyhow::ensure!(response.status().is_success(), "POST {path}: {}", response.status());
    Ok(response.json().await?)
}

async fn incidents(client: &reqwest::Client, keel: &Keel) -> anyhow::Result<Vec<Value>> {
    let body: Value = client.get(keel.url("/api/incidents")).send().await?.json().await?;
    Ok(body["items"].as_array().cloned().unwrap_or_default())
}

/// Polls the incident list until `check` finds what it waits for (at most 60 s).
async fn wait_for(
    client: &reqwest::Client,
    keel: &Keel,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> anyhow::Result<Vec<Value>> {
    for _ in 0..600 {
        let list = incidents(client, keel).await?;
        if check(&list) {
            return Ok(list);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

async fn timeline_of(client: &reqwest::Client, keel: &Keel, id: &str) -> anyhow::Result<Vec<String>> {
    let detail: Value = client.get(keel.url(&format!("/api/incidents/{id}"))).send().await?.json().await?;
    Ok(detail["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| entry["text"].as_str().unwrap_or_default().to_owned())
        .collect())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Debian's Alertmanager on a free loopback port, sending every notification to Keel.
struct Alertmanager {
    child: Child,
    url: String,
    _data: Scratch,
}

impl Alertmanager {
    fn start(keel: &Keel, key: &str) -> anyhow::Result<Self> {
        let data = Scratch::new("keel-e2e-alertmanager")?;
        let config = format!(
            "route:\n  receiver: keel\n  group_by: ['alertname', 'model_id']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: keel\n    webhook_configs:\n      - url: {}/api/integrations/alertmanager\n        send_resolved: true\n\
             \x20       http_config:\n          authorization:\n            credentials: {key}\n",
            keel.base_url
        );
        std::fs::write(data.path().join("alertmanager.yml"), config)?;
        let port = free_port()?;
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", data.path().join("alertmanager.yml").display()))
            .arg(format!("--storage.path={}", data.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                anyhow::anyhow!("cannot start prometheus-alertmanager ({error}): scripts/setup installs it")
            })?;
        Ok(Self { child, url: format!("http://127.0.0.1:{port}"), _data: data })
    }

    /// Posts an alert to Alertmanager's own API, as Prometheus would.
    async fn send(&self, ends_now: bool) -> anyhow::Result<()> {
        let now = chrono::Utc::now();
        let mut alert = json!({
            "labels": { "alertname": "ChurnScoresStale", "model_id": "churn-propensity", "severity": "warning" },
            "annotations": { "summary": "Churn scores are stale" },
            "startsAt": (now - chrono::Duration::minutes(5)).to_rfc3339(),
        });
        if ends_now {
            alert["endsAt"] = json!(now.to_rfc3339());
        }
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(response) = client.post(format!("{}/api/v2/alerts", self.url)).json(&json!([alert])).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("Alertmanager did not accept the alert")
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_alert_sent_to_alertmanager_opens_an_incident_and_its_resolution_closes_it() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = admin(&keel).await?;
    post(
        &admin,
        &keel,
        "/api/models",
        &json!({ "name": "churn-propensity", "owner": "CRM", "use_case": "Keep customers", "risk_tier": "limited" }),
    )
    .await?;
    let integration =
        post(&admin, &keel, "/api/integrations", &json!({ "name": "prod alertmanager", "kind": "alertmanager" }))
            .await?;
    let alertmanager = Alertmanager::start(&keel, integration["key"].as_str().unwrap_or_default())?;

    alertmanager.send(false).await?;
    let open =
        wait_for(&admin, &keel, "the incident", |list| list.iter().any(|incident| incident["status"] == "triage"))
            .await?;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["title"], "Churn scores are stale on churn-propensity");
    assert_eq!(open[0]["model_name"], "churn-propensity");
    assert_eq!(open[0]["severity"], "sev3");
    assert_eq!(open[0]["source"], "alertmanager");

    alertmanager.send(true).await?;
    let resolved =
        wait_for(&admin, &keel, "the resolution", |list| list.iter().any(|incident| incident["status"] == "resolved"))
            .await?;
    let id = resolved[0]["id"].as_str().unwrap_or_default();
    let timeline = timeline_of(&admin, &keel, id).await?;
    assert!(timeline.iter().any(|text| text == "Alertmanager: ChurnScoresStale resolved"), "{timeline:?}");
    Ok(())
}

/// HTTPS in front of Keel, as a deployment puts it (PagerDuty's client accepts only an
/// https:// base URL): `socat` terminating TLS with a certificate made by `openssl` for
/// 127.0.0.1, which the client trusts through `SSL_CERT_FILE`.
struct TlsProxy {
    child: Child,
    url: String,
    certificate: std::path::PathBuf,
    _files: Scratch,
}

impl TlsProxy {
    fn start(keel: &Keel) -> anyhow::Result<Self> {
        let files = Scratch::new("keel-e2e-tls")?;
        let (certificate, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&certificate)
            .stderr(Stdio::null())
            .status()?;
        anyhow::ensure!(made.success(), "openssl could not make a certificate");
        let port = free_port()?;
        let upstream = keel.base_url.trim_start_matches("http://");
        let child = Command::new("socat")
            .arg(format!(
                "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}",
                certificate.display(),
                key.display()
            ))
            .arg(format!("TCP:{upstream}"))
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| anyhow::anyhow!("cannot start socat ({error}): scripts/setup installs it"))?;
        let proxy = Self { child, url: format!("https://127.0.0.1:{port}"), certificate, _files: files };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(proxy);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("socat did not listen")
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pagerduty(proxy: &TlsProxy, key: &str, step: &str) -> anyhow::Result<Vec<String>> {
    pagerduty_with(proxy, key, &[step])
}

fn pagerduty_with(proxy: &TlsProxy, key: &str, args: &[&str]) -> anyhow::Result<Vec<String>> {
    let step = args[0];
    let python = workspace_root().join(".venv/clients/bin/python");
    anyhow::ensure!(python.exists(), "{} is missing: scripts/test creates it", python.display());
    let output = Command::new(&python)
        .arg(workspace_root().join("tests/clients/pagerduty_events.py"))
        .arg(key)
        .args(args)
        .env("KEEL_URL", &proxy.url)
        .env("SSL_CERT_FILE", &proxy.certificate)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "pagerduty_events.py {step} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.lines().map(str::to_owned).collect())
}

#[tokio::test]
async fn the_pagerduty_client_triggers_acknowledges_and_resolves_by_dedup_key() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = admin(&keel).await?;
    post(
        &admin,
        &keel,
        "/api/models",
        &json!({ "name": "churn-propensity", "owner": "CRM", "use_case": "Keep customers", "risk_tier": "limited" }),
    )
    .await?;
    let integration = post(&admin, &keel, "/api/integrations", &json!({ "name": "pd", "kind": "pagerduty" })).await?;
    let key = integration["key"].as_str().unwrap_or_default().to_owned();
    let proxy = TlsProxy::start(&keel)?;

    assert_eq!(pagerduty(&proxy, &key, "trigger-twice")?, ["churn-stale", "churn-stale"]);
    let list = incidents(&admin, &keel).await?;
    assert_eq!(list.len(), 1, "the second trigger attaches to the first incident");
    assert_eq!(list[0]["severity"], "sev2", "PagerDuty's error is SEV2");
    assert_eq!(list[0]["status"], "triage");

    assert_eq!(pagerduty(&proxy, &key, "acknowledge")?, ["churn-stale"]);
    assert_eq!(incidents(&admin, &keel).await?[0]["status"], "investigating");

    assert_eq!(pagerduty(&proxy, &key, "resolve-other")?, ["churn-latency", "churn-latency"]);
    let list = incidents(&admin, &keel).await?;
    let statuses: Vec<&str> = list.iter().map(|incident| incident["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(statuses, ["resolved", "investigating"], "newest first: the unacknowledged one resolved by its sender");
    Ok(())
}

/// PagerDuty Change Events from the PyPI client, as CI/CD pipelines send deployments: one
/// that an implemented change covers lands on that change's timeline; one no change
/// covers is flagged as an unauthorised change and opens an incident.
#[tokio::test]
async fn the_pagerduty_client_reports_deployments_covered_or_unauthorised() -> anyhow::Result<()> {
    let keel = Keel::start("serve")?;
    let admin = admin(&keel).await?;
    let body = json!({ "name": "pricing", "owner": "Sales", "use_case": "Quote prices", "risk_tier": "minimal" });
    let model = post(&admin, &keel, "/api/models", &body).await?;
    let model_id = model["id"].as_str().unwrap_or_default().to_owned();
    post(&admin, &keel, &format!("/api/models/{model_id}/versions"), &json!({ "tag": "v1", "stage": "staging" }))
        .await?;
    let emergency = json!({ "kind": "promotion", "type": "emergency", "model_id": model_id, "version": "v1", "title": "Hotfix v1" });
    let change = post(&admin, &keel, "/api/changes", &emergency).await?;
    let change_id = change["id"].as_str().unwrap_or_default().to_owned();
    post(&admin, &keel, &format!("/api/changes/{change_id}/transitions"), &json!({ "to": "implemented" })).await?;
    let integration = post(&admin, &keel, "/api/integrations", &json!({ "name": "ci", "kind": "pagerduty" })).await?;
    let key = integration["key"].as_str().unwrap_or_default().to_owned();
    let proxy = TlsProxy::start(&keel)?;

    assert_eq!(pagerduty_with(&proxy, &key, &["change", "pricing", "v1"])?, ["submitted"]);
    let detail: Value = admin.get(keel.url(&format!("/api/changes/{change_id}"))).send().await?.json().await?;
    let timeline = detail["timeline"].as_array().cloned().unwrap_or_default();
    assert!(
        timeline.iter().any(|entry| entry["kind"] == "deployment"
            && entry["text"] == "Deployment reported by gitlab-ci: Deployed pricing v1"),
        "{timeline:?}"
    );

    assert_eq!(pagerduty_with(&proxy, &key, &["change", "pricing", "v7"])?, ["submitted"]);
    let deployments: Value =
        admin.get(keel.url(&format!("/api/models/{model_id}/deployments"))).send().await?.json().await?;
    assert_eq!(deployments[0]["version"], "v7");
    assert_eq!(deployments[0]["change_id"], Value::Null, "no change covers v7");
    assert_eq!(deployments[1]["change_id"], json!(change_id));
    let list = incidents(&admin, &keel).await?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["title"], "Unauthorised change: pricing v7 deployed without an implemented change");
    Ok(())
}
