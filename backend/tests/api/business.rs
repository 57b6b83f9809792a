//! KPIs, ledgers and ROI through the API: figures equal numpy-financial's on fixtures its
//! committed script writes, CNB and ECB rate files convert ledger months, a bad row is
//! named and nothing is imported, the CSV export round-trips, an incident's downtime is
//! costed and follows its times, and KPI values set the traffic light.

use keel_shared::models::RiskTier;
use serde_json::{Value, json};

use keel_backend::config::Settings;

use crate::helpers::{ADMIN_PASSWORD, StoreKind, TestApp, expect_error, spawn_app, spawn_app_with};
use crate::on_both_stores;

async fn put_csv(app: &TestApp, path: &str, csv: &str) -> reqwest::Response {
    app.client.put(app.url(path)).header("content-type", "text/csv").body(csv.to_owned()).send().await.expect("sent")
}

async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{status}: {body}");
    body
}

fn close(what: &str, ours: &Value, theirs: &Value) {
    let (ours, theirs) = (ours.as_f64().unwrap_or(f64::NAN), theirs.as_f64().unwrap_or(f64::NAN));
    let scale = theirs.abs().max(1e-300);
    assert!((ours - theirs).abs() / scale <= 1e-9, "{what}: Keel says {ours}, the fixture {theirs}");
}

async fn figures_equal_numpy_financial_on_the_fixture_ledgers(store: StoreKind) {
    let app = spawn_app(store).await;
    let cases: Vec<Value> = serde_json::from_str(include_str!("../fixtures/ledger/ledger.json")).expect("the fixture");
    for (index, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().expect("name");
        let model = app.create_model(&format!("ledger-{index}"), RiskTier::Minimal).await;
        ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), case["csv"].as_str().expect("csv")).await).await;
        let rate = case["discount_rate"].as_f64().expect("rate");
        let roi = ok(app.get(&format!("/api/models/{}/roi?currency=CZK&discount_rate={rate}", model.id)).await).await;
        for field in ["total_cost", "total_benefit", "net_value", "roi", "npv", "irr_monthly"] {
            close(&format!("{name}: {field}"), &roi[field], &case[field]);
        }
        match case["payback_months"].as_f64() {
            Some(payback) => close(&format!("{name}: payback"), &roi["payback_months"], &json!(payback)),
            None => assert_eq!(roi["payback_months"], Value::Null, "{name}: never pays back"),
        }
        let months = roi["months"].as_array().expect("months");
        let expected = case["cumulative"].as_array().expect("cumulative");
        assert_eq!(months.len(), expected.len(), "{name}: every ledger month is covered");
        for (month, cumulative) in months.iter().zip(expected) {
            close(&format!("{name}: {} cumulative", month["month"]), &month["cumulative"], cumulative);
        }
    }
}

const CNB_DAILY: &str = "30.01.2026 #21\nzemě|měna|množství|kód|kurz\nEMU|euro|1|EUR|24,315\nJaponsko|jen|100|JPY|15,512\nUSA|dolar|1|USD|20,870\n";
/// The English daily file of Friday 27 February; 28 February is a Saturday.
const CNB_ENGLISH: &str =
    "27 Feb 2026 #41\nCountry|Currency|Amount|Code|Rate\nEMU|euro|1|EUR|24.250\nUSA|dollar|1|USD|20.500\n";
/// A yearly file whose header repeats mid-year when a currency joins.
const CNB_YEARLY: &str = "Datum|1 EUR|1 USD\n31.03.2026|24,100|20,100\n30.04.2026|24,050|20,000\nDatum|1 EUR|1 USD|100 JPY\n29.05.2026|24,000|19,900|14,000\n";
const ECB_HISTORY: &str = "Date,USD,JPY,CZK,\n2026-06-30,1.1000,160.00,24.2000,\n2026-06-29,1.0900,159.00,24.1000,\n";

async fn cnb_and_ecb_files_convert_ledger_months(store: StoreKind) {
    let app = spawn_app(store).await;
    for (file, source, days) in
        [(CNB_DAILY, "CNB", 1), (CNB_ENGLISH, "CNB", 1), (CNB_YEARLY, "CNB", 3), (ECB_HISTORY, "ECB", 2)]
    {
        let response = app.client.post(app.url("/api/exchange-rates")).body(file).send().await.expect("sent");
        let imported = ok(response).await;
        assert_eq!((imported["source"].as_str(), imported["days"].as_u64()), (Some(source), Some(days)), "{file}");
    }
    let garbage = app.client.post(app.url("/api/exchange-rates")).body("hello\nworld").send().await.expect("sent");
    expect_error(garbage, 422).await;

    let model = app.create_model("converted", RiskTier::Minimal).await;
    let ledger = "month,kind,category,amount,currency,czk_per_unit\n\
                  2026-01,cost,development,1000,EUR,\n\
                  2026-02,cost,compute,100,USD,\n\
                  2026-05,cost,compute,100,JPY,\n\
                  2026-06,benefit,cost_reduction,1000,USD,\n\
                  2026-06,benefit,other,500,CZK,\n";
    let stored = ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), ledger).await).await;
    let entries = stored["entries"].as_array().expect("entries");
    let rate = |index: usize| {
        (
            entries[index]["czk_per_unit"].as_f64().unwrap_or_default(),
            entries[index]["rate_source"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(rate(0), (24.315, "CNB 2026-01-30 (last fixing before 2026-01-31)".to_owned()));
    assert_eq!(rate(1), (20.5, "CNB 2026-02-27 (last fixing before 2026-02-28)".to_owned()));
    assert_eq!(rate(2), (0.14, "CNB 2026-05-29 (last fixing before 2026-05-31)".to_owned()), "per 100 JPY");
    close("CZK 24.2 / USD 1.1", &json!(rate(3).0), &json!(22.0));
    assert_eq!(rate(3).1, "ECB 2026-06-30");
    assert_eq!(rate(4), (1.0, "CZK".to_owned()));

    let roi = ok(app.get(&format!("/api/models/{}/roi?currency=EUR", model.id)).await).await;
    let cost_eur = 1000.0 + 100.0 * 20.5 / 24.25 + 100.0 * 0.14 / 24.0;
    let benefit_eur = (1000.0 * 22.0 + 500.0) / 24.2;
    close("EUR cost", &roi["total_cost"], &json!(cost_eur));
    close("EUR benefit", &roi["total_benefit"], &json!(benefit_eur));
    assert_eq!(roi["months"].as_array().map(Vec::len), Some(6), "January to June, the empty months included");

    // A month no fixing covers, and no rate given: the row is named.
    let uncovered = "month,kind,category,amount,currency,czk_per_unit\n2026-08,cost,compute,5,USD,\n";
    let refused = expect_error(put_csv(&app, &format!("/api/models/{}/ledger", model.id), uncovered).await, 422).await;
    assert_eq!(
        refused.fields.get("line 2").map(String::as_str),
        Some("no CZK rate for USD in 2026-08: give czk_per_unit or import the CNB or ECB rates for that month")
    );
}

async fn rates_placed_in_the_data_directory_are_imported_once(store: StoreKind) {
    let app = spawn_app(store).await;
    let data_dir = app.scratch_dir().join("shared-data");
    std::fs::create_dir_all(data_dir.join("rates")).expect("rates directory");
    std::fs::write(data_dir.join("rates/denni_kurz.txt"), CNB_DAILY).expect("a rates file");
    let start = || {
        spawn_app_with(Settings {
            addr: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.clone(),
            database_url: Some(app.database_url.clone()),
            dist_dir: app.scratch_dir().join("dist"),
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Default::default()
        })
    };
    // Started twice with the same file: imported at the first start only.
    let first = start().await;
    let second = start().await;
    let coverage = ok(second.get("/api/exchange-rates").await).await;
    assert_eq!((coverage[0]["source"].as_str(), coverage[0]["rates"].as_i64()), (Some("CNB"), Some(3)), "{coverage}");
    let audit = ok(second.get("/api/audit?action=exchange_rates.import").await).await;
    let entries = audit["items"].as_array().or_else(|| audit.as_array()).cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "one import and the file's digest, not again at the second start: {audit}");
    drop(first);
}

async fn a_bad_row_is_named_nothing_is_imported_and_the_export_round_trips(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("careful", RiskTier::Minimal).await;
    let path = format!("/api/models/{}/ledger", model.id);
    let good = "month,kind,category,amount,currency,czk_per_unit,low,high,planned\n\
                2026-01,cost,development,100000,CZK,1,90000,130000,\n\
                2026-02,benefit,cost_reduction,30000,CZK,1,20000,35000,\n\
                2026-03,benefit,cost_reduction,1500,EUR,25,,,\n\
                2026-01,cost,development,100000,CZK,1,,,true\n\
                2026-02,benefit,cost_reduction,150000,CZK,1,,,true\n";
    ok(put_csv(&app, &path, good).await).await;
    let bad = "month,kind,category,amount,currency,czk_per_unit\n\
               2026-01,cost,compute,10,CZK,1\n\
               2026-13,cost,compute,10,CZK,1\n\
               2026-02,cost,cost_reduction,10,CZK,1\n\
               2026-02,cost,compute,-4,CZK,1\n\
               2026-02,cost,incident,10,CZK,1\n";
    let refused = expect_error(put_csv(&app, &path, bad).await, 422).await;
    let lines: Vec<&str> = refused.fields.keys().map(String::as_str).collect();
    assert_eq!(lines, ["line 3", "line 4", "line 5", "line 6"], "{refused:?}");
    assert_eq!(refused.fields["line 4"], "category 'cost_reduction' is a benefit, not a cost");
    let ledger = ok(app.get(&path).await).await;
    assert_eq!(ledger["entries"].as_array().map(Vec::len), Some(5), "nothing of the bad file was imported");

    let roi = ok(app.get(&format!("/api/models/{}/roi?currency=CZK", model.id)).await).await;
    assert_eq!(roi["payback_months"], Value::Null, "−100k + 30k + 37.5k never reaches 0");
    close("planned payback", &roi["planned_payback_months"], &json!(100_000.0 / 150_000.0));
    let exported = app.get(&format!("/api/models/{}/ledger.csv", model.id)).await.text().await.expect("CSV");
    ok(put_csv(&app, &path, &exported).await).await;
    let again = ok(app.get(&format!("/api/models/{}/roi?currency=CZK", model.id)).await).await;
    assert_eq!(again, roi, "the export uploads back to the same figures");
}

async fn an_incidents_downtime_is_costed_and_follows_its_times(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("costly", RiskTier::Minimal).await;
    let cost = json!({ "per_minute": 250.0, "currency": "CZK" });
    ok(app.put_json(&format!("/api/models/{}/incident-cost", model.id), &cost).await).await;
    let body = json!({ "title": "Scores are wrong", "severity": "sev2", "model": model.id, "impact": "Quotes off" });
    let incident = ok(app.post_json("/api/incidents", &body).await).await;
    let id = incident["id"].as_str().expect("id");
    let incident_entries = |ledger: &Value| {
        ledger["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|entry| entry["category"] == "incident")
            .cloned()
            .collect::<Vec<_>>()
    };
    let ledger = ok(app.get(&format!("/api/models/{}/ledger", model.id)).await).await;
    assert!(incident_entries(&ledger).is_empty(), "no downtime until it is mitigated");

    // Acknowledged at once (so no escalation touches it), mitigated 40 minutes after detection.
    ok(app.post_json(&format!("/api/incidents/{id}/transitions"), &json!({ "to": "investigating" })).await).await;
    app.clock.advance(chrono::Duration::minutes(40)).expect("a manual clock");
    ok(app.post_json(&format!("/api/incidents/{id}/transitions"), &json!({ "to": "mitigated" })).await).await;
    let ledger = ok(app.get(&format!("/api/models/{}/ledger", model.id)).await).await;
    let entries = incident_entries(&ledger);
    assert_eq!(entries.len(), 1);
    assert!(
        (entries[0]["amount"].as_f64().unwrap_or_default() - 10_000.0).abs() < 1.0,
        "40 min × 250 CZK: {entries:?}"
    );
    assert_eq!(entries[0]["incident_id"], json!(id));

    // A ledger upload keeps it; a new cost per minute rewrites it.
    let upload = "month,kind,category,amount,currency,czk_per_unit\n2026-01,cost,compute,10,CZK,1\n";
    let ledger = ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), upload).await).await;
    assert_eq!(incident_entries(&ledger).len(), 1, "an upload replaces only the imported entries");
    let cost = json!({ "per_minute": 100.0, "currency": "EUR", "czk_per_eur": 25.0 });
    let ledger = ok(app.put_json(&format!("/api/models/{}/incident-cost", model.id), &cost).await).await;
    let entries = incident_entries(&ledger);
    assert!((entries[0]["amount"].as_f64().unwrap_or_default() - 4_000.0).abs() < 1.0, "40 min × 100 EUR: {entries:?}");
    assert_eq!(entries[0]["currency"], "EUR");
    let refused = expect_error(
        app.put_json(
            &format!("/api/models/{}/incident-cost", model.id),
            &json!({ "per_minute": 5.0, "currency": "EUR" }),
        )
        .await,
        422,
    )
    .await;
    assert!(refused.fields.contains_key("per_minute"), "{refused:?}");
}

async fn kpi_values_set_the_traffic_light_and_a_bad_csv_row_imports_nothing(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("reviews", RiskTier::Minimal).await;
    let today = app.clock.now().date_naive();
    let definition = json!({
        "name": "Manual review rate", "unit": "%", "direction": "lower", "model_id": model.name,
        "baseline": 40.0, "baseline_date": (today - chrono::Duration::days(100)).to_string(),
        "target": 20.0, "target_date": (today + chrono::Duration::days(100)).to_string(),
        "owner": "Operations", "cadence": "weekly"
    });
    let response = app.post_json("/api/kpis", &definition).await;
    assert_eq!(response.status(), 201);
    let kpi: Value = response.json().await.expect("KPI");
    assert_eq!((kpi["status"].as_str(), kpi["model_id"].as_str()), (Some("no_data"), Some(model.id.0.as_str())));
    let id = kpi["id"].as_str().expect("id");

    // Planned today: 30 %. Lower is better, so the high end is the worst.
    let value = |low: f64, likely: f64, high: f64| json!({ "values": [{ "day": today.to_string(), "low": low, "likely": likely, "high": high }] });
    let on_track = ok(app.post_json(&format!("/api/kpis/{id}/values"), &value(25.0, 27.0, 29.0)).await).await;
    assert_eq!(on_track["status"], "on_track");
    let at_risk = ok(app.post_json(&format!("/api/kpis/{id}/values"), &value(26.0, 29.0, 33.0)).await).await;
    assert_eq!(at_risk["status"], "at_risk", "the same day's value replaces the earlier one");
    assert_eq!(at_risk["values"].as_array().map(Vec::len), Some(1));

    let csv = format!("day,value,low,high\n{},35,34,36\nyesterday,1,,\n{},5,6,7\n", today, today);
    let response = app
        .client
        .post(app.url(&format!("/api/kpis/{id}/values")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    let refused = expect_error(response, 422).await;
    assert_eq!(refused.fields.keys().map(String::as_str).collect::<Vec<_>>(), ["line 3", "line 4"]);
    let unchanged = ok(app.get(&format!("/api/kpis/{id}")).await).await;
    assert_eq!(unchanged["status"], "at_risk", "nothing of the bad file was imported");

    let csv = format!("day,value,low,high\n{},35,34,36\n", today);
    let response = app
        .client
        .post(app.url(&format!("/api/kpis/{id}/values")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("sent");
    assert_eq!(ok(response).await["status"], "off_track");
    let chart = app.get(&format!("/api/kpis/{id}/chart.svg")).await.text().await.expect("SVG");
    assert!(chart.starts_with("<svg") && chart.contains("Manual review rate (%)"), "{chart}");
    app.clock.advance(chrono::Duration::days(8)).expect("a manual clock");
    // A week later the session has ended too: sign in again.
    let admin = app.signed_in_client("admin", ADMIN_PASSWORD).await;
    let listed = admin.get(app.url(&format!("/api/kpis?model_id={}", model.id))).send().await.expect("sent");
    assert_eq!(ok(listed).await[0]["status"], "stale", "no value within the weekly cadence");

    let refused = expect_error(admin.post(app.url("/api/kpis")).json(&json!({ "name": " ", "unit": "%", "direction": "lower", "baseline": 1.0, "baseline_date": "2026-01-01", "target": 2.0, "target_date": "2025-01-01" })).send().await.expect("sent"), 422).await;
    for field in ["name", "model_id", "target", "target_date"] {
        assert!(refused.fields.contains_key(field), "{field}: {refused:?}");
    }
}

async fn the_stakeholder_page_report_and_chart_show_what_keel_holds_and_a_frozen_report_stays(store: StoreKind) {
    let app = spawn_app(store).await;
    let model = app.create_model("pricing", RiskTier::High).await;
    app.create_version(&model, "v1", "production").await;
    let ledger = "month,kind,category,amount,currency,czk_per_unit,low,high\n\
                  2026-01,cost,development,100000,CZK,1,90000,120000\n\
                  2026-02,benefit,cost_reduction,80000,CZK,1,40000,100000\n\
                  2026-03,benefit,cost_reduction,80000,CZK,1,40000,100000\n";
    ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), ledger).await).await;
    let incident = json!({ "title": "Prices drift", "severity": "sev3", "model": model.id });
    ok(app.post_json("/api/incidents", &incident).await).await;
    ok(app.put_json("/api/programmes/Pricing", &json!({ "models": ["pricing"] })).await).await;

    let view = ok(app.get("/api/stakeholder?currency=CZK&months=12").await).await;
    let shown = &view["models"][0];
    assert_eq!((shown["name"].as_str(), shown["production_version"].as_str()), (Some("pricing"), Some("v1")));
    assert_eq!((shown["open_incidents"].as_u64(), view["open_incidents"].as_u64()), (Some(1), Some(1)));
    close("net value", &shown["roi"]["net_value"], &json!(60_000.0));
    close("payback", &shown["roi"]["payback_months"], &json!(1.25));
    let programme = &view["programmes"][0];
    assert_eq!(programme["name"], "Pricing");
    let range = &programme["range"];
    assert!(range["p10"].as_f64() < range["p50"].as_f64() && range["p50"].as_f64() < range["p90"].as_f64(), "{range}");
    assert!(range["label"].as_str().unwrap_or_default().contains("not a confidence interval"));
    // A new ledger shows at once (the page's cached copy is read again).
    let smaller = "month,kind,category,amount,currency,czk_per_unit\n2026-01,cost,development,10000,CZK,1\n";
    ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), smaller).await).await;
    let again = ok(app.get("/api/stakeholder?currency=CZK&months=12").await).await;
    close("net value after the upload", &again["models"][0]["roi"]["net_value"], &json!(-10_000.0));
    ok(put_csv(&app, &format!("/api/models/{}/ledger", model.id), ledger).await).await;
    let euro = ok(app.get("/api/stakeholder?currency=EUR").await).await;
    assert!(euro["models"][0]["roi_problem"].as_str().unwrap_or_default().contains("no euro rate"), "{euro}");

    let month = app.clock.now().format("%Y-%m").to_string();
    let report = ok(app.get(&format!("/api/reports/governance?month={month}&language=cs&currency=CZK")).await).await;
    assert_eq!(report["incidents"][0]["title"], "Prices drift");
    assert_eq!(report["language"], "cs");
    let frozen =
        app.post_json("/api/reports/frozen", &json!({ "month": month, "language": "cs", "currency": "CZK" })).await;
    assert_eq!(frozen.status(), 201);
    let frozen: Value = frozen.json().await.expect("frozen");
    let digest = frozen["digest"].as_str().expect("digest").to_owned();
    assert_eq!(digest.len(), 64);
    // Later changes do not alter what was frozen.
    ok(app.post_json("/api/incidents", &json!({ "title": "Another", "severity": "sev4", "model": model.id })).await)
        .await;
    let again = ok(app.get(&format!("/api/reports/frozen/{}", frozen["id"].as_str().expect("id"))).await).await;
    assert_eq!(again["report"], frozen["report"]);
    assert_eq!(again["report"]["incidents"].as_array().map(Vec::len), Some(1));
    let audit = ok(app.get("/api/audit?action=report.freeze").await).await;
    let entries = audit["items"].as_array().or_else(|| audit.as_array()).cloned().unwrap_or_default();
    assert_eq!(entries[0]["changes"]["digest"]["after"], json!(digest), "{audit}");

    let chart = app.get(&format!("/api/models/{}/roi/chart.svg?currency=CZK", model.id)).await;
    assert_eq!(chart.headers()["content-type"], "image/svg+xml; charset=utf-8");
    let chart = chart.text().await.expect("SVG");
    assert!(chart.starts_with("<svg") && chart.contains("pricing — kumulovaná čistá hodnota"), "{chart}");
}

async fn a_kpi_measured_from_telemetry_gets_a_value_per_completed_period(store: StoreKind) {
    let app = spawn_app(store).await;
    app.create_model("scoring", RiskTier::Minimal).await;
    let now = app.clock.now();
    let today = now.date_naive();
    let midnight = today.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_millis();
    let hour = 3_600_000;
    // Yesterday 100, 200 and 300 ms; today 900 ms (today's period has not ended yet).
    let point = |ts: i64, value: f64| json!({ "model": "scoring", "metric": "latency_ms", "ts": ts, "value": value });
    let points = json!({ "points": [
        point(midnight - 20 * hour, 100.0), point(midnight - 10 * hour, 200.0), point(midnight - hour, 300.0),
        point(midnight + (now.timestamp_millis() - midnight) / 2, 900.0),
    ] });
    let client = app.ingest_client().await;
    let answer: Value = ok(client.post(app.url("/api/ingest")).json(&points).send().await.expect("sent")).await;
    assert_eq!(answer["accepted"], 4, "{answer}");

    let definition = json!({
        "name": "Scoring latency", "unit": "ms", "direction": "lower", "model_id": "scoring",
        "baseline": 400.0, "baseline_date": (today - chrono::Duration::days(10)).to_string(),
        "target": 250.0, "target_date": (today + chrono::Duration::days(60)).to_string(),
        "cadence": "daily", "source": { "metric": "latency_ms", "aggregation": "avg", "scale": 0.001 }
    });
    let response = app.post_json("/api/kpis", &definition).await;
    assert_eq!(response.status(), 201);
    let kpi: Value = response.json().await.expect("KPI");
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    assert_eq!(kpi["values"].as_array().map(Vec::len), Some(1), "only the completed day: {kpi}");
    let value = &kpi["values"][0];
    assert_eq!((value["day"].as_str(), value["entered_by"].as_str()), (Some(yesterday.as_str()), Some("system")));
    assert!((value["likely"].as_f64().expect("value") - 0.2).abs() < 1e-12, "avg × 0.001: {value}");
    assert_eq!(value["note"], "avg of latency_ms per day × 0.001");
    assert_eq!(kpi["source"]["aggregation"], "avg");

    // A day later the job measures the day that has ended since (900 ms).
    app.clock.advance(chrono::Duration::days(1)).expect("a manual clock");
    let admin = app.signed_in_client("admin", ADMIN_PASSWORD).await;
    let id = kpi["id"].as_str().expect("id");
    let mut values = Vec::new();
    for _ in 0..200 {
        let kpi: Value = ok(admin.get(app.url(&format!("/api/kpis/{id}"))).send().await.expect("sent")).await;
        values = kpi["values"].as_array().cloned().unwrap_or_default();
        if values.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(values[1]["day"], today.to_string());
    assert!((values[1]["likely"].as_f64().expect("value") - 0.9).abs() < 1e-12, "{values:?}");

    let mut programme_kpi = definition.clone();
    programme_kpi["model_id"] = Value::Null;
    programme_kpi["programme"] = json!("Lending");
    let refused =
        expect_error(admin.post(app.url("/api/kpis")).json(&programme_kpi).send().await.expect("sent"), 422).await;
    assert!(refused.fields.contains_key("source"), "{refused:?}");
}

async fn a_programmes_kpis_are_the_sums_of_its_models(store: StoreKind) {
    let app = spawn_app(store).await;
    let today = app.clock.now().date_naive();
    for name in ["retail", "business", "other"] {
        app.create_model(name, RiskTier::Minimal).await;
    }
    ok(app.put_json("/api/programmes/Lending", &json!({ "models": ["retail", "business"] })).await).await;
    let savings = |model: &str, target: f64| {
        json!({
            "name": "Savings", "unit": "EUR", "direction": "higher", "model_id": model,
            "baseline": 0.0, "baseline_date": (today - chrono::Duration::days(60)).to_string(),
            "target": target, "target_date": (today + chrono::Duration::days(60)).to_string(),
        })
    };
    let mut ids = Vec::new();
    for (model, target) in [("retail", 1000.0), ("business", 500.0), ("other", 9999.0)] {
        let kpi: Value = ok(app.post_json("/api/kpis", &savings(model, target)).await).await;
        ids.push(kpi["id"].as_str().expect("id").to_owned());
    }
    let mut hours = savings("retail", 100.0);
    (hours["name"], hours["unit"]) = (json!("Hours saved"), json!("hours"));
    ok(app.post_json("/api/kpis", &hours).await).await;
    let day = |days: i64| (today - chrono::Duration::days(days)).to_string();
    let values = [
        json!({ "values": [{ "day": day(20), "likely": 300.0, "low": 250.0, "high": 350.0 }, { "day": day(5), "likely": 600.0 }] }),
        json!({ "values": [{ "day": day(10), "likely": 200.0 }] }),
        json!({ "values": [{ "day": day(1), "likely": 5000.0 }] }),
    ];
    for (id, values) in ids.iter().zip(values) {
        ok(app.post_json(&format!("/api/kpis/{id}/values"), &values).await).await;
    }
    let view = ok(app.get("/api/stakeholder?currency=EUR").await).await;
    let lending = view["programmes"]
        .as_array()
        .expect("programmes")
        .iter()
        .find(|programme| programme["name"] == "Lending")
        .expect("Lending");
    assert_eq!(lending["kpis"].as_array().map(Vec::len), Some(1), "one model's KPI is not summed: {lending}");
    let sum = &lending["kpis"][0];
    assert_eq!(
        (sum["name"].as_str(), sum["models_summed"].as_u64(), sum["id"].as_str()),
        (Some("Savings"), Some(2), Some("")),
        "{lending}"
    );
    assert_eq!(sum["target"], 1500.0);
    // The latest day either model reported: 600 (retail, 5 days ago) + 200 (business).
    assert_eq!(
        (sum["latest"]["day"].as_str(), sum["latest"]["likely"].as_f64()),
        (Some(day(5).as_str()), Some(800.0)),
        "{sum}"
    );
    assert_eq!(sum["status"], "on_track", "800 of 1,500 at the halfway mark: {sum}");
}

on_both_stores!(
    a_kpi_measured_from_telemetry_gets_a_value_per_completed_period,
    a_programmes_kpis_are_the_sums_of_its_models,
    rates_placed_in_the_data_directory_are_imported_once,
    the_stakeholder_page_report_and_chart_show_what_keel_holds_and_a_frozen_report_stays,
    figures_equal_numpy_financial_on_the_fixture_ledgers,
    cnb_and_ecb_files_convert_ledger_months,
    a_bad_row_is_named_nothing_is_imported_and_the_export_round_trips,
    an_incidents_downtime_is_costed_and_follows_its_times,
    kpi_values_set_the_traffic_light_and_a_bad_csv_row_imports_nothing,
);
