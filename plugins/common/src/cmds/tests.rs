use super::*;

/// A [`CmdEnv`] with a few types and a record of what was dispatched.
#[derive(Default)]
struct Fake {
    values: Vec<PutValue>,
    notifs: Vec<PutNotif>,
    logs: Vec<(Level, String)>,
}

impl CmdEnv for Fake {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        let src = |name: &str, kind| Source {
            name: name.into(),
            kind,
        };
        match type_ {
            b"gauge" => Some(vec![src("value", DsType::Gauge)]),
            b"if_octets" => Some(vec![src("rx", DsType::Derive), src("tx", DsType::Derive)]),
            _ => None,
        }
    }
    fn now(&mut self) -> u64 {
        42 << 30
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

/// (line, what `cmd_handle_putval(stdout, line)` prints, value lists dispatched).
const PUTVAL_LINES: &[(&str, &str, usize)] = &[
    ("PUTVAL h/p/gauge 1:1", "", 1),
    ("putval h/p/gauge 1:1 2:2", "", 2),
    ("PUTVAL h/p/if_octets N:1:2", "", 1),
    (
        "PUTVALX h/p/gauge 1:1",
        "-1 Unknown command `PUTVALX'.\n",
        0,
    ),
    ("PUTVAL\"a b\" 1:1", "-1 Unknown command `PUTVALa b'.\n", 0),
    (
        "PUTVAL h/p/gauge",
        "-1 Missing identifier and/or value-list.\n",
        0,
    ),
    (
        "PUTVAL h/p/gauge 1:x",
        "-1 Parsing the values string failed.\n",
        0,
    ),
    (
        "PUTVAL h/p/nosuch 1:1",
        "-1 1 Type `nosuch' isn't defined.\n",
        0,
    ),
    ("PUTVAL \"h/p/gauge", "-1 Unterminated quoted string.\n", 0),
    ("PUTVAL h/p/gauge foo=bar 1:1", "", 0),
    (
        "PUTVAL h/p/gauge meta:k=x 1:1",
        "-1 Non-string metadata not supported yet\n",
        1,
    ),
];

#[test]
fn putval_line_replies_as_cmd_handle_putval_on_stdout() {
    for (line, want, n) in PUTVAL_LINES {
        let mut env = Fake::default();
        let mut out = Vec::new();
        putval_line(line.as_bytes(), &mut env, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), *want, "{line:?}");
        assert_eq!(env.values.len(), *n, "{line:?}");
    }
}

#[test]
fn putnotif_checks_its_command_word() {
    let cases: &[(&str, &str, usize)] = &[
        ("PUTNOTIF severity=okay time=1 message=m", "0 Success\n", 1),
        ("putnotif severity=okay time=1 message=m", "0 Success\n", 1),
        (
            "PUTNOTIFX severity=okay time=1 message=m",
            "-1 Unexpected command: `PUTNOTIFX'.\n",
            0,
        ),
        (
            "\"PUTNOTIF\" severity=okay time=1 message=m",
            "0 Success\n",
            1,
        ),
        ("", "-1 Cannot parse command.\n", 0),
    ];
    for (line, want, n) in cases {
        let mut env = Fake::default();
        let mut out = Vec::new();
        putnotif(line.as_bytes(), &mut env, &mut out);
        assert_eq!(String::from_utf8_lossy(&out), *want, "{line:?}");
        assert_eq!(env.notifs.len(), *n, "{line:?}");
    }
}

#[test]
fn parse_values_logs_bad_numbers() {
    let mut env = Fake::default();
    let ds = env.data_set(b"gauge").unwrap();
    assert_eq!(parse_values(b"5:abc", &ds, &mut env), None);
    assert_eq!(
        env.logs,
        [(
            Level::Error,
            "parse_value: Failed to parse string as gauge: \"abc\".".to_owned()
        )]
    );
    let (time, values) = parse_values(b"N:U", &ds, &mut env).unwrap();
    assert_eq!(time, 42 << 30);
    assert!(matches!(values[..], [Value::Gauge(g)] if g.is_nan()));
}
