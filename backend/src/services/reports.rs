//! The stakeholder page and the monthly governance report, assembled from what Keel
//! holds: the registry and health, incidents, changes, KPIs and ledgers. A report can be
//! frozen: its JSON is stored with its SHA-256 digest, and the digest enters the audit chain.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::changes::{ChangeStatus, Decision};
use keel_shared::kpis::{Kpi, KpiDefinition, KpiUnit, KpiValue};
use keel_shared::ledger::{ReportCurrency, YearMonth, roi_figures};
use keel_shared::reports::{
    FrozenReport, GovernanceReport, KpiLight, ModelValue, ProgrammeValue, ReportChange, ReportIncident, ReportLanguage,
    ReportModel, RoiSummary, StakeholderView,
};

use super::{kpis, ledger};
use crate::domain::{DomainError, DomainResult};
use crate::health::HealthBoard;
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::business::BusinessData;
use crate::store::changes::ChangeFilter;
use crate::store::incidents::{IncidentFilter, IncidentRecord};

/// The discount rate of the stakeholder figures' NPV (the ROI API takes any).
pub const DISCOUNT_RATE: f64 = 0.08;

fn light(kpi: &Kpi) -> KpiLight {
    KpiLight {
        id: kpi.id.clone(),
        name: kpi.definition.name.clone(),
        unit: kpi.definition.unit,
        status: kpi.status,
        latest: kpi.latest.clone(),
        planned_now: kpi.planned_now,
        target: kpi.definition.target,
        models_summed: 0,
    }
}

/// The programme's own KPIs, then, per KPI name and unit that two or more of its models
/// share, their sum where it adds up (`kpis::programme_sum`), judged on `today`.
fn programme_kpis(name: &str, members: &[ModelId], all: &[Kpi], today: chrono::NaiveDate) -> Vec<KpiLight> {
    let mut lights: Vec<KpiLight> =
        all.iter().filter(|kpi| kpi.definition.programme.as_deref() == Some(name)).map(light).collect();
    let mut groups: Vec<((String, KpiUnit), Vec<&Kpi>)> = Vec::new();
    for kpi in all.iter().filter(|kpi| kpi.definition.model_id.as_ref().is_some_and(|model| members.contains(model))) {
        let key = (kpi.definition.name.clone(), kpi.definition.unit);
        match groups.iter_mut().find(|(group, _)| *group == key) {
            Some((_, group)) => group.push(kpi),
            None => groups.push((key, vec![kpi])),
        }
    }
    // A "sum" of one model's KPI would only repeat it.
    for ((kpi_name, _), group) in groups.into_iter().filter(|(_, group)| group.len() > 1) {
        let parts: Vec<(&KpiDefinition, &[KpiValue])> =
            group.iter().map(|kpi| (&kpi.definition, kpi.values.as_slice())).collect();
        let Some((definition, values)) = keel_shared::kpis::programme_sum(&kpi_name, &parts) else { continue };
        let latest = values.last().cloned();
        lights.push(KpiLight {
            id: String::new(),
            name: kpi_name,
            unit: definition.unit,
            status: definition.status(latest.as_ref(), today),
            planned_now: definition.planned(latest.as_ref().map_or(today, |value| value.day)),
            target: definition.target,
            latest,
            models_summed: group.len() as u32,
        });
    }
    lights
}

fn programme_value(
    name: &str,
    models: &[ModelId],
    data: &BusinessData,
    currency: ReportCurrency,
    months: u32,
    kpis: Vec<KpiLight>,
) -> ProgrammeValue {
    let base = ProgrammeValue {
        name: name.to_owned(),
        models: models.to_vec(),
        roi: None,
        range: None,
        problem: None,
        months: Vec::new(),
        kpis,
    };
    if !data.entries.iter().any(|(model, _)| models.contains(model)) {
        return base;
    }
    let figures =
        data.figures(currency, DISCOUNT_RATE, models, |mine| ledger::figures_of(mine, currency, DISCOUNT_RATE));
    match figures {
        Ok((figures, range)) => {
            let shown = figures.months.len().saturating_sub(months as usize);
            ProgrammeValue {
                roi: Some(RoiSummary::from(&figures)),
                range: Some(range),
                months: figures.months[shown..].to_vec(),
                ..base
            }
        }
        Err(problem) => ProgrammeValue { problem: Some(problem), ..base },
    }
}

/// Whether the incident's acknowledge or resolve deadline has passed unmet.
fn breached(incident: &IncidentRecord, now: DateTime<Utc>) -> bool {
    let summary = incident.summary();
    summary.acknowledge_breached(now) || summary.resolve_breached(now)
}

/// `GET /api/stakeholder`.
pub async fn stakeholder(
    store: &Store,
    health: &HealthBoard,
    currency: ReportCurrency,
    months: u32,
) -> DomainResult<StakeholderView> {
    if !(1..=120).contains(&months) {
        return Err(DomainError::field("months", "a range of 1 to 120 months"));
    }
    let now = store.clock().now();
    let models = store.model_overview().await?;
    let ids: Vec<ModelId> = models.iter().map(|model| model.0.clone()).collect();
    let data = store.business_data().await?;
    let names: HashMap<String, String> = models.iter().map(|(id, name, ..)| (id.0.clone(), name.clone())).collect();
    let all_kpis = kpis::summaries(&data, now.date_naive(), &names);
    let open = store
        .list_incidents(&IncidentFilter {
            statuses: keel_shared::incidents::IncidentStatus::ALL
                .iter()
                .copied()
                .filter(|status| status.is_open())
                .collect(),
            ..IncidentFilter::default()
        })
        .await?;
    let waiting =
        store.list_changes(&ChangeFilter { statuses: vec![ChangeStatus::Submitted], ..Default::default() }).await?;
    let with_ledger: std::collections::HashSet<&ModelId> = data.entries.iter().map(|(model, _)| model).collect();
    let mut values = Vec::new();
    for (model_id, name, risk_tier, production_version) in &models {
        let has_ledger = with_ledger.contains(model_id);
        let kpis: Vec<KpiLight> =
            all_kpis.iter().filter(|kpi| kpi.definition.model_id.as_ref() == Some(model_id)).map(light).collect();
        if production_version.is_none() && !has_ledger && kpis.is_empty() {
            continue;
        }
        let (roi, roi_problem) = if has_ledger {
            match data
                .model_figures(currency, DISCOUNT_RATE, model_id, |ledger| roi_figures(ledger, currency, DISCOUNT_RATE))
            {
                Ok(figures) => (Some(RoiSummary::from(&figures)), None),
                Err(problem) => (None, Some(problem)),
            }
        } else {
            (None, None)
        };
        let incidents: Vec<&IncidentRecord> =
            open.iter().filter(|incident| incident.model_id.as_ref() == Some(model_id)).collect();
        values.push(ModelValue {
            model_id: model_id.clone(),
            name: name.clone(),
            risk_tier: *risk_tier,
            production_version: production_version.clone(),
            health: health.get(model_id).map(|health| health.status),
            open_incidents: incidents.len() as u32,
            sla_breaches: incidents.iter().filter(|incident| breached(incident, now)).count() as u32,
            approvals_waiting: waiting.iter().filter(|change| change.model_id == *model_id).count() as u32,
            kpis,
            roi,
            roi_problem,
        });
    }
    let programmes = store
        .programmes()
        .await?
        .iter()
        .map(|(name, members)| {
            let kpis = programme_kpis(name, members, &all_kpis, now.date_naive());
            programme_value(name, members, &data, currency, months, kpis)
        })
        .collect();
    let fleet_kpis = programme_kpis("All models", &ids, &all_kpis, now.date_naive());
    let fleet = programme_value("All models", &ids, &data, currency, months, fleet_kpis);
    Ok(StakeholderView {
        currency,
        months,
        generated_at: now,
        models: values,
        programmes,
        fleet,
        open_incidents: open.len() as u32,
        sla_breaches: open.iter().filter(|incident| breached(incident, now)).count() as u32,
        approvals_waiting: waiting.len() as u32,
    })
}

/// `GET /api/reports/governance`: the report of `month`.
pub async fn governance(
    store: &Store,
    health: &HealthBoard,
    month: Option<YearMonth>,
    language: ReportLanguage,
    currency: ReportCurrency,
) -> DomainResult<GovernanceReport> {
    let now = store.clock().now();
    let month = month.unwrap_or_else(|| YearMonth::from_index(YearMonth::of(now.date_naive()).index() - 1));
    let start = |month: YearMonth| month.first_day().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let (from, to) = (start(month), start(YearMonth::from_index(month.index() + 1)));
    let view = stakeholder(store, health, currency, 120).await?;
    let models = view
        .models
        .iter()
        .map(|model| ReportModel {
            name: model.name.clone(),
            risk_tier: model.risk_tier,
            production_version: model.production_version.clone(),
            health: model.health,
            kpis: model.kpis.clone(),
            roi: model.roi.clone(),
        })
        .collect();
    let mut changes = Vec::new();
    for change in store.list_changes(&ChangeFilter::default()).await? {
        let approvals = store.approvals(&change.id).await?;
        let approved_in_month = approvals
            .iter()
            .any(|approval| approval.decision == Decision::Approve && approval.at >= from && approval.at < to);
        let implemented_in_month = change.implemented_at.is_some_and(|at| at >= from && at < to);
        if !approved_in_month && !implemented_in_month {
            continue;
        }
        changes.push(ReportChange {
            number: change.number,
            title: change.title.clone(),
            model_name: change.model_name.clone(),
            kind: change.kind,
            status: change.status,
            risk: change.risk,
            approved_by: approvals
                .iter()
                .filter(|approval| approval.decision == Decision::Approve && approval.voided.is_none())
                .map(|approval| approval.approver.clone())
                .collect(),
            implemented_at: change.implemented_at,
        });
    }
    changes.sort_by_key(|change| change.number);
    let filter = IncidentFilter {
        detected_from: Some(from.timestamp_millis()),
        detected_to: Some(to.timestamp_millis()),
        ..IncidentFilter::default()
    };
    let mut incidents: Vec<ReportIncident> = store
        .list_incidents(&filter)
        .await?
        .iter()
        .map(|incident| ReportIncident {
            number: incident.number,
            title: incident.title.clone(),
            model_name: incident.model_name.clone(),
            severity: incident.severity,
            status: incident.status,
            detected_at: incident.detected_at,
            acknowledge_seconds: incident.acknowledged_at.map(|at| seconds(at - incident.detected_at)),
            resolve_seconds: incident.resolved_at.map(|at| seconds(at - incident.detected_at)),
            art73_deadline: incident.serious.as_ref().map(|serious| serious.deadline),
            art73_reported_at: incident.serious.as_ref().and_then(|serious| serious.reported_at),
        })
        .collect();
    incidents.sort_by_key(|incident| incident.number);
    let mean = |values: Vec<f64>| (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
    Ok(GovernanceReport {
        month,
        language,
        currency,
        generated_at: now,
        models,
        mtta_seconds: mean(incidents.iter().filter_map(|incident| incident.acknowledge_seconds).collect()),
        mttr_seconds: mean(incidents.iter().filter_map(|incident| incident.resolve_seconds).collect()),
        changes,
        incidents,
        programme: view.fleet,
    })
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

/// Freezes the report of `month`: stored as JSON with its digest, the digest audited.
pub async fn freeze(
    store: &Store,
    health: &HealthBoard,
    month: Option<YearMonth>,
    language: ReportLanguage,
    currency: ReportCurrency,
    actor: &Actor,
) -> DomainResult<FrozenReport> {
    let report = governance(store, health, month, language, currency).await?;
    let body = serde_json::to_string(&report).map_err(anyhow::Error::from)?;
    let digest = super::changes::sha256_hex(body.as_bytes());
    let id = store.freeze_report(&report.month.to_string(), language.as_str(), &body, &digest, actor).await?;
    store.report_snapshot(&id).await
}

/// How long after the first business event of a burst the figures are computed again.
const WARM_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

/// Keeps the stakeholder figures computed: after each burst of `business` events, reads
/// the business data again and computes the page in both currencies, so the first
/// reader after a change does not wait for it. Runs on every replica (each has its copy).
pub async fn keep_warm(store: &Store, health: &HealthBoard, live: &crate::live::LiveHub) -> anyhow::Result<()> {
    use crate::live::Delivery;
    use keel_shared::live::LiveEvent;
    let mut events = live.subscribe(None).await?;
    let mut stale = true;
    loop {
        if stale {
            tokio::time::sleep(WARM_DELAY).await;
            for currency in [ReportCurrency::Eur, ReportCurrency::Czk] {
                if let Err(error) = stakeholder(store, health, currency, 12).await {
                    tracing::warn!(%error, "the stakeholder figures could not be computed ahead");
                }
            }
        }
        match events.next().await {
            Some(Delivery::Event(event)) => stale = matches!(event.event, LiveEvent::Business { .. }),
            Some(Delivery::Resync) => stale = true,
            None => return Ok(()),
        }
    }
}
