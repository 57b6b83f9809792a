//! Keel's own request metrics, served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Request counts and latencies by method, route template and status.
#[derive(Debug, Default)]
pub struct RequestMetrics {
    series: Mutex<BTreeMap<SeriesKey, Latencies>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    method: String,
    /// The route template (`/api/models/{id}`), never the raw path, so ids do not explode the series count.
    route: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Latencies {
    count: u64,
    sum_seconds: f64,
    /// Non-cumulative counts per bucket of `LATENCY_BUCKETS`.
    buckets: [u64; LATENCY_BUCKETS.len()],
}

impl RequestMetrics {
    fn record(&self, key: SeriesKey, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let latencies = series.entry(key).or_default();
        latencies.count += 1;
        latencies.sum_seconds += seconds;
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound) {
            latencies.buckets[bucket] += 1;
        }
    }

    /// The metrics in Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        let _ = writeln!(out, "# HELP keel_build_info Keel version.\n# TYPE keel_build_info gauge");
        let _ = writeln!(out, "keel_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        let _ = writeln!(out, "# HELP keel_http_requests_total HTTP requests answered, by method, route and status.");
        let _ = writeln!(out, "# TYPE keel_http_requests_total counter");
        for (key, latencies) in series.iter() {
            let _ = writeln!(out, "keel_http_requests_total{{{}}} {}", labels(key), latencies.count);
        }
        let _ = writeln!(out, "# HELP keel_http_request_duration_seconds Time to answer HTTP requests.");
        let _ = writeln!(out, "# TYPE keel_http_request_duration_seconds histogram");
        for (key, latencies) in series.iter() {
            let labels = labels(key);
            let mut cumulative = 0;
            for (bound, count) in LATENCY_BUCKETS.iter().zip(latencies.buckets) {
                cumulative += count;
                let _ =
                    writeln!(out, "keel_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            let _ =
                writeln!(out, "keel_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", latencies.count);
            let _ = writeln!(out, "keel_http_request_duration_seconds_sum{{{labels}}} {}", latencies.sum_seconds);
            let _ = writeln!(out, "keel_http_request_duration_seconds_count{{{labels}}} {}", latencies.count);
        }
        out
    }
}

fn labels(key: &SeriesKey) -> String {
    format!("method=\"{}\",route=\"{}\",status=\"{}\"", key.method, escape(&key.route), key.status)
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware recording each request's route, status and latency.
pub async fn track_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        // Everything the router does not match is the console's static files.
        None => "static".to_owned(),
    };
    let response = next.run(request).await;
    let key = SeriesKey { method, route, status: response.status().as_u16() };
    state.metrics.record(key, started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labelled_by_route() {
        let metrics = RequestMetrics::default();
        let key = SeriesKey { method: "GET".into(), route: "/api/models/{id}".into(), status: 200 };
        metrics.record(key.clone(), 0.002);
        metrics.record(key, 0.2);
        let text = metrics.render();
        let labels = r#"method="GET",route="/api/models/{id}",status="200""#;
        assert!(text.contains(&format!("keel_http_requests_total{{{labels}}} 2")), "{text}");
        assert!(text.contains(&format!("keel_http_request_duration_seconds_bucket{{{labels},le=\"0.0025\"}} 1")));
        assert!(text.contains(&format!("keel_http_request_duration_seconds_bucket{{{labels},le=\"0.25\"}} 2")));
        assert!(text.contains(&format!("keel_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2")));
    }
}
