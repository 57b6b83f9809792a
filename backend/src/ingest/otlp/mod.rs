//! OTLP/HTTP metrics (`POST /v1/metrics`): decoding both encodings and turning data
//! points into Keel points.
//!
//! The model is the `model_id` attribute of the data point, else of the resource, else
//! the resource's `service.name`; `model_version` names the version the same way.
//! Gauges and sums become one point each (a cumulative sum is stored as its running
//! total, like a Prometheus counter; a resend carries the same timestamp, so it replaces
//! the earlier reading instead of counting twice). Histograms and summaries become the
//! series a Prometheus exporter would write: `<name>_count`, `<name>_sum`,
//! `<name>_bucket{le=…}` (cumulative), `<name>_min`/`<name>_max`, and for summaries
//! `<name>{quantile=…}`. Exponential histograms are rejected with a reason.

pub mod messages;

use std::collections::BTreeMap;

use keel_shared::telemetry::{PointInput, TimestampInput};
use prost::Message;

use messages::{AnyValue, ExportMetricsServiceRequest, KeyValue, MetricData, NumberValue, Value};

/// The encodings of OTLP/HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From the request's Content-Type; `None` for anything else.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        match media_type.to_ascii_lowercase().as_str() {
            "application/x-protobuf" => Some(Self::Protobuf),
            "application/json" => Some(Self::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

/// Decodes an export request; the error says why the body is not one.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportMetricsServiceRequest, String> {
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(body)
            .map_err(|error| format!("the body is not an OTLP ExportMetricsServiceRequest in protobuf: {error}")),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|error| format!("the body is not an OTLP ExportMetricsServiceRequest in JSON: {error}")),
    }
}

/// One OTLP data point as Keel points (several for a histogram), or why it was rejected.
pub type DataPointOutcome = Result<Vec<PointInput>, String>;

/// Every data point of the request, in order.
pub fn data_points(request: ExportMetricsServiceRequest) -> Vec<DataPointOutcome> {
    let mut outcomes = Vec::new();
    for resource_metrics in request.resource_metrics {
        let resource = resource_metrics.resource.map(|resource| resource.attributes).unwrap_or_default();
        let resource_model =
            string_attribute(&resource, "model_id").or_else(|| string_attribute(&resource, "service.name"));
        let resource_version = string_attribute(&resource, "model_version");
        for metric in resource_metrics.scope_metrics.into_iter().flat_map(|scope| scope.metrics) {
            let context = MetricContext {
                name: &metric.name,
                resource_model: resource_model.as_deref(),
                resource_version: resource_version.as_deref(),
            };
            match metric.data {
                Some(MetricData::Gauge(gauge)) => outcomes.extend(gauge.data_points.into_iter().map(|point| {
                    context.points(&point.attributes, point.time_unix_nano, |point_of| {
                        Ok(vec![point_of(String::new(), number(point.value)?, None)])
                    })
                })),
                Some(MetricData::Sum(sum)) => outcomes.extend(sum.data_points.into_iter().map(|point| {
                    context.points(&point.attributes, point.time_unix_nano, |point_of| {
                        Ok(vec![point_of(String::new(), number(point.value)?, None)])
                    })
                })),
                Some(MetricData::Histogram(histogram)) => {
                    outcomes.extend(histogram.data_points.into_iter().map(|point| {
                        context.points(&point.attributes, point.time_unix_nano, |point_of| {
                            if point.bucket_counts.len() != point.explicit_bounds.len() + 1
                                && !point.bucket_counts.is_empty()
                            {
                                return Err(format!(
                                    "histogram has {} bucket counts for {} bounds; expected one more count than bounds",
                                    point.bucket_counts.len(),
                                    point.explicit_bounds.len()
                                ));
                            }
                            let mut points = vec![point_of("_count".into(), point.count as f64, None)];
                            points.extend(point.sum.map(|sum| point_of("_sum".into(), sum, None)));
                            points.extend(point.min.map(|min| point_of("_min".into(), min, None)));
                            points.extend(point.max.map(|max| point_of("_max".into(), max, None)));
                            let mut cumulative = 0;
                            for (index, count) in point.bucket_counts.iter().enumerate() {
                                cumulative += count;
                                let bound =
                                    point.explicit_bounds.get(index).map_or_else(|| "+Inf".into(), f64::to_string);
                                points.push(point_of("_bucket".into(), cumulative as f64, Some(("le", bound))));
                            }
                            Ok(points)
                        })
                    }));
                }
                Some(MetricData::Summary(summary)) => outcomes.extend(summary.data_points.into_iter().map(|point| {
                    context.points(&point.attributes, point.time_unix_nano, |point_of| {
                        let mut points = vec![
                            point_of("_count".into(), point.count as f64, None),
                            point_of("_sum".into(), point.sum, None),
                        ];
                        points.extend(point.quantile_values.iter().map(|quantile| {
                            point_of(String::new(), quantile.value, Some(("quantile", quantile.quantile.to_string())))
                        }));
                        Ok(points)
                    })
                })),
                Some(MetricData::ExponentialHistogram(histogram)) => {
                    outcomes.extend(histogram.data_points.iter().map(|_| {
                        Err(format!(
                            "metric '{}': exponential histograms are not supported; use explicit bucket boundaries",
                            metric.name
                        ))
                    }));
                }
                None => outcomes.push(Err(format!("metric '{}' has no data", metric.name))),
            }
        }
    }
    outcomes
}

/// What the data points of one metric share.
struct MetricContext<'a> {
    name: &'a str,
    resource_model: Option<&'a str>,
    resource_version: Option<&'a str>,
}

/// Makes a point of the data point: (name suffix, value, extra label).
type PointOf<'a> = dyn Fn(String, f64, Option<(&str, String)>) -> PointInput + 'a;

impl MetricContext<'_> {
    /// Resolves the model, version, labels and time of a data point, then lets `build`
    /// make its points.
    fn points(
        &self,
        attributes: &[KeyValue],
        time_unix_nano: u64,
        build: impl FnOnce(&PointOf<'_>) -> Result<Vec<PointInput>, String>,
    ) -> DataPointOutcome {
        let mut labels = BTreeMap::new();
        for attribute in attributes {
            labels.insert(attribute.key.clone(), label_value(attribute)?);
        }
        let model = labels
            .remove("model_id")
            .or_else(|| self.resource_model.map(str::to_owned))
            .ok_or_else(|| format!("metric '{}': no model_id attribute and no service.name", self.name))?;
        let version = labels.remove("model_version").or_else(|| self.resource_version.map(str::to_owned));
        if time_unix_nano == 0 {
            return Err(format!("metric '{}': timeUnixNano is missing", self.name));
        }
        let ts = i64::try_from(time_unix_nano / 1_000_000).unwrap_or(i64::MAX);
        let point_of = |suffix: String, value: f64, extra: Option<(&str, String)>| {
            let mut labels = labels.clone();
            if let Some((name, value)) = extra {
                labels.insert(name.to_owned(), value);
            }
            PointInput {
                model: model.clone(),
                version: version.clone(),
                metric: format!("{}{suffix}", self.name),
                labels,
                ts: TimestampInput::Millis(ts),
                value,
            }
        };
        build(&point_of)
    }
}

fn number(value: Option<NumberValue>) -> Result<f64, String> {
    match value {
        Some(NumberValue::AsDouble(value)) => Ok(value),
        Some(NumberValue::AsInt(value)) => Ok(value as f64),
        None => Err("data point has no value".into()),
    }
}

/// Attribute values become label text; arrays, maps and bytes cannot be labels.
fn label_value(attribute: &KeyValue) -> Result<String, String> {
    match attribute.value.as_ref().and_then(|value| value.value.as_ref()) {
        Some(Value::StringValue(text)) => Ok(text.clone()),
        Some(Value::BoolValue(value)) => Ok(value.to_string()),
        Some(Value::IntValue(value)) => Ok(value.to_string()),
        Some(Value::DoubleValue(value)) => Ok(value.to_string()),
        None => Ok(String::new()),
        Some(Value::ArrayValue(_) | Value::KvlistValue(_) | Value::BytesValue(_)) => {
            Err(format!("attribute '{}' is an array, map or bytes; labels must be scalar", attribute.key))
        }
    }
}

fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|attribute| attribute.key == key).and_then(|attribute| match &attribute.value {
        Some(AnyValue { value: Some(Value::StringValue(text)) }) => Some(text.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn points_of(body: &serde_json::Value) -> Vec<DataPointOutcome> {
        let request = decode(body.to_string().as_bytes(), Encoding::Json).expect("decodes");
        data_points(request)
    }

    #[test]
    fn json_with_string_integers_maps_model_version_and_histograms() {
        let outcomes = points_of(&json!({
            "resourceMetrics": [{
                "resource": { "attributes": [
                    { "key": "service.name", "value": { "stringValue": "churn" } },
                    { "key": "model_version", "value": { "stringValue": "v3" } },
                    { "key": "telemetry.sdk.name", "value": { "stringValue": "opentelemetry" } }
                ] },
                "scopeMetrics": [{ "scope": { "name": "x" }, "metrics": [
                    { "name": "accuracy", "unknownField": 1, "gauge": { "dataPoints": [
                        { "timeUnixNano": "1800000000000000000", "asDouble": 0.91,
                          "attributes": [{ "key": "region", "value": { "stringValue": "cz" } },
                                         { "key": "shard", "value": { "intValue": "7" } }] },
                        { "timeUnixNano": 1800000000001000000u64, "asInt": "42",
                          "attributes": [{ "key": "model_id", "value": { "stringValue": "fraud" } }] }
                    ] } },
                    { "name": "latency", "histogram": { "aggregationTemporality": 2, "dataPoints": [
                        { "timeUnixNano": "1800000000000000000", "count": "3", "sum": 30.0,
                          "bucketCounts": ["1", "2", "0"], "explicitBounds": [5, 10], "min": 4, "max": 12 }
                    ] } },
                    { "name": "tags", "gauge": { "dataPoints": [
                        { "timeUnixNano": "1", "asDouble": 1, "attributes": [
                            { "key": "list", "value": { "arrayValue": { "values": [] } } }] }
                    ] } }
                ] }]
            }]
        }));
        assert_eq!(outcomes.len(), 4);
        let accuracy = outcomes[0].as_ref().expect("accepted");
        assert_eq!(accuracy[0].model, "churn");
        assert_eq!(accuracy[0].version.as_deref(), Some("v3"));
        assert_eq!(accuracy[0].ts, TimestampInput::Millis(1_800_000_000_000));
        assert_eq!(accuracy[0].value, 0.91);
        assert_eq!(accuracy[0].labels, BTreeMap::from([("region".into(), "cz".into()), ("shard".into(), "7".into())]));
        let fraud = &outcomes[1].as_ref().expect("accepted")[0];
        assert_eq!((fraud.model.as_str(), fraud.value, fraud.labels.len()), ("fraud", 42.0, 0));
        let histogram = outcomes[2].as_ref().expect("accepted");
        let described: Vec<(String, Option<&String>, f64)> =
            histogram.iter().map(|point| (point.metric.clone(), point.labels.get("le"), point.value)).collect();
        let (five, ten, inf) = ("5".to_owned(), "10".to_owned(), "+Inf".to_owned());
        assert_eq!(
            described,
            vec![
                ("latency_count".into(), None, 3.0),
                ("latency_sum".into(), None, 30.0),
                ("latency_min".into(), None, 4.0),
                ("latency_max".into(), None, 12.0),
                ("latency_bucket".into(), Some(&five), 1.0),
                ("latency_bucket".into(), Some(&ten), 3.0),
                ("latency_bucket".into(), Some(&inf), 3.0),
            ]
        );
        assert!(outcomes[3].as_ref().expect_err("rejected").contains("labels must be scalar"));
    }

    #[test]
    fn protobuf_round_trip_and_missing_model() {
        use messages::*;
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: None,
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "errors".into(),
                        data: Some(MetricData::Sum(Sum {
                            data_points: vec![NumberDataPoint {
                                attributes: vec![],
                                time_unix_nano: 5_000_000,
                                value: Some(NumberValue::AsInt(2)),
                            }],
                        })),
                    }],
                }],
            }],
        };
        let decoded = decode(&request.encode_to_vec(), Encoding::Protobuf).expect("decodes");
        assert_eq!(decoded, request);
        let outcomes = data_points(decoded);
        assert_eq!(outcomes, vec![Err("metric 'errors': no model_id attribute and no service.name".into())]);
    }

    #[test]
    fn undecodable_bodies_are_errors_not_panics() {
        assert!(decode(b"\xff\xff\xff", Encoding::Protobuf).is_err());
        assert!(decode(b"{\"resourceMetrics\": 3}", Encoding::Json).is_err());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for length in 0..2_000 {
            let bytes: Vec<u8> = (0..length % 300)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            if let Ok(request) = decode(&bytes, Encoding::Protobuf) {
                let _ = data_points(request);
            }
            let _ = decode(&bytes, Encoding::Json);
        }
    }
}
