//! The demo fleet: models a mid-size Central European company might run, at every
//! stage and EU AI Act risk tier, so a new user sees a populated console.

pub mod business;
pub mod changes;
pub mod incidents;
pub mod monitoring;

use std::collections::HashMap;

use keel_shared::auth::Role;
use keel_shared::health::HealthThresholds;
use keel_shared::models::{RiskTier, Stage};
use keel_shared::validation::{NewModel, NewVersion};

use crate::auth::passwords;
use crate::domain::DomainError;
use crate::ingest::IngestWriter;
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::identity::NewUser;
use crate::store::telemetry::{SeriesKey, ValidPoint};

struct DemoModel {
    name: &'static str,
    description: &'static str,
    owner: &'static str,
    use_case: &'static str,
    risk_tier: RiskTier,
    /// Oldest first: (tag, stage, training data, notes).
    versions: &'static [(&'static str, Stage, &'static str, &'static str)],
}

const FLEET: &[DemoModel] = &[
    DemoModel {
        name: "credit-risk-scoring",
        description: "Gradient-boosted trees estimating the probability of default of consumer loan applications.",
        owner: "Retail Credit Risk — Jana Nováková",
        use_case: "Automate first-line decisions on consumer loans up to CZK 500,000 and cut time-to-yes from 2 days to 5 minutes.",
        risk_tier: RiskTier::High,
        versions: &[
            (
                "v1.0.0",
                Stage::Archived,
                "s3://risk-data/applications/2023Q4.parquet",
                "Pilot model, validated on 18 months of applications.",
            ),
            (
                "v1.1.0",
                Stage::Production,
                "s3://risk-data/applications/2024Q2.parquet",
                "Retrained after the rate change; fairness review passed.",
            ),
            (
                "v1.2.0",
                // Put into canary by the demo's implemented change (`demo::changes`).
                Stage::Staging,
                "s3://risk-data/applications/2024Q4.parquet",
                "Adds open-banking income features; 5 % of traffic.",
            ),
        ],
    },
    DemoModel {
        name: "invoice-field-extraction",
        description: "Layout-aware transformer reading supplier, amounts and VAT from scanned invoices.",
        owner: "Finance Operations — Petr Dvořák",
        use_case: "Remove manual keying of 40,000 supplier invoices a month in accounts payable.",
        risk_tier: RiskTier::Minimal,
        versions: &[
            ("v2.3.1", Stage::Production, "dvc://finance/invoices@a41f9c2", "Handles Slovak and Czech VAT layouts."),
            ("v2.4.0", Stage::Staging, "dvc://finance/invoices@c7e0b13", "Adds German supplier templates."),
        ],
    },
    DemoModel {
        name: "churn-propensity",
        description: "Monthly churn probability per mobile subscriber.",
        owner: "Customer Retention Analytics",
        use_case: "Target retention offers at the 5 % of subscribers most likely to leave next month.",
        risk_tier: RiskTier::Limited,
        versions: &[("v3.0.2", Stage::Production, "warehouse://crm.churn_features_2024_09", "Weekly batch scoring.")],
    },
    DemoModel {
        name: "demand-forecast-cz",
        description: "Daily demand forecast per store and product family for Czech retail stores.",
        owner: "Supply Chain Planning — Martin Horák",
        use_case: "Lower stock-outs and write-offs of fresh goods by planning orders on forecast demand.",
        risk_tier: RiskTier::Minimal,
        versions: &[
            ("v5.1.0", Stage::Production, "warehouse://sales.daily_2019_2024", "Includes Czech public holidays."),
            (
                "v6.0.0-rc1",
                Stage::Development,
                "warehouse://sales.daily_2019_2025",
                "Temporal fusion transformer candidate.",
            ),
        ],
    },
    DemoModel {
        name: "support-ticket-router",
        description: "Classifies incoming support e-mails by topic and urgency and routes them to a queue.",
        owner: "Customer Care Platform",
        use_case: "Answer urgent customer tickets within one hour instead of one day.",
        risk_tier: RiskTier::Limited,
        versions: &[(
            "v1.4.0",
            Stage::Production,
            "s3://care/tickets-2024-labelled.jsonl",
            "Multilingual (cs, sk, en, de).",
        )],
    },
    DemoModel {
        name: "cv-screening-assistant",
        description: "Ranks job applications against the requirements of a vacancy for a recruiter to review.",
        owner: "People & Talent — Lucia Kováčová",
        use_case: "Shorten the first screening of applications for high-volume vacancies.",
        risk_tier: RiskTier::High,
        versions: &[(
            "v0.9.0",
            Stage::Staging,
            "s3://hr/applications-anonymised-2024.parquet",
            "Awaiting the bias audit before any production use.",
        )],
    },
    DemoModel {
        name: "workplace-emotion-monitor",
        description: "Vendor pilot inferring employee emotions from call-centre video.",
        owner: "Contact Centre Operations",
        use_case: "Registered for the record only: emotion recognition at work is prohibited by the EU AI Act (Art. 5).",
        risk_tier: RiskTier::Prohibited,
        versions: &[(
            "v0.1.0",
            Stage::Archived,
            "vendor://pilot-export-2024-03",
            "Pilot stopped by the AI governance board.",
        )],
    },
];

/// Registers every demo model the store does not hold yet; returns how many were added.
pub async fn load_demo_fleet(store: &Store) -> anyhow::Result<usize> {
    let mut added = 0;
    for demo in FLEET {
        let model = NewModel {
            name: demo.name.into(),
            description: demo.description.into(),
            owner: demo.owner.into(),
            use_case: demo.use_case.into(),
            risk_tier: demo.risk_tier,
        };
        let created = match store.create_model(&model, &Actor::system()).await {
            Ok(created) => created,
            // Loaded by an earlier `keel demo`: keep what the user may have changed since.
            Err(DomainError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        };
        for (tag, stage, training_data_ref, notes) in demo.versions {
            let version = NewVersion {
                tag: (*tag).into(),
                training_data_ref: (*training_data_ref).into(),
                notes: (*notes).into(),
                stage: *stage,
            };
            store.create_version(&created.id, &version, &Actor::system()).await?;
        }
        if let Some(thresholds) = demo_thresholds(demo.name) {
            store.set_health_thresholds(&created.id, &thresholds, &Actor::system()).await?;
        }
        added += 1;
    }
    Ok(added)
}

/// Thresholds other than the defaults: document extraction is slow by nature.
fn demo_thresholds(model: &str) -> Option<HealthThresholds> {
    (model == "invoice-field-extraction").then(|| HealthThresholds {
        latency_p95_degraded_above_ms: 1500.0,
        latency_p95_critical_above_ms: 3000.0,
        ..HealthThresholds::default()
    })
}

/// The demo's people, one per role: (username, display name, role, password). The
/// passwords are public (printed and in the README): demo stores only.
pub const DEMO_USERS: &[(&str, &str, Role, &str)] = &[
    (crate::FIRST_ADMIN, "Administrator", Role::Admin, "keel-admin-demo"),
    ("eva.engineer", "Eva Horváthová", Role::Engineer, "keel-engineer-demo"),
    ("adam.approver", "Adam Novotný", Role::Approver, "keel-approver-demo"),
    // A second approver: with the admin, three people can approve a high-risk change.
    ("petra.approver", "Petra Svobodová", Role::Approver, "keel-approver2-demo"),
    ("vera.viewer", "Věra Malá", Role::Viewer, "keel-viewer-demo"),
];

/// The password `keel demo` gives the first administrator.
pub fn demo_admin_password() -> &'static str {
    DEMO_USERS[0].3
}

/// Creates the demo users the store does not hold yet (the administrator is created at
/// start-up, with the demo password unless one was configured).
pub async fn load_demo_users(store: &Store) -> anyhow::Result<()> {
    for (username, display_name, role, password) in &DEMO_USERS[1..] {
        let user = NewUser {
            username: (*username).into(),
            display_name: (*display_name).into(),
            role: *role,
            password_hash: passwords::hash_password(password)?,
        };
        match store.create_user(&user, &Actor::system()).await {
            Ok(_) | Err(DomainError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// How the simulator's models behave: (model name, typical latency in ms, baseline
/// accuracy, accuracy lost per day — the one slowly degrading model drifts).
const SIMULATED: &[(&str, f64, f64, f64)] = &[
    ("credit-risk-scoring", 42.0, 0.912, 0.0),
    ("invoice-field-extraction", 380.0, 0.957, 0.0),
    ("churn-propensity", 18.0, 0.861, 0.035),
    ("demand-forecast-cz", 95.0, 0.884, 0.0),
    ("support-ticket-router", 27.0, 0.903, 0.0),
];

/// Writes the demo fleet's last 24 hours of telemetry, so charts are full from the
/// first page load. Values are a pure function of model and time, so a restart rewrites
/// the same points instead of adding more. Returns when they are stored.
pub async fn backfill_telemetry(store: &Store, writer: &IngestWriter) -> anyhow::Result<()> {
    let models = simulated_models(store).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let day_ago = now - 24 * 60 * 60_000;
    for chunk_start in (day_ago..now).step_by(60 * 60_000) {
        writer.write(simulate(&models, chunk_start, (chunk_start + 60 * 60_000).min(now), now), None).await?;
    }
    Ok(())
}

/// Keeps telemetry flowing for the demo fleet: a new point set every 10 seconds.
pub async fn run_simulator(store: Store, writer: IngestWriter) -> anyhow::Result<()> {
    let models = simulated_models(&store).await?;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(10));
    let mut last = chrono::Utc::now().timestamp_millis();
    loop {
        ticker.tick().await;
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(error) = writer.write(simulate(&models, last, now, now), None).await {
            tracing::warn!(%error, "the demo simulator could not store its points");
        }
        last = now;
    }
}

async fn simulated_models(store: &Store) -> anyhow::Result<HashMap<String, String>> {
    Ok(store.resolve_models(SIMULATED.iter().map(|(name, ..)| *name)).await?)
}

/// Points for every simulated model on the 10-second grid in `[from, to)`.
fn simulate(models: &HashMap<String, String>, from: i64, to: i64, now: i64) -> Vec<ValidPoint> {
    const STEP: i64 = 10_000;
    let mut points = Vec::new();
    let first = from.div_euclid(STEP) * STEP + if from % STEP == 0 { 0 } else { STEP };
    for (name, latency, accuracy, drift_per_day) in SIMULATED {
        let Some(model_id) = models.get(*name) else { continue };
        let series = |metric: &str| SeriesKey {
            model_id: model_id.clone(),
            metric: metric.to_owned(),
            labels: r#"{"source":"demo"}"#.to_owned(),
        };
        for ts in (first..to).step_by(STEP as usize) {
            let noise = |salt: u64| unit_noise(ts as u64 ^ salt ^ (name.len() as u64 * 0x9e37_79b9));
            let days_old = (now - ts) as f64 / 86_400_000.0;
            // Traffic follows the working day (UTC+1).
            let hour = ((ts / 3_600_000 + 1) % 24) as f64;
            let load = 0.35 + 0.65 * (std::f64::consts::PI * (hour - 3.0) / 24.0).sin().powi(2);
            let drifted = accuracy - drift_per_day * (1.0 - days_old);
            points.extend([
                ValidPoint {
                    series: series("latency_ms"),
                    ts,
                    value: latency * (0.6 + load * 0.5 + noise(1).powi(3) * 2.0),
                },
                ValidPoint {
                    series: series("accuracy"),
                    ts,
                    value: (drifted + (noise(2) - 0.5) * 0.01).clamp(0.0, 1.0),
                },
                ValidPoint {
                    series: series("error_rate"),
                    ts,
                    value: (0.002 + noise(3).powi(8) * 0.03) * (1.0 + load),
                },
                ValidPoint { series: series("requests_per_second"), ts, value: 40.0 * load * (0.9 + noise(4) * 0.2) },
            ]);
        }
    }
    points
}

/// A value in [0, 1) determined by `seed` (splitmix64).
fn unit_noise(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}
