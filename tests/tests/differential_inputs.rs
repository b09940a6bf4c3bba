//! Debian's input plugins that read what the test feeds them (statsd.so over
//! UDP, tail.so from a log file, table.so from a table file) under collectd
//! 5.12 and under rcollectd: the CSV they lead to is the same. These plugins
//! stamp values with the daemon's clock, so times are stripped and each
//! file's rows are reduced to their runs of distinct values (how many rows a
//! run has only says how many intervals the test waited).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::UdpSocket;

use rcollectd_tests::diff::{
    assert_same, read_csv, run_both, skip_unless_runnable, strip_csv_time, Run, WAIT,
};
use rcollectd_tests::wait_for;

const CSV: &str = r#"
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/csv"
  StoreRates false
</Plugin>
"#;

/// CSV with times stripped and consecutive repeated rows collapsed.
fn value_runs(run_csv: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut csv = strip_csv_time(run_csv);
    for rows in csv.values_mut() {
        rows.dedup();
    }
    csv
}

/// Waits until csv.so wrote `files` files with at least `rows` data rows each.
fn wait_rows(run: &Run, files: usize, rows: usize) {
    wait_for(WAIT, || {
        let csv = read_csv(&run.out().join("csv"));
        csv.len() >= files && csv.values().all(|r| r.len() > rows)
    });
}

/// statsd lines sent in one burst; bad lines are ignored by both.
const STATSD: &[&str] = &[
    "hits:1|c",
    "hits:2|c",
    "hits:4|c|@0.5",
    "temp:20|g",
    "temp:+5|g",
    "temp:-3|g",
    "lat:100|ms",
    "lat:300|ms",
    "lat:200|ms|@0.5",
    "users:alice|s",
    "users:bob|s",
    "users:alice|s",
    "multi:1|c\nmulti:2|c",
    "garbage",
    "bad:1|zz",
    "bad2:x|c",
];

#[test]
fn statsd_values_match_collectd() {
    if skip_unless_runnable(&["statsd", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "{{udp_port}}"
  TimerPercentile 90
  TimerLower true
  TimerUpper true
  TimerSum true
  TimerCount true
  CounterSum true
</Plugin>
{CSV}"#
    );
    let both = run_both(&config, |run| {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind statsd client");
        // One burst, well inside one interval: half an interval after the
        // first read, which runs right at start-up.
        std::thread::sleep(std::time::Duration::from_millis(500));
        for line in STATSD {
            sock.send_to(line.as_bytes(), ("127.0.0.1", run.udp_port))
                .expect("send statsd line");
        }
        // Two more intervals: the burst's row, then the rows after it.
        wait_rows(run, 12, 3);
    });
    both.assert_clean_exit();
    let c = value_runs(read_csv(&both.collectd.out().join("csv")));
    let r = value_runs(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("statsd CSV (value runs)", &c, &r);
    assert!(
        c.keys().any(|k| k.ends_with("/derive-hits")),
        "collectd wrote {c:#?}"
    );
    let errors = |log: &str| -> BTreeSet<String> {
        log.lines()
            .filter(|l| l.contains("statsd"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        errors(&both.rcollectd.log),
        errors(&both.collectd.log),
        "statsd log lines differ"
    );
}

#[test]
fn tail_matches_match_collectd() {
    if skip_unless_runnable(&["tail", "csv", "logfile"]) {
        return;
    }
    let mut config = String::from(
        r#"LoadPlugin tail
<Plugin tail>
  <File "{out}/app.log">
    Instance "app"
"#,
    );
    for (regex, exclude, ds_type, type_, instance) in [
        (
            "request ([0-9]+)ms",
            "healthcheck",
            "GaugeAverage",
            "latency",
            "avg",
        ),
        (
            "request ([0-9]+)ms",
            "healthcheck",
            "GaugeMin",
            "latency",
            "min",
        ),
        (
            "request ([0-9]+)ms",
            "healthcheck",
            "GaugeMax",
            "latency",
            "max",
        ),
        ("request ([0-9]+)ms", "", "GaugeLast", "latency", "last"),
        ("status=5[0-9][0-9]", "", "GaugeInc", "gauge", "errors5xx"),
        ("request", "", "CounterInc", "counter", "requests"),
        ("bytes=([0-9]+)", "", "CounterAdd", "counter", "bytes"),
        ("error:", "", "DeriveInc", "derive", "errors"),
        ("bytes=([0-9]+)", "", "DeriveAdd", "derive", "bytes"),
        (
            "queue depth ([0-9]+)",
            "",
            "AbsoluteSet",
            "absolute",
            "queue",
        ),
        ("logged in", "", "GaugeInc", "gauge", "logins"),
    ] {
        config += &format!(
            "    <Match>\n      Regex \"{regex}\"\n{}      DSType \"{ds_type}\"\n      Type \"{type_}\"\n      Instance \"{instance}\"\n    </Match>\n",
            if exclude.is_empty() {
                String::new()
            } else {
                format!("      ExcludeRegex \"{exclude}\"\n")
            }
        );
    }
    config += "  </File>\n</Plugin>\n";
    config += CSV;
    let fixture = std::fs::read_to_string(rcollectd_tests::diff::fixtures_dir().join("tail.log"))
        .expect("read tail.log fixture");
    let both = run_both(&config, |run| {
        let path = run.out().join("app.log");
        std::fs::write(&path, "").expect("create app.log");
        // tail.so starts at the end of the file: let it open the empty file
        // first, then append every line at once.
        wait_rows(run, 11, 1);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open app.log");
        f.write_all(fixture.as_bytes()).expect("append to app.log");
        drop(f);
        wait_for(WAIT, || {
            let csv = read_csv(&run.out().join("csv"));
            csv.get("difftest/tail-app/counter-requests")
                .is_some_and(|rows| rows.iter().any(|r| r.ends_with(",5")))
        });
        // And one more interval after the lines were counted.
        let n = read_csv(&run.out().join("csv"))
            .values()
            .map(Vec::len)
            .sum::<usize>();
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= n + 11
        });
    });
    both.assert_clean_exit();
    let c = value_runs(read_csv(&both.collectd.out().join("csv")));
    let r = value_runs(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("tail CSV (value runs)", &c, &r);
    assert!(
        c.get("difftest/tail-app/counter-requests")
            .is_some_and(|rows| rows.iter().any(|r| r.ends_with(",5"))),
        "collectd counted no requests: {c:#?}"
    );
}

const TABLE: &str = r#"LoadPlugin table
<Plugin table>
  <Table "{fixtures}/{table}">
    Instance "tbl"
    Separator " "
    <Result>
      Type gauge
      InstancePrefix "col"
      InstancesFrom 0
      ValuesFrom 1
    </Result>
    <Result>
      Type derive
      InstancePrefix "d"
      InstancesFrom 0
      ValuesFrom 2
    </Result>
  </Table>
</Plugin>
"#;

#[test]
fn table_values_match_collectd() {
    if skip_unless_runnable(&["table", "csv", "logfile"]) {
        return;
    }
    let config = format!("{}{CSV}", TABLE.replace("{table}", "table.txt"));
    let both = run_both(&config, |run| wait_rows(run, 6, 2));
    both.assert_clean_exit();
    let c = value_runs(read_csv(&both.collectd.out().join("csv")));
    let r = value_runs(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("table CSV (value runs)", &c, &r);
    assert_eq!(c.len(), 6, "collectd wrote {c:#?}");
}

#[test]
fn table_parse_error_matches_collectd() {
    if skip_unless_runnable(&["table", "csv", "logfile"]) {
        return;
    }
    let config = format!("{}{CSV}", TABLE.replace("{table}", "table-bad.txt"));
    let both = run_both(&config, |run| {
        wait_for(WAIT, || run.log().contains("Failed to parse"));
        wait_rows(run, 3, 1);
    });
    both.assert_clean_exit();
    let errors = |log: &str| -> BTreeSet<String> {
        log.lines()
            .filter(|l| l.contains("parse") || l.contains("table"))
            .filter(|l| !l.contains("successfully loaded"))
            .map(str::to_owned)
            .collect()
    };
    let c = errors(&both.collectd.log);
    assert!(
        c.contains("[error] table plugin: parse_value: Failed to parse string as derive: \"v\"."),
        "collectd 5.12 logged {c:#?}"
    );
    assert_same("table log lines", &c, &errors(&both.rcollectd.log));
    let c_csv = value_runs(read_csv(&both.collectd.out().join("csv")));
    let r_csv = value_runs(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("table CSV (value runs)", &c_csv, &r_csv);
}
