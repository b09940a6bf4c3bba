//! rcollectd's own write_prometheus: its exposition (text and protobuf,
//! with the same Content-Type) equals what Debian's write_prometheus.so
//! serves under collectd 5.12 for the same value lists, byte for byte; a
//! real Prometheus 2.42 scrapes it and returns the series from its API;
//! a series the daemon declares missing leaves the exposition.

use std::time::Duration;

use rcollectd_tests::diff::{
    assert_same, free_tcp_port, http_get_raw, run_native_at, skip_unless_runnable, unixsock_ask,
    WAIT,
};
use rcollectd_tests::servers::Server;
use rcollectd_tests::writers::{feed, wait_written, SENTINEL, UNIXSOCK};
use rcollectd_tests::{wait_for, Daemon};

const PROTO: &str = "Accept: application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// What one scrape returned: status, Content-Type, body.
type Scrape = (String, String, Vec<u8>);

fn scrape(port: u16, headers: &[&str]) -> Scrape {
    let (status, head, body) = http_get_raw(port, "/metrics", headers).expect("scrape");
    let ct = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, ct, body)
}

#[test]
fn exposition_equals_collectds() {
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
    let both = run_native_at(10, &config, |run| {
        feed(run);
        wait_written(run);
        let mut text = scrape(run.tcp_port, &[]);
        wait_for(WAIT, || {
            text = scrape(run.tcp_port, &[]);
            String::from_utf8_lossy(&text.2).contains("collectd_app_load_shortterm")
        });
        let proto = scrape(run.tcp_port, &[PROTO]);
        (text, proto)
    });
    both.assert_clean_exit();
    let (c, r) = (&both.collectd.value, &both.rcollectd.value);
    let lines = |s: &Scrape| -> Vec<String> {
        String::from_utf8_lossy(&s.2)
            .lines()
            .map(str::to_owned)
            .collect()
    };
    assert_same("text exposition", &lines(&c.0), &lines(&r.0));
    assert!(
        lines(&c.0).len() > 30,
        "collectd served too little: {:#?}",
        lines(&c.0)
    );
    // The status code and Content-Type (libmicrohttpd answers an HTTP/1.0
    // request as HTTP/1.1, tiny_http as HTTP/1.0).
    let head = |s: &Scrape| (s.0.split(' ').nth(1).unwrap_or("").to_owned(), s.1.clone());
    assert_eq!(head(&c.0), head(&r.0), "text status, type");
    assert_eq!(head(&c.1), head(&r.1), "proto status, type");
    assert!(
        c.1 .2.len() > 100,
        "collectd's protobuf is {} bytes",
        c.1 .2.len()
    );
    assert!(c.1 .2 == r.1 .2, "protobuf bodies differ");
}

/// rcollectd alone, with our plugins, unixsock and write_prometheus on
/// `port`, once its socket is there.
fn start(port: u16) -> Daemon {
    rcollectd_tests::plugin_dir();
    let d = Daemon::start_rcollectd(&format!(
        r#"Hostname "promtest"
FQDNLookup false
Interval 1
Timeout 2
BaseDir "{{dir}}"
PIDFile "{{dir}}/pid"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{{dir}}/sock"
</Plugin>
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port {port}
</Plugin>
"#
    ));
    assert!(
        wait_for(WAIT, || d.dir().join("sock").exists()),
        "{}",
        d.log()
    );
    d
}

fn putval(d: &Daemon, line: &str) {
    let reply = unixsock_ask(&d.dir().join("sock"), line, Duration::from_secs(2));
    assert!(reply.starts_with("0 "), "{line} -> {reply}");
}

#[test]
fn prometheus_scrapes_it() {
    let port = free_tcp_port();
    let d = start(port);
    let Some(prom) = Server::prometheus(&[format!("127.0.0.1:{port}")]) else {
        return;
    };
    // Fresh values every second so Prometheus sees current samples.
    let mut found = Vec::new();
    let ok = wait_for(Duration::from_secs(30), || {
        putval(&d, "PUTVAL promtest/app/gauge-temp interval=1 N:42.5");
        putval(&d, "PUTVAL promtest/app-x/if_octets interval=1 N:1000:2000");
        found = prom.prom_query("collectd_app_gauge");
        !found.is_empty()
            && !prom
                .prom_query("collectd_app_if_octets_rx_total")
                .is_empty()
    });
    assert!(ok, "prometheus never got the series:\n{}", prom.output());
    let (labels, value) = &found[0];
    assert_eq!(*value, 42.5);
    assert_eq!(labels["app"], "temp");
    assert_eq!(labels["instance"], "promtest");
    assert_eq!(labels["job"], "rcollectd");
    let rx = prom.prom_query("collectd_app_if_octets_rx_total");
    assert_eq!(rx[0].0["app"], "x");
    assert_eq!(rx[0].1, 1000.0);
    let up = prom.prom_query("up");
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].1, 1.0, "scrape target not up");
}

#[test]
fn missing_series_leave_the_exposition() {
    let port = free_tcp_port();
    let d = start(port);
    putval(&d, "PUTVAL promtest/app/gauge-once interval=1 N:1");
    let body = |p| String::from_utf8_lossy(&scrape(p, &[]).2).into_owned();
    assert!(wait_for(WAIT, || body(port)
        .contains("collectd_app_gauge{app=\"once\"")));
    // Timeout 2 x Interval 1: the cache declares it missing after ~2 s.
    assert!(
        wait_for(WAIT, || !body(port).contains("collectd_app_gauge")),
        "series still served:\n{}",
        body(port)
    );
    let (status, _, _) = http_get_raw(port, "/", &[]).expect("GET /");
    assert!(status.contains(" 200"), "{status}");
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}
