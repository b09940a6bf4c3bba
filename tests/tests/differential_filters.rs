//! Debian's filtering plugins under collectd 5.12 and under rcollectd, fed
//! the same timestamped values over unixsock: threshold.so's notifications,
//! aggregation.so's aggregates and the filter chains built from
//! match_regex/match_value/target_set/target_replace/target_scale and the
//! built-in targets (write, stop, jump, return) give the same output.

use std::time::Duration;

use rcollectd_tests::diff::{
    assert_same, read_csv, run_both_at, skip_unless_runnable, sort_rows, strip_csv_time,
    unixsock_ask, unixsock_burst, Run, WAIT,
};
use rcollectd_tests::wait_for;

const UNIXSOCK: &str = r#"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
"#;

/// csv.so, loaded last so it is the last writer each value reaches.
const CSV: &str = r#"
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/csv"
  StoreRates false
</Plugin>
"#;

/// Sends each line on its own connection and asserts it was accepted.
fn feed(run: &Run, lines: &[String]) {
    for line in lines {
        let reply = unixsock_ask(&run.sock(), line, Duration::from_secs(2));
        assert!(reply.starts_with("0 "), "{:?}: {line} -> {reply}", run.side);
    }
}

/// Waits until csv.so wrote at least `rows` data rows for `ident`.
fn wait_csv(run: &Run, ident: &str, rows: usize) -> bool {
    wait_for(WAIT, || {
        read_csv(&run.out().join("csv"))
            .get(ident)
            .is_some_and(|r| r.len() > rows)
    })
}

const THRESHOLD: &str = r#"
LoadPlugin threshold
<Plugin threshold>
  <Type "gauge">
    WarningMax 50
    FailureMax 90
  </Type>
  <Plugin "hyst">
    <Type "gauge">
      WarningMax 50
      Hysteresis 5
    </Type>
  </Plugin>
  <Plugin "hits">
    <Type "gauge">
      FailureMax 10
      Hits 3
    </Type>
  </Plugin>
  <Plugin "persist">
    <Type "gauge">
      WarningMin 10
      Persist true
      PersistOK true
    </Type>
  </Plugin>
  <Plugin "inv">
    <Type "gauge">
      WarningMin 10
      WarningMax 20
      Invert true
    </Type>
  </Plugin>
  <Plugin "pct">
    <Type "if_octets">
      DataSource "rx"
      FailureMax 75
      Percentage true
    </Type>
  </Plugin>
  <Host "difftest">
    <Plugin "ds">
      <Type "load">
        DataSource "midterm"
        WarningMax 1
      </Type>
    </Plugin>
  </Host>
</Plugin>
"#;

/// (identifier, values in order): each crosses its thresholds.
const THRESHOLD_INPUT: &[(&str, &[f64])] = &[
    (
        "difftest/plain/gauge-a",
        &[10.0, 60.0, 95.0, 95.0, 70.0, 20.0],
    ),
    ("difftest/hyst/gauge", &[40.0, 52.0, 56.0, 48.0, 44.0, 56.0]),
    ("difftest/hits/gauge", &[20.0, 20.0, 20.0, 20.0, 5.0, 20.0]),
    ("difftest/persist/gauge", &[5.0, 5.0, 15.0, 15.0]),
    ("difftest/inv/gauge", &[5.0, 15.0, 25.0, 15.0]),
];

#[test]
fn threshold_notifications_match_collectd() {
    if skip_unless_runnable(&["unixsock", "threshold", "csv", "logfile"]) {
        return;
    }
    let config = format!("{UNIXSOCK}{THRESHOLD}{CSV}");
    let mut lines = Vec::new();
    for (ident, values) in THRESHOLD_INPUT {
        for (i, v) in values.iter().enumerate() {
            lines.push(format!("PUTVAL {ident} {}:{v}", 1_700_000_000 + 10 * i));
        }
    }
    for (i, (rx, tx)) in [(10, 90), (80, 20), (50, 50)].iter().enumerate() {
        lines.push(format!(
            "PUTVAL difftest/pct/if_octets {}:{}:{}",
            1_700_000_000 + 10 * i,
            rx * (i + 1) * 10,
            tx * (i + 1) * 10
        ));
    }
    lines.push("PUTVAL difftest/ds/load 1700000000:0.5:2:0.5".to_owned());
    lines.push("PUTVAL difftest/ds/load 1700000010:3:0.5:3".to_owned());
    lines.push("PUTVAL difftest/last/gauge 1700000000:1".to_owned());
    let both = run_both_at(10, &config, |run| {
        feed(run, &lines);
        assert!(wait_csv(run, "difftest/last/gauge", 1), "{:?}", run.side);
    });
    both.assert_clean_exit();
    // One write thread, inputs in order: the notifications come in order.
    both.assert_same_log_lines("threshold notifications", |l| l.contains("Notification:"));
    assert!(
        both.collectd.log.contains("FAILURE") && both.collectd.log.contains("WARNING"),
        "collectd logged {}",
        both.collectd.log
    );
}

#[test]
fn aggregation_matches_collectd() {
    if skip_unless_runnable(&["unixsock", "aggregation", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin aggregation
<Plugin aggregation>
  <Aggregation>
    Plugin "app"
    Type "gauge"
    GroupBy "Host"
    GroupBy "TypeInstance"
    CalculateNum true
    CalculateSum true
    CalculateAverage true
    CalculateMinimum true
    CalculateMaximum true
    CalculateStddev true
  </Aggregation>
  <Aggregation>
    Plugin "net"
    Type "bytes"
    GroupBy "Host"
    SetPlugin "netsum"
    SetTypeInstance "total"
    CalculateSum true
    CalculateAverage true
  </Aggregation>
  # Two data sources: aggregation.so refuses these (logged when it sees one).
  <Aggregation>
    Plugin "net"
    Type "if_octets"
    GroupBy "Host"
    CalculateSum true
  </Aggregation>
</Plugin>
{CSV}"#
    );
    let lines: Vec<String> = [
        "PUTVAL difftest/app-0/gauge-used 1700000000:10",
        "PUTVAL difftest/app-1/gauge-used 1700000000:20",
        "PUTVAL difftest/app-2/gauge-used 1700000000:60",
        "PUTVAL difftest/app-0/gauge-free 1700000000:1.5",
        "PUTVAL difftest/app-1/gauge-free 1700000000:2.5",
        "PUTVAL difftest/net-eth0/if_octets 1700000000:100:200",
        "PUTVAL difftest/net-eth1/if_octets 1700000000:300:400",
        "PUTVAL difftest/net-eth0/if_octets 1700000010:1100:2200",
        "PUTVAL difftest/net-eth1/if_octets 1700000010:3300:4400",
        "PUTVAL difftest/net-eth0/bytes-rx 1700000000:1000",
        "PUTVAL difftest/net-eth1/bytes-rx 1700000000:5000",
    ]
    .map(str::to_owned)
    .to_vec();
    let both = run_both_at(1, &config, |run| {
        // One burst on one connection, half an interval after the first
        // read (right at start-up), so that one aggregation read sees all.
        std::thread::sleep(Duration::from_millis(500));
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let replies = unixsock_burst(&run.sock(), &lines);
        assert!(
            replies.iter().all(|r| r.starts_with("0 ")),
            "{:?}: {replies:?}",
            run.side
        );
        // 12 aggregates of app, 2 of net; all written.
        let done = wait_for(WAIT, || {
            let csv = read_csv(&run.out().join("csv"));
            let count = |prefix: &str| csv.keys().filter(|k| k.starts_with(prefix)).count();
            count("difftest/aggregation-app-") >= 12 && count("difftest/netsum") >= 2
        });
        assert!(
            done,
            "{:?} wrote {:#?}",
            run.side,
            read_csv(&run.out().join("csv")).keys().collect::<Vec<_>>()
        );
    });
    both.assert_clean_exit();
    // Aggregates carry the read time: strip it, keep the distinct rows.
    let normalize = |run_csv| {
        let mut csv = strip_csv_time(sort_rows(run_csv));
        for rows in csv.values_mut() {
            rows.dedup();
        }
        csv
    };
    let c = normalize(read_csv(&both.collectd.out().join("csv")));
    let r = normalize(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("aggregated CSV", &c, &r);
    both.assert_same_log_lines("aggregation log lines", |l| l.contains("aggregation"));
    assert_eq!(
        c.get("difftest/aggregation-app-sum/gauge-used")
            .map(Vec::as_slice),
        Some(&["epoch,value".to_owned(), "T,90.000000".to_owned()][..]),
        "collectd wrote {c:#?}"
    );
}

const CHAINS: &str = r#"
LoadPlugin match_regex
LoadPlugin match_value
LoadPlugin target_set
LoadPlugin target_replace
LoadPlugin target_scale
PreCacheChain "pre"
PostCacheChain "post"
<Chain "pre">
  <Rule "rename">
    <Match "regex">
      Plugin "^app$"
      TypeInstance "^old"
    </Match>
    <Target "replace">
      TypeInstance "^old" "new"
    </Target>
    <Target "set">
      PluginInstance "renamed"
    </Target>
  </Rule>
  <Rule "scale">
    <Match "regex">
      TypeInstance "^scaled$"
    </Match>
    <Target "scale">
      Factor 2.5
    </Target>
  </Rule>
  <Rule "jump">
    <Match "regex">
      Plugin "^jump$"
    </Match>
    <Target "jump">
      Chain "sub"
    </Target>
  </Rule>
  <Rule "after_jump">
    <Match "regex">
      Plugin "^jump$"
      PluginInstance "^sub$"
    </Match>
    <Target "set">
      TypeInstance "continued"
    </Target>
  </Rule>
</Chain>
<Chain "sub">
  <Rule "tag">
    <Match "regex">
      Plugin "^jump$"
    </Match>
    <Target "set">
      PluginInstance "sub"
    </Target>
    Target "return"
  </Rule>
  <Rule "never">
    <Target "set">
      TypeInstance "not_reached"
    </Target>
  </Rule>
</Chain>
<Chain "post">
  # match_value reads the value cache, so it only sees values post-cache.
  <Rule "drop_big">
    <Match "value">
      Min 1000
      Satisfy "Any"
    </Match>
    Target "stop"
  </Rule>
  <Rule "unwritten">
    <Match "regex">
      Plugin "^unwritten$"
    </Match>
    Target "stop"
  </Rule>
  <Rule "hostset">
    <Match "regex">
      Plugin "^rehost$"
    </Match>
    <Target "set">
      Host "otherhost"
    </Target>
  </Rule>
  Target "write"
</Chain>
"#;

/// (input line, where collectd's csv.so writes it: `None` = nowhere).
const CHAIN_CASES: &[(&str, Option<&str>)] = &[
    (
        "PUTVAL difftest/app/gauge-old_name 1700000000:1",
        Some("difftest/app-renamed/gauge-new_name"),
    ),
    ("PUTVAL difftest/big/gauge 1700000000:5000", None),
    (
        "PUTVAL difftest/small/gauge 1700000000:5",
        Some("difftest/small/gauge"),
    ),
    (
        "PUTVAL difftest/s/gauge-scaled 1700000000:4",
        Some("difftest/s/gauge-scaled"),
    ),
    (
        "PUTVAL difftest/jump/gauge-j 1700000000:7",
        Some("difftest/jump-sub/gauge-continued"),
    ),
    ("PUTVAL difftest/unwritten/gauge 1700000000:8", None),
    (
        "PUTVAL difftest/rehost/gauge 1700000000:9",
        Some("otherhost/rehost/gauge"),
    ),
    (
        "PUTVAL difftest/last/gauge 1700000000:10",
        Some("difftest/last/gauge"),
    ),
];

#[test]
fn chains_route_values_like_collectd() {
    if skip_unless_runnable(&[
        "unixsock",
        "match_regex",
        "match_value",
        "target_set",
        "target_replace",
        "target_scale",
        "csv",
        "logfile",
    ]) {
        return;
    }
    let config = format!("{UNIXSOCK}{CHAINS}{CSV}");
    let lines: Vec<String> = CHAIN_CASES.iter().map(|(l, _)| (*l).to_owned()).collect();
    let both = run_both_at(10, &config, |run| {
        feed(run, &lines);
        wait_csv(run, "difftest/last/gauge", 0);
        // The cache sees what the pre-cache chain let through.
        unixsock_ask(&run.sock(), "LISTVAL", Duration::from_secs(2))
    });
    both.assert_clean_exit();
    let c = read_csv(&both.collectd.out().join("csv"));
    let r = read_csv(&both.rcollectd.out().join("csv"));
    let expected: Vec<&str> = CHAIN_CASES.iter().filter_map(|(_, to)| *to).collect();
    let mut written: Vec<&str> = c.keys().map(String::as_str).collect();
    written.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(written, want, "collectd 5.12 wrote {c:#?}");
    assert_eq!(
        c.get("difftest/s/gauge-scaled")
            .and_then(|rows| rows.get(1)),
        Some(&"1700000000.000,10.000000".to_owned())
    );
    assert_same("chain CSV", &c, &r);
    assert_same(
        "LISTVAL after the chains",
        &both.collectd.value,
        &both.rcollectd.value,
    );
}
