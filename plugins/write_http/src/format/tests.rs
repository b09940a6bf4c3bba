use super::*;

fn record<'a>(values: Vec<(&'a str, DsType, Value)>) -> Record<'a> {
    Record {
        host: "h",
        plugin: "app",
        plugin_instance: "x",
        type_: "if_octets",
        type_instance: "",
        time: CdTime(1_700_000_000 << 30),
        interval: CdTime(10 << 30),
        values,
        rates: None,
        meta: Vec::new(),
    }
}

#[test]
fn command_lines() {
    let r = record(vec![
        ("rx", DsType::Derive, Value::Derive(1000)),
        ("tx", DsType::Derive, Value::Derive(-2)),
    ]);
    assert_eq!(
        command(&r).unwrap(),
        "PUTVAL h/app-x/if_octets interval=10.000 1700000000.000:1000:-2\r\n"
    );
    let mut r = r;
    r.type_instance = "sp ace";
    r.rates = Some(vec![0.5, 1e-7]);
    assert_eq!(
        command(&r).unwrap(),
        "PUTVAL \"h/app-x/if_octets-sp ace\" interval=10.000 1700000000.000:0.5:1e-07\r\n"
    );
    r.rates = Some(vec![]);
    assert!(command(&r).is_none());
}

#[test]
fn json_value_lists() {
    let mut r = record(vec![
        ("rx", DsType::Counter, Value::Counter(5)),
        ("tx", DsType::Gauge, Value::Gauge(f64::NAN)),
    ]);
    r.type_instance = "q\"\u{1}";
    r.meta = vec![
        ("tag".into(), MetaValue::String("\"blue\"".into())),
        ("n".into(), MetaValue::SignedInt(-1)),
        ("d".into(), MetaValue::Double(0.5)),
        ("b".into(), MetaValue::Boolean(true)),
    ];
    assert_eq!(
        json(&r).unwrap(),
        ",{\"values\":[5,null],\"dstypes\":[\"counter\",\"gauge\"],\"dsnames\":[\"rx\",\"tx\"],\
         \"time\":1700000000.000,\"interval\":10.000,\"host\":\"h\",\"plugin\":\"app\",\
         \"plugin_instance\":\"x\",\"type\":\"if_octets\",\"type_instance\":\"q\\\"?\",\
         \"meta\":{\"tag\":\"\\\"blue\\\"\",\"n\":-1,\"d\":0.500000,\"b\":true}}"
    );
}

#[test]
fn influx_lines() {
    let cases: Vec<(Record<'_>, Option<&str>)> = vec![
        (
            record(vec![
                ("rx", DsType::Derive, Value::Derive(1000)),
                ("tx", DsType::Derive, Value::Derive(2000)),
            ]),
            Some("app_if_octets,host=h,plugin_instance=x rx=1000i,tx=2000i 1700000000000000000\n"),
        ),
        (
            Record {
                plugin: "load",
                type_: "load",
                plugin_instance: "",
                ..record(vec![
                    ("shortterm", DsType::Gauge, Value::Gauge(0.5)),
                    ("midterm", DsType::Gauge, Value::Gauge(f64::NAN)),
                    ("longterm", DsType::Gauge, Value::Gauge(3.0)),
                ])
            },
            Some("load,host=h shortterm=0.5,longterm=3.0 1700000000000000000\n"),
        ),
        (
            Record {
                type_instance: "a b,c=d",
                rates: Some(vec![2.5]),
                ..record(vec![("value", DsType::Counter, Value::Counter(7))])
            },
            Some("app_if_octets,host=h,plugin_instance=x,type_instance=a\\ b\\,c\\=d value=2.5 1700000000000000000\n"),
        ),
        (
            record(vec![("value", DsType::Counter, Value::Counter(u64::MAX))]),
            Some("app_if_octets,host=h,plugin_instance=x value=1.8446744073709552e19 1700000000000000000\n"),
        ),
        (record(vec![("value", DsType::Gauge, Value::Gauge(f64::INFINITY))]), None),
    ];
    for (r, want) in cases {
        assert_eq!(influx(&r).as_deref(), want);
    }
}

#[test]
fn nanoseconds_and_rfc3339() {
    let t = CdTime((1_700_000_000 << 30) + (1 << 29));
    assert_eq!(cdtime_to_ns(t), 1_700_000_000_500_000_000);
    assert_eq!(rfc3339nano(t), "2023-11-14T22:13:20.500000000Z");
    assert_eq!(rfc3339nano(CdTime(0)), "1970-01-01T00:00:00.000000000Z");
    assert_eq!(
        rfc3339nano(CdTime(951_782_400 << 30)),
        "2000-02-29T00:00:00.000000000Z"
    );
}

#[test]
fn alerts() {
    let a = Alert {
        severity: "WARNING",
        time: CdTime(1_700_000_000 << 30),
        message: "too \"hot\"\n",
        host: "h",
        plugin: "cpu",
        plugin_instance: "0",
        type_: "cpu",
        type_instance: "idle",
        meta: vec![("k", NotificationMetaValue::Double(0.25))],
    };
    assert_eq!(
        json_alert(&a),
        "[{\"labels\":{\"alertname\":\"collectd_cpu\",\"instance\":\"h\",\"cpu\":\"0\",\"type\":\"idle\",\
         \"severity\":\"WARNING\",\"service\":\"collectd\"},\"annotations\":{\"summary\":\"too \\\"hot\\\"\\n\",\
         \"k\":\"0.25\"},\"startsAt\":\"2023-11-14T22:13:20.000000000Z\"}]"
    );
    let b = Alert {
        plugin: "app",
        plugin_instance: "",
        type_: "gauge",
        meta: vec![],
        ..a
    };
    assert!(json_alert(&b).starts_with(
        "[{\"labels\":{\"alertname\":\"collectd_app_gauge\",\"instance\":\"h\",\"app\":\"idle\","
    ));
}

#[test]
fn kairosdb_objects() {
    let k = Kairos {
        prefix: Some("collectd".into()),
        ttl: 60,
        attributes: vec![("dc".into(), "eu".into())],
    };
    let mut r = record(vec![
        ("rx", DsType::Derive, Value::Derive(1000)),
        ("tx", DsType::Derive, Value::Derive(2000)),
    ]);
    r.plugin_instance = "Eth 0!";
    assert_eq!(
        kairosdb(&r, &k).unwrap(),
        ",{\"name\":\"collectd.app\", \"datapoints\": [[1700000000000,1000]], \"ttl\": 60, \"tags\":{\"host\": \"h\", \"dc\": \"eu\",\"plugin_instance\": \"eth0\",\"type\": \"if_octets\",\"ds\": \"rx\"}}\
         ,{\"name\":\"collectd.app\", \"datapoints\": [[1700000000000,2000]], \"ttl\": 60, \"tags\":{\"host\": \"h\", \"dc\": \"eu\",\"plugin_instance\": \"eth0\",\"type\": \"if_octets\",\"ds\": \"tx\"}}"
    );
    let g = record(vec![("value", DsType::Gauge, Value::Gauge(0.5))]);
    assert_eq!(
        kairosdb(&g, &Kairos::default()).unwrap(),
        ",{\"name\":\"app\", \"datapoints\": [[1700000000000,0.5]], \"tags\":{\"host\": \"h\",\"plugin_instance\": \"x\",\"type\": \"if_octets\"}}"
    );
    let nan = record(vec![("value", DsType::Gauge, Value::Gauge(f64::NAN))]);
    assert_eq!(kairosdb(&nan, &k), Err(KairosSkip::NotFinite));
}
