//! The loopback load generator for issue 4's goals: starts Keel in this process on
//! 127.0.0.1 with a fresh SQLite store and drives it over HTTP like model servers and
//! a browser would.
//!
//! 1. Sustained durable OTLP/protobuf ingest, in several request shapes.
//! 2. A 500-bucket, 30-day series query over one series holding 10 M raw points.
//! 3. Ingest-to-subscriber latency: a point sent to `/api/ingest` until its `points`
//!    event arrives on `/api/live`.
//! 4. Breach-to-console latency: a point that breaches an alert rule (`for: 0`) sent to
//!    `/api/ingest` until the incident it opens arrives on `/api/live`.
//! 5. Change approval: two approvers approve a promotion (the second approval meets the
//!    policy and approves it), then an engineer implements it, moving the registry.
//! 6. The stakeholder page (`GET /api/stakeholder`) over 200 models × 36 months of ledger
//!    and 10 KPIs each.
//!
//! `cargo bench -p keel-backend --bench load` (add `-- --quick` for a smaller run).
//! Request bodies are encoded before the clock starts, so the 2 cores go to the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keel_backend::Application;
use keel_backend::config::Settings;
use keel_backend::ingest::otlp::messages::{
    AnyValue, ExportMetricsServiceRequest, Gauge, KeyValue, Metric, MetricData, NumberDataPoint, NumberValue, Resource,
    ResourceMetrics, ScopeMetrics, Value,
};
use prost::Message;
use serde_json::json;

/// As in the `keel` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSWORD: &str = "load-admin-password";
const DAY_MILLIS: i64 = 86_400_000;

/// Concurrent requests in flight, as several exporters would send.
const CONCURRENCY: usize = 8;

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(quick))
}

struct Target {
    base: String,
    admin: reqwest::Client,
    ingest: reqwest::Client,
}

async fn run(quick: bool) -> anyhow::Result<()> {
    let directory = std::env::temp_dir().join(format!("keel-load-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let settings = Settings {
        addr: "127.0.0.1:0".parse()?,
        data_dir: directory.join("data"),
        database_url: None,
        dist_dir: directory.join("dist"),
        secure_cookies: false,
        admin_password: Some(PASSWORD.into()),
        ..Default::default()
    };
    let application = Application::build(settings).await?;
    let base = format!("http://{}", application.local_addr());
    let store = application.store().clone();
    tokio::spawn(application.run_until_stopped());
    let target = connect(base).await?;

    println!("| measurement | result |\n|---|---|");
    let shapes: &[(usize, usize, usize)] = if quick {
        &[(1_000, 10, 50), (10_000, 100, 20)]
    } else {
        // (points per request, series per request, requests)
        &[(1_000, 10, 1_000), (10_000, 100, 200), (10_000, 10_000, 100)]
    };
    for (index, &(points, series, requests)) in shapes.iter().enumerate() {
        let model = format!("ingest-{index}");
        create_model(&target, &model).await?;
        let start = chrono::Utc::now().timestamp_millis() - 40 * DAY_MILLIS;
        let bodies = (0..requests).map(|request| otlp_body(&model, start, request, points, series)).collect();
        let (elapsed, sent) = send_all(&target, bodies).await?;
        println!(
            "| OTLP protobuf ingest, {points} points/request over {series} series, {requests} requests, {CONCURRENCY} in flight | **{:.0} k points/s** ({:.1} s) |",
            sent as f64 / elapsed.as_secs_f64() / 1000.0,
            elapsed.as_secs_f64()
        );
    }

    let raw_points = if quick { 1_000_000 } else { 10_000_000 };
    let model_id = create_model(&target, "query").await?;
    let now = chrono::Utc::now().timestamp_millis();
    let from = now - 30 * DAY_MILLIS;
    let step = (30 * DAY_MILLIS) / raw_points as i64;
    let bodies: Vec<Vec<u8>> = (0..raw_points / 10_000)
        .map(|request| {
            let points = (0..10_000).map(|i| {
                let n = (request * 10_000 + i) as i64;
                (from + n * step, 20.0 + (n % 97) as f64)
            });
            one_series_body("query", points)
        })
        .collect();
    let (elapsed, _) = send_all(&target, bodies).await?;
    println!(
        "| loading {} M raw points into one series over 30 days (10k/request) | {:.0} k points/s ({:.1} s) |",
        raw_points / 1_000_000,
        raw_points as f64 / elapsed.as_secs_f64() / 1000.0,
        elapsed.as_secs_f64()
    );
    // Steady state: the upkeep task has rolled the loaded hours up (it runs every 5 s).
    keel_backend::ingest::upkeep::roll_up(&store).await;
    let query = format!(
        "{}/api/models/{model_id}/series?metric=latency_ms&buckets=500&from={}&to={}",
        target.base,
        chrono::DateTime::from_timestamp_millis(from).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ"),
        chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ"),
    );
    let mut timings = Vec::new();
    for _ in 0..if quick { 50 } else { 300 } {
        let started = Instant::now();
        let response = target.admin.get(&query).send().await?;
        anyhow::ensure!(response.status() == 200, "query answered {}", response.status());
        let body: serde_json::Value = response.json().await?;
        timings.push(started.elapsed());
        anyhow::ensure!(body["buckets"].as_array().map(Vec::len) == Some(500), "500 buckets");
    }
    println!(
        "| 500-bucket query over 30 days of one series ({} M raw points) | {} |",
        raw_points / 1_000_000,
        percentiles(&mut timings)
    );

    let mut latencies = live_latency(&target, if quick { 100 } else { 1000 }).await?;
    println!("| ingest → `points` event on /api/live, one point per request | {} |", percentiles(&mut latencies));
    let mut breaches = breach_latency(&target, if quick { 20 } else { 100 }).await?;
    println!("| breaching point → its incident on /api/live (rule with `for: 0`) | {} |", percentiles(&mut breaches));
    let (mut approvals, mut implementations) = change_latency(&target, if quick { 50 } else { 300 }).await?;
    println!("| `POST /api/changes/{{id}}/approvals`, approving a promotion | {} |", percentiles(&mut approvals));
    println!(
        "| `POST /api/changes/{{id}}/transitions` to implemented: registry move, change, audit, event | {} |",
        percentiles(&mut implementations)
    );
    let mut pages = stakeholder_latency(&target, if quick { 30 } else { 100 }).await?;
    println!(
        "| `GET /api/stakeholder`, 200 models × 36 months of ledger, 10 KPIs each | {} |",
        percentiles(&mut pages)
    );
    std::fs::remove_dir_all(&directory)?;
    Ok(())
}

/// Loads 200 models with 36 months of ledger (five lines, three with ranges) and 10 KPIs
/// of 12 values each, then times the stakeholder page.
async fn stakeholder_latency(target: &Target, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    for model in 0..200 {
        let id = create_model(target, &format!("value-{model:03}")).await?;
        let mut csv = String::from("month,kind,category,amount,currency,czk_per_unit,low,high\n");
        for offset in 0..36 {
            let month = format!("{:04}-{:02}", 2024 + offset / 12, offset % 12 + 1);
            if offset == 0 {
                csv.push_str(&format!("{month},cost,development,2000000,CZK,1,,\n"));
            }
            csv.push_str(&format!("{month},cost,compute,1600,EUR,25.1,,\n"));
            csv.push_str(&format!("{month},cost,personnel,60000,CZK,1,50000,80000\n"));
            csv.push_str(&format!("{month},benefit,cost_reduction,120000,CZK,1,60000,150000\n"));
            csv.push_str(&format!("{month},benefit,revenue_increase,2000,EUR,25.1,0,3600\n"));
        }
        let response = target
            .admin
            .put(format!("{}/api/models/{id}/ledger", target.base))
            .header("origin", &target.base)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "ledger: {}", response.status());
        for kpi in 0..10 {
            let definition = json!({
                "name": format!("KPI {kpi}"), "unit": "%", "direction": "higher", "model_id": id,
                "baseline": 10.0, "baseline_date": "2024-01-01", "target": 50.0, "target_date": "2027-01-01"
            });
            let created = post(target, &target.admin, "/api/kpis", &definition).await?;
            let values: Vec<serde_json::Value> = (0..12)
                .map(|month| json!({ "day": format!("2025-{:02}-28", month + 1), "likely": 20.0 + month as f64, "low": 18.0, "high": 40.0 }))
                .collect();
            let kpi_id = created["id"].as_str().unwrap_or_default();
            post(target, &target.admin, &format!("/api/kpis/{kpi_id}/values"), &json!({ "values": values })).await?;
        }
    }
    let url = format!("{}/api/stakeholder?currency=CZK&months=36", target.base);
    // The first answer after a change reads and computes the business data again; the
    // answers after it reuse that copy until the next change.
    let started = Instant::now();
    anyhow::ensure!(target.admin.get(&url).send().await?.status() == 200, "stakeholder failed");
    println!(
        "| `GET /api/stakeholder`, first answer after a change | {:.0} ms |",
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut timings = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let response = target.admin.get(&url).send().await?;
        anyhow::ensure!(response.status() == 200, "stakeholder answered {}", response.status());
        let body: serde_json::Value = response.json().await?;
        timings.push(started.elapsed());
        anyhow::ensure!(body["models"].as_array().map(Vec::len) == Some(200), "200 models shown");
    }
    Ok(timings)
}

async fn connect(base: String) -> anyhow::Result<Target> {
    let admin = reqwest::Client::builder().cookie_store(true).build()?;
    let login =
        admin.post(format!("{base}/api/auth/login")).json(&json!({ "username": "admin", "password": PASSWORD }));
    anyhow::ensure!(login.send().await?.status() == 200, "sign-in failed");
    let token: serde_json::Value = admin
        .post(format!("{base}/api/tokens"))
        .header("origin", &base)
        .json(&json!({ "name": "load", "scopes": ["ingest"] }))
        .send()
        .await?
        .json()
        .await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {}", token["token"].as_str().unwrap_or_default()).parse()?);
    let ingest = reqwest::Client::builder().default_headers(headers).build()?;
    Ok(Target { base, admin, ingest })
}

async fn create_model(target: &Target, name: &str) -> anyhow::Result<String> {
    let created: serde_json::Value = target
        .admin
        .post(format!("{}/api/models", target.base))
        .header("origin", &target.base)
        .json(&json!({ "name": name, "owner": "load", "use_case": "load test", "risk_tier": "minimal" }))
        .send()
        .await?
        .json()
        .await?;
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

/// Sends every body to /v1/metrics with `CONCURRENCY` in flight; returns the time taken
/// and the data points the server accepted.
async fn send_all(target: &Target, bodies: Vec<Vec<u8>>) -> anyhow::Result<(Duration, u64)> {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (bodies, next, client, url) =
            (bodies.clone(), next.clone(), target.ingest.clone(), format!("{}/v1/metrics", target.base));
        workers.push(tokio::spawn(async move {
            let mut sent = 0_u64;
            while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                let points = ExportMetricsServiceRequest::decode(body.as_slice())?
                    .resource_metrics
                    .iter()
                    .flat_map(|resource| &resource.scope_metrics)
                    .flat_map(|scope| &scope.metrics)
                    .map(|metric| match &metric.data {
                        Some(MetricData::Gauge(gauge)) => gauge.data_points.len() as u64,
                        _ => 0,
                    })
                    .sum::<u64>();
                loop {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body.clone())
                        .send()
                        .await?;
                    match response.status().as_u16() {
                        200 => break,
                        // Overloaded: back off as an exporter would.
                        429 | 503 => tokio::time::sleep(Duration::from_millis(20)).await,
                        status => anyhow::bail!("ingest answered {status}: {}", response.text().await?),
                    }
                }
                sent += points;
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent = 0;
    for worker in workers {
        sent += worker.await??;
    }
    Ok((started.elapsed(), sent))
}

fn attribute(key: &str, value: String) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::StringValue(value)) }) }
}

fn export(model: &str, data_points: Vec<NumberDataPoint>) -> Vec<u8> {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![attribute("service.name", model.to_owned())] }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "latency_ms".into(),
                    data: Some(MetricData::Gauge(Gauge { data_points })),
                }],
            }],
        }],
    }
    .encode_to_vec()
}

/// Request `request` of a stream where each series gets a new point per second.
fn otlp_body(model: &str, start: i64, request: usize, points: usize, series: usize) -> Vec<u8> {
    let per_series = points / series;
    let data_points = (0..points)
        .map(|i| {
            let (shard, tick) = (i % series, (request * per_series + i / series) as i64);
            NumberDataPoint {
                attributes: vec![attribute("shard", shard.to_string())],
                time_unix_nano: u64::try_from((start + tick * 1000) * 1_000_000).unwrap_or_default(),
                value: Some(NumberValue::AsDouble(10.0 + (i % 89) as f64)),
            }
        })
        .collect();
    export(model, data_points)
}

fn one_series_body(model: &str, points: impl Iterator<Item = (i64, f64)>) -> Vec<u8> {
    let data_points = points
        .map(|(ts, value)| NumberDataPoint {
            attributes: vec![],
            time_unix_nano: u64::try_from(ts * 1_000_000).unwrap_or_default(),
            value: Some(NumberValue::AsDouble(value)),
        })
        .collect();
    export(model, data_points)
}

/// Sends one point at a time and times its arrival on the live stream.
async fn live_latency(target: &Target, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let model_id = create_model(target, "live").await?;
    let mut stream = target.admin.get(format!("{}/api/live", target.base)).send().await?;
    let mut buffer = String::new();
    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let point = json!({ "model": "live", "metric": "latency_ms", "ts": chrono::Utc::now().timestamp_millis() - round as i64, "value": 1.0 });
        let started = Instant::now();
        let sent = target.ingest.post(format!("{}/api/ingest", target.base)).json(&json!({ "points": [point] })).send();
        anyhow::ensure!(sent.await?.status() == 200, "ingest failed");
        // Until the points event of this model arrives (status events may come first).
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if frame.contains("event: points") && frame.contains(&model_id) {
                    break;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await??;
            buffer.push_str(std::str::from_utf8(&chunk.unwrap_or_default())?);
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// Each round registers a model, sends one point that breaches a fleet rule covering it,
/// and times the arrival of the `incident` event that opens its incident.
async fn breach_latency(target: &Target, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let rule = json!({
        "name": "Queue too deep", "scope": { "name_pattern": "breach-*" },
        "signal": { "kind": "metric", "metric": "queue_depth", "aggregation": "max", "window_minutes": 1 },
        "condition": { "op": "above", "threshold": 100.0 }, "severity": "sev3"
    });
    let created = target
        .admin
        .post(format!("{}/api/alert-rules", target.base))
        .header("origin", &target.base)
        .json(&rule)
        .send()
        .await?;
    anyhow::ensure!(created.status() == 201, "rule not created");
    let mut stream = target.admin.get(format!("{}/api/live", target.base)).send().await?;
    let mut buffer = String::new();
    let mut latencies = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let name = format!("breach-{round}");
        let model_id = create_model(target, &name).await?;
        let point = json!({ "model": name, "metric": "queue_depth", "ts": chrono::Utc::now().timestamp_millis(), "value": 500.0 });
        let started = Instant::now();
        let sent = target.ingest.post(format!("{}/api/ingest", target.base)).json(&json!({ "points": [point] })).send();
        anyhow::ensure!(sent.await?.status() == 200, "ingest failed");
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if frame.contains("event: incident") && frame.contains(&model_id) && frame.contains("\"opened\"") {
                    break;
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await??;
            buffer.push_str(std::str::from_utf8(&chunk.unwrap_or_default())?);
        }
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// A signed-in client for a new user with `role`.
async fn user(target: &Target, username: &str, role: &str) -> anyhow::Result<reqwest::Client> {
    let password = "load-user-password";
    let created = target
        .admin
        .post(format!("{}/api/users", target.base))
        .header("origin", &target.base)
        .json(&json!({ "username": username, "display_name": username, "role": role, "password": password }))
        .send()
        .await?;
    anyhow::ensure!(created.status().is_success(), "user {username} not created: {}", created.status());
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login = client
        .post(format!("{}/api/auth/login", target.base))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    anyhow::ensure!(login.status() == 200, "{username} cannot sign in");
    Ok(client)
}

/// POSTs `body` as `client` and answers the JSON reply, failing on any status but 2xx.
async fn post(
    target: &Target,
    client: &reqwest::Client,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let response =
        client.post(format!("{}{path}", target.base)).header("origin", &target.base).json(body).send().await?;
    let status = response.status();
    let reply: serde_json::Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "{path} answered {status}: {reply}");
    Ok(reply)
}

/// Each round registers a version, requests its promotion to canary (two approvals for a
/// minimal-tier model's promotion), times each approval and then the implementation.
async fn change_latency(target: &Target, rounds: usize) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let approvers = [user(target, "approver-a", "approver").await?, user(target, "approver-b", "approver").await?];
    let model_id = create_model(target, "changes").await?;
    let (mut approvals, mut implementations) = (Vec::with_capacity(2 * rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        let tag = format!("v{round}");
        post(
            target,
            &target.admin,
            &format!("/api/models/{model_id}/versions"),
            &json!({ "tag": tag, "stage": "staging" }),
        )
        .await?;
        let request = json!({
            "kind": "promotion", "type": "normal", "model_id": model_id, "version": tag, "target_stage": "canary",
            "title": format!("Promote {tag} to canary"), "description": "Load test"
        });
        let change = post(target, &target.admin, "/api/changes", &request).await?;
        let change_id = change["id"].as_str().unwrap_or_default();
        post(target, &target.admin, &format!("/api/changes/{change_id}/transitions"), &json!({ "to": "submitted" }))
            .await?;
        for approver in &approvers {
            let started = Instant::now();
            post(
                target,
                approver,
                &format!("/api/changes/{change_id}/approvals"),
                &json!({ "decision": "approve", "comment": "ok" }),
            )
            .await?;
            approvals.push(started.elapsed());
        }
        let started = Instant::now();
        let implemented = post(
            target,
            &target.admin,
            &format!("/api/changes/{change_id}/transitions"),
            &json!({ "to": "implemented" }),
        )
        .await?;
        implementations.push(started.elapsed());
        anyhow::ensure!(implemented["status"] == "implemented", "not implemented: {implemented}");
    }
    Ok((approvals, implementations))
}

fn percentiles(timings: &mut [Duration]) -> String {
    timings.sort();
    let at = |q: f64| timings[((timings.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, **p99 {:.2} ms** (n = {})", at(0.5), at(0.99), timings.len())
}
