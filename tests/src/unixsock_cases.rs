//! The unixsock commands both unixsock tests send, with collectd 5.12's
//! replies (from Debian's unixsock.so): `differential_unixsock` checks
//! collectd and rcollectd hosting that plugin against them,
//! `unixsock_native` rcollectd's own unixsock plugin.

/// The plugins both unixsock tests load (`{dir}`: the daemon's dir, `{out}`:
/// where csv writes): unixsock on `{dir}/sock`, the threshold plugin with
/// thresholds GETTHRESHOLD finds, and csv.
pub const CONFIG: &str = r#"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
LoadPlugin threshold
<Plugin threshold>
  <Type "gauge">
    WarningMax 10
    FailureMax 20
    Hits 2
    Hysteresis 0.5
  </Type>
  <Plugin "p">
    Instance "i"
    <Type "gauge">
      Instance "t"
      WarningMin 1
      Persist true
    </Type>
  </Plugin>
  <Host "difftest">
    <Type "if_octets">
      DataSource "rx"
      Invert true
      FailureMin 5
      Percentage true
    </Type>
  </Host>
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/csv"
  StoreRates false
</Plugin>
"#;

/// A PUTVAL of one value.
pub const OK1: &str = "0 Success: 1 value has been dispatched.\n";
/// A PUTVAL of two values.
pub const OK2: &str = "0 Success: 2 values have been dispatched.\n";
/// A value list that does not parse.
pub const BAD_VALUES: &str = "-1 Parsing the values string failed.\n";
/// A `meta:` option whose value is not a quoted string.
pub const NON_STRING_META: &str = "-1 Non-string metadata not supported yet\n";
/// A FLUSH of one plugin and identifier.
pub const FLUSHED: &str = "0 Done: 1 successful, 0 errors\n";
/// What `unixsock_ask` returns when no reply came in time.
pub const NO_REPLY: &str = "<no reply>";

/// (command, collectd 5.12's reply), sent in this order on fresh connections.
///
/// Left out on purpose: `PUTVAL id meta:K="\"x\"" v1 v2` (a meta option and
/// two values in one line): collectd 5.12's own unixsock.so double-frees the
/// meta data there and crashes the daemon, so there is no reply to compare.
/// `GETTHRESHOLD` is only sent with the threshold plugin loaded: without it
/// collectd aborts in `c_avl_get`. An empty line gets no reply from either.
pub const CASES: &[(&str, &str)] = &[
    // PUTVAL, every form.
    ("PUTVAL difftest/p/gauge 1700000000:42", OK1),
    ("PUTVAL difftest/p-i/gauge-t 1700000000:1.5", OK1),
    ("PUTVAL difftest/p/if_octets interval=10 1700000000:1:2", OK1),
    ("PUTVAL difftest/p/if_octets 1700000010:3:4 1700000020:5:6", OK2),
    ("PUTVAL difftest/p/derive-x 1700000000:100 1700000001:200", OK2),
    ("PUTVAL difftest/p/gauge-s 1700000500:1 1700000501:2 1700000502:3", "0 Success: 3 values have been dispatched.\n"),
    ("PUTVAL difftest/p/gauge-mm meta:k=\"\\\"x\\\"\" 1700000000:7", OK1),
    ("PUTVAL difftest/p/gauge-mm meta:k=\"\\\"x\\\"\" meta:k2=\"\\\"y\\\"\" 1700000001:8", OK1),
    // The parsed meta value has lost its quotes, so it never counts as a
    // string; the value is still cached (see LISTVAL below).
    ("PUTVAL difftest/p/gauge-m meta:k=\"x\" 1700000000:7", NON_STRING_META),
    ("PUTVAL difftest/p/gauge-mm meta:k 1700000002:8", BAD_VALUES),
    ("PUTVAL difftest/p/gauge-q \"1700000000:1\"", OK1),
    ("PUTVAL \"difftest/p/gauge-q\" 1700000001:2", OK1),
    ("PUTVAL\tdifftest/p/gauge-q\t1700000002:1e3", OK1),
    ("PUTVAL difftest/p/gauge-q 1700000003:-1.5e-3", OK1),
    ("PUTVAL difftest/p/gauge-q 1700000004:nan", OK1),
    ("PUTVAL difftest/p/gauge-q 1700000005:0x10", OK1),
    ("PUTVAL difftest/p/counter 1700000005:-1", OK1),
    ("PUTVAL difftest/p/counter 1700000006:1.5", OK1),
    ("PUTVAL difftest/p/derive 1700000006:-5", OK1),
    ("PUTVAL difftest/p/absolute 1700000006:-5", OK1),
    ("PUTVAL difftest/p/gauge-z 1700000000:1 1700000000:2", OK2),
    ("PUTVAL difftest/p/gauge-u 1700000200:U", OK1),
    ("PUTVAL difftest/p/gauge-iv interval=0 1700000300:1", OK1),
    ("PUTVAL difftest/p/gauge-iv interval=-1 1700000301:1", OK1),
    ("PUTVAL difftest/p/gauge-iv interval=2.5 1700000302:1", OK1),
    ("PUTVAL difftest/p/gauge-iv interval=abc 1700000303:1", OK1),
    ("PUTVAL difftest/p/gauge-iv interval= 1700000304:1", OK1),
    ("PUTVAL other/p/gauge 1700000302:1", OK1),
    ("PUTVAL difftest//gauge 1700000600:1", OK1),
    // An empty host becomes the daemon's hostname: this updates difftest/p/gauge.
    ("PUTVAL /p/gauge 1700000600:1", OK1),
    ("PUTVAL difftest/p/if_octets 1700000030:1", OK1),
    // PUTVAL, malformed.
    ("PUTVAL difftest/p/gauge 1700000000:abc", BAD_VALUES),
    ("PUTVAL difftest/p/nosuchtype 1700000000:1", "-1 1 Type `nosuchtype' isn't defined.\n"),
    ("PUTVAL difftest/p/ 1700000600:1", "-1 1 Type `' isn't defined.\n"),
    ("PUTVAL difftest/p/gauge", "-1 Missing identifier and/or value-list.\n"),
    ("PUTVAL", "-1 Missing identifier and/or value-list.\n"),
    ("PUTVAL difftest/p/gauge \"1700000000:1", "-1 Unterminated quoted string.\n"),
    ("PUTVAL difftest/p/gauge 1700000303:1 \"", "-1 Unterminated quoted string.\n"),
    ("PUTVAL difftest/p/gauge 1700000000:1:2", BAD_VALUES),
    ("PUTVAL difftest/p/if_octets 1700000500:U:5", BAD_VALUES),
    ("PUTVAL difftest/p/gauge U:1", BAD_VALUES),
    ("PUTVAL difftest/p/gauge 1700000100", BAD_VALUES),
    ("PUTVAL difftest/p/gauge 1700000503:", BAD_VALUES),
    ("PUTVAL difftest/p/gauge :1", BAD_VALUES),
    ("PUTVAL difftest/p/gauge abc:1", BAD_VALUES),
    ("PUTVAL difftest/p/gauge 'x", BAD_VALUES),
    ("PUTVAL difftest/p/gauge \"a\\\"b\"", BAD_VALUES),
    ("PUTVAL difftest/p/gauge 1700000302:1 trailing", BAD_VALUES),
    ("PUTVAL difftest/p/gauge foo=bar 1700000100:1", NO_REPLY),
    (concat!("PUTVAL ", "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh", "h/p/gauge 1700000000:1"), "-1 Identifier too long.\n"),
    (concat!("PUTVAL difftest/", "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp", "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp", "p/gauge 1700000000:1"), "-1 Identifier too long.\n"),
    (concat!("PUTVAL difftest/p/gauge-", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", "i 1700000000:1"), "-1 Identifier too long.\n"),
    // GETVAL.
    ("GETVAL difftest/p/gauge", "1 Value found\nvalue=1.000000e+00\n"),
    ("getval difftest/p/gauge", "1 Value found\nvalue=1.000000e+00\n"),
    ("GETVAL \"difftest/p/gauge\"", "1 Value found\nvalue=1.000000e+00\n"),
    ("GETVAL difftest/p/if_octets", "2 Values found\nrx=NaN\ntx=NaN\n"),
    ("GETVAL difftest/p/derive-x", "1 Value found\nvalue=1.000000e+02\n"),
    ("GETVAL difftest/p/gauge-mm", "1 Value found\nvalue=8.000000e+00\n"),
    ("GETVAL difftest/p/gauge-q", "1 Value found\nvalue=1.600000e+01\n"),
    ("GETVAL difftest/p/counter", "1 Value found\nvalue=2.000000e+00\n"),
    ("GETVAL difftest/p/gauge-u", "1 Value found\nvalue=NaN\n"),
    ("GETVAL difftest/p/nosuch", "-1 Type `nosuch' is unknown.\n"),
    ("GETVAL difftest/p/gauge-nosuch", "-1 No such value.\n"),
    (concat!("GETVAL difftest/p/gauge-", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii", "i"), "-1 No such value.\n"),
    ("GETVAL", "-1 Missing identifier.\n"),
    ("GETVAL a/b", "-1 Cannot parse identifier `a/b'.\n"),
    ("GETVAL difftest/p/gauge extra", "-1 Garbage after identifier: `extra'.\n"),
    // LISTVAL (all times above come from the input, none from the clock).
    ("LISTVAL x", "-1 Garbage after end of command: `x'.\n"),
    (
        "LISTVAL",
        "16 Values found\n1700000600.000 difftest//gauge\n1700000000.000 difftest/p-i/gauge-t\n\
         1700000006.000 difftest/p/absolute\n1700000006.000 difftest/p/counter\n\
         1700000006.000 difftest/p/derive\n1700000001.000 difftest/p/derive-x\n\
         1700000600.000 difftest/p/gauge\n1700000304.000 difftest/p/gauge-iv\n\
         1700000000.000 difftest/p/gauge-m\n1700000001.000 difftest/p/gauge-mm\n\
         1700000005.000 difftest/p/gauge-q\n1700000502.000 difftest/p/gauge-s\n\
         1700000200.000 difftest/p/gauge-u\n1700000000.000 difftest/p/gauge-z\n\
         1700000030.000 difftest/p/if_octets\n1700000302.000 other/p/gauge\n",
    ),
    // FLUSH.
    ("FLUSH", FLUSHED),
    ("flush", FLUSHED),
    ("FLUSH plugin=csv", FLUSHED),
    ("FLUSH plugin=nosuch", FLUSHED),
    ("FLUSH timeout=5", FLUSHED),
    ("FLUSH identifier=difftest/p/gauge", FLUSHED),
    ("FLUSH plugin=csv identifier=difftest/p/gauge timeout=1", FLUSHED),
    ("FLUSH timeout=abc", "-1 Invalid value for option `timeout': abc\n"),
    ("FLUSH identifier=bad", "-1 Invalid identifier `bad'.\n"),
    ("FLUSH foo=bar", "-1 Cannot parse option `foo'.\n"),
    // PUTNOTIF, every option.
    ("PUTNOTIF severity=warning time=1700000000 message=\"hello\"", "0 Success\n"),
    (
        "PUTNOTIF severity=failure time=1700000000 host=h plugin=p plugin_instance=pi type=gauge type_instance=ti message=\"hello world\"",
        "0 Success\n",
    ),
    ("PUTNOTIF severity=okay time=1700000000 message=\"m\" s:str=\"x\"", "0 Success\n"),
    ("PUTNOTIF severity=okay time=1700000000 s:str=x message=m2", "0 Success\n"),
    ("PUTNOTIF severity=okay time=1700000000.5 message=m3", "0 Success\n"),
    ("PUTNOTIF severity=WARNING time=1700000000 message=x", "0 Success\n"),
    ("PUTNOTIF severity=warning time=1700000000 message=\"a \\\"quoted\\\" msg\"", "0 Success\n"),
    // PUTNOTIF, malformed.
    (
        "PUTNOTIF severity=okay time=1700000000 message=\"m\" s:str=\"x\" i:int=-5 u:uint=5 d:dbl=1.5 b:bool=true",
        "-1 Error parsing option `i:int'\n",
    ),
    ("PUTNOTIF message=\"no sev\"", "-1 Option `severity' missing.\n"),
    ("PUTNOTIF severity=bogus message=\"x\"", "-1 Error parsing option `severity'\n"),
    ("PUTNOTIF severity=warning", "-1 Option `time' missing.\n"),
    ("PUTNOTIF severity=warning time=abc message=\"x\"", "-1 Error parsing option `time'\n"),
    ("PUTNOTIF severity=warning foo=bar message=\"x\"", "-1 Error parsing option `foo'\n"),
    ("PUTNOTIF severity=okay time=1700000000 message=", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=warning time=1700000000 message=\"x\" plugin=", "-1 Malformed option.\n"),
    ("PUTNOTIF severity=warning time=1700000000 message=\"unterminated", "-1 Malformed option.\n"),
    ("PUTNOTIF", "-1 Option `severity' missing.\n"),
    // GETTHRESHOLD (threshold plugin loaded).
    (
        "GETTHRESHOLD difftest/p/gauge",
        "5 Threshold found\nType: gauge\nWarning Max: 10\nFailure Max: 20\nHysteresis: 0.5\nHits: 2\n",
    ),
    (
        "GETTHRESHOLD difftest/p-i/gauge-t",
        "5 Threshold found\nPlugin: p\nPlugin Instance: i\nType: gauge\nType Instance: t\nWarning Min: 1\n",
    ),
    (
        "GETTHRESHOLD difftest/x/if_octets",
        "4 Threshold found\nHost: difftest\nType: if_octets\nData Source: rx\nFailure Min: 5\n",
    ),
    ("GETTHRESHOLD difftest/x/nosuch", "-1 No threshold found for identifier difftest/x/nosuch\n"),
    ("GETTHRESHOLD bad", "-1 Cannot parse identifier `bad'.\n"),
    ("GETTHRESHOLD", "-1 Cannot parse identifier.\n"),
    // Unknown command.
    ("FOO bar", "-1 Unknown command: FOO\n"),
    // Regression: a single-quoted meta value is refused, and the daemon
    // keeps running and answers the next command (rcollectd used to crash).
    ("PUTVAL h/p/gauge meta:KEY='string_value' 1234:42", NON_STRING_META),
    ("GETVAL difftest/p/gauge", "1 Value found\nvalue=1.000000e+00\n"),
];

/// `collectdctl` invocations (after CASES): exit code, stdout and stderr.
pub const CTL_CASES: &[&[&str]] = &[
    &["getval", "difftest/p/gauge"],
    &["getval", "difftest/p/if_octets"],
    &["getval", "bad"],
    &["getval", "difftest/p/gauge-nosuch"],
    &[
        "putval",
        "difftest/ctl/gauge",
        "interval=10",
        "1700000000:5",
    ],
    &[
        "putval",
        "difftest/ctl/gauge",
        "1700000001:6",
        "1700000002:7",
    ],
    &["putval", "difftest/ctl/gauge"],
    &["putval", "difftest/ctl/gauge", "1700000000:x"],
    &["getval", "difftest/ctl/gauge"],
    &["flush"],
    &["flush", "plugin=csv"],
    &["flush", "identifier=difftest/p/gauge", "timeout=2"],
    &["flush", "identifier=bad"],
    &["listval"],
    &["bogus"],
];
