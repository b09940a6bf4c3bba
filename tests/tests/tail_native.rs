//! rcollectd's own tail plugin (`LoadPlugin tail` with no `PluginDir`:
//! ours, from target/plugins): the CSV it leads to for appended log lines
//! is the CSV collectd 5.12 writes with Debian's tail.so and csv.so, and it
//! follows its file across rotation (rename and create, copytruncate)
//! counting every line exactly once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rcollectd_tests::diff::{
    assert_same, read_csv, skip_unless_runnable, strip_csv_time, PREAMBLE, WAIT,
};
use rcollectd_tests::{collectd_bin, plugin_dir, rcollectd_bin, wait_for, Daemon};

/// Global options for rcollectd with our plugins: no `PluginDir`.
const NATIVE: &str = r#"Hostname "difftest"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PIDFile "{dir}/pid"
TypesDB "/usr/share/collectd/types.db"
WriteThreads 1
"#;

const CSV: &str = r#"
LoadPlugin csv
<Plugin csv>
  DataDir "{dir}/csv"
  StoreRates false
</Plugin>
"#;

/// Match blocks: regex, exclude regex, DSType, type, type instance.
const MATCHES: &[(&str, &str, &str, &str, &str)] = &[
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
    ("request ([0-9]+)ms", "", "GaugeAdd", "latency", "sum"),
    (
        "request ([0-9]+)ms",
        "",
        "GaugePersist",
        "latency",
        "persist",
    ),
    ("status=5[0-9][0-9]", "", "GaugeInc", "gauge", "errors5xx"),
    ("request", "", "CounterInc", "counter", "requests"),
    ("bytes=([0-9]+)", "", "CounterAdd", "counter", "bytes"),
    ("bytes=([0-9]+)", "", "CounterSet", "counter", "lastbytes"),
    ("error:", "", "DeriveInc", "derive", "errors"),
    ("bytes=([0-9]+)", "", "DeriveAdd", "derive", "bytes"),
    ("status=([0-9]+)", "", "DeriveSet", "derive", "status"),
    (
        "queue depth ([0-9]+)",
        "",
        "AbsoluteSet",
        "absolute",
        "queue",
    ),
    ("logged in", "", "GaugeInc", "gauge", "logins"),
];

fn tail_config(log: &Path, matches: &[(&str, &str, &str, &str, &str)]) -> String {
    let mut c = format!(
        "LoadPlugin tail\n<Plugin tail>\n  <File \"{}\">\n    Instance \"app\"\n",
        log.display()
    );
    for (regex, exclude, ds, type_, instance) in matches {
        c += "    <Match>\n";
        c += &format!("      Regex \"{regex}\"\n");
        if !exclude.is_empty() {
            c += &format!("      ExcludeRegex \"{exclude}\"\n");
        }
        c += &format!("      DSType \"{ds}\"\n      Type \"{type_}\"\n      Instance \"{instance}\"\n    </Match>\n");
    }
    c + "  </File>\n</Plugin>\n" + CSV
}

fn csv_rows(d: &Daemon) -> BTreeMap<String, Vec<String>> {
    read_csv(&d.dir().join("csv"))
}

fn total_rows(d: &Daemon) -> usize {
    csv_rows(d).values().map(Vec::len).sum()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open log");
    f.write_all(text.as_bytes()).expect("append to log");
}

/// Starts `bin`, waits for the first CSV rows of every match (the file is
/// open), appends the fixture, waits until it was counted and one more
/// interval; returns the CSV as runs of distinct values.
fn drive(bin: &Path, preamble: &str) -> BTreeMap<String, Vec<String>> {
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("app.log");
    std::fs::write(&log, "written before the start\n").expect("create log");
    let d = Daemon::start(
        bin,
        &format!("{preamble}{}", tail_config(&log, MATCHES)),
        &[],
    );
    assert!(
        wait_for(WAIT, || {
            let csv = csv_rows(&d);
            csv.len() >= MATCHES.len() && csv.values().all(|r| r.len() > 1)
        }),
        "{} wrote no CSV:\n{}",
        bin.display(),
        d.log()
    );
    let fixture =
        std::fs::read_to_string(rcollectd_tests::diff::fixtures_dir().join("tail.log")).unwrap();
    append(&log, &fixture);
    wait_for(WAIT, || {
        csv_rows(&d)
            .get("difftest/tail-app/counter-requests")
            .is_some_and(|rows| rows.iter().any(|r| r.ends_with(",5")))
    });
    let n = total_rows(&d);
    wait_for(WAIT, || total_rows(&d) >= n + MATCHES.len());
    let mut csv = strip_csv_time(csv_rows(&d));
    for rows in csv.values_mut() {
        rows.dedup();
    }
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    csv
}

#[test]
fn our_tail_writes_what_collectds_tail_writes() {
    let _ = plugin_dir();
    let ours = drive(&rcollectd_bin(), NATIVE);
    assert_eq!(
        ours.get("difftest/tail-app/counter-requests")
            .and_then(|r| r.last())
            .map(String::as_str),
        Some("T,5"),
        "{ours:#?}"
    );
    if skip_unless_runnable(&["tail", "csv"]) {
        return;
    }
    let preamble = PREAMBLE
        .replace("{interval}", "1")
        .replace("{out}", "{dir}");
    let theirs = drive(&collectd_bin(), &preamble);
    assert_same("tail CSV (value runs)", &theirs, &ours);
}

/// The last value the CSV has for `ident`.
fn last_value(d: &Daemon, ident: &str) -> Option<i64> {
    let csv = csv_rows(d);
    let row = csv.get(ident)?.last()?;
    row.rsplit(',').next()?.parse().ok()
}

fn lines(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("line {i}\n")).collect()
}

/// Waits until `ident` reaches `want`, then two more intervals, and checks
/// it stayed there: every line counted exactly once.
fn expect_count(d: &Daemon, ident: &str, want: i64, what: &str) {
    assert!(
        wait_for(WAIT, || last_value(d, ident) == Some(want)),
        "{what}: {ident} is {:?}, want {want}\n{}",
        last_value(d, ident),
        d.log()
    );
    let n = csv_rows(d).get(ident).map_or(0, Vec::len);
    wait_for(WAIT, || csv_rows(d).get(ident).map_or(0, Vec::len) >= n + 2);
    assert_eq!(last_value(d, ident), Some(want), "{what}: counted twice");
}

#[test]
fn rotation_counts_every_line_once() {
    let _ = plugin_dir();
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("app.log");
    std::fs::write(&log, "before the start\n").expect("create log");
    let matches = [
        ("^line [0-9]+$", "", "DeriveInc", "derive", "lines"),
        ("^line [0-9]+$", "", "CounterInc", "counter", "lines"),
    ];
    let d = Daemon::start(
        &rcollectd_bin(),
        &format!("{NATIVE}{}", tail_config(&log, &matches)),
        &[],
    );
    let derive = "difftest/tail-app/derive-lines";
    let counter = "difftest/tail-app/counter-lines";
    expect_count(&d, derive, 0, "start at the end");

    append(&log, &lines(0, 10));
    expect_count(&d, derive, 10, "appended");

    // Rename and create within one interval; the old file gets 3 more lines
    // first, one of them without its newline yet.
    append(&log, &lines(10, 2));
    append(&log, "line 12");
    append(&log, "\n");
    std::fs::rename(&log, logs.path().join("app.log.1")).expect("rename");
    std::fs::write(&log, lines(13, 7)).expect("create new log");
    expect_count(&d, derive, 20, "rename and create");

    // copytruncate within one interval: the copy takes what was read, the
    // file is emptied and written again (less than before).
    std::fs::copy(&log, logs.path().join("app.log.2")).expect("copy");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .and_then(|f| f.set_len(0))
        .expect("truncate");
    append(&log, &lines(20, 4));
    expect_count(&d, derive, 24, "copytruncate");

    // A partial line waits for its newline.
    append(&log, "line 2");
    append(&log, "4");
    expect_count(&d, derive, 24, "partial line");
    append(&log, "\n");
    expect_count(&d, derive, 25, "completed line");
    assert_eq!(last_value(&d, counter), Some(25));
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}

/// A `Distribution` match: percentiles of the latencies, bucket rates.
const DISTRIBUTION: &str = r#"LoadPlugin tail
<Plugin tail>
  <File "{log}">
    Instance "app"
    <Match>
      Regex "took ([0-9.]+) s"
      <DSType "Distribution">
        Percentile 50
        Percentile 95
        Bucket 0 0.1
        Bucket 0.1 0
        BucketType "bucket"
      </DSType>
      Type "latency"
      Instance "req"
    </Match>
  </File>
</Plugin>
"#;

/// Latencies in seconds: 8 up to 0.1 s, 2 above.
const LATENCIES: &[&str] = &[
    "0.010", "0.020", "0.030", "0.040", "0.050", "0.060", "0.070", "0.080", "0.200", "0.500",
];

/// Starts `bin` on [`DISTRIBUTION`], appends [`LATENCIES`] at once when
/// the first (empty) interval was written, and returns the CSV (times
/// stripped) once the read that took them in was written too.
fn drive_distribution(bin: &Path, preamble: &str) -> BTreeMap<String, Vec<String>> {
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("app.log");
    std::fs::write(&log, "").expect("create log");
    let config = DISTRIBUTION.replace("{log}", &log.display().to_string());
    let d = Daemon::start(bin, &format!("{preamble}{config}{CSV}"), &[]);
    let p50 = "difftest/tail-app/latency-req-50";
    assert!(
        wait_for(WAIT, || csv_rows(&d).get(p50).is_some_and(|r| r.len() > 1)),
        "{} wrote no CSV:\n{}",
        bin.display(),
        d.log()
    );
    let text: String = LATENCIES
        .iter()
        .map(|l| format!("req took {l} s\n"))
        .collect();
    append(&log, &text);
    let seen = wait_for(WAIT, || {
        csv_rows(&d)
            .get(p50)
            .is_some_and(|rows| rows.iter().skip(1).any(|r| !r.ends_with("nan")))
    });
    assert!(
        seen,
        "{} did not count the lines:\n{}",
        bin.display(),
        d.log()
    );
    let csv = strip_csv_time(csv_rows(&d));
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    csv
}

/// The values that are numbers, in order.
fn numbers(rows: &[String]) -> Vec<f64> {
    rows.iter()
        .skip(1)
        .filter_map(|r| r.rsplit(',').next()?.parse::<f64>().ok())
        .filter(|v| !v.is_nan())
        .collect()
}

#[test]
fn distribution_matches_collectds() {
    let _ = plugin_dir();
    let ours = drive_distribution(&rcollectd_bin(), NATIVE);
    let idents: Vec<&str> = ours.keys().map(String::as_str).collect();
    assert_eq!(
        idents,
        [
            "difftest/tail-app/bucket-latency-req-0.1_inf",
            "difftest/tail-app/bucket-latency-req-0_0.1",
            "difftest/tail-app/latency-req-50",
            "difftest/tail-app/latency-req-95",
        ]
    );
    let p50 = numbers(&ours["difftest/tail-app/latency-req-50"]);
    assert_eq!(p50.len(), 1, "{ours:#?}");
    assert!((p50[0] - 0.05).abs() < 0.002, "{p50:?}");
    let below = numbers(&ours["difftest/tail-app/bucket-latency-req-0_0.1"]);
    let above = numbers(&ours["difftest/tail-app/bucket-latency-req-0.1_inf"]);
    // Rates per second over about one interval: 8 and 2 values.
    assert!(
        (below[0] / above[0] - 4.0).abs() < 0.01,
        "{below:?} {above:?}"
    );
    if skip_unless_runnable(&["tail", "csv"]) {
        return;
    }
    let preamble = PREAMBLE
        .replace("{interval}", "1")
        .replace("{out}", "{dir}");
    let theirs = drive_distribution(&collectd_bin(), &preamble);
    let keys = |m: &BTreeMap<String, Vec<String>>| m.keys().cloned().collect::<Vec<_>>();
    assert_same("Distribution identifiers", &keys(&theirs), &keys(&ours));
    for ident in [
        "difftest/tail-app/latency-req-50",
        "difftest/tail-app/latency-req-95",
    ] {
        assert_same(ident, &numbers(&theirs[ident]), &numbers(&ours[ident]));
    }
    // Bucket rates divide by the time since the last read, which differs
    // between two daemons by scheduling: compared within 25 %.
    for ident in keys(&theirs).iter().filter(|k| k.contains("/bucket-")) {
        let (c, r) = (numbers(&theirs[ident]), numbers(&ours[ident]));
        assert_eq!(c.len(), r.len(), "{ident}: {c:?} {r:?}");
        for (c, r) in c.iter().zip(&r) {
            assert!((c - r).abs() <= 0.25 * c.abs(), "{ident}: {c} vs {r}");
        }
    }
}
