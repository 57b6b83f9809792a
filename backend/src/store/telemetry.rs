//! Series, their per-minute points and rollups, and idempotent ingest answers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{Any, Transaction};

use super::{Store, new_id, now_millis};
use crate::analysis::rollups::MinuteRollup;
use crate::analysis::sketch::QuantileSketch;
use crate::error::ApiResult;
use crate::ingest::writer::IdempotentAnswer;
use crate::ingest::{SeriesKey, ValidPoint};

pub const MINUTE_MILLIS: i64 = 60_000;

/// A minute's raw points: (ts, value) pairs, 16 bytes each, sorted by ts.
fn encode_points(points: &BTreeMap<i64, f64>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(points.len() * 16);
    for (ts, value) in points {
        bytes.extend_from_slice(&ts.to_le_bytes());
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn decode_points(bytes: &[u8]) -> BTreeMap<i64, f64> {
    bytes
        .chunks_exact(16)
        .filter_map(|pair| {
            let (ts, value) = pair.split_first_chunk::<8>()?;
            let value: [u8; 8] = value.try_into().ok()?;
            Some((i64::from_le_bytes(*ts), f64::from_le_bytes(value)))
        })
        .collect()
}

impl Store {
    /// Model ids by every name and id in `references` that the store knows (each
    /// distinct reference is looked up once).
    pub async fn resolve_models<'a>(
        &self,
        references: impl IntoIterator<Item = &'a str>,
    ) -> ApiResult<HashMap<String, String>> {
        let distinct: BTreeSet<&str> = references.into_iter().collect();
        let mut found = HashMap::new();
        for reference in distinct {
            let id: Option<String> =
                sqlx::query_scalar("SELECT id FROM models WHERE id = $1 OR lower(name) = lower($1)")
                    .bind(reference)
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(id) = id {
                found.insert(reference.to_owned(), id);
            }
        }
        Ok(found)
    }

    /// Stores points in one transaction: each touched series-minute is merged with what it
    /// held (a point for a time already present replaces it, so resent data never counts
    /// twice) and its rollup recomputed; idempotent answers are saved with them.
    #[tracing::instrument(skip_all, fields(points = points.len()))]
    pub async fn write_points(&self, points: &[&ValidPoint], answers: &[&IdempotentAnswer]) -> ApiResult<()> {
        let mut by_minute: BTreeMap<(&SeriesKey, i64), BTreeMap<i64, f64>> = BTreeMap::new();
        for point in points {
            by_minute
                .entry((&point.series, point.ts.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS))
                .or_default()
                .insert(point.ts, point.value);
        }
        let mut tx = self.begin_write().await?;
        let mut series_ids: HashMap<&SeriesKey, String> = HashMap::new();
        for ((series, minute), new_points) in by_minute {
            let series_id = match series_ids.get(series) {
                Some(id) => id.clone(),
                None => {
                    let id = series_id(&mut tx, series).await?;
                    series_ids.insert(series, id.clone());
                    id
                }
            };
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT points FROM series_minutes WHERE series_id = $1 AND minute = $2")
                    .bind(&series_id)
                    .bind(minute)
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut merged = stored.as_deref().map(decode_points).unwrap_or_default();
            merged.extend(new_points);
            let mut sketch = QuantileSketch::new();
            let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
            for value in merged.values() {
                sketch.add(*value);
                sum += value;
                min = min.min(*value);
                max = max.max(*value);
            }
            sqlx::query(
                "INSERT INTO series_minutes (series_id, minute, points, count, sum, min, max, sketch)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (series_id, minute) DO UPDATE SET points = excluded.points, count = excluded.count,
                     sum = excluded.sum, min = excluded.min, max = excluded.max, sketch = excluded.sketch",
            )
            .bind(&series_id)
            .bind(minute)
            .bind(encode_points(&merged))
            .bind(i64::try_from(merged.len()).unwrap_or(i64::MAX))
            .bind(sum)
            .bind(min)
            .bind(max)
            .bind(sketch.to_bytes())
            .execute(&mut *tx)
            .await?;
        }
        for answer in answers {
            sqlx::query(
                "INSERT INTO ingest_requests (idempotency_key, response, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(&answer.key)
            .bind(&answer.response)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The answer given earlier to a request with this Idempotency-Key.
    pub async fn idempotent_response(&self, key: &str) -> ApiResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT response FROM ingest_requests WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The rollups of every series of `metric` for the model, minute by minute in
    /// `[from, to)`, merged across series.
    #[tracing::instrument(skip_all, fields(model = model_id, metric))]
    pub async fn metric_rollups(
        &self,
        model_id: &str,
        metric: &str,
        from: i64,
        to: i64,
    ) -> ApiResult<Vec<MinuteRollup>> {
        let rows: Vec<(i64, i64, f64, f64, f64, Vec<u8>)> = sqlx::query_as(
            "SELECT m.minute, m.count, m.sum, m.min, m.max, m.sketch
             FROM series_minutes m JOIN series s ON s.id = m.series_id
             WHERE s.model_id = $1 AND s.metric = $2 AND m.minute >= $3 AND m.minute < $4
             ORDER BY m.minute",
        )
        .bind(model_id)
        .bind(metric)
        .bind(from.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut merged: Vec<MinuteRollup> = Vec::new();
        for (minute, count, sum, min, max, sketch) in rows {
            let sketch = QuantileSketch::from_bytes(&sketch).unwrap_or_default();
            let count = u64::try_from(count).unwrap_or_default();
            match merged.last_mut() {
                Some(last) if last.minute == minute => {
                    last.count += count;
                    last.sum += sum;
                    last.min = last.min.min(min);
                    last.max = last.max.max(max);
                    last.sketch.merge(&sketch);
                }
                _ => merged.push(MinuteRollup { minute, count, sum, min, max, sketch }),
            }
        }
        Ok(merged)
    }
}

/// The id of `series`, created on first sight.
async fn series_id(tx: &mut Transaction<'static, Any>, series: &SeriesKey) -> ApiResult<String> {
    sqlx::query(
        "INSERT INTO series (id, model_id, metric, labels, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model_id, metric, labels) DO NOTHING",
    )
    .bind(new_id())
    .bind(&series.model_id)
    .bind(&series.metric)
    .bind(&series.labels)
    .bind(now_millis())
    .execute(&mut **tx)
    .await?;
    Ok(sqlx::query_scalar("SELECT id FROM series WHERE model_id = $1 AND metric = $2 AND labels = $3")
        .bind(&series.model_id)
        .bind(&series.metric)
        .bind(&series.labels)
        .fetch_one(&mut **tx)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_round_trip_through_their_encoding() {
        let points = BTreeMap::from([(1_000, 1.5), (61_000, -2.0), (-5, 0.0)]);
        assert_eq!(decode_points(&encode_points(&points)), points);
    }
}
