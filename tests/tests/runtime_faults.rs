//! Fault handling of the runtime: failing reads back off, a blocking writer
//! neither stalls reads nor grows the queue past WriteQueueLimitHigh (drops
//! are counted), and SIGTERM writes everything queued before exiting.

mod runtime_support;

use std::path::Path;
use std::time::{Duration, Instant};

use rcollectd_tests::{wait_for, Daemon};
use runtime_support::{attempt_time, build_test_plugin, lines, Headers};

fn plugin_dir(tmp: &Path) -> String {
    build_test_plugin(tmp, Headers::Collectd);
    tmp.display().to_string()
}

#[test]
fn failing_read_is_retried_with_doubling_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 0.25
MaxReadInterval 1.5
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
LoadPlugin test_plugin
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  FailReads 4
  LogAll true
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let events = tmp.path().join("events.txt");
    // Attempts at ~0, 0.5, 1.5, 3.0 (capped), 4.5 (succeeds), then 0.25 apart.
    let done = wait_for(Duration::from_secs(15), || {
        lines(&events)
            .iter()
            .filter(|l| l.starts_with("read-attempt"))
            .count()
            >= 7
    });
    let out = d.stop();
    let ev = lines(&events);
    assert!(done, "too few read attempts:\n{ev:#?}\n{}", out.log);
    let times: Vec<f64> = ev.iter().filter_map(|l| attempt_time(l)).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Doubling after each failure: 0.5, 1.0, then capped at MaxReadInterval 1.5.
    let expect = [0.5, 1.0, 1.5, 1.5, 0.25];
    for (i, want) in expect.iter().enumerate() {
        assert!(
            (gaps[i] - want).abs() < 0.2,
            "gap {i} is {:.3}s, expected about {want}s; gaps {gaps:?}",
            gaps[i]
        );
    }
    assert!(
        gaps[1] > gaps[0] && gaps[2] > gaps[1],
        "intervals must grow: {gaps:?}"
    );
    assert!(
        ev.iter().any(|l| l.contains(
            "read-function of plugin `test_plugin' failed. Will suspend it for 1.000 seconds."
        )),
        "backoff not logged: {ev:#?}"
    );
}

/// Parses "write testhost/collectd-write_queue/queue_length ... value=N".
fn stat_values(ev: &[String], ident: &str) -> Vec<f64> {
    ev.iter()
        .filter(|l| l.starts_with("write ") && l.contains(ident))
        .filter_map(|l| l.rsplit("value=").next()?.parse().ok())
        .collect()
}

#[test]
fn blocking_writer_does_not_stall_reads_and_queue_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 0.35
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
WriteThreads 1
WriteQueueLimitHigh 100
WriteQueueLimitLow 50
CollectInternalStats true
# The statistics (global interval) and the plugin's bursts are out of phase,
# so some statistics get through while the queue is between its limits.
<LoadPlugin test_plugin>
  Interval 0.5
</LoadPlugin>
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  ReadValues 100
  WriteSleepMs 10
  LogAll true
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let events = tmp.path().join("events.txt");
    let started = Instant::now();
    let enough = wait_for(Duration::from_secs(30), || {
        let ev = lines(&events);
        ev.iter().filter(|l| l.starts_with("read-attempt")).count() >= 8
            && stat_values(&ev, "collectd-write_queue/derive-dropped")
                .iter()
                .any(|&v| v > 0.0)
    });
    let elapsed = started.elapsed();
    let out = d.stop();
    let ev = lines(&events);
    assert!(enough, "no progress:\n{}\n{}", ev.join("\n"), out.log);

    // Reads kept their 0.5 s schedule although each write takes 10 ms and
    // every read produces 101 value lists (about 1 s of writing).
    let times: Vec<f64> = ev.iter().filter_map(|l| attempt_time(l)).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g < 0.9),
        "reads stalled: gaps {gaps:?} after {elapsed:?}"
    );

    // The queue never exceeded WriteQueueLimitHigh (small slack for the
    // check-then-enqueue race between dispatching threads).
    let lengths = stat_values(&ev, "collectd-write_queue/queue_length");
    assert!(!lengths.is_empty(), "no queue_length statistics written");
    assert!(
        lengths.iter().all(|&l| l <= 105.0),
        "queue too long: {lengths:?}"
    );

    // Drops happened and were counted.
    let dropped = stat_values(&ev, "collectd-write_queue/derive-dropped");
    assert!(
        dropped.iter().any(|&v| v > 0.0),
        "no drops counted: {dropped:?}"
    );
    assert!(
        ev.iter()
            .any(|l| l.contains("Low water mark reached. Dropping")),
        "drops not logged"
    );
}

#[test]
fn sigterm_writes_everything_queued() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 30
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
WriteThreads 1
LoadPlugin test_plugin
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  ReadValues 1500
  WriteSleepMs 1
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let events = tmp.path().join("events.txt");
    let read_done = wait_for(Duration::from_secs(10), || {
        lines(&events)
            .iter()
            .any(|l| l.starts_with("read 1 dispatched="))
    });
    assert!(read_done, "first read did not finish:\n{}", d.log());
    let ev = lines(&events);
    let dispatched: usize = ev
        .iter()
        .find_map(|l| l.strip_prefix("read 1 dispatched="))
        .and_then(|n| n.parse().ok())
        .expect("dispatch count");
    let written_before = ev.iter().filter(|l| l.starts_with("write ")).count();
    assert!(
        written_before < dispatched,
        "the queue should still hold values when SIGTERM arrives ({written_before} of {dispatched})"
    );
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
    let ev = lines(&events);
    let written = ev.iter().filter(|l| l.starts_with("write ")).count();
    assert_eq!(written, dispatched, "values lost at shutdown:\n{}", out.log);
    let flush = ev
        .iter()
        .position(|l| l.starts_with("flush "))
        .expect("flush at shutdown");
    let shutdown = ev
        .iter()
        .position(|l| l == "shutdown")
        .expect("shutdown callback");
    let last_write = ev.iter().rposition(|l| l.starts_with("write ")).unwrap();
    assert!(
        last_write < flush && flush < shutdown,
        "order must be writes, flush, shutdown"
    );
}

#[test]
fn values_that_stop_arriving_go_to_missing_callbacks_and_sigusr1_flushes() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 0.3
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
LoadPlugin test_plugin
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  StopAfterReads 2
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let events = tmp.path().join("events.txt");
    // Timeout 2 (default) x Interval 0.3 s: missing after about 0.6 s.
    let missing = wait_for(Duration::from_secs(10), || {
        lines(&events)
            .iter()
            .filter(|l| l.starts_with("missing "))
            .count()
            >= 3
    });
    d.signal(nix::sys::signal::Signal::SIGUSR1);
    let flushed = wait_for(Duration::from_secs(5), || {
        lines(&events).iter().any(|l| l.starts_with("flush "))
    });
    let out = d.stop();
    let ev = lines(&events);
    assert!(
        missing,
        "no missing values reported:\n{}\n{}",
        ev.join("\n"),
        out.log
    );
    let mut got: Vec<&str> = ev
        .iter()
        .filter_map(|l| l.strip_prefix("missing "))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "testhost/test_plugin-inst/gauge-g1",
            "testhost/test_plugin-inst/if_octets",
            "testhost/test_plugin-inst/test_gauge-v0",
        ],
        "each identifier is reported missing exactly once"
    );
    assert!(flushed, "SIGUSR1 did not flush:\n{}", out.log);
}

#[test]
fn flush_interval_flushes_the_plugin_periodically() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 5
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
<LoadPlugin test_plugin>
  FlushInterval 0.3
  FlushTimeout 7
</LoadPlugin>
<Plugin test_plugin>
  OutputFile "{}/events.txt"
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let events = tmp.path().join("events.txt");
    let flushed = wait_for(Duration::from_secs(10), || {
        lines(&events)
            .iter()
            .filter(|l| l.as_str() == "flush timeout=7.000 identifier=(null)")
            .count()
            >= 3
    });
    let out = d.stop();
    assert!(
        flushed,
        "no periodic flushes:\n{}\n{}",
        lines(&events).join("\n"),
        out.log
    );
}

/// The last value of each row of a csv file (`epoch,value`).
fn csv_values(dir: &Path, prefix: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let Some(parent) = Path::new(prefix).parent() else {
        return out;
    };
    let stem = Path::new(prefix)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(entries) = std::fs::read_dir(dir.join(parent)) else {
        return out;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(&stem) {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        out.extend(
            text.lines()
                .skip(1)
                .filter_map(|l| l.rsplit(',').next()?.parse::<f64>().ok()),
        );
    }
    out
}

/// One output whose write callback blocks (30 s per value list) beside
/// Debian's csv: csv still writes every interval and drops nothing, the
/// blocked output's queue fills up to WriteQueueLimitHigh and no further,
/// with its drops counted, and SIGTERM ends
/// the daemon within Timeout x Interval (clamped to at least 1 s) plus the
/// shutdown itself: asserted under 6 s.
#[test]
fn a_blocked_output_delays_and_drops_only_its_own_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plugin_dir(tmp.path());
    for p in ["csv", "load"] {
        std::fs::copy(
            format!("/usr/lib/collectd/{p}.so"),
            tmp.path().join(format!("{p}.so")),
        )
        .expect("copy Debian's plugin next to the test plugin");
    }
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 0.5
Timeout 2
BaseDir "{{dir}}"
PluginDir "{dir}"
TypesDB "{{types_db}}"
WriteQueueLimitHigh 100
WriteQueueLimitLow 50
CollectInternalStats true
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
LoadPlugin test_plugin
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  ReadValues 20
  WriteSleepMs 30000
  LogAll true
</Plugin>
"#,
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let csv = d.dir().join("csv");
    let stats = "testhost/collectd-output-test_plugin/";
    let settled = wait_for(Duration::from_secs(20), || {
        csv_values(&csv, "testhost/load/load").len() >= 8
            && csv_values(&csv, &format!("{stats}derive-dropped"))
                .iter()
                .any(|&v| v > 0.0)
    });
    let load_rows = csv_values(&csv, "testhost/load/load").len();
    let queue = csv_values(&csv, &format!("{stats}queue_length"));
    let total_queue = csv_values(&csv, "testhost/collectd-write_queue/queue_length");
    let csv_dropped = csv_values(&csv, "testhost/collectd-output-csv/derive-dropped");
    let stopping = Instant::now();
    let out = d.stop();
    let took = stopping.elapsed();
    assert!(
        settled,
        "csv wrote {load_rows} load rows; blocked queue {queue:?}\n{}",
        out.log
    );
    assert!(
        queue.iter().all(|&q| q <= 100.0) && queue.iter().any(|&q| q >= 50.0),
        "the blocked output's queue must fill up to its limit and no further: {queue:?}"
    );
    assert!(
        !csv_dropped.is_empty() && csv_dropped.iter().all(|&v| v == 0.0),
        "csv must drop nothing: {csv_dropped:?}"
    );
    assert!(
        total_queue.iter().any(|&q| q >= 50.0),
        "write_queue/queue_length sums the outputs: {total_queue:?}"
    );
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
    assert!(took < Duration::from_secs(6), "SIGTERM took {took:?}");
    // The test plugin is also the log plugin: the daemon's lines are there.
    let ev = lines(&tmp.path().join("events.txt"));
    assert!(
        ev.iter()
            .any(|l| l.contains("`test_plugin' did not return within 1.0 s at shutdown")),
        "the abandoned output is reported:\n{}",
        ev.join("\n")
    );
}

/// Values dispatched while later plugins are still initializing reach the
/// writers once everything is up, as under collectd (which queues them until
/// its write threads start after the last init). Our csv, like every plugin
/// built with the SDK, registers its write callback in its init; a PUTVAL
/// that arrived through unixsock before that init used to be dropped with
/// "No write callback has been registered". A slow init between unixsock
/// and csv holds the window open for 2 s.
#[test]
fn values_dispatched_during_startup_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
Hostname "testhost"
FQDNLookup false
Interval 10
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{{dir}}/sock"
</Plugin>
LoadPlugin test_plugin
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  InitSleepMs 2000
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{}/csv"
</Plugin>
"#,
        plugin_dir(tmp.path()),
        tmp.path().display(),
        tmp.path().display()
    );
    let d = Daemon::start_rcollectd(&config);
    let sock = d.dir().join("sock");
    let up = wait_for(Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(&sock).is_ok()
    });
    assert!(up, "no unixsock socket:\n{}", d.log());
    // The race is only exercised while the slow init still runs.
    assert!(
        !d.log().contains("Initialization complete"),
        "init finished before the PUTVAL:\n{}",
        d.log()
    );
    let reply = rcollectd_tests::diff::unixsock_ask(
        &sock,
        "PUTVAL testhost/early/gauge-x 1700000000:42",
        Duration::from_secs(5),
    );
    assert!(reply.starts_with("0 "), "PUTVAL -> {reply}");
    let written = wait_for(Duration::from_secs(10), || {
        csv_values(&tmp.path().join("csv"), "testhost/early/gauge-x") == [42.0]
    });
    let out = d.stop();
    assert!(
        written,
        "the early value was not written: {:?}\n{}",
        csv_values(&tmp.path().join("csv"), "testhost/early/gauge-x"),
        out.log
    );
    assert!(
        !out.log.contains("No write callback has been registered"),
        "{}",
        out.log
    );
}
