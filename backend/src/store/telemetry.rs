//! Series, their per-minute points and rollups, and idempotent ingest answers.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::{Any, AssertSqlSafe, Transaction};

use super::{Store, new_id};
use keel_shared::live::LiveEvent;

use crate::analysis::sketch::QuantileSketch;
use crate::domain::DomainResult;

/// Identifies a series: (model, metric, sorted labels).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub model_id: String,
    pub metric: String,
    /// Canonical JSON of the labels: an object with sorted keys.
    pub labels: String,
}

/// A point that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidPoint {
    pub series: SeriesKey,
    /// Unix milliseconds.
    pub ts: i64,
    pub value: f64,
}

/// An answer to store with the points, replayed to retries with the same key.
pub struct IdempotentAnswer {
    pub key: String,
    pub response: String,
}

pub const MINUTE_MILLIS: i64 = 60_000;
/// Series-minutes read or written per statement (8 parameters each). Not more: SQLite
/// looks up each parameter's name by walking the list (`sqlite3_bind_parameter_name`),
/// so binding costs grow with the square of the parameters of one statement.
const ROWS_PER_STATEMENT: usize = 32;
/// Series ids kept in memory, so the hot path does not look them up per write.
const SERIES_ID_CACHE: usize = 100_000;

/// A minute's raw points: (ts, value) pairs, 16 bytes each, sorted by ts. Empty once
/// the raw-point retention has passed (the rollup columns stay).
fn encode_points(points: &[(i64, f64)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(points.len() * 16);
    for (ts, value) in points {
        bytes.extend_from_slice(&ts.to_le_bytes());
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn decode_points(bytes: &[u8]) -> Vec<(i64, f64)> {
    bytes
        .chunks_exact(16)
        .filter_map(|pair| {
            let (ts, value) = pair.split_first_chunk::<8>()?;
            let value: [u8; 8] = value.try_into().ok()?;
            Some((i64::from_le_bytes(*ts), f64::from_le_bytes(value)))
        })
        .collect()
}

/// A series-minute row as read: (points, count, sum, min, max, sketch).
type StoredMinute = (Vec<u8>, i64, f64, f64, f64, Vec<u8>);

/// A series-minute row after a write.
struct MergedMinute {
    points: Vec<u8>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    sketch: QuantileSketch,
}

/// Adds `new` points to the stored minute. Points at new times are added to the stored
/// rollup (the common case: no re-sketching of the whole minute); a point at a time
/// already stored replaces it, and then the rollup is recomputed from the raw points.
/// Minutes whose raw points are past retention can only be added to.
fn merge_minute(stored: Option<StoredMinute>, new: &BTreeMap<i64, f64>) -> MergedMinute {
    let fresh = || MergedMinute {
        points: Vec::new(),
        count: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sketch: QuantileSketch::new(),
    };
    let add = |mut minute: MergedMinute, values: &mut dyn Iterator<Item = f64>| {
        for value in values {
            minute.count += 1;
            minute.sum += value;
            minute.min = minute.min.min(value);
            minute.max = minute.max.max(value);
            minute.sketch.add(value);
        }
        minute
    };
    let Some((bytes, count, sum, min, max, sketch)) = stored else {
        let points: Vec<(i64, f64)> = new.iter().map(|(ts, value)| (*ts, *value)).collect();
        let mut minute = add(fresh(), &mut points.iter().map(|(_, value)| *value));
        minute.points = encode_points(&points);
        return minute;
    };
    let old = decode_points(&bytes);
    let pruned = old.is_empty() && count > 0;
    let replaces = !pruned && new.keys().any(|ts| old.binary_search_by_key(ts, |(old_ts, _)| *old_ts).is_ok());
    if replaces {
        let mut all: BTreeMap<i64, f64> = old.into_iter().collect();
        all.extend(new);
        let points: Vec<(i64, f64)> = all.into_iter().collect();
        let mut minute = add(fresh(), &mut points.iter().map(|(_, value)| *value));
        minute.points = encode_points(&points);
        return minute;
    }
    let stored_minute = MergedMinute {
        points: Vec::new(),
        count: u64::try_from(count).unwrap_or_default(),
        sum,
        min,
        max,
        sketch: QuantileSketch::from_bytes(&sketch).unwrap_or_default(),
    };
    let mut minute = add(stored_minute, &mut new.values().copied());
    if !pruned {
        let mut points = Vec::with_capacity(old.len() + new.len());
        let (mut old, mut new) = (old.into_iter().peekable(), new.iter().map(|(ts, value)| (*ts, *value)).peekable());
        while let (Some(a), Some(b)) = (old.peek(), new.peek()) {
            let take_old = a.0 < b.0;
            points.extend(if take_old { old.next() } else { new.next() });
        }
        points.extend(old);
        points.extend(new);
        minute.points = encode_points(&points);
    }
    minute
}

impl Store {
    /// The names of the metrics the model has reported, in order.
    pub async fn model_metrics(&self, model_id: &str) -> DomainResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT DISTINCT metric FROM series WHERE model_id = $1 ORDER BY metric")
            .bind(model_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Model ids by every name and id in `references` that the store knows (each
    /// distinct reference is looked up once).
    pub async fn resolve_models<'a>(
        &self,
        references: impl IntoIterator<Item = &'a str>,
    ) -> DomainResult<HashMap<String, String>> {
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
    /// twice) and its rollup recomputed; idempotent answers and the batch's `events` (one
    /// per model, never one per point) are saved with them.
    #[tracing::instrument(skip_all, fields(points = points.len()))]
    pub async fn write_points(
        &self,
        points: &[&ValidPoint],
        answers: &[&IdempotentAnswer],
        events: &[LiveEvent],
    ) -> DomainResult<()> {
        let mut by_minute: BTreeMap<(&SeriesKey, i64), BTreeMap<i64, f64>> = BTreeMap::new();
        for point in points {
            by_minute
                .entry((&point.series, point.ts.div_euclid(MINUTE_MILLIS) * MINUTE_MILLIS))
                .or_default()
                .insert(point.ts, point.value);
        }
        let mut tx = self.begin_write().await?;
        let mut created_series: Vec<(SeriesKey, String)> = Vec::new();
        let mut series_ids: HashMap<&SeriesKey, String> = HashMap::new();
        let mut rows: Vec<(String, i64, BTreeMap<i64, f64>)> = Vec::with_capacity(by_minute.len());
        for ((series, minute), new_points) in by_minute {
            let series_id = match series_ids.get(series) {
                Some(id) => id.clone(),
                None => {
                    let id = match self.cached_series_id(series) {
                        Some(id) => id,
                        None => {
                            let id = series_id(&mut tx, series, self.now_millis()).await?;
                            created_series.push((series.clone(), id.clone()));
                            id
                        }
                    };
                    series_ids.insert(series, id.clone());
                    id
                }
            };
            rows.push((series_id, minute, new_points));
        }
        // Read and write the touched series-minutes many rows per statement: each
        // statement is a round trip to the database thread, the dominant cost otherwise.
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut select = String::from(
                "SELECT series_id, minute, points, count, sum, min, max, sketch FROM series_minutes WHERE ",
            );
            for index in 0..chunk.len() {
                let separator = if index == 0 { "" } else { " OR " };
                select.push_str(&format!(
                    "{separator}(series_id = ${} AND minute = ${})",
                    2 * index + 1,
                    2 * index + 2
                ));
            }
            let mut query =
                sqlx::query_as::<_, (String, i64, Vec<u8>, i64, f64, f64, f64, Vec<u8>)>(AssertSqlSafe(select));
            for (series_id, minute, _) in chunk {
                query = query.bind(series_id).bind(minute);
            }
            let mut stored: HashMap<(String, i64), StoredMinute> = query
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(series_id, minute, points, count, sum, min, max, sketch)| {
                    ((series_id, minute), (points, count, sum, min, max, sketch))
                })
                .collect();
            let mut upsert = String::from(
                "INSERT INTO series_minutes (series_id, minute, points, count, sum, min, max, sketch, rolled_up) VALUES ",
            );
            for index in 0..chunk.len() {
                let first = 8 * index;
                let separator = if index == 0 { "" } else { ", " };
                upsert.push_str(&format!(
                    "{separator}(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 0)",
                    first + 1,
                    first + 2,
                    first + 3,
                    first + 4,
                    first + 5,
                    first + 6,
                    first + 7,
                    first + 8
                ));
            }
            upsert.push_str(
                " ON CONFLICT (series_id, minute) DO UPDATE SET points = excluded.points, count = excluded.count,
                   sum = excluded.sum, min = excluded.min, max = excluded.max, sketch = excluded.sketch, rolled_up = 0",
            );
            let mut query = sqlx::query(AssertSqlSafe(upsert));
            for (series_id, minute, new_points) in chunk {
                let merged = merge_minute(stored.remove(&(series_id.clone(), *minute)), new_points);
                query = query
                    .bind(series_id)
                    .bind(minute)
                    .bind(merged.points)
                    .bind(i64::try_from(merged.count).unwrap_or(i64::MAX))
                    .bind(merged.sum)
                    .bind(merged.min)
                    .bind(merged.max)
                    .bind(merged.sketch.to_bytes());
            }
            query.execute(&mut *tx).await?;
        }
        for answer in answers {
            sqlx::query(
                "INSERT INTO ingest_requests (idempotency_key, response, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(&answer.key)
            .bind(&answer.response)
            .bind(self.now_millis())
            .execute(&mut *tx)
            .await?;
        }
        for event in events {
            self.append_event(&mut tx, event).await?;
        }
        self.commit_with_events(tx).await?;
        // Only ids of committed series are remembered.
        self.remember_series_ids(created_series);
        Ok(())
    }

    fn cached_series_id(&self, series: &SeriesKey) -> Option<String> {
        self.series_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(series).cloned()
    }

    /// Remembers committed series ids (series are never renamed; a full cache starts over).
    fn remember_series_ids(&self, created: Vec<(SeriesKey, String)>) {
        let mut cache = self.series_ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() + created.len() > SERIES_ID_CACHE {
            cache.clear();
        }
        cache.extend(created);
    }

    /// The answer given earlier to a request with this Idempotency-Key.
    pub async fn idempotent_response(&self, key: &str) -> DomainResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT response FROM ingest_requests WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }
}

/// The id of `series`, created on first sight.
async fn series_id(tx: &mut Transaction<'static, Any>, series: &SeriesKey, now: i64) -> DomainResult<String> {
    sqlx::query(
        "INSERT INTO series (id, model_id, metric, labels, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model_id, metric, labels) DO NOTHING",
    )
    .bind(new_id())
    .bind(&series.model_id)
    .bind(&series.metric)
    .bind(&series.labels)
    .bind(now)
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
        let points = vec![(-5, 0.0), (1_000, 1.5), (61_000, -2.0)];
        assert_eq!(decode_points(&encode_points(&points)), points);
    }

    fn stored(minute: &MergedMinute) -> Option<StoredMinute> {
        let count = i64::try_from(minute.count).expect("count");
        Some((minute.points.clone(), count, minute.sum, minute.min, minute.max, minute.sketch.to_bytes()))
    }

    #[test]
    fn appended_points_extend_the_rollup_and_resent_points_replace() {
        let first = merge_minute(None, &BTreeMap::from([(10, 1.0), (30, 3.0)]));
        let appended = merge_minute(stored(&first), &BTreeMap::from([(20, 2.0), (40, 10.0)]));
        assert_eq!(decode_points(&appended.points), [(10, 1.0), (20, 2.0), (30, 3.0), (40, 10.0)]);
        assert_eq!((appended.count, appended.sum, appended.min, appended.max), (4, 16.0, 1.0, 10.0));
        assert_eq!(appended.sketch.count(), 4);

        let resent = merge_minute(stored(&appended), &BTreeMap::from([(40, 4.0)]));
        assert_eq!((resent.count, resent.sum, resent.max), (4, 10.0, 4.0));

        // Past retention only the rollup is left: late points are added to it.
        let pruned = Some((Vec::new(), 4, 10.0, 1.0, 4.0, resent.sketch.to_bytes()));
        let late = merge_minute(pruned, &BTreeMap::from([(50, 5.0)]));
        assert_eq!((late.count, late.sum, late.max, late.points.len()), (5, 15.0, 5.0, 0));
    }
}
