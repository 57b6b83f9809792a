//! The subset of the OTLP metrics messages Keel reads (opentelemetry-proto 1.x,
//! `collector/metrics/v1` and `metrics/v1`), one set of types for both encodings:
//! prost decodes the protobuf (unknown fields are skipped), serde the OTLP/JSON
//! (lowerCamelCase, 64-bit integers as strings or numbers, unknown fields ignored).
//! Exemplars and scope details are not read: Keel does not use them.

use serde::{Deserialize, Deserializer};

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExportMetricsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceResponse {
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsPartialSuccess {
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    #[prost(string, tag = "2")]
    pub error_message: String,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceMetrics {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeMetrics {
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Metric {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(oneof = "MetricData", tags = "5, 7, 9, 10, 11")]
    #[serde(flatten)]
    pub data: Option<MetricData>,
}

#[derive(Clone, PartialEq, prost::Oneof, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MetricData {
    #[prost(message, tag = "5")]
    Gauge(Gauge),
    #[prost(message, tag = "7")]
    Sum(Sum),
    #[prost(message, tag = "9")]
    Histogram(Histogram),
    /// Read only to count (and reject) its points.
    #[prost(message, tag = "10")]
    ExponentialHistogram(Unsupported),
    #[prost(message, tag = "11")]
    Summary(Summary),
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Gauge {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sum {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Histogram {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// A metric kind Keel does not store; only its data points are counted.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Unsupported {
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<Ignored>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
pub struct Ignored {}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NumberDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    #[serde(deserialize_with = "json_u64")]
    pub time_unix_nano: u64,
    #[prost(oneof = "NumberValue", tags = "4, 6")]
    #[serde(flatten)]
    pub value: Option<NumberValue>,
}

#[derive(Clone, Copy, PartialEq, prost::Oneof, Deserialize)]
pub enum NumberValue {
    #[prost(double, tag = "4")]
    #[serde(rename = "asDouble", deserialize_with = "json_f64")]
    AsDouble(f64),
    #[prost(sfixed64, tag = "6")]
    #[serde(rename = "asInt", deserialize_with = "json_i64")]
    AsInt(i64),
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HistogramDataPoint {
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    #[serde(deserialize_with = "json_u64")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    #[serde(deserialize_with = "json_u64")]
    pub count: u64,
    #[prost(double, optional, tag = "5")]
    #[serde(deserialize_with = "json_optional_f64")]
    pub sum: Option<f64>,
    #[prost(fixed64, repeated, tag = "6")]
    #[serde(deserialize_with = "json_u64s")]
    pub bucket_counts: Vec<u64>,
    #[prost(double, repeated, tag = "7")]
    #[serde(deserialize_with = "json_f64s")]
    pub explicit_bounds: Vec<f64>,
    #[prost(double, optional, tag = "11")]
    #[serde(deserialize_with = "json_optional_f64")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "12")]
    #[serde(deserialize_with = "json_optional_f64")]
    pub max: Option<f64>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SummaryDataPoint {
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    #[prost(fixed64, tag = "3")]
    #[serde(deserialize_with = "json_u64")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "4")]
    #[serde(deserialize_with = "json_u64")]
    pub count: u64,
    #[prost(double, tag = "5")]
    #[serde(deserialize_with = "json_f64")]
    pub sum: f64,
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValueAtQuantile {
    #[prost(double, tag = "1")]
    #[serde(deserialize_with = "json_f64")]
    pub quantile: f64,
    #[prost(double, tag = "2")]
    #[serde(deserialize_with = "json_f64")]
    pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnyValue {
    #[prost(oneof = "Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    #[serde(flatten)]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Oneof, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Value {
    #[prost(string, tag = "1")]
    StringValue(String),
    #[prost(bool, tag = "2")]
    BoolValue(bool),
    #[prost(int64, tag = "3")]
    #[serde(deserialize_with = "json_i64")]
    IntValue(i64),
    #[prost(double, tag = "4")]
    #[serde(deserialize_with = "json_f64")]
    DoubleValue(f64),
    /// Arrays, key-value lists and bytes cannot be labels; their content is not kept.
    #[prost(message, tag = "5")]
    ArrayValue(Ignored),
    #[prost(message, tag = "6")]
    KvlistValue(Ignored),
    #[prost(bytes = "vec", tag = "7")]
    #[serde(deserialize_with = "json_ignored_bytes")]
    BytesValue(Vec<u8>),
}

/// A 64-bit integer in OTLP/JSON: a number or a decimal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonInteger<T> {
    Number(T),
    Text(String),
}

fn json_integer<'de, D: Deserializer<'de>, T>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + std::str::FromStr,
{
    match JsonInteger::<T>::deserialize(deserializer)? {
        JsonInteger::Number(number) => Ok(number),
        JsonInteger::Text(text) => {
            text.parse().map_err(|_| serde::de::Error::custom(format!("'{text}' is not an integer")))
        }
    }
}

fn json_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    json_integer(deserializer)
}

fn json_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    json_integer(deserializer)
}

fn json_u64s<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
    let items = Vec::<JsonInteger<u64>>::deserialize(deserializer)?;
    items
        .into_iter()
        .map(|item| match item {
            JsonInteger::Number(number) => Ok(number),
            JsonInteger::Text(text) => {
                text.parse().map_err(|_| serde::de::Error::custom(format!("'{text}' is not an integer")))
            }
        })
        .collect()
}

/// A double in proto3 JSON: a number, or "NaN", "Infinity", "-Infinity" (or a numeric string).
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonDouble {
    Number(f64),
    Text(String),
}

impl JsonDouble {
    fn value<E: serde::de::Error>(self) -> Result<f64, E> {
        match self {
            Self::Number(number) => Ok(number),
            Self::Text(text) => match text.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => text.parse().map_err(|_| E::custom(format!("'{text}' is not a number"))),
            },
        }
    }
}

fn json_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    JsonDouble::deserialize(deserializer)?.value()
}

fn json_optional_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Option::<JsonDouble>::deserialize(deserializer)?.map(JsonDouble::value).transpose()
}

fn json_f64s<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    Vec::<JsonDouble>::deserialize(deserializer)?.into_iter().map(JsonDouble::value).collect()
}

fn json_ignored_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| Vec::new())
}
