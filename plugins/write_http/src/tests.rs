use super::*;
use rcollectd_plugin::ConfigValue;

fn s(v: &str) -> ConfigValue {
    ConfigValue::String(v.into())
}

fn node(children: Vec<ConfigItem>) -> ConfigItem {
    ConfigItem::block("Node", vec![s("n")], children)
}

#[test]
fn nodes_as_collectd_reads_them() {
    let n = parse_node(&node(vec![
        ConfigItem::new("URL", vec![s("http://127.0.0.1/x")]),
        ConfigItem::new("Format", vec![s("influxdb")]),
        ConfigItem::new("BufferSize", vec![ConfigValue::Number(8192.0)]),
        ConfigItem::new("Header", vec![s("X-A: b")]),
        ConfigItem::new("User", vec![s("u")]),
        ConfigItem::new("VerifyPeer", vec![ConfigValue::Boolean(false)]),
        ConfigItem::new("Timeout", vec![ConfigValue::Number(500.0)]),
    ]))
    .unwrap();
    assert_eq!(n.format, Format::Influx);
    assert_eq!(n.buffer_size, 8192);
    assert_eq!(n.headers, vec![("X-A".to_owned(), "b".to_owned())]);
    assert_eq!(n.user.as_deref(), Some("u"));
    assert!(!n.tls.verify_peer);
    assert_eq!(n.timeout_ms, 500);
    let legacy = parse_node(&ConfigItem::block("URL", vec![s("http://h/")], vec![])).unwrap();
    assert_eq!(legacy.url, "http://h/");
    assert_eq!(legacy.buffer_size, DEFAULT_BUFFER_SIZE);
}

#[test]
fn bad_nodes_are_refused_with_collectds_words() {
    let cases = [
        (vec![], "no URL defined for instance 'n'"),
        (
            vec![
                ConfigItem::new("URL", vec![s("http://h/")]),
                ConfigItem::new("Bogus", vec![]),
            ],
            "Invalid configuration option: Bogus.",
        ),
        (
            vec![
                ConfigItem::new("URL", vec![s("http://h/")]),
                ConfigItem::new("Format", vec![s("XML")]),
            ],
            "Invalid format string: XML",
        ),
        (
            vec![
                ConfigItem::new("URL", vec![s("http://h/")]),
                ConfigItem::new("Metrics", vec![ConfigValue::Boolean(false)]),
            ],
            "Neither metrics nor notifications are enabled for \"n\".",
        ),
    ];
    for (children, want) in cases {
        assert_eq!(parse_node(&node(children)).unwrap_err(), want);
    }
}
