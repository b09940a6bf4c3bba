use prost::Message as _;

use super::*;

const STALE: u64 = 300 << 30;

fn id<'a>(host: &'a str, p: &'a str, pi: &'a str, t: &'a str, ti: &'a str) -> Ident<'a> {
    Ident {
        host,
        plugin: p,
        plugin_instance: pi,
        type_: t,
        type_instance: ti,
    }
}

fn gauge(name: &str, v: f64) -> Sample<'_> {
    Sample {
        name,
        kind: DsType::Gauge,
        value: Some(Value::Gauge(v)),
    }
}

fn text(store: &Store) -> String {
    let mut out = Vec::new();
    store.text(&mut out, "h");
    String::from_utf8(out).unwrap()
}

#[test]
fn labels_and_order_match_collectd() {
    let mut s = Store::new();
    let t = 1_700_000_000u64 << 30;
    for (pi, ti, v) in [
        ("1", "user", 2.0),
        ("0", "user", 1.0),
        ("", "x", 3.0),
        ("", "", 4.5),
    ] {
        s.update(
            &id("h", "cpu", pi, "percent", ti),
            [gauge("value", v)],
            "cpu",
            t,
            10 << 30,
            STALE,
        );
    }
    assert_eq!(s.len(), 4);
    assert_eq!(
        text(&s),
        "# HELP collectd_cpu_percent write_prometheus plugin: 'cpu' Type: 'percent', Dstype: 'gauge', Dsname: 'value'\n\
         # TYPE collectd_cpu_percent gauge\n\
         collectd_cpu_percent{instance=\"h\"} 4.5 1700000000000\n\
         collectd_cpu_percent{cpu=\"x\",instance=\"h\"} 3 1700000000000\n\
         collectd_cpu_percent{cpu=\"0\",type=\"user\",instance=\"h\"} 1 1700000000000\n\
         collectd_cpu_percent{cpu=\"1\",type=\"user\",instance=\"h\"} 2 1700000000000\n\
         \n# collectd/write_prometheus 5.12.0.git at h\n"
    );
}

#[test]
fn values_escapes_and_timestamps() {
    let mut s = Store::new();
    let t = (1_700_000_000u64 << 30) + (1 << 29); // .5 s
    s.update(
        &id("h", "app", "", "derive", "q\"\\\n"),
        [Sample {
            name: "value",
            kind: DsType::Derive,
            value: Some(Value::Derive(-12)),
        }],
        "app",
        t,
        10 << 30,
        STALE,
    );
    let u = s.update(
        &id("h", "app", "", "gauge", "g"),
        [gauge("value", 0.1)],
        "app",
        t,
        301 << 30,
        STALE,
    );
    assert!(u.beyond_staleness);
    let out = text(&s);
    assert!(
        out.contains(
            "collectd_app_derive_total{app=\"q\\\"\\\\\\n\",instance=\"h\"} -12 1700000000500\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("collectd_app_gauge{app=\"g\",instance=\"h\"} 0.1\n"),
        "{out}"
    );
    assert!(
        out.contains("# TYPE collectd_app_derive_total counter\n"),
        "{out}"
    );
}

#[test]
fn missing_series_are_forgotten() {
    let mut s = Store::new();
    let i = id("h", "load", "", "load", "");
    let ds = [gauge("shortterm", 1.0), gauge("midterm", 2.0)];
    s.update(&i, ds, "load", 1 << 30, 1 << 30, STALE);
    s.update(
        &id("h2", "load", "", "load", ""),
        ds,
        "load",
        1 << 30,
        1 << 30,
        STALE,
    );
    assert_eq!(s.len(), 4);
    assert!(s.remove(&i, ds).is_empty());
    assert_eq!(s.len(), 2);
    assert_eq!(
        s.remove(&i, ds),
        vec!["collectd_load_shortterm", "collectd_load_midterm"]
    );
    s.remove(&id("h2", "load", "", "load", ""), ds);
    assert!(s.is_empty());
    assert_eq!(text(&s), "\n# collectd/write_prometheus 5.12.0.git at h\n");
}

#[test]
fn protobuf_is_length_delimited_families() {
    let mut s = Store::new();
    s.update(
        &id("h", "cpu", "0", "cpu", "idle"),
        [Sample {
            name: "value",
            kind: DsType::Derive,
            value: Some(Value::Derive(7)),
        }],
        "cpu",
        2 << 30,
        1 << 30,
        STALE,
    );
    s.update(
        &id("h", "memory", "", "memory", "used"),
        [gauge("value", 1.5)],
        "memory",
        2 << 30,
        1 << 30,
        STALE,
    );
    let mut out = Vec::new();
    s.protobuf(&mut out);
    let mut buf = out.as_slice();
    let a = proto::MetricFamily::decode_length_delimited(&mut buf).unwrap();
    let b = proto::MetricFamily::decode_length_delimited(&mut buf).unwrap();
    assert!(buf.is_empty());
    assert_eq!(a.name.as_deref(), Some("collectd_cpu_total"));
    assert_eq!(a.r#type, Some(proto::COUNTER));
    assert_eq!(
        a.metric[0].counter.as_ref().and_then(|c| c.value),
        Some(7.0)
    );
    assert_eq!(a.metric[0].timestamp_ms, Some(2000));
    let labels: Vec<_> = a.metric[0]
        .label
        .iter()
        .map(|l| (l.name.clone().unwrap(), l.value.clone().unwrap()))
        .collect();
    assert_eq!(
        labels,
        [
            ("cpu".into(), "0".into()),
            ("type".into(), "idle".into()),
            ("instance".into(), "h".into())
        ]
    );
    assert_eq!(b.name.as_deref(), Some("collectd_memory"));
    assert_eq!(b.metric[0].gauge.as_ref().and_then(|g| g.value), Some(1.5));
    assert_eq!(b.r#type, Some(proto::GAUGE));
}
