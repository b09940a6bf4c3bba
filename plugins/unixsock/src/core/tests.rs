use super::*;

/// One recorded flush: plugin, timeout, identifier.
type FlushCall = (Option<Vec<u8>>, u64, Option<Vec<u8>>);

/// An [`Env`] with a few types, a cache, a threshold, and a record of what
/// was dispatched, flushed and logged.
#[derive(Default)]
struct Fake {
    values: Vec<PutValue>,
    notifs: Vec<PutNotif>,
    flushes: Vec<FlushCall>,
    logs: Vec<(Level, String)>,
    no_threshold_table: bool,
}

fn src(name: &str, kind: DsType) -> Source {
    Source {
        name: name.into(),
        kind,
    }
}

impl Env for Fake {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        match type_ {
            b"gauge" => Some(vec![src("value", DsType::Gauge)]),
            b"counter" => Some(vec![src("value", DsType::Counter)]),
            b"derive" => Some(vec![src("value", DsType::Derive)]),
            b"absolute" => Some(vec![src("value", DsType::Absolute)]),
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
    fn rates(&mut self, identifier: &[u8]) -> Option<Vec<f64>> {
        match identifier {
            b"h/p/gauge" => Some(vec![1.0]),
            b"h/p/gauge-nan" => Some(vec![f64::NAN]),
            b"h/p/gauge-inf" => Some(vec![f64::INFINITY]),
            b"h/p/if_octets" => Some(vec![-1.5e-3, 123456789.0]),
            b"h/p/if_octets-short" => Some(vec![1.0]),
            _ => None,
        }
    }
    fn names(&mut self) -> Result<Vec<(Vec<u8>, u64)>, i32> {
        Ok(vec![
            (b"h/p/gauge".to_vec(), 1_700_000_000 << 30),
            (b"h/p/if_octets".to_vec(), (1 << 29) + (1_700_000_001 << 30)),
        ])
    }
    fn flush(&mut self, plugin: Option<&[u8]>, timeout: u64, identifier: Option<&[u8]>) -> bool {
        self.flushes.push((
            plugin.map(<[u8]>::to_vec),
            timeout,
            identifier.map(<[u8]>::to_vec),
        ));
        plugin != Some(b"broken")
    }
    fn threshold(&mut self, id: &Identifier) -> Result<Option<Threshold>, i32> {
        if self.no_threshold_table {
            return Ok(None);
        }
        match id.type_.as_slice() {
            b"gauge" => Ok(Some(Threshold {
                type_: b"gauge".to_vec(),
                warning_min: f64::NAN,
                warning_max: 10.0,
                failure_min: f64::NAN,
                failure_max: 20.5,
                hysteresis: 0.5,
                hits: 2,
                ..Default::default()
            })),
            b"if_octets" => Ok(Some(Threshold {
                host: id.host.clone(),
                type_: b"if_octets".to_vec(),
                data_source: b"rx".to_vec(),
                warning_min: f64::NAN,
                warning_max: f64::NAN,
                failure_min: 5.0,
                failure_max: f64::NAN,
                hysteresis: 0.0,
                hits: 1,
                ..Default::default()
            })),
            b"broken" => Err(22),
            _ => Ok(None),
        }
    }
    fn log(&mut self, level: Level, message: String) {
        self.logs.push((level, message));
    }
}

fn run(env: &mut Fake, line: &str) -> String {
    let mut out = Vec::new();
    let flow = handle_line(line_text(line.as_bytes()), env, &mut out);
    let mut s = String::from_utf8(out).unwrap();
    if flow == Flow::Close {
        s.push_str("<close>");
    }
    s
}

const OK1: &str = "0 Success: 1 value has been dispatched.\n";
const OK2: &str = "0 Success: 2 values have been dispatched.\n";
const BAD: &str = "-1 Parsing the values string failed.\n";
const NONSTR: &str = "-1 Non-string metadata not supported yet\n";

/// (line, full reply) as collectd 5.12 writes them.
const REPLIES: &[(&str, &str)] = &[
    ("", ""),
    ("\r\n", ""),
    ("   ", "-1 Internal error\n<close>"),
    ("FOO bar", "-1 Unknown command: FOO\n"),
    ("\"GETVAL\" h/p/gauge", "-1 Unknown command: \"GETVAL\"\n"),
    ("\x0bGETVAL h/p/gauge", "-1 Unknown command: \x0bGETVAL\n"),
    // GETVAL
    ("GETVAL h/p/gauge", "1 Value found\nvalue=1.000000e+00\n"),
    ("  getval\th/p/gauge\r\n", "1 Value found\nvalue=1.000000e+00\n"),
    ("GETVAL \"h/p/gauge\"", "1 Value found\nvalue=1.000000e+00\n"),
    ("GETVAL h/p/gauge-nan", "1 Value found\nvalue=NaN\n"),
    ("GETVAL h/p/gauge-inf", "1 Value found\nvalue=         inf\n"),
    ("GETVAL h/p/if_octets", "2 Values found\nrx=-1.500000e-03\ntx=1.234568e+08\n"),
    ("GETVAL h/p/if_octets-short", "-1 Error reading value from cache.\n"),
    ("GETVAL h/p/nosuch", "-1 Type `nosuch' is unknown.\n\n"),
    ("GETVAL h/p/gauge-x", "-1 No such value.\n"),
    ("GETVAL", "-1 Missing identifier.\n"),
    ("GETVAL a/b", "-1 Cannot parse identifier `a/b'.\n"),
    ("GETVAL h/p/gauge x y", "-1 Garbage after identifier: `x'.\n"),
    ("GETVAL \"h/p/gauge", "-1 Unterminated quoted string.\n"),
    ("GETVAL \"h/p/gauge\\", "-1 Backslash at end of string.\n"),
    // LISTVAL
    ("LISTVAL", "2 Values found\n1700000000.000 h/p/gauge\n1700000001.500 h/p/if_octets\n"),
    ("LISTVAL x", "-1 Garbage after end of command: `x'.\n"),
    // PUTVAL
    ("PUTVAL h/p/gauge 1700000000:42", OK1),
    ("PUTVAL h/p/gauge 1:1 2:2", OK2),
    ("PUTVAL h/p/gauge", "-1 Missing identifier and/or value-list.\n"),
    ("PUTVAL h/p/gauge interval=10", "0 Success: 0 values have been dispatched.\n"),
    ("PUTVAL h/p gauge", "-1 Cannot parse identifier `h/p'.\n"),
    ("PUTVAL h/p/nosuch 1:1", "-1 1 Type `nosuch' isn't defined.\n"),
    ("PUTVAL h/p/gauge 1:abc", BAD),
    ("PUTVAL h/p/gauge 1:1:2", BAD),
    ("PUTVAL h/p/gauge 1:", BAD),
    ("PUTVAL h/p/gauge :1", BAD),
    ("PUTVAL h/p/gauge 1x:1", BAD),
    ("PUTVAL h/p/gauge 1:1 2:x", BAD),
    ("PUTVAL h/p/gauge foo=bar 1:1", ""),
    ("PUTVAL h/p/gauge meta:k 1:1", BAD),
    ("PUTVAL h/p/gauge meta:k=x 1:1", "-1 Non-string metadata not supported yet\n0 Success: 1 value has been dispatched.\n"),
    ("PUTVAL h/p/gauge meta:k=\"x\" 1:1", "-1 Non-string metadata not supported yet\n0 Success: 1 value has been dispatched.\n"),
    ("PUTVAL h/p/gauge meta:k=\"\\\"x\\\"\" 1:1 2:2", OK2),
    ("PUTVAL h/p/gauge 'x", BAD),
    ("PUTVAL \"a\"\"b\"", "-1 Cannot parse identifier `a'.\n"),
    ("PUTVAL \"h/p/gauge\"\"1:1\"", OK1),
    ("PUTVAL h/p/gauge \"\" 1:1", BAD),
    ("PUTVAL h/p/gauge 1:1 \"\"", BAD),
    // FLUSH
    ("FLUSH", "0 Done: 1 successful, 0 errors\n"),
    ("FLUSH plugin=a plugin=broken", "0 Done: 1 successful, 1 errors\n"),
    ("FLUSH plugin=a identifier=h/p/gauge identifier=h/q-i/t-x", "0 Done: 2 successful, 0 errors\n"),
    ("FLUSH timeout=abc", "-1 Invalid value for option `timeout': abc\n"),
    ("FLUSH timeout=inf", "-1 Invalid value for option `timeout': inf\n"),
    ("FLUSH identifier=bad", "-1 Invalid identifier `bad'.\n"),
    ("FLUSH identifier=a/b", "-1 Invalid identifier `a'.\n"),
    ("FLUSH foo=bar", "-1 Cannot parse option `foo'.\n"),
    ("FLUSH plugin", "-1 Invalid option string `plugin'.\n"),
    // PUTNOTIF
    ("PUTNOTIF severity=warning time=1700000000 message=\"hello\"", "0 Success\n"),
    ("PUTNOTIF", "-1 Option `severity' missing.\n"),
    ("PUTNOTIF severity=warning", "-1 Option `time' missing.\n"),
    ("PUTNOTIF severity=warning time=0 message=x", "-1 Option `time' missing.\n"),
    ("PUTNOTIF severity=warning time=5", "-1 No message or message of length 0 given.\n"),
    ("PUTNOTIF severity=bogus", "-1 Error parsing option `severity'\n"),
    ("PUTNOTIF severity=okay time=1x message=m", "-1 Error parsing option `time'\n"),
    ("PUTNOTIF severity=okay s:=x", "-1 Error parsing option `s:'\n"),
    ("PUTNOTIF severity=okay i:k=5", "-1 Error parsing option `i:k'\n"),
    ("PUTNOTIF severity=okay message=", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=okay message= x", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=okay message=\"x\"y", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=okay message=\"x", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=okay x", "-1 Malformed option.\n"),
    // GETTHRESHOLD
    ("GETTHRESHOLD h/p/gauge", "5 Threshold found\nType: gauge\nWarning Max: 10\nFailure Max: 20.5\nHysteresis: 0.5\nHits: 2\n"),
    ("GETTHRESHOLD \"h/x/if_octets\"", "4 Threshold found\nHost: h\nType: if_octets\nData Source: rx\nFailure Min: 5\n"),
    ("GETTHRESHOLD h/x/nosuch", "-1 No threshold found for identifier h/x/nosuch\n"),
    ("GETTHRESHOLD h/x/broken", "-1 Error while looking up threshold: 22\n"),
    ("GETTHRESHOLD", "-1 Cannot parse identifier.\n"),
    ("GETTHRESHOLD \"x", "-1 Cannot parse identifier.\n"),
    ("GETTHRESHOLD bad", "-1 Cannot parse identifier `bad'.\n"),
    ("GETTHRESHOLD a/b/c  d e", "-1 Garbage after end of command: d e\n"),
];

#[test]
fn replies_match_collectd() {
    let mut wrong = String::new();
    for (line, want) in REPLIES {
        let got = run(&mut Fake::default(), line);
        if got != *want {
            wrong += &format!("{line:?}\n  want {want:?}\n  got  {got:?}\n");
        }
    }
    assert!(wrong.is_empty(), "{wrong}");
}

#[test]
fn getthreshold_without_a_threshold_table_is_a_miss() {
    let mut env = Fake {
        no_threshold_table: true,
        ..Fake::default()
    };
    assert_eq!(
        run(&mut env, "GETTHRESHOLD h/p/gauge"),
        "-1 No threshold found for identifier h/p/gauge\n"
    );
}

#[test]
fn split_follows_cmd_split() {
    let cases: &[(&str, Result<&[&str], &str>)] = &[
        ("a b\tc", Ok(&["a", "b", "c"])),
        ("  a  ", Ok(&["a"])),
        ("\"a b\" c", Ok(&["a b", "c"])),
        ("x=\"a \\\"b\\\\\"", Ok(&["x=a \"b\\"])),
        ("a\\b", Ok(&["a\\b"])),
        ("\"a\"\"b\"", Ok(&["a", "b"])),
        ("\"a\"b", Ok(&["a", "b"])),
        ("a\"b c\"d", Ok(&["ab c", "d"])),
        ("a \"\" b", Ok(&["a", "\""])),
        ("\"\"", Ok(&["\""])),
        ("\"a", Err("Unterminated quoted string.")),
        ("\"a\\", Err("Backslash at end of string.")),
    ];
    for (line, want) in cases {
        let got = split(line.as_bytes());
        let want: Result<Vec<Vec<u8>>, &str> =
            want.map(|f| f.iter().map(|s| s.as_bytes().to_vec()).collect());
        assert_eq!(got, want, "{line:?}");
    }
}

#[test]
fn parse_identifier_splits_like_collectd() {
    let id = parse_identifier(b"h/p-i-j/t-x/y").unwrap();
    assert_eq!(id.host, b"h");
    assert_eq!(id.plugin, b"p");
    assert_eq!(id.plugin_instance.as_deref(), Some(&b"i-j"[..]));
    assert_eq!(id.type_, b"t");
    assert_eq!(id.type_instance.as_deref(), Some(&b"x/y"[..]));
    assert_eq!(format_name(&id), b"h/p-i-j/t-x/y");
    let id = parse_identifier(b"/p-/t").unwrap();
    assert_eq!(id.plugin_instance.as_deref(), Some(&b""[..]));
    assert_eq!(format_name(&id), b"/p/t");
    assert_eq!(parse_identifier(b"a/b"), None);
}

#[test]
fn putval_values_and_options() {
    let mut env = Fake::default();
    assert_eq!(
        run(
            &mut env,
            "PUTVAL h/p-i/if_octets-t interval=2.5 1.5:1 1700000000:0x10 interval=-1 N:-5:+3"
        ),
        "0 Success: 3 values have been dispatched.\n"
    );
    let v = &env.values;
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].identifier.plugin_instance.as_deref(), Some(&b"i"[..]));
    assert_eq!(v[0].identifier.type_instance.as_deref(), Some(&b"t"[..]));
    assert_eq!(v[0].time, 3 << 29);
    assert_eq!(v[0].interval, 5 << 29);
    assert_eq!(v[0].values, vec![Value::Derive(1), Value::Derive(0)]);
    assert_eq!(v[1].values, vec![Value::Derive(16), Value::Derive(0)]);
    assert_eq!(v[2].time, 42 << 30);
    assert_eq!(v[2].interval, 5 << 29, "interval=-1 is ignored");
    assert_eq!(v[2].values, vec![Value::Derive(-5), Value::Derive(3)]);
    assert!(v.iter().all(|v| v.meta.is_none()));
    // `U` is an unknown value only for a GAUGE.
    assert_eq!(run(&mut env, "PUTVAL h/p/derive 1:U"), BAD);
    assert!(env
        .logs
        .iter()
        .any(|(l, m)| *l == Level::Error
            && m == "parse_value: Failed to parse string as derive: \"U\"."));
}

#[test]
fn putval_meta_is_copied_per_value_list() {
    let mut env = Fake::default();
    assert_eq!(
        run(
            &mut env,
            "PUTVAL h/p/gauge 1:1 meta:a=\"\\\"x\\\"\" 2:2 meta:a=\"\\\"y\\\"\" meta:b=z 3:3"
        ),
        format!("{NONSTR}0 Success: 3 values have been dispatched.\n")
    );
    let v = &env.values;
    assert_eq!(v[0].meta, None, "no meta object existed yet");
    let last = Some(vec![(b"a".to_vec(), b"y".to_vec())]);
    assert_eq!(v[1].meta, last, "the shared object's final contents");
    assert_eq!(v[2].meta, last);
}

#[test]
fn gauge_values_and_time_quirks() {
    let mut env = Fake::default();
    assert_eq!(run(&mut env, "PUTVAL h/p/gauge 0:7:1e3 U:1"), BAD);
    assert!(
        env.values.is_empty(),
        "nothing is dispatched after an error"
    );
    assert_eq!(run(&mut env, "PUTVAL h/p/gauge 0:7:1e3"), OK1);
    // A time of 0 leaves the next part to be read as the time again.
    assert_eq!(env.values[0].time, 7 << 30);
    assert_eq!(env.values[0].values, vec![Value::Gauge(1e3)]);
    assert_eq!(run(&mut env, "PUTVAL h/p/counter 1:-1"), OK1);
    assert_eq!(env.values[1].values, vec![Value::Counter(u64::MAX)]);
    assert_eq!(run(&mut env, "PUTVAL h/p/gauge 1:2abc"), OK1);
    assert!(env.logs.iter().any(|(l, m)| *l == Level::Info
        && m == "parse_value: Ignoring trailing garbage \"abc\" after gauge value. Input string was \"2abc\"."));
    assert_eq!(double_to_cdtime(-1.0), (-(1i64 << 30)) as u64);
    assert_eq!(double_to_cdtime(1.5), 3 << 29);
}

#[test]
fn putval_identifier_limits() {
    let long = "x".repeat(128);
    for id in [
        format!("{long}/p/gauge"),
        format!("h/{long}/gauge"),
        format!("h/p-{long}/gauge"),
        format!("h/p/gauge-{long}"),
    ] {
        assert_eq!(
            run(&mut Fake::default(), &format!("PUTVAL {id} 1:1")),
            "-1 Identifier too long.\n",
            "{id}"
        );
    }
    let ok = "x".repeat(127);
    let mut env = Fake::default();
    assert_eq!(run(&mut env, &format!("PUTVAL {ok}/p/gauge-{ok} 1:1")), OK1);
}

#[test]
fn putnotif_fields_and_meta() {
    let mut env = Fake::default();
    let long = "m".repeat(300);
    let line = format!(
        "PUTNOTIF severity=FAILURE time=1700000000.5 message=\"{long}\" host=h plugin=p \
         plugin_instance=pi type=gauge type_instance=ti s:k=\"a b\" s:k=2"
    );
    assert_eq!(run(&mut env, &line), "0 Success\n");
    let n = &env.notifs[0];
    assert_eq!(n.severity, 1);
    assert_eq!(n.time, (1_700_000_000u64 << 30) + (1 << 29));
    assert_eq!(n.message.len(), 255);
    assert_eq!(
        (&n.host[..], &n.plugin[..], &n.plugin_instance[..]),
        (&b"h"[..], &b"p"[..], &b"pi"[..])
    );
    assert_eq!(
        (&n.type_[..], &n.type_instance[..]),
        (&b"gauge"[..], &b"ti"[..])
    );
    assert_eq!(
        n.meta,
        vec![
            (b"k".to_vec(), b"a b".to_vec()),
            (b"k".to_vec(), b"2".to_vec())
        ]
    );
}

#[test]
fn flush_arguments() {
    let mut env = Fake::default();
    run(&mut env, "FLUSH plugin=csv identifier=h/p-/t-i timeout=-3");
    run(&mut env, "FLUSH timeout=1.5");
    assert_eq!(
        env.flushes,
        vec![
            (Some(b"csv".to_vec()), 0, Some(b"h/p/t-i".to_vec())),
            (None, 3 << 29, None),
        ]
    );
}

#[test]
fn line_text_cuts_at_nul_and_line_end() {
    assert_eq!(line_text(b"GETVAL x\r\n"), b"GETVAL x");
    assert_eq!(line_text(b"GETVAL x\0y\n"), b"GETVAL x");
    assert_eq!(line_text(b"\n\r\n"), b"");
}

/// A small deterministic generator (xorshift64*), so the test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_lines_never_panic() {
    let seeds: Vec<&[u8]> = REPLIES
        .iter()
        .map(|(l, _)| l.as_bytes())
        .chain([
            &b"PUTVAL h/p/gauge meta:k=\"\\\"x\\\"\" 1:1 2:2"[..],
            b"PUTVAL \"a\"\"b\"",
            b"PUTNOTIF severity=okay time=1 message=\"m\" s:x=\"y\"",
        ])
        .collect();
    let alphabet = b" \t\"\\:=/-_UN0123456789.eE+xmeta:severity=time=\x0b\x00\xff";
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..20_000 {
        let mut line = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(8) {
            let pos = rng.below(line.len() + 1);
            match rng.below(4) {
                0 => line.insert(pos, alphabet[rng.below(alphabet.len())]),
                1 if pos < line.len() => {
                    line.remove(pos);
                }
                2 if pos < line.len() => line[pos] = alphabet[rng.below(alphabet.len())],
                _ => {
                    let other = seeds[rng.below(seeds.len())];
                    let from = rng.below(other.len() + 1);
                    let to = from + rng.below(other.len() - from + 1);
                    line.splice(pos..pos, other[from..to].iter().copied());
                }
            }
        }
        line.truncate(LINE_MAX);
        let mut out = Vec::new();
        let _ = handle_line(line_text(&line), &mut Fake::default(), &mut out);
        if !line_text(&line).is_empty() {
            assert!(out.is_empty() || out.ends_with(b"\n"), "{line:?}");
        }
    }
}
