//! rcollectd's own remote_write against a real Prometheus 2.42 (remote
//! write receiver): the samples Prometheus stores equal what csv wrote for
//! the same value lists, timestamps included; samples sent while
//! Prometheus is down arrive once it is back, with one log line for the
//! outage rather than one per retry; with a small BufferSize and nobody
//! listening (no Prometheus needed), the queue stays within its bound and
//! the drops are counted in the node's ReportStats values.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcollectd_tests::diff::{free_tcp_port, read_csv, unixsock_ask, unixsock_burst};
use rcollectd_tests::servers::{url_encode, Server};
use rcollectd_tests::writers::UNIXSOCK;
use rcollectd_tests::{wait_for, Daemon};

/// Seconds of data time between two feeding steps (exact in cdtime_t).
const STEP: f64 = 0.25;

/// rcollectd with unixsock, csv (the reference) and remote_write to `url`.
fn start(url: &str, node_options: &str) -> Daemon {
    rcollectd_tests::plugin_dir();
    let d = Daemon::start_rcollectd(&format!(
        r#"Hostname "rwtest"
FQDNLookup false
Interval 1
BaseDir "{{dir}}"
PIDFile "{{dir}}/pid"
{UNIXSOCK}
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
LoadPlugin remote_write
<Plugin remote_write>
  <Node "prom">
    URL "{url}"
    Timeout 1000
    ReportStats true
{node_options}
  </Node>
</Plugin>
"#
    ));
    assert!(
        wait_for(Duration::from_secs(10), || d.dir().join("sock").exists()),
        "{}",
        d.log()
    );
    d
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Feeds the gauge and the derive for data time `base + k * STEP`, once
/// the clock is there (so samples are current for Prometheus).
fn feed(d: &Daemon, base: f64, k: u32) {
    let t = base + f64::from(k) * STEP;
    let wait = t - now();
    if wait > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(wait));
    }
    for line in [
        format!(
            "PUTVAL rwtest/app/gauge-x interval=1 {t:.3}:{}",
            f64::from(k) * 1.5 + 0.25
        ),
        format!(
            "PUTVAL rwtest/app/derive-d interval=1 {t:.3}:{}",
            1000 + 7 * k
        ),
    ] {
        let reply = unixsock_ask(&d.dir().join("sock"), &line, Duration::from_secs(2));
        assert!(reply.starts_with("0 "), "{line} -> {reply}");
    }
}

/// (ms, value) pairs.
type Samples = Vec<(i64, f64)>;

/// Every sample Prometheus holds for `selector` from the last hour.
fn prom_samples(prom: &Server, selector: &str) -> Samples {
    let reply = prom.get_json(&format!(
        "/api/v1/query?query={}&time={:.3}",
        url_encode(&format!("{selector}[1h]")),
        now() + 60.0
    ));
    let Some(values) = reply["data"]["result"][0]["values"].as_array() else {
        return Vec::new();
    };
    values
        .iter()
        .filter_map(|v| {
            let ms = (v[0].as_f64()? * 1000.0).round() as i64;
            Some((ms, v[1].as_str()?.parse().ok()?))
        })
        .collect()
}

/// The rows csv wrote for `ident` (`host/plugin/type-instance`).
fn csv_samples(csv: &BTreeMap<String, Vec<String>>, ident: &str) -> Samples {
    let rows = csv.get(ident).map(Vec::as_slice).unwrap_or_default();
    rows.iter()
        .skip(1)
        .filter_map(|row| {
            let (t, v) = row.split_once(',')?;
            Some((
                (t.parse::<f64>().ok()? * 1000.0).round() as i64,
                v.parse().ok()?,
            ))
        })
        .collect()
}

/// The gauge's and the derive's samples in csv and in Prometheus.
fn both(d: &Daemon, prom: &Server) -> [(Samples, Samples); 2] {
    let csv = read_csv(&d.dir().join("csv"));
    [
        (
            csv_samples(&csv, "rwtest/app/gauge-x"),
            prom_samples(prom, r#"collectd_app_gauge{app="x",instance="rwtest"}"#),
        ),
        (
            csv_samples(&csv, "rwtest/app/derive-d"),
            prom_samples(
                prom,
                r#"collectd_app_derive_total{app="d",instance="rwtest"}"#,
            ),
        ),
    ]
}

/// Waits until Prometheus holds exactly what csv wrote, `steps` samples
/// of each series, and asserts it.
fn assert_arrived(d: &Daemon, prom: &Server, steps: usize, within: Duration) {
    let mut last = both(d, prom);
    wait_for(within, || {
        last = both(d, prom);
        last.iter().all(|(c, p)| c.len() == steps && c == p)
    });
    for (csv, prom_got) in &last {
        assert_eq!(csv.len(), steps, "csv rows:\n{}", d.log());
        assert_eq!(prom_got, csv, "Prometheus differs from csv:\n{}", d.log());
    }
}

/// The last value csv wrote for one of the node's statistics.
fn stat(d: &Daemon, name: &str) -> Option<f64> {
    csv_samples(
        &read_csv(&d.dir().join("csv")),
        &format!("rwtest/remote_write-prom/{name}"),
    )
    .last()
    .map(|(_, v)| *v)
}

#[test]
fn prometheus_gets_what_csv_wrote_across_an_outage() {
    let started = Instant::now();
    let Some(mut prom) = Server::prometheus(&[]) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/api/v1/write", prom.port);
    let d = start(&url, "    BatchSize 3\n    FlushInterval 0.2");
    let base = (now() * 4.0).ceil() / 4.0;

    // Prometheus up: every sample arrives with csv's value and time.
    for k in 0..12 {
        feed(&d, base, k);
    }
    assert_arrived(&d, &prom, 12, Duration::from_secs(10));
    assert_eq!(prom_samples(&prom, "collectd_app_gauge")[0].1, 0.25);

    // Down for a few seconds while values keep coming, then back with its
    // data: the samples of the gap arrive too.
    prom.stop();
    for k in 12..32 {
        feed(&d, base, k);
    }
    prom.start_again("/-/ready");
    for k in 32..40 {
        feed(&d, base, k);
    }
    assert_arrived(&d, &prom, 40, Duration::from_secs(15));
    assert!(
        wait_for(Duration::from_secs(5), || stat(&d, "http_requests-failed")
            .is_some_and(|n| n > 0.0)),
        "the failed requests are not counted"
    );
    let log = d.log();
    assert_eq!(
        log.matches("; will retry").count(),
        1,
        "one line for the outage, not one per retry:\n{log}"
    );
    assert!(
        log.contains("node \"prom\": delivering again after"),
        "{log}"
    );
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    eprintln!("outage test took {:?}", started.elapsed());
}

/// VmRSS of a process in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_small_buffer_drops_the_oldest_and_counts_them() {
    // Nobody listens: as a stopped Prometheus.
    let url = format!("http://127.0.0.1:{}/api/v1/write", free_tcp_port());
    const BUFFER: usize = 20;
    const BATCH: usize = 5;
    const FLOOD: usize = 20_000;
    let d = start(
        &url,
        &format!("    BatchSize {BATCH}\n    BufferSize {BUFFER}\n    FlushInterval 0.2"),
    );
    assert!(
        wait_for(Duration::from_secs(5), || stat(&d, "queue_length")
            .is_some()),
        "no ReportStats values:\n{}",
        d.log()
    );
    let rss_before = rss_kb(d.pid());
    let base = now() - 30.0;
    let lines: Vec<String> = (0..FLOOD)
        .map(|i| {
            format!(
                "PUTVAL rwtest/flood/gauge interval=1 {:.3}:{i}",
                base + i as f64 * 0.001
            )
        })
        .collect();
    for chunk in lines.chunks(2000) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let replies = unixsock_burst(&d.dir().join("sock"), &refs);
        assert!(replies.iter().all(|r| r.starts_with("0 ")), "{replies:?}");
    }
    let dropped = |d: &Daemon| stat(d, "total_values-dropped_full").unwrap_or(0.0);
    assert!(
        wait_for(Duration::from_secs(10), || dropped(&d)
            >= (FLOOD - BUFFER - BATCH) as f64),
        "dropped_full = {}:\n{}",
        dropped(&d),
        d.log()
    );
    let csv = read_csv(&d.dir().join("csv"));
    let queue = csv_samples(&csv, "rwtest/remote_write-prom/queue_length");
    assert!(queue.len() >= 2, "{queue:?}");
    assert!(
        queue.iter().all(|(_, q)| *q <= (BUFFER + BATCH) as f64),
        "queue beyond BufferSize: {queue:?}"
    );
    assert_eq!(stat(&d, "total_values-sent"), Some(0.0));
    let grown = rss_kb(d.pid()).saturating_sub(rss_before);
    assert!(grown < 30_000, "RSS grew by {grown} kB");
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    assert!(
        out.log.contains("dropped (") && out.log.contains("buffer full"),
        "{}",
        out.log
    );
}
