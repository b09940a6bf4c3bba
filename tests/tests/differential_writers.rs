//! Debian's writer plugins under collectd 5.12 and under rcollectd, fed the
//! same timestamped values over unixsock: write_graphite's lines (to a local
//! TCP listener), write_http's bodies in Command and JSON format (to a local
//! HTTP listener), write_prometheus's exposition (scraped over HTTP) and
//! rrdtool's files (`rrdtool info`) are the same; and csv.so with
//! `StoreRates true` writes the same rate on each row of a burst.

use std::path::Path;
use std::process::Command;

use rcollectd_tests::diff::{
    assert_same, http_get, read_csv, run_both_at, skip_unless_runnable, unixsock_burst, Capture,
    CaptureMode, WAIT,
};
use rcollectd_tests::writers::{feed, flush, wait_written, SENTINEL, UNIXSOCK};
use rcollectd_tests::{files_below, wait_for};

#[test]
fn write_graphite_lines_match_collectd() {
    if skip_unless_runnable(&["unixsock", "write_graphite", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "raw">
    Host "127.0.0.1"
    Port "{{tcp_port}}"
    Protocol "tcp"
    Prefix "raw."
    StoreRates false
    EscapeCharacter "_"
    SeparateInstances true
    AlwaysAppendDS false
  </Node>
  <Node "rates">
    Host "127.0.0.1"
    Port "{{tcp_port}}"
    Protocol "tcp"
    Prefix "rates."
    Postfix ".pf"
    StoreRates true
    AlwaysAppendDS true
    DropDuplicateFields true
    PreserveSeparator false
  </Node>
</Plugin>
{SENTINEL}"#
    );
    let both = run_both_at(10, &config, |run| {
        let capture = Capture::start(run.tcp_port, CaptureMode::Lines);
        feed(run);
        wait_written(run);
        flush(run);
        wait_for(WAIT, || capture.received().len() >= 2 * 19);
        let mut lines = capture.received();
        lines.sort();
        lines
    });
    both.assert_clean_exit();
    assert_same(
        "graphite lines",
        &both.collectd.value,
        &both.rcollectd.value,
    );
    assert!(
        both.collectd
            .value
            .contains(&"raw.difftest.app.gauge.temp 22.25 1700000010\r".to_owned()),
        "collectd sent {:#?}",
        both.collectd.value
    );
}

#[test]
fn write_http_bodies_match_collectd() {
    if skip_unless_runnable(&["unixsock", "write_http", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin write_http
<Plugin write_http>
  <Node "cmd">
    URL "http://127.0.0.1:{{tcp_port}}/cmd"
    Format "Command"
    StoreRates false
    BufferSize 65536
  </Node>
  <Node "json">
    URL "http://127.0.0.1:{{tcp_port}}/json"
    Format "JSON"
    StoreRates true
    BufferSize 65536
  </Node>
</Plugin>
{SENTINEL}"#
    );
    let both = run_both_at(10, &config, |run| {
        let capture = Capture::start(run.tcp_port, CaptureMode::Http);
        feed(run);
        wait_written(run);
        flush(run);
        wait_for(WAIT, || capture.received().len() >= 2);
        let mut bodies = capture.received();
        bodies.sort();
        bodies
    });
    both.assert_clean_exit();
    let (c, r) = (&both.collectd.value, &both.rcollectd.value);
    assert_same("write_http requests", c, r);
    assert!(
        c.iter().any(|b| b.contains(r#""meta":{"tag":"blue"}"#)),
        "collectd sent {c:#?}"
    );
}

#[test]
fn write_prometheus_exposition_matches_collectd() {
    if skip_unless_runnable(&["unixsock", "write_prometheus", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Port "{{tcp_port}}"
  Host "127.0.0.1"
</Plugin>
{SENTINEL}"#
    );
    let both = run_both_at(10, &config, |run| {
        feed(run);
        wait_written(run);
        let mut body = String::new();
        wait_for(WAIT, || {
            body = http_get(run.tcp_port, "/metrics").unwrap_or_default();
            // The last input's metric: the write queue is in order.
            body.contains("collectd_app_load_shortterm")
        });
        body
    });
    both.assert_clean_exit();
    let lines = |body: &str| -> Vec<String> { body.lines().map(str::to_owned).collect() };
    assert_same(
        "prometheus exposition",
        &lines(&both.collectd.value),
        &lines(&both.rcollectd.value),
    );
}

/// `rrdtool info` of every file below `root`, path made relative; without
/// the file name and each RRA's `cur_row`, which librrd picks at random.
fn rrd_infos(root: &Path) -> Vec<(String, Vec<String>)> {
    files_below(root)
        .into_iter()
        .map(|rel| {
            let out = Command::new("rrdtool")
                .arg("info")
                .arg(root.join(&rel))
                .output()
                .expect("run rrdtool info");
            assert!(out.status.success(), "rrdtool info {}", rel.display());
            let info = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.starts_with("filename = ") && !l.contains("].cur_row = "))
                .map(str::to_owned)
                .collect();
            (rel.display().to_string(), info)
        })
        .collect()
}

#[test]
fn rrdtool_files_match_collectd() {
    if skip_unless_runnable(&["unixsock", "rrdtool", "csv", "logfile"]) {
        return;
    }
    if Command::new("rrdtool").arg("--version").output().is_err() {
        eprintln!("skipped: the rrdtool CLI is not installed (scripts/install-deps.sh)");
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin rrdtool
<Plugin rrdtool>
  DataDir "{{out}}/rrd"
  CacheTimeout 0
  CreateFilesAsync false
  RRARows 100
  RRATimespan 3600
  XFF 0.5
</Plugin>
{SENTINEL}"#
    );
    let both = run_both_at(10, &config, |run| {
        feed(run);
        wait_written(run);
        flush(run);
        wait_for(WAIT, || files_below(&run.out().join("rrd")).len() >= 10);
    });
    both.assert_clean_exit();
    let c = rrd_infos(&both.collectd.out().join("rrd"));
    let r = rrd_infos(&both.rcollectd.out().join("rrd"));
    assert_same("rrd files (rrdtool info)", &c, &r);
}

/// One DERIVE identifier, five values sent in one burst on one connection.
const RATE_BURST: &[&str] = &[
    "PUTVAL difftest/burst/derive-d 1700000000:0",
    "PUTVAL difftest/burst/derive-d 1700000010:100",
    "PUTVAL difftest/burst/derive-d 1700000020:300",
    "PUTVAL difftest/burst/derive-d 1700000030:600",
    "PUTVAL difftest/burst/derive-d 1700000040:1000",
];

#[test]
fn csv_store_rates_rows_match_collectd() {
    if skip_unless_runnable(&["unixsock", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"{UNIXSOCK}
LoadPlugin csv
<Plugin csv>
  DataDir "{{out}}/csv"
  StoreRates true
</Plugin>
"#
    );
    let both = run_both_at(10, &config, |run| {
        let replies = unixsock_burst(&run.sock(), RATE_BURST);
        assert!(
            replies.iter().all(|r| r.starts_with("0 ")),
            "{:?}: {replies:?}",
            run.side
        );
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .get("difftest/burst/derive-d")
                .is_some_and(|rows| rows.len() > RATE_BURST.len())
        });
    });
    both.assert_clean_exit();
    let c = read_csv(&both.collectd.out().join("csv"));
    let r = read_csv(&both.rcollectd.out().join("csv"));
    // collectd updates the cache and writes each value in turn (one write
    // thread), so every row has the rate from the previous value.
    assert_eq!(
        c.get("difftest/burst/derive-d").map(Vec::as_slice),
        Some(
            &[
                "epoch,value",
                "1700000000.000,nan",
                "1700000010.000,10.000000",
                "1700000020.000,20.000000",
                "1700000030.000,30.000000",
                "1700000040.000,40.000000",
            ]
            .map(str::to_owned)[..]
        ),
        "collectd 5.12 wrote {c:#?}"
    );
    assert_same("csv rates", &c, &r);
}
