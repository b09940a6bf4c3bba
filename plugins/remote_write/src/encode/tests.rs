use prost::Message as _;
use rcollectd_plugin::DsType;
use rcollectd_plugin_common::prometheus;

use super::*;
use crate::proto::WriteRequest;

fn decode(body: &[u8]) -> WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .expect("snappy block format");
    WriteRequest::decode(raw.as_slice()).expect("protobuf WriteRequest")
}

fn names(ts: &TimeSeries) -> Vec<(&str, &str)> {
    ts.labels
        .iter()
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect()
}

/// The series of a cpu value list, as the plugin builds them.
fn cpu(pi: &str, ti: &str, value: i64, time_ms: i64) -> Vec<TimeSeries> {
    let name = prometheus::family_name("cpu", "cpu", "value", DsType::Derive);
    time_series(
        prometheus::labels("h", "cpu", pi, ti),
        [(name, value as f64)],
        time_ms,
    )
}

#[test]
fn a_batch_decodes_to_the_request_prost_encodes() {
    let mut series = cpu("0", "idle", 1234, 1_700_000_000_250);
    series.extend(time_series(
        prometheus::labels("h", "load", "", ""),
        [
            ("collectd_load_shortterm".to_owned(), 0.5),
            ("collectd_load_midterm".to_owned(), f64::NAN),
        ],
        1_700_000_000_000,
    ));
    let mut b = Batcher::new(100);
    for s in &series {
        assert!(b.push(&entry(s), Instant::now()).is_none());
    }
    assert_eq!(b.len(), 3);
    let (body, n) = b.take().expect("a batch");
    assert_eq!(n, 3);
    let want = WriteRequest {
        timeseries: series.clone(),
    };
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    assert_eq!(raw, want.encode_to_vec(), "concatenated entries");
    let got = decode(&body);
    assert_eq!(got.timeseries.len(), 3);
    assert_eq!(got.timeseries[..2], want.timeseries[..2]);
    assert!(got.timeseries[2].samples[0].value.is_nan());
    assert_eq!(
        names(&got.timeseries[0]),
        [
            ("__name__", "collectd_cpu_total"),
            ("cpu", "0"),
            ("instance", "h"),
            ("type", "idle"),
        ]
    );
    assert_eq!(
        got.timeseries[0].samples,
        [Sample {
            value: 1234.0,
            timestamp: 1_700_000_000_250
        }]
    );
    assert_eq!(
        names(&got.timeseries[1]),
        [("__name__", "collectd_load_shortterm"), ("instance", "h")]
    );
    assert!(b.is_empty() && b.take().is_none());
}

#[test]
fn label_names_are_sorted_sanitized_and_unique() {
    let one = |labels: &[(&str, &str)], name: &str| {
        let ts = time_series(labels.iter().copied(), [(name.to_owned(), 1.0)], 0);
        names(&ts[0])
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
    };
    // Upper case sorts before `__name__`, lower case after.
    assert_eq!(
        one(&[("Zeta", "z"), ("instance", "h")], "m"),
        ["Zeta=z", "__name__=m", "instance=h"]
    );
    // A plugin name with a dot, a metric name with a dash and a digit first.
    assert_eq!(
        one(
            &[("app.dots", "a.b"), ("instance", "h")],
            "collectd_app.dots_gauge-x"
        ),
        [
            "__name__=collectd_app_dots_gauge_x",
            "app_dots=a.b",
            "instance=h"
        ]
    );
    assert_eq!(sanitize("0abc", false), "_abc");
    assert_eq!(sanitize("a:b9", true), "a:b9");
    assert_eq!(sanitize("a:b9", false), "a_b9");
    // A plugin named `type` with both instances: the first label wins; an
    // empty value is no label.
    let labels: Vec<_> = prometheus::labels("h", "type", "pi", "ti").collect();
    assert_eq!(one(&labels, "m"), ["__name__=m", "instance=h", "type=pi"]);
    assert_eq!(
        one(&[("app", ""), ("instance", "h")], "m"),
        ["__name__=m", "instance=h"]
    );
    // One series per data source, each with its own name.
    let ts = time_series(
        prometheus::labels("h", "interface", "eth0", ""),
        [("rx".to_owned(), 1.0), ("tx".to_owned(), 2.0)],
        7,
    );
    assert_eq!(ts.len(), 2);
    assert_eq!(
        names(&ts[1]),
        [("__name__", "tx"), ("instance", "h"), ("interface", "eth0")]
    );
    assert_eq!(ts[1].samples[0].value, 2.0);
}

#[test]
fn batches_fill_at_batch_size() {
    let t0 = Instant::now();
    let mut b = Batcher::new(10);
    let mut full = Vec::new();
    for i in 0..25 {
        let series = cpu("0", "user", i, 1000 + i);
        if let Some(batch) = b.push(&entry(&series[0]), t0) {
            full.push(batch);
        }
    }
    assert_eq!(full.len(), 2);
    assert_eq!(b.len(), 5);
    assert_eq!(
        b.age(t0 + Duration::from_secs(2)),
        Some(Duration::from_secs(2))
    );
    full.extend(b.take());
    let counts: Vec<usize> = full.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, [10, 10, 5]);
    // In order, nothing lost or repeated.
    let values: Vec<f64> = full
        .iter()
        .flat_map(|(body, _)| decode(body).timeseries)
        .map(|ts| ts.samples[0].value)
        .collect();
    assert_eq!(values, (0..25).map(|i| i as f64).collect::<Vec<_>>());
    assert_eq!(b.age(t0), None);
    // A batch size of zero means one sample per request.
    let mut one = Batcher::new(0);
    assert!(one.push(&entry(&cpu("", "", 1, 1)[0]), t0).is_some());
}
