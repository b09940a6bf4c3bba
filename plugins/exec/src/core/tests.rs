use super::*;
use rcollectd_plugin::{DsType, Value};
use rcollectd_plugin_common::cmds::{PutValue, Source};

fn s(v: &str) -> ConfigValue {
    ConfigValue::String(v.into())
}

#[test]
fn options_as_collectd_reads_them() {
    // (values, children?, expected program or warning)
    let ok = |values: Vec<ConfigValue>| parse_program(&ConfigItem::new("Exec", values));
    let p = ok(vec![
        s("user:grp"),
        s("/usr/lib/x/prog.sh"),
        s("a b"),
        ConfigValue::Number(1.5),
        ConfigValue::Boolean(true),
    ])
    .unwrap();
    assert_eq!(p.kind, Kind::Normal);
    assert_eq!((p.user.as_str(), p.group.as_deref()), ("user", Some("grp")));
    assert_eq!(p.exec, "/usr/lib/x/prog.sh");
    assert_eq!(p.argv, ["prog.sh", "a b", "1.500000", "true"]);
    let p = ok(vec![s("user:"), s("prog")]).unwrap();
    assert_eq!((p.group.as_deref(), p.argv[0].as_str()), (Some(""), "prog"));
    let p = parse_program(&ConfigItem::new("notificationexec", vec![s("u"), s("/p")])).unwrap();
    assert_eq!((p.kind, p.group), (Kind::Notification, None));
    let cases: &[(Vec<ConfigValue>, &str)] = &[
        (
            vec![s("u")],
            "The config option `Exec' needs at least two arguments.",
        ),
        (
            vec![s("u"), ConfigValue::Number(1.0)],
            "The first two arguments to the `Exec' option must be string arguments.",
        ),
    ];
    for (values, want) in cases {
        assert_eq!(ok(values.clone()).unwrap_err(), *want);
    }
    let block = ConfigItem::block(
        "Exec",
        vec![s("u"), s("p")],
        vec![ConfigItem::new("x", vec![])],
    );
    assert_eq!(
        parse_program(&block).unwrap_err(),
        "The config option `Exec' may not be a block."
    );
}

#[test]
fn config_runs_the_last_program_first_and_warns() {
    let config = Config {
        plugin: "exec".into(),
        items: vec![
            ConfigItem::new("Exec", vec![s("a"), s("/first")]),
            ConfigItem::new("Bogus", vec![]),
            ConfigItem::new("NotificationExec", vec![s("b"), s("/second")]),
        ],
    };
    let (programs, warnings) = parse_config(&config);
    let execs: Vec<&str> = programs.iter().map(|p| p.exec.as_str()).collect();
    assert_eq!(execs, ["/second", "/first"]);
    assert_eq!(warnings, ["Unknown config option `Bogus'."]);
}

#[test]
fn environment_of_a_program() {
    let env = child_env(10 << 30, "h.example");
    assert_eq!(env[0], ("COLLECTD_INTERVAL".into(), "10.000".into()));
    assert_eq!(env[1], ("COLLECTD_HOSTNAME".into(), "h.example".into()));
    assert_eq!(child_env(3 << 29, "")[0].1, "1.500");
    assert_eq!(child_env(0, &"x".repeat(400))[1].1.len(), 281);
}

#[test]
fn lines_are_cut_and_bounded() {
    // (max, chunks, lines as (text, cut))
    type Case = (
        usize,
        &'static [&'static str],
        &'static [(&'static str, bool)],
    );
    let cases: &[Case] = &[
        (10, &["a\nb\r\n", "c"], &[("a", false), ("b", false)]),
        (10, &["ab", "c\n", "\n"], &[("abc", false), ("", false)]),
        (3, &["abc\n"], &[("abc", false)]),
        (3, &["abc", "\n"], &[("abc", false)]),
        (3, &["abcd\nx\n"], &[("abc", true), ("x", false)]),
        (3, &["ab", "cd", "ef\ny\n"], &[("abc", true), ("y", false)]),
    ];
    for (max, chunks, want) in cases {
        let mut lines = lines(*max);
        let mut got: Vec<(String, bool)> = Vec::new();
        for c in *chunks {
            lines.feed(c.as_bytes(), &mut |l, cut| {
                got.push((String::from_utf8_lossy(l).into_owned(), cut));
            });
        }
        let want: Vec<(String, bool)> = want.iter().map(|(t, c)| ((*t).into(), *c)).collect();
        assert_eq!(got, want, "{chunks:?}");
    }
}

/// A [`CmdEnv`] that knows `gauge` and records what happens.
#[derive(Default)]
struct Fake {
    values: Vec<PutValue>,
    notifs: Vec<PutNotif>,
    logs: Vec<(Level, String)>,
}

impl CmdEnv for Fake {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        (type_ == b"gauge").then(|| {
            vec![Source {
                name: "value".into(),
                kind: DsType::Gauge,
            }]
        })
    }
    fn now(&mut self) -> u64 {
        7 << 30
    }
    fn dispatch_values(&mut self, vl: &PutValue) {
        self.values.push(vl.clone());
    }
    fn dispatch_notification(&mut self, n: &PutNotif) {
        self.notifs.push(n.clone());
    }
    fn log(&mut self, level: Level, message: String) {
        self.logs.push((level, message));
    }
}

#[test]
fn lines_a_program_prints() {
    // (line, stdout reply, values, notifications, log)
    type Case = (&'static str, &'static str, usize, usize, &'static str);
    let cases: &[Case] = &[
        ("PUTVAL h/p/gauge 1:1 2:2", "", 2, 0, ""),
        ("putval h/p/gauge N:1", "", 1, 0, ""),
        (
            "PUTVAL h/p/gauge 1:x",
            "-1 Parsing the values string failed.\n",
            0,
            0,
            "parse_value: Failed to parse string as gauge: \"x\".",
        ),
        (
            "PUTVALUE h/p/gauge 1:1",
            "-1 Unknown command `PUTVALUE'.\n",
            0,
            0,
            "",
        ),
        (
            "PUTNOTIF severity=okay time=1 message=m",
            "0 Success\n",
            0,
            1,
            "",
        ),
        (
            "PUTNOTIF severity=okay",
            "-1 Option `time' missing.\n",
            0,
            0,
            "",
        ),
        (
            "hello",
            "",
            0,
            0,
            "Unable to parse command, ignoring line: \"hello\"",
        ),
        (
            "hel\0PUTVAL",
            "",
            0,
            0,
            "Unable to parse command, ignoring line: \"hel\"",
        ),
        ("", "", 0, 0, "Unable to parse command, ignoring line: \"\""),
    ];
    for (line, reply, values, notifs, log) in cases {
        let mut env = Fake::default();
        let mut out = Vec::new();
        handle_line(line.as_bytes(), &mut env, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), *reply, "{line:?}");
        assert_eq!(
            (env.values.len(), env.notifs.len()),
            (*values, *notifs),
            "{line:?}"
        );
        let logs: Vec<&str> = env.logs.iter().map(|(_, m)| m.as_str()).collect();
        let want: Vec<&str> = if log.is_empty() { vec![] } else { vec![*log] };
        assert_eq!(logs, want, "{line:?}");
    }
    let mut env = Fake::default();
    handle_line(
        b"PUTVAL h/p/gauge interval=5 N:2.5",
        &mut env,
        &mut Vec::new(),
    );
    assert_eq!(env.values[0].values, [Value::Gauge(2.5)]);
    assert_eq!(
        (env.values[0].time, env.values[0].interval),
        (7 << 30, 5 << 30)
    );
}

#[test]
fn notification_text_as_collectd_writes_it() {
    let n = PutNotif {
        severity: 2,
        time: (1_700_000_000 << 30) + (1 << 29),
        host: b"h".to_vec(),
        plugin: b"p".to_vec(),
        type_: b"t".to_vec(),
        meta: vec![
            (
                b"k".to_vec(),
                meta_text(&NotificationMetaValue::String("v")),
            ),
            (
                b"d".to_vec(),
                meta_text(&NotificationMetaValue::Double(1.5)),
            ),
            (
                b"i".to_vec(),
                meta_text(&NotificationMetaValue::SignedInt(-3)),
            ),
            (
                b"b".to_vec(),
                meta_text(&NotificationMetaValue::Boolean(false)),
            ),
        ],
        message: b"hello world".to_vec(),
        ..Default::default()
    };
    assert_eq!(
        String::from_utf8(render_notification(&n)).unwrap(),
        "Severity: WARNING\nTime: 1700000000.500\nHost: h\nPlugin: p\nType: t\n\
         k: v\nd: 1.500000e+00\ni: -3\nb: false\n\nhello world\n"
    );
    for (severity, word) in [(1, "FAILURE"), (4, "OKAY"), (0, "FAILURE")] {
        let n = PutNotif {
            severity,
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(render_notification(&n)).unwrap(),
            format!("Severity: {word}\nTime: 0.000\n\n\n")
        );
    }
}
