//! One evaluation: a model version's feature rows of the current window against its
//! reference — drift and data quality per column, the histograms to draw, performance
//! where labels arrived, freshness — stored as a run (with each feature's score as a
//! point of its time series), audited, and announced on the live stream (where alerting
//! hears it), all in one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use keel_shared::ModelId;
use keel_shared::drift::{DatasetDriftReport, FeatureValue, MethodThreshold};
use keel_shared::live::LiveEvent;
use keel_shared::monitoring::{
    DriftRun, FeatureHistogram, Freshness, MonitoringSettings, PerformanceMetrics, PerformanceReport, ReferenceSummary,
};

use crate::analysis::column::Column;
use crate::analysis::drift::profile::ReferenceColumn;
use crate::analysis::performance;
use crate::dataset_drift::{Dataset, column_drift};
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;
use crate::store::monitoring::WindowRow;

/// Evaluates `version` (default: the version in production if it has a reference, else
/// the newest version with one) as of `now` (the window ends there) for `actor`, and
/// stores the run with its audit entry and its event.
pub async fn evaluate(
    store: &Store,
    actor: &Actor,
    model_id: &ModelId,
    version: Option<&str>,
    now: DateTime<Utc>,
) -> DomainResult<DriftRun> {
    let settings = store.monitoring_settings(model_id).await?;
    let version = match version {
        Some(version) => version.to_owned(),
        None => default_version(store, model_id).await?,
    };
    let (summary, columns) = store.reference(model_id, &version).await?.ok_or_else(|| {
        DomainError::NotFound(format!("version '{version}' of model '{model_id}' has no reference: upload one first"))
    })?;
    let window_from = now - Duration::minutes(i64::from(settings.window_minutes));
    let rows = store.window_rows(model_id, &version, window_from, now).await?;
    if rows.is_empty() {
        return Err(DomainError::Conflict(format!(
            "no feature rows of version '{version}' arrived in the last {} minutes: nothing to evaluate",
            settings.window_minutes
        )));
    }
    let freshness = freshness(store, model_id, &settings, now).await?;
    let inputs = Inputs { settings, summary, columns, rows };
    let outcome = tokio::task::spawn_blocking(move || compare(&inputs))
        .await
        .map_err(|error| DomainError::Internal(anyhow::anyhow!("the evaluation failed: {error}")))?;
    let run = DriftRun {
        id: uuid::Uuid::now_v7().to_string(),
        model_id: model_id.clone(),
        version,
        evaluated_at: now,
        window_from,
        window_to: now,
        current_rows: outcome.current_rows,
        report: outcome.report,
        histograms: outcome.histograms,
        performance: outcome.performance,
        freshness,
    };
    let event = LiveEvent::Drift {
        model_id: run.model_id.clone(),
        run_id: run.id.clone(),
        version: run.version.clone(),
        compared_columns: run.report.compared_columns,
        drifted_columns: run.report.drifted_columns,
        dataset_drifted: run.report.drifted,
        degradation: run.degradation().to_vec(),
        freshness_breached: run.freshness.breached,
    };
    store.save_drift_run(&run, actor, &event).await?;
    if run.report.drifted {
        let reason = format!(
            "a drift evaluation of {} found dataset drift ({} of {} columns)",
            run.version, run.report.drifted_columns, run.report.compared_columns
        );
        crate::services::changes::void_approvals(store, model_id, Some(&run.version), &reason).await?;
    }
    Ok(run)
}

/// The version in production if it has a reference, else the newest version with one.
async fn default_version(store: &Store, model_id: &ModelId) -> DomainResult<String> {
    let references = store.reference_summaries(model_id).await?;
    let production = store.get_model(model_id).await?.model.production_version;
    production
        .filter(|production| references.iter().any(|reference| &reference.version == production))
        .or_else(|| references.first().map(|reference| reference.version.clone()))
        .ok_or_else(|| {
            DomainError::NotFound(format!("model '{model_id}' has no reference yet: upload one for a version first"))
        })
}

/// Whether feature rows keep arriving within the model's SLA, as of `now`.
pub async fn freshness(
    store: &Store,
    model_id: &ModelId,
    settings: &MonitoringSettings,
    now: DateTime<Utc>,
) -> DomainResult<Freshness> {
    let last_row_at = store.last_feature_row_at(model_id, now).await?;
    let breached =
        last_row_at.is_none_or(|last| now - last > Duration::minutes(i64::from(settings.freshness_sla_minutes)));
    Ok(Freshness { last_row_at, sla_minutes: settings.freshness_sla_minutes, breached })
}

struct Inputs {
    settings: MonitoringSettings,
    summary: ReferenceSummary,
    columns: Vec<(String, ReferenceColumn)>,
    rows: Vec<WindowRow>,
}

struct Outcome {
    current_rows: u64,
    report: DatasetDriftReport,
    histograms: Vec<FeatureHistogram>,
    performance: Option<PerformanceReport>,
}

/// The comparison itself: pure, on a blocking thread.
fn compare(inputs: &Inputs) -> Outcome {
    let rows: Vec<BTreeMap<String, FeatureValue>> = inputs.rows.iter().map(|row| row.values(false)).collect();
    let current = Dataset::from_rows(&rows);
    let mut columns = Vec::with_capacity(inputs.columns.len());
    let mut histograms = Vec::new();
    let mut only_in_reference = Vec::new();
    for (name, reference) in &inputs.columns {
        let Some(values) = current.column(name) else {
            only_in_reference.push(name.clone());
            continue;
        };
        let rule = inputs.settings.features.iter().rev().find(|rule| &rule.feature == name);
        let methods = rule.map(|rule| vec![rule.method]);
        let thresholds: Vec<MethodThreshold> = rule
            .and_then(|rule| Some(MethodThreshold { method: rule.method, threshold: rule.threshold? }))
            .into_iter()
            .collect();
        let feature = reference.compare(values);
        let column = column_drift(name, feature, &reference.summary, values, methods.as_deref(), &thresholds);
        if column.report.is_some() {
            histograms.push(FeatureHistogram { feature: name.clone(), bins: reference.histogram(values) });
        }
        columns.push(column);
    }
    let only_in_current =
        current.names.iter().filter(|name| !inputs.columns.iter().any(|(known, _)| known == *name)).cloned().collect();
    let report = DatasetDriftReport::new(
        columns,
        only_in_reference,
        only_in_current,
        inputs.summary.duplicate_rows as usize,
        current.duplicate_rows,
    );
    Outcome { current_rows: inputs.rows.len() as u64, report, histograms, performance: performance_report(inputs) }
}

/// Performance of the labelled rows, judged against the reference's when it has one.
fn performance_report(inputs: &Inputs) -> Option<PerformanceReport> {
    let pairs: Vec<(&FeatureValue, &FeatureValue)> =
        inputs.rows.iter().filter_map(|row| Some((row.prediction.as_ref()?, row.label.as_ref()?))).collect();
    if pairs.is_empty() {
        return None;
    }
    let baseline: Option<&PerformanceMetrics> = inputs.summary.baseline.as_ref();
    let task = baseline.map_or_else(
        || {
            performance::task_of(&Column::from_values(
                &pairs.iter().map(|(_, label)| (*label).clone()).collect::<Vec<_>>(),
            ))
        },
        |baseline| baseline.task,
    );
    let current = performance::metrics(task, &pairs);
    if current.labelled_rows == 0 {
        return None;
    }
    let degraded = baseline.map_or_else(Vec::new, |baseline| {
        performance::degradation(&current, baseline, inputs.settings.performance_tolerance)
    });
    Some(PerformanceReport { current, baseline: baseline.cloned(), degraded })
}

/// The reference of version `candidate` against the feature rows `traffic_version` served
/// in the model's window up to `now` (not stored: what a promotion's drift gate reads).
/// `None` when the candidate has no reference or no rows arrived.
pub async fn reference_against_traffic(
    store: &Store,
    model_id: &ModelId,
    candidate: &str,
    traffic_version: &str,
    now: DateTime<Utc>,
) -> DomainResult<Option<(u64, DatasetDriftReport)>> {
    let settings = store.monitoring_settings(model_id).await?;
    let Some((summary, columns)) = store.reference(model_id, candidate).await? else {
        return Ok(None);
    };
    let window_from = now - Duration::minutes(i64::from(settings.window_minutes));
    let rows = store.window_rows(model_id, traffic_version, window_from, now).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let inputs = Inputs { settings, summary, columns, rows };
    let outcome = tokio::task::spawn_blocking(move || compare(&inputs))
        .await
        .map_err(|error| DomainError::Internal(anyhow::anyhow!("the comparison failed: {error}")))?;
    Ok(Some((outcome.current_rows, outcome.report)))
}
