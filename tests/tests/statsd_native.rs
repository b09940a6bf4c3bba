//! rcollectd's own statsd plugin (`LoadPlugin statsd` with no `PluginDir`:
//! ours, from target/plugins) against collectd 5.12 with Debian's
//! statsd.so: the same statsd lines over loopback UDP lead to the same CSV
//! identifiers and values (times stripped, runs of equal rows collapsed)
//! and the same log lines. A flood of a million distinct names keeps our
//! daemon's memory bounded and shows in the dropped-metrics counter.

use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use rcollectd_tests::diff::{
    read_csv, skip_unless_runnable, strip_csv_time, unixsock_ask, PREAMBLE, WAIT,
};
use rcollectd_tests::{collectd_bin, free_udp_port, plugin_dir, rcollectd_bin, wait_for, Daemon};

/// [`PREAMBLE`] without `PluginDir`: rcollectd loads our plugins.
fn native() -> String {
    PREAMBLE.replace("PluginDir \"/usr/lib/collectd\"\n", "")
}

const BODY: &str = r#"LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "{udp_port}"
  TimerPercentile 90
  TimerPercentile 50.5
  TimerLower true
  TimerUpper true
  TimerSum true
  TimerCount true
  CounterSum true
  DeleteSets true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/csv"
  StoreRates false
</Plugin>
"#;

/// One datagram of lines: every line form, sample rates, relative gauges,
/// sets, timers across bins, long names, and lines both daemons reject.
fn lines() -> Vec<String> {
    let long = "n".repeat(150);
    let mut v: Vec<String> = [
        "hits:1|c",
        "hits:2|c",
        "hits:4|c|@0.5",
        "frac:0.5|c|@0.4",
        "neg:-3|c",
        "a:b:7|c",
        "ws: 5|c",
        "hex:0x10|c",
        "temp:20|g",
        "temp:+5|g",
        "temp:-3|g",
        "rel:+2.5|g",
        "sp: -4|g",
        "lat:100|ms",
        "lat:300|ms",
        "lat:200|ms|@0.5",
        "small:0.5|ms",
        "one:1|ms",
        "big:2000|ms",
        "big:5|ms",
        "users:alice|s",
        "users:bob|s",
        "users:alice|s",
        "empty:|s",
        "",
        "garbage",
        "bad:1|zz",
        "bad2:x|c",
        "hist:5|h",
        "rate:1|c|@2",
        "rate2:1|c|0.5",
        "gr:1|g|@0.5",
        "colon|c",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("{long}:1|c"));
    v.push(format!("{long}:3|ms"));
    v
}

/// CSV with times stripped and consecutive repeated rows collapsed.
fn value_runs(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut csv = strip_csv_time(read_csv(root));
    for rows in csv.values_mut() {
        rows.dedup();
    }
    csv
}

struct Side {
    daemon: Daemon,
    out: tempfile::TempDir,
    port: u16,
}

fn start(bin: &Path, preamble: &str, body: &str, interval: u32) -> Side {
    let out = tempfile::Builder::new()
        .prefix("rcd-statsd-")
        .tempdir()
        .expect("output dir");
    let port = free_udp_port();
    let config = format!("{preamble}{body}")
        .replace("{interval}", &interval.to_string())
        .replace("{out}", &out.path().display().to_string())
        .replace("{udp_port}", &port.to_string());
    let daemon = Daemon::start(bin, &config, &[]);
    let log = out.path().join("daemon.log");
    let ready = wait_for(WAIT, || {
        let l = std::fs::read_to_string(&log).unwrap_or_default();
        l.contains("Initialization complete") || l.contains(" running\n")
    });
    assert!(ready, "{} did not start:\n{}", bin.display(), daemon.log());
    Side { daemon, out, port }
}

/// The statsd plugin's log lines, with the side's port replaced.
fn statsd_log_lines(side: &Side) -> BTreeSet<String> {
    std::fs::read_to_string(side.out.path().join("daemon.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("statsd plugin"))
        .map(|l| l.replace(&format!("]:{}.", side.port), "]:{udp_port}."))
        .collect()
}

#[test]
fn our_statsd_dispatches_what_collectd_does() {
    if skip_unless_runnable(&["statsd", "csv", "logfile"]) {
        return;
    }
    let _ = plugin_dir();
    let theirs = start(&collectd_bin(), PREAMBLE, BODY, 1);
    let ours = start(&rcollectd_bin(), &native(), BODY, 1);
    assert!(
        !ours.daemon.log().contains("/usr/lib/collectd/statsd.so"),
        "loaded Debian's statsd.so:\n{}",
        ours.daemon.log()
    );
    let datagram = lines().join("\n");
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind client");
    std::thread::sleep(Duration::from_millis(300));
    for side in [&theirs, &ours] {
        client
            .send_to(datagram.as_bytes(), ("127.0.0.1", side.port))
            .expect("send");
    }
    // Four reads after the burst: values, then what idle metrics become.
    for side in [&theirs, &ours] {
        let file = side.out.path().join("csv");
        wait_for(WAIT, || {
            read_csv(&file)
                .iter()
                .find(|(k, _)| k.ends_with("/derive-hits"))
                .is_some_and(|(_, rows)| rows.len() > 4)
        });
    }
    let (cl, rl) = (statsd_log_lines(&theirs), statsd_log_lines(&ours));
    let (c_out, r_out) = (theirs.out, ours.out);
    let c_stop = theirs.daemon.stop();
    let r_stop = ours.daemon.stop();
    assert!(c_stop.status.is_some_and(|s| s.success()), "{}", c_stop.log);
    assert!(r_stop.status.is_some_and(|s| s.success()), "{}", r_stop.log);

    let c = value_runs(&c_out.path().join("csv"));
    let mut r = value_runs(&r_out.path().join("csv"));
    // Ours counts the bad lines under an identifier collectd does not have.
    let bad = r
        .remove("difftest/statsd-internal/derive-bad_lines")
        .expect("bad_lines counter");
    assert_eq!(bad.last().map(String::as_str), Some("T,8"), "{bad:?}");
    assert!(c.keys().any(|k| k.ends_with("/derive-hits")), "{c:#?}");
    assert!(c.keys().any(|k| k.contains("-percentile-50")), "{c:#?}");
    let keys = |m: &BTreeMap<String, Vec<String>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&r), keys(&c), "identifiers differ");
    for (k, rows) in &c {
        assert_eq!(&r[k], rows, "{k}: values differ");
    }
    assert!(
        cl.iter().any(|l| l.contains("Unable to parse line")),
        "{cl:#?}"
    );
    assert_eq!(rl, cl, "statsd log lines differ");
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Whether the daemon's cache holds the dropped-metrics counter (ours
/// dispatches it once it is not zero).
fn has_dropped(sock: &Path) -> bool {
    unixsock_ask(sock, "LISTVAL", Duration::from_secs(5))
        .contains("difftest/statsd-internal/derive-dropped_metrics")
}

/// The counter's rate (GETVAL gives rates for DERIVE values): above zero
/// while new names keep being dropped.
fn dropped_rate(sock: &Path) -> f64 {
    let reply = unixsock_ask(
        sock,
        "GETVAL \"difftest/statsd-internal/derive-dropped_metrics\"",
        Duration::from_secs(2),
    );
    reply
        .lines()
        .find_map(|l| l.strip_prefix("value="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Largest VmRSS the daemon may reach under the flood: 100,000 metrics (of
/// which at most 10,000 timers with 4 kB histograms), their value cache
/// entries and the daemon itself.
const RSS_BOUND_KIB: u64 = 256 * 1024;

#[test]
fn a_flood_of_distinct_names_stays_bounded() {
    let _ = plugin_dir();
    let body = r#"LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "{udp_port}"
  TimerPercentile 90
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{out}/sock"
</Plugin>
"#;
    let side = start(&rcollectd_bin(), &native(), body, 2);
    let sock = side.out.path().join("sock");
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind client");
    let types = ["c", "ms", "g", "s"];
    let (total, per_datagram) = (1_000_000usize, 100usize);
    let started = Instant::now();
    let mut datagram = String::with_capacity(4096);
    let mut sent = 0;
    for i in (0..total).step_by(per_datagram) {
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
        datagram.clear();
        for j in i..i + per_datagram {
            datagram.push_str(&format!("f{j}:{}|{}\n", j % 97, types[j % 4]));
        }
        client
            .send_to(datagram.as_bytes(), ("127.0.0.1", side.port))
            .expect("send");
        sent += per_datagram;
        // Pace the burst so the socket buffer does not drop most of it.
        if (i / per_datagram) % 10 == 9 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(25), "flood took {took:?}");
    assert!(
        wait_for(Duration::from_secs(15), || has_dropped(&sock)),
        "no dropped_metrics value after {sent} names:\n{}",
        std::fs::read_to_string(side.out.path().join("daemon.log")).unwrap_or_default()
    );
    // More new names: the counter rises (its rate is above zero).
    let mut round = 0;
    let rose = wait_for(Duration::from_secs(15), || {
        round += 1;
        datagram.clear();
        for j in 0..per_datagram {
            datagram.push_str(&format!("late{round}x{j}:1|c\n"));
        }
        client
            .send_to(datagram.as_bytes(), ("127.0.0.1", side.port))
            .expect("send");
        dropped_rate(&sock) > 0.0
    });
    assert!(rose, "dropped_metrics did not rise");
    let rss = vm_rss_kib(side.daemon.pid());
    eprintln!("flood: {sent} names in {took:?}, VmRSS {rss} KiB");
    assert!(rss > 0 && rss < RSS_BOUND_KIB, "VmRSS {rss} KiB");
    let stopped = side.daemon.stop();
    assert!(
        stopped.status.is_some_and(|s| s.success()),
        "{}",
        stopped.log
    );
}
