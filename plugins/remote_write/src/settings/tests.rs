use rcollectd_plugin::ConfigValue;

use super::*;

fn s(v: &str) -> ConfigValue {
    ConfigValue::String(v.into())
}

fn n(v: f64) -> ConfigValue {
    ConfigValue::Number(v)
}

fn opt(key: &str, value: ConfigValue) -> ConfigItem {
    ConfigItem::new(key, vec![value])
}

fn config(items: Vec<ConfigItem>) -> Config {
    Config {
        plugin: "remote_write".into(),
        items,
    }
}

/// One node "n" with `URL` first, then `options`.
fn node(options: Vec<ConfigItem>) -> Result<Node, String> {
    let mut children = vec![opt("URL", s("http://127.0.0.1:9090/api/v1/write"))];
    children.extend(options);
    parse(&config(vec![ConfigItem::block(
        "Node",
        vec![s("n")],
        children,
    )]))
    .map(|mut nodes| nodes.remove(0))
    .map_err(|e| e.to_string())
}

#[test]
fn a_full_node() {
    let dir = tempfile_dir();
    let token = dir.join("token");
    std::fs::write(&token, "sekrit\n").unwrap();
    let got = node(vec![
        opt("header", s("X-Scope-OrgID: tenant1")),
        opt("Header", s("X-B: 2")),
        opt("Timeout", n(2500.0)),
        opt("VerifyPeer", ConfigValue::Boolean(false)),
        opt("VerifyHost", s("no")),
        opt("CACert", s("/ca.pem")),
        opt("ClientCert", s("/c.pem")),
        opt("ClientKey", s("/k.pem")),
        opt("BatchSize", n(50.0)),
        opt("BufferSize", s("500")),
        opt("FlushInterval", n(0.5)),
        opt("ReportStats", ConfigValue::Boolean(true)),
        opt("BearerTokenFile", s(token.to_str().unwrap())),
    ])
    .unwrap();
    assert_eq!(
        got,
        Node {
            name: "n".into(),
            url: "http://127.0.0.1:9090/api/v1/write".into(),
            headers: vec![
                ("Authorization".into(), "Bearer sekrit".into()),
                ("X-Scope-OrgID".into(), "tenant1".into()),
                ("X-B".into(), "2".into()),
            ],
            tls: Tls {
                verify_peer: false,
                verify_host: false,
                ca_cert: Some("/ca.pem".into()),
                client_cert: Some("/c.pem".into()),
                client_key: Some("/k.pem".into()),
            },
            timeout: Duration::from_millis(2500),
            batch_size: 50,
            buffer_size: 500,
            flush_interval: Duration::from_millis(500),
            report_stats: true,
        }
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("remote_write-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn defaults_and_basic_auth() {
    let got = node(vec![opt("User", s("u")), opt("Password", s("p"))]).unwrap();
    assert_eq!(
        got.headers,
        [("Authorization".to_owned(), "Basic dTpw".to_owned())]
    );
    assert_eq!(got.tls, Tls::default());
    assert_eq!(
        (
            got.timeout,
            got.batch_size,
            got.buffer_size,
            got.flush_interval,
            got.report_stats
        ),
        (
            DEFAULT_TIMEOUT,
            DEFAULT_BATCH_SIZE,
            DEFAULT_BUFFER_SIZE,
            DEFAULT_FLUSH_INTERVAL,
            false
        )
    );
    // A batch larger than the default buffer raises the buffer with it.
    let big = node(vec![opt("BatchSize", n(200_000.0))]).unwrap();
    assert_eq!(big.buffer_size, 200_000);
}

#[test]
fn errors_name_the_option() {
    const AT: &str = "<Plugin remote_write> / <Node \"n\">";
    let cases: Vec<(Vec<ConfigItem>, String)> = vec![
        (
            vec![opt("BatchSize", n(0.0))],
            format!("{AT} / BatchSize 0: option \"BatchSize\" must be between 1 and 1000000, got 0"),
        ),
        (
            vec![opt("BatchSize", n(1.5))],
            format!("{AT} / BatchSize 1.5: option \"BatchSize\" expects an integer, got the number 1.5"),
        ),
        (
            vec![opt("BatchSize", n(100.0)), opt("BufferSize", n(10.0))],
            format!("{AT} / BufferSize 10: option \"BufferSize\" (10) must not be smaller than BatchSize (100)"),
        ),
        (
            vec![opt("Timeout", s("soon"))],
            format!("{AT} / Timeout \"soon\": option \"Timeout\" expects a number, got the string \"soon\""),
        ),
        (
            vec![opt("FlushInterval", n(0.0))],
            format!("{AT} / FlushInterval 0: option \"FlushInterval\" must be more than 0 and at most 86400 seconds"),
        ),
        (
            vec![opt("ReportStats", s("maybe"))],
            format!("{AT} / ReportStats \"maybe\": option \"ReportStats\" expects a boolean, got the string \"maybe\""),
        ),
        (
            vec![opt("Header", s("no colon"))],
            format!("{AT} / Header \"no colon\": option \"Header\": invalid header \"no colon\": expected \"Name: value\""),
        ),
        (
            vec![opt("Bogus", n(1.0))],
            format!("{AT} / Bogus 1: unknown option \"Bogus\""),
        ),
        (
            vec![opt("URL", s("ftp://x/"))],
            format!("{AT} / URL \"ftp://x/\": option \"URL\" needs an http:// or https:// URL"),
        ),
        (
            vec![opt("User", s("u")), opt("BearerToken", s("t"))],
            format!("{AT} / BearerToken \"t\": option \"BearerToken\" excludes \"User\""),
        ),
        (
            vec![opt("BearerToken", s("t")), opt("BearerTokenFile", s("/f"))],
            format!("{AT} / BearerTokenFile \"/f\": option \"BearerTokenFile\" repeats \"BearerToken\""),
        ),
        (
            vec![opt("Password", s("p"))],
            format!("{AT} / Password \"p\": option \"Password\" needs \"User\""),
        ),
        (
            vec![opt("ClientCert", s("/c.pem"))],
            format!("{AT}: options \"ClientCert\" and \"ClientKey\" go together"),
        ),
    ];
    for (options, want) in cases {
        assert_eq!(node(options).unwrap_err(), want);
    }
    let missing = node(vec![opt("BearerTokenFile", s("/nonexistent/token"))]).unwrap_err();
    assert!(
        missing.starts_with(&format!(
            "{AT} / BearerTokenFile \"/nonexistent/token\": option \"BearerTokenFile\": "
        )),
        "{missing}"
    );
}

#[test]
fn blocks_are_checked() {
    let err = |items| parse(&config(items)).unwrap_err().to_string();
    assert_eq!(
        err(vec![]),
        "<Plugin remote_write>: no <Node \"name\"> block: nothing to send to"
    );
    assert_eq!(
        err(vec![opt("URL", s("http://x/"))]),
        "<Plugin remote_write> / URL \"http://x/\": unknown option \"URL\" (options go in <Node \"name\"> blocks)"
    );
    assert_eq!(
        err(vec![ConfigItem::block("Node", vec![s("a")], vec![])]),
        "<Plugin remote_write> / Node \"a\": option \"URL\" is required"
    );
    assert_eq!(
        err(vec![ConfigItem::new("Node", vec![])]),
        "<Plugin remote_write> / Node: a <Node> block needs one name without \"/\": <Node \"name\">"
    );
    let a = || {
        ConfigItem::block(
            "Node",
            vec![s("a")],
            vec![opt("URL", s("https://x/api/v1/write"))],
        )
    };
    assert_eq!(
        err(vec![a(), a()]),
        "<Plugin remote_write> / <Node \"a\">: there is another <Node \"a\">"
    );
    let two = parse(&config(vec![
        a(),
        ConfigItem::block("node", vec![s("b")], vec![opt("url", s("http://y/"))]),
    ]))
    .unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[1].name, "b");
}
