//! Drift monitoring's records: settings, reference profiles, feature rows, labels and
//! evaluation runs with their per-feature scores.

use keel_shared::audit::{AuditAction, AuditTarget};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keel_shared::ModelId;
use keel_shared::drift::{DriftMethod, FeatureValue};
use keel_shared::live::LiveEvent;
use keel_shared::monitoring::{
    DriftHistoryPoint, DriftRun, MonitoringSettings, PREDICTION_COLUMN, PerformanceMetrics, ReferenceSummary,
    TARGET_COLUMN,
};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Store, decode_stored, from_millis, new_id};
use crate::analysis::drift::profile::ReferenceColumn;
use crate::domain::{DomainError, DomainResult};

/// A feature row that passed validation.
#[derive(Debug, Clone)]
pub struct ValidFeatureRow {
    pub prediction_id: String,
    pub version: String,
    pub observed_at: i64,
    /// The features as a JSON object.
    pub features: String,
    pub prediction: Option<String>,
}

/// A reference about to be stored.
pub struct NewReference<'a> {
    pub version: &'a str,
    pub source: String,
    pub rows: u64,
    pub duplicate_rows: u64,
    pub columns: Vec<(String, ReferenceColumn)>,
    pub baseline: Option<PerformanceMetrics>,
}

/// A feature row of the current window with its label, if one arrived.
pub struct WindowRow {
    pub features: BTreeMap<String, FeatureValue>,
    pub prediction: Option<FeatureValue>,
    pub label: Option<FeatureValue>,
}

impl WindowRow {
    /// The row as a dataset row: its features, its prediction as `prediction` and, when
    /// `with_label`, its label as `target` (the columns a reference dataset names so).
    pub fn values(&self, with_label: bool) -> BTreeMap<String, FeatureValue> {
        let mut values = self.features.clone();
        if let Some(prediction) = &self.prediction {
            values.insert(PREDICTION_COLUMN.to_owned(), prediction.clone());
        }
        if let Some(label) = self.label.as_ref().filter(|_| with_label) {
            values.insert(TARGET_COLUMN.to_owned(), label.clone());
        }
        values
    }
}

macro_rules! profile_columns {
    () => {
        "id, version, source, rows, duplicate_rows, baseline, created_at, created_by"
    };
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    id: String,
    version: String,
    source: String,
    rows: i64,
    duplicate_rows: i64,
    baseline: Option<String>,
    created_at: i64,
    created_by: String,
}

/// The model's stored settings, or the defaults when it has none.
async fn stored_monitoring_settings(
    connection: &mut sqlx::AnyConnection,
    model_id: &ModelId,
) -> DomainResult<MonitoringSettings> {
    let stored: Option<String> = sqlx::query_scalar("SELECT settings FROM monitoring_settings WHERE model_id = $1")
        .bind(&model_id.0)
        .fetch_optional(connection)
        .await?;
    stored.map_or(Ok(MonitoringSettings::default()), |json| {
        super::stored::decode_monitoring(&json, &format!("model '{model_id}'"))
    })
}

impl Store {
    pub async fn monitoring_settings(&self, model_id: &ModelId) -> DomainResult<MonitoringSettings> {
        self.model_summary(model_id).await?;
        stored_monitoring_settings(&mut *self.pool.acquire().await?, model_id).await
    }

    /// Replaces the model's monitoring settings, with an audit entry.
    pub async fn set_monitoring_settings(
        &self,
        model_id: &ModelId,
        settings: &MonitoringSettings,
        actor: &Actor,
    ) -> DomainResult<()> {
        self.model_summary(model_id).await?;
        let after = super::stored::encode_monitoring(settings)?;
        let mut tx = self.begin_write().await?;
        let changes = match stored_monitoring_settings(&mut tx, model_id).await {
            Ok(before) => ChangeSet::default().fields(&before, settings),
            // Unreadable old settings must not stop them being replaced.
            Err(DomainError::Corrupt(reason)) => ChangeSet::default().field("settings", Some(&reason), Some(&after)),
            Err(error) => return Err(error),
        };
        sqlx::query(
            "INSERT INTO monitoring_settings (model_id, settings, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (model_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(&model_id.0)
        .bind(&after)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await?;
        let record = AuditRecord {
            actor,
            action: AuditAction::ModelMonitoringSettings,
            target: AuditTarget::Model,
            target_id: &model_id.0,
            changes: changes.build(),
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores (or replaces) a version's reference, with an audit entry.
    pub async fn save_reference(
        &self,
        model_id: &ModelId,
        reference: NewReference<'_>,
        actor: &Actor,
    ) -> DomainResult<ReferenceSummary> {
        let versions = self.list_versions(model_id).await?;
        if !versions.iter().any(|version| version.tag == reference.version) {
            return Err(DomainError::NotFound(format!(
                "model '{model_id}' has no version '{}'; register it first",
                reference.version
            )));
        }
        let id = new_id();
        let baseline = reference.baseline.as_ref().and_then(|baseline| serde_json::to_string(baseline).ok());
        let mut tx = self.begin_write().await?;
        let replaced = sqlx::query("DELETE FROM reference_profiles WHERE model_id = $1 AND version = $2")
            .bind(&model_id.0)
            .bind(reference.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "INSERT INTO reference_profiles
               (id, model_id, version, source, rows, duplicate_rows, baseline, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&model_id.0)
        .bind(reference.version)
        .bind(&reference.source)
        .bind(reference.rows as i64)
        .bind(reference.duplicate_rows as i64)
        .bind(baseline)
        .bind(self.now_millis())
        .bind(&actor.name)
        .execute(&mut *tx)
        .await?;
        for (position, (name, column)) in reference.columns.iter().enumerate() {
            let (summary, bytes) = column.to_stored();
            sqlx::query(
                "INSERT INTO reference_columns (profile_id, position, name, summary, sorted_values)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(position as i64)
            .bind(name)
            .bind(summary)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        }
        let changes = ChangeSet::default()
            .field("version", None, Some(reference.version))
            .field("source", None, Some(&reference.source))
            .field("rows", None, Some(&reference.rows.to_string()))
            .field("replaced", None, Some(if replaced > 0 { "yes" } else { "no" }))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ModelReference,
            target: AuditTarget::Model,
            target_id: &model_id.0,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        self.reference_summaries(model_id)
            .await?
            .into_iter()
            .find(|summary| summary.version == reference.version)
            .ok_or_else(|| DomainError::Internal(anyhow::anyhow!("the reference just stored is gone")))
    }

    /// Every version's reference of the model, newest first, without the values.
    pub async fn reference_summaries(&self, model_id: &ModelId) -> DomainResult<Vec<ReferenceSummary>> {
        self.model_summary(model_id).await?;
        let profiles: Vec<ProfileRow> = sqlx::query_as(concat!(
            "SELECT ",
            profile_columns!(),
            " FROM reference_profiles WHERE model_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(&model_id.0)
        .fetch_all(&self.pool)
        .await?;
        let mut summaries = Vec::with_capacity(profiles.len());
        for profile in profiles {
            summaries.push(self.reference_summary(model_id, profile).await?);
        }
        Ok(summaries)
    }

    /// A version's reference: its summary and its columns.
    pub async fn reference(
        &self,
        model_id: &ModelId,
        version: &str,
    ) -> DomainResult<Option<(ReferenceSummary, Vec<(String, ReferenceColumn)>)>> {
        let profile: Option<ProfileRow> = sqlx::query_as(concat!(
            "SELECT ",
            profile_columns!(),
            " FROM reference_profiles WHERE model_id = $1 AND version = $2"
        ))
        .bind(&model_id.0)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        let Some(profile) = profile else { return Ok(None) };
        let columns = self.reference_columns(&profile.id).await?;
        Ok(Some((self.reference_summary(model_id, profile).await?, columns)))
    }

    /// The profile with its columns' summaries (read without their stored values).
    async fn reference_summary(&self, model_id: &ModelId, profile: ProfileRow) -> DomainResult<ReferenceSummary> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT name, summary, CAST(LENGTH(sorted_values) AS BIGINT) FROM reference_columns
             WHERE profile_id = $1 ORDER BY position",
        )
        .bind(&profile.id)
        .fetch_all(&self.pool)
        .await?;
        let columns = rows
            .into_iter()
            .map(|(name, summary, bytes)| {
                ReferenceColumn::summary_of_stored(name.clone(), &summary, bytes as u64).ok_or_else(|| {
                    DomainError::Internal(anyhow::anyhow!("stored reference column '{name}' cannot be read"))
                })
            })
            .collect::<DomainResult<_>>()?;
        Ok(ReferenceSummary {
            model_id: model_id.clone(),
            version: profile.version,
            source: profile.source,
            rows: profile.rows as u64,
            duplicate_rows: profile.duplicate_rows as u64,
            columns,
            baseline: profile.baseline.and_then(|json| serde_json::from_str(&json).ok()),
            created_at: from_millis(profile.created_at),
            created_by: profile.created_by,
        })
    }

    async fn reference_columns(&self, profile_id: &str) -> DomainResult<Vec<(String, ReferenceColumn)>> {
        let rows: Vec<(String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT name, summary, sorted_values FROM reference_columns WHERE profile_id = $1 ORDER BY position",
        )
        .bind(profile_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(name, summary, bytes)| {
                let column = ReferenceColumn::from_stored(&summary, &bytes).ok_or_else(|| {
                    DomainError::Internal(anyhow::anyhow!("stored reference column '{name}' cannot be read"))
                })?;
                Ok((name, column))
            })
            .collect()
    }

    /// Stores the rows; a prediction id already stored for the model keeps its first row.
    pub async fn insert_feature_rows(&self, model_id: &ModelId, rows: &[ValidFeatureRow]) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO feature_rows (model_id, prediction_id, version, observed_at, features, prediction)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model_id, prediction_id) DO NOTHING",
            )
            .bind(&model_id.0)
            .bind(&row.prediction_id)
            .bind(&row.version)
            .bind(row.observed_at)
            .bind(&row.features)
            .bind(&row.prediction)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores labels (prediction id, label as JSON); a later label replaces an earlier one.
    pub async fn upsert_labels(&self, model_id: &ModelId, labels: &[(String, String)]) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        let now = self.now_millis();
        for (prediction_id, label) in labels {
            sqlx::query(
                "INSERT INTO labels (model_id, prediction_id, label, received_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (model_id, prediction_id) DO UPDATE SET label = excluded.label,
                 received_at = excluded.received_at",
            )
            .bind(&model_id.0)
            .bind(prediction_id)
            .bind(label)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The version's rows observed in [from, to), with their labels.
    pub async fn window_rows(
        &self,
        model_id: &ModelId,
        version: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> DomainResult<Vec<WindowRow>> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT r.features, r.prediction, l.label FROM feature_rows r
             LEFT JOIN labels l ON l.model_id = r.model_id AND l.prediction_id = r.prediction_id
             WHERE r.model_id = $1 AND r.version = $2 AND r.observed_at >= $3 AND r.observed_at < $4",
        )
        .bind(&model_id.0)
        .bind(version)
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.pool)
        .await?;
        let value = |json: Option<String>| json.and_then(|json| serde_json::from_str::<FeatureValue>(&json).ok());
        Ok(rows
            .into_iter()
            .filter_map(|(features, prediction, label)| {
                let features = serde_json::from_str(&features).ok()?;
                Some(WindowRow { features, prediction: value(prediction), label: value(label) })
            })
            .collect())
    }

    /// When the model's newest feature row was observed.
    pub async fn last_feature_row_at(
        &self,
        model_id: &ModelId,
        at: DateTime<Utc>,
    ) -> DomainResult<Option<DateTime<Utc>>> {
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(observed_at) FROM feature_rows WHERE model_id = $1 AND observed_at <= $2")
                .bind(&model_id.0)
                .bind(at.timestamp_millis())
                .fetch_one(&self.pool)
                .await?;
        Ok(newest.map(from_millis))
    }

    /// Versions with a reference, per model, and when each was last evaluated.
    pub async fn monitored_versions(&self) -> DomainResult<Vec<(ModelId, String, Option<DateTime<Utc>>)>> {
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT p.model_id, p.version,
                    (SELECT MAX(evaluated_at) FROM drift_runs d WHERE d.model_id = p.model_id AND d.version = p.version)
             FROM reference_profiles p ORDER BY p.model_id, p.version",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(model, version, last)| (ModelId(model), version, last.map(from_millis))).collect())
    }

    /// Claims a scheduled evaluation of the version's reference unless a scheduler (of
    /// this or another replica) claimed one after `claimed_after`; true when this caller
    /// got it. One statement, so two replicas racing for it cannot both win.
    pub async fn claim_scheduled_evaluation(
        &self,
        model_id: &ModelId,
        version: &str,
        now: DateTime<Utc>,
        claimed_after: DateTime<Utc>,
    ) -> DomainResult<bool> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE reference_profiles SET scheduled_at = $3
             WHERE model_id = $1 AND version = $2 AND (scheduled_at IS NULL OR scheduled_at <= $4)",
        )
        .bind(&model_id.0)
        .bind(version)
        .bind(now.timestamp_millis())
        .bind(claimed_after.timestamp_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Gives up a claim whose evaluation did not happen (no rows yet), so the next
    /// scheduler pass tries again.
    pub async fn release_scheduled_evaluation(&self, model_id: &ModelId, version: &str) -> DomainResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE reference_profiles SET scheduled_at = NULL WHERE model_id = $1 AND version = $2")
            .bind(&model_id.0)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a run and its per-feature scores, with its audit entry and its event.
    pub async fn save_drift_run(&self, run: &DriftRun, actor: &Actor, event: &LiveEvent) -> DomainResult<()> {
        let json = serde_json::to_string(run).map_err(|error| DomainError::Internal(error.into()))?;
        let degradation = serde_json::to_string(run.degradation()).unwrap_or_else(|_| "[]".into());
        let evaluated_at = run.evaluated_at.timestamp_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO drift_runs (id, model_id, version, evaluated_at, degradation, run)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&run.id)
        .bind(&run.model_id.0)
        .bind(&run.version)
        .bind(evaluated_at)
        .bind(degradation)
        .bind(json)
        .execute(&mut *tx)
        .await?;
        for column in &run.report.columns {
            let Some(report) = &column.report else { continue };
            let Some(result) = report.results.first() else { continue };
            sqlx::query(
                "INSERT INTO drift_scores
                   (run_id, model_id, feature, evaluated_at, version, method, value, threshold, drifted)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&run.id)
            .bind(&run.model_id.0)
            .bind(&column.column)
            .bind(evaluated_at)
            .bind(&run.version)
            .bind(result.method.name())
            .bind(result.value)
            .bind(result.threshold)
            .bind(i64::from(result.drifted))
            .execute(&mut *tx)
            .await?;
        }
        let changes = ChangeSet::default()
            .field("version", None, Some(&run.version))
            .field("window_from", None, Some(&run.window_from.to_rfc3339()))
            .field("window_to", None, Some(&run.window_to.to_rfc3339()))
            .field("drifted_columns", None, Some(&run.report.drifted_columns.to_string()))
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::DriftEvaluate,
            target: AuditTarget::DriftRun,
            target_id: &run.id,
            changes,
        };
        self.append_audit(&mut tx, record).await?;
        self.append_event(&mut tx, event).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }

    pub async fn latest_drift_run(&self, model_id: &ModelId) -> DomainResult<Option<DriftRun>> {
        let json: Option<String> = sqlx::query_scalar(
            "SELECT run FROM drift_runs WHERE model_id = $1 ORDER BY evaluated_at DESC, id DESC LIMIT 1",
        )
        .bind(&model_id.0)
        .fetch_optional(&self.pool)
        .await?;
        json.map(|json| {
            serde_json::from_str(&json)
                .map_err(|error| DomainError::Internal(anyhow::anyhow!("stored drift run cannot be read: {error}")))
        })
        .transpose()
    }

    /// The feature's score in the model's latest `limit` runs, oldest first.
    pub async fn drift_history(
        &self,
        model_id: &ModelId,
        feature: &str,
        limit: u32,
    ) -> DomainResult<Vec<DriftHistoryPoint>> {
        self.model_summary(model_id).await?;
        let rows: Vec<(i64, String, String, f64, f64, i64)> = sqlx::query_as(
            "SELECT evaluated_at, version, method, value, threshold, drifted FROM drift_scores
             WHERE model_id = $1 AND feature = $2 ORDER BY evaluated_at DESC LIMIT $3",
        )
        .bind(&model_id.0)
        .bind(feature)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut points: Vec<DriftHistoryPoint> = rows
            .into_iter()
            .filter_map(|(evaluated_at, version, method, value, threshold, drifted)| {
                Some(DriftHistoryPoint {
                    evaluated_at: from_millis(evaluated_at),
                    version,
                    method: method.parse::<DriftMethod>().ok()?,
                    value,
                    threshold,
                    drifted: drifted != 0,
                })
            })
            .collect();
        points.reverse();
        Ok(points)
    }

    /// Why the model's latest run makes it degraded (empty when it does not, or without runs).
    pub async fn latest_degradation(&self, model_id: &ModelId) -> DomainResult<Vec<String>> {
        let reasons: Option<String> = sqlx::query_scalar(
            "SELECT degradation FROM drift_runs WHERE model_id = $1 ORDER BY evaluated_at DESC, id DESC LIMIT 1",
        )
        .bind(&model_id.0)
        .fetch_optional(&self.pool)
        .await?;
        reasons.map_or(Ok(Vec::new()), |json| {
            decode_stored(&json, "performance degradation", &format!("model '{model_id}''s latest drift run"))
        })
    }

    /// Drops feature rows and labels observed (or received) before `before` (Unix ms).
    pub async fn prune_feature_rows(&self, before: i64) -> DomainResult<u64> {
        let mut tx = self.begin_write().await?;
        let rows =
            sqlx::query("DELETE FROM feature_rows WHERE observed_at < $1").bind(before).execute(&mut *tx).await?;
        let labels = sqlx::query("DELETE FROM labels WHERE received_at < $1").bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows.rows_affected() + labels.rows_affected())
    }
}
