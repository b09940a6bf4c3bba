//! The messages of Prometheus's `io.prometheus.client` package
//! (`metrics.proto`) that collectd's write_prometheus serves: families of
//! gauges and counters with labels and millisecond timestamps. Field
//! numbers and proto2 presence as in that file, so the encoding is the
//! one protobuf-c produces for collectd.

/// `LabelPair`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPair {
    /// Label name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `Counter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Counter {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `Metric` (only the fields collectd sets).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Labels, in collectd's order.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// Set for gauge families.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    /// Set for counter families.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    /// Milliseconds since the epoch, unless the interval exceeds StalenessDelta.
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
}

/// `MetricType` values collectd uses.
pub const COUNTER: i32 = 0;
/// `MetricType::GAUGE`.
pub const GAUGE: i32 = 1;

/// `MetricFamily`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricFamily {
    /// Family name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// HELP text.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// [`COUNTER`] or [`GAUGE`].
    #[prost(int32, optional, tag = "3")]
    pub r#type: Option<i32>,
    /// The family's metrics.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}
