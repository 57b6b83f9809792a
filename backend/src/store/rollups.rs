//! Reading rollups for charts, and their upkeep: hourly rollups recomputed from the
//! minutes written since, and raw points dropped past their retention.

use std::collections::{BTreeSet, HashMap};

use super::telemetry::MINUTE_MILLIS;
use super::{Dialect, Store};
use crate::analysis::rollups::Rollup;
use crate::analysis::sketch::QuantileSketch;
use crate::domain::DomainResult;

pub const HOUR_MILLIS: i64 = 60 * MINUTE_MILLIS;

/// Which rollups a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    /// Whole hours from the hourly rollups (minutes at the range's ragged ends and in
    /// hours not rolled up yet).
    Hour,
}

type RollupRow = (i64, i64, f64, f64, f64, Vec<u8>);
/// A `RollupRow` with the model it belongs to in front.
type ModelRollupRow = (String, i64, i64, f64, f64, f64, Vec<u8>);

impl Store {
    /// The rollups of every series of `metric` for the model in `[from, to)`, merged
    /// across series, oldest first.
    #[tracing::instrument(skip_all, fields(model = model_id, metric))]
    pub async fn metric_rollups(
        &self,
        model_id: &str,
        metric: &str,
        from: i64,
        to: i64,
        resolution: Resolution,
    ) -> DomainResult<Vec<Rollup>> {
        let from = from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        if resolution == Resolution::Minute {
            return Ok(merge(self.minute_rows(model_id, metric, from, to).await?));
        }
        let first_hour = (from + HOUR_MILLIS - 1).div_euclid(HOUR_MILLIS) * HOUR_MILLIS;
        let end_hour = to.div_euclid(HOUR_MILLIS) * HOUR_MILLIS;
        if first_hour >= end_hour {
            return Ok(merge(self.minute_rows(model_id, metric, from, to).await?));
        }
        // Hours with minutes written since their rollup are read from their minutes.
        let pending: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT m.minute - (m.minute % 3600000)
             FROM series_minutes m JOIN series s ON s.id = m.series_id
             WHERE s.model_id = $1 AND s.metric = $2 AND m.rolled_up = 0 AND m.minute >= $3 AND m.minute < $4",
        )
        .bind(model_id)
        .bind(metric)
        .bind(first_hour)
        .bind(end_hour)
        .fetch_all(&self.pool)
        .await?;
        let pending: BTreeSet<i64> = pending.into_iter().collect();
        let mut rows: Vec<RollupRow> = sqlx::query_as(
            "SELECT h.hour, h.count, h.sum, h.min, h.max, h.sketch
             FROM series_hours h JOIN series s ON s.id = h.series_id
             WHERE s.model_id = $1 AND s.metric = $2 AND h.hour >= $3 AND h.hour < $4",
        )
        .bind(model_id)
        .bind(metric)
        .bind(first_hour)
        .bind(end_hour)
        .fetch_all(&self.pool)
        .await?;
        rows.retain(|row| !pending.contains(&row.0));
        for hour in &pending {
            rows.extend(self.minute_rows(model_id, metric, *hour, hour + HOUR_MILLIS).await?);
        }
        rows.extend(self.minute_rows(model_id, metric, from, first_hour).await?);
        rows.extend(self.minute_rows(model_id, metric, end_hour, to).await?);
        rows.sort_by_key(|row| row.0);
        Ok(merge(rows))
    }

    /// Every model's minute rollups of `metric` in `[from, to)`, merged across each
    /// model's series: one query for the whole fleet (what alert rules read each cycle).
    /// The minute rollups of `metric` over `[from, to)` of these models only, by model
    /// (models without points are absent).
    pub async fn models_minute_rollups(
        &self,
        metric: &str,
        models: &[&str],
        from: i64,
        to: i64,
    ) -> DomainResult<HashMap<String, Vec<Rollup>>> {
        let from = from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        let mut by_model: HashMap<String, Vec<RollupRow>> = HashMap::new();
        // Bounded parameter lists (SQLite allows 32,766 parameters; PostgreSQL 65,535).
        for chunk in models.chunks(500) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|index| format!("${}", index + 4)).collect();
            let sql = format!(
                "SELECT s.model_id, m.minute, m.count, m.sum, m.min, m.max, m.sketch
                 FROM series_minutes m JOIN series s ON s.id = m.series_id
                 WHERE s.metric = $1 AND m.minute >= $2 AND m.minute < $3 AND s.model_id IN ({})
                 ORDER BY s.model_id, m.minute",
                placeholders.join(", ")
            );
            // Only numbered placeholders are interpolated; the models are bound.
            let mut query =
                sqlx::query_as::<_, ModelRollupRow>(sqlx::AssertSqlSafe(sql)).bind(metric).bind(from).bind(to);
            for model in chunk {
                query = query.bind(*model);
            }
            for (model_id, minute, count, sum, min, max, sketch) in query.fetch_all(&self.pool).await? {
                by_model.entry(model_id).or_default().push((minute, count, sum, min, max, sketch));
            }
        }
        Ok(by_model.into_iter().map(|(model_id, rows)| (model_id, merge(rows))).collect())
    }

    pub async fn fleet_minute_rollups(
        &self,
        metric: &str,
        from: i64,
        to: i64,
    ) -> DomainResult<HashMap<String, Vec<Rollup>>> {
        let from = from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS;
        let rows: Vec<ModelRollupRow> = sqlx::query_as(
            "SELECT s.model_id, m.minute, m.count, m.sum, m.min, m.max, m.sketch
             FROM series_minutes m JOIN series s ON s.id = m.series_id
             WHERE s.metric = $1 AND m.minute >= $2 AND m.minute < $3",
        )
        .bind(metric)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut by_model: HashMap<String, Vec<RollupRow>> = HashMap::new();
        for (model_id, minute, count, sum, min, max, sketch) in rows {
            by_model.entry(model_id).or_default().push((minute, count, sum, min, max, sketch));
        }
        Ok(by_model.into_iter().map(|(model_id, rows)| (model_id, merge(rows))).collect())
    }

    async fn minute_rows(&self, model_id: &str, metric: &str, from: i64, to: i64) -> DomainResult<Vec<RollupRow>> {
        if from >= to {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT m.minute, m.count, m.sum, m.min, m.max, m.sketch
             FROM series_minutes m JOIN series s ON s.id = m.series_id
             WHERE s.model_id = $1 AND s.metric = $2 AND m.minute >= $3 AND m.minute < $4
             ORDER BY m.minute",
        )
        .bind(model_id)
        .bind(metric)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Recomputes the hourly rollups of up to `limit` ended series-hours with minutes
    /// written since; returns how many it did (fewer than `limit`: nothing is left). The
    /// hour in progress is left to queries, which read it from its minutes: rolling it
    /// up would redo it after every write.
    #[tracing::instrument(skip_all)]
    pub async fn roll_up_hours(&self, limit: i64) -> DomainResult<usize> {
        let mut tx = self.begin_write().await?;
        let pending: Vec<(String, i64)> = sqlx::query_as(
            "SELECT DISTINCT series_id, minute - (minute % 3600000) FROM series_minutes
             WHERE rolled_up = 0 AND minute < $1 LIMIT $2",
        )
        .bind(self.now_millis().div_euclid(HOUR_MILLIS) * HOUR_MILLIS)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        // PostgreSQL: lock the minutes, so a writer of another replica cannot slip a
        // point in between reading them and marking them rolled up.
        let select_minutes = match self.dialect {
            Dialect::Sqlite => {
                "SELECT minute, count, sum, min, max, sketch FROM series_minutes
                 WHERE series_id = $1 AND minute >= $2 AND minute < $3"
            }
            Dialect::Postgres => {
                "SELECT minute, count, sum, min, max, sketch FROM series_minutes
                 WHERE series_id = $1 AND minute >= $2 AND minute < $3 FOR UPDATE"
            }
        };
        for (series_id, hour) in &pending {
            let minutes: Vec<RollupRow> = sqlx::query_as(select_minutes)
                .bind(series_id)
                .bind(hour)
                .bind(hour + HOUR_MILLIS)
                .fetch_all(&mut *tx)
                .await?;
            let Some(rollup) =
                merge(minutes.into_iter().map(|row| (*hour, row.1, row.2, row.3, row.4, row.5)).collect()).pop()
            else {
                continue;
            };
            sqlx::query(
                "INSERT INTO series_hours (series_id, hour, count, sum, min, max, sketch) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (series_id, hour) DO UPDATE SET count = excluded.count, sum = excluded.sum,
                     min = excluded.min, max = excluded.max, sketch = excluded.sketch",
            )
            .bind(series_id)
            .bind(hour)
            .bind(i64::try_from(rollup.count).unwrap_or(i64::MAX))
            .bind(rollup.sum)
            .bind(rollup.min)
            .bind(rollup.max)
            .bind(rollup.sketch.to_bytes())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE series_minutes SET rolled_up = 1
                 WHERE series_id = $1 AND minute >= $2 AND minute < $3 AND rolled_up = 0",
            )
            .bind(series_id)
            .bind(hour)
            .bind(hour + HOUR_MILLIS)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(pending.len())
    }

    /// Drops the raw points of minutes before `before` (their rollups stay); returns
    /// how many minutes were pruned.
    #[tracing::instrument(skip_all)]
    pub async fn prune_raw_points(&self, before: i64) -> DomainResult<u64> {
        let mut tx = self.begin_write().await?;
        let pruned = sqlx::query("UPDATE series_minutes SET points = $1 WHERE minute < $2 AND points <> $1")
            .bind(Vec::<u8>::new())
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(pruned)
    }
}

/// Rows sorted by start, merged where starts are equal (several series, or minutes
/// relabelled to their hour).
fn merge(rows: Vec<RollupRow>) -> Vec<Rollup> {
    let mut merged: Vec<Rollup> = Vec::new();
    for (start, count, sum, min, max, sketch) in rows {
        let sketch = QuantileSketch::from_bytes(&sketch).unwrap_or_default();
        let count = u64::try_from(count).unwrap_or_default();
        match merged.last_mut() {
            Some(last) if last.start == start => last.add(&Rollup { start, count, sum, min, max, sketch }, true),
            _ => merged.push(Rollup { start, count, sum, min, max, sketch }),
        }
    }
    merged
}
