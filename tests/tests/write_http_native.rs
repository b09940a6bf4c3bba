//! rcollectd's own write_http: the Command and JSON bodies (also split by
//! a small BufferSize) and the JSON notifications equal what Debian's
//! write_http.so posts under collectd 5.12; the InfluxDB format lands in a
//! real InfluxDB 1.6, whose SELECT returns what csv wrote; with its
//! endpoint down, a node holds at most QueueLimit value lists, counts what
//! it drops, and the daemon still stops promptly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rcollectd_tests::diff::{
    assert_same, free_tcp_port, read_csv, run_native_at, skip_unless_runnable, unixsock_ask,
    Capture, CaptureMode, WAIT,
};
use rcollectd_tests::servers::Server;
use rcollectd_tests::writers::{feed, flush, wait_written, SENTINEL, UNIXSOCK};
use rcollectd_tests::{wait_for, Daemon};

const NOTIFICATION: &str = "PUTNOTIF severity=warning time=1700000000 host=difftest plugin=app plugin_instance=x type=gauge type_instance=temp message=\"too \\\"hot\\\"\"";

#[test]
fn bodies_equal_collectds() {
    if skip_unless_runnable(&["unixsock", "write_http", "csv", "logfile"]) {
        return;
    }
    let node = |name: &str, format: &str, rates: bool, size: u32| {
        format!(
            "  <Node \"{name}\">\n    URL \"http://127.0.0.1:{{tcp_port}}/{name}\"\n    Format \"{format}\"\n    StoreRates {rates}\n    BufferSize {size}\n  </Node>\n"
        )
    };
    let config = format!(
        "{UNIXSOCK}\nLoadPlugin write_http\n<Plugin write_http>\n{}{}{}{}  <Node \"alerts\">\n    URL \"http://127.0.0.1:{{tcp_port}}/alerts\"\n    Format \"JSON\"\n    Metrics false\n    Notifications true\n  </Node>\n</Plugin>\n{SENTINEL}",
        node("cmd", "Command", false, 65536),
        node("json", "JSON", true, 65536),
        node("smallcmd", "Command", true, 1024),
        node("smalljson", "JSON", false, 1024),
    );
    let config = config.replacen(
        "    Notifications true\n  </Node>\n</Plugin>",
        "    Notifications true\n  </Node>\n  <Node \"kairos\">\n    URL \"http://127.0.0.1:{tcp_port}/kairos\"\n    Format \"KAIROSDB\"\n    Prefix \"sys\"\n    TTL 30\n    Attribute \"dc\" \"eu\"\n    BufferSize 65536\n  </Node>\n  <Node \"kairosrates\">\n    URL \"http://127.0.0.1:{tcp_port}/kairosrates\"\n    Format \"KAIROSDB\"\n    StoreRates true\n    BufferSize 65536\n  </Node>\n</Plugin>",
        1,
    );
    let both = run_native_at(10, &config, |run| {
        let capture = Capture::start(run.tcp_port, CaptureMode::Http);
        feed(run);
        let reply = unixsock_ask(&run.sock(), NOTIFICATION, Duration::from_secs(2));
        assert!(reply.starts_with("0 "), "{reply}");
        wait_written(run);
        flush(run);
        // cmd and json: one body each; the small ones several; one alert.
        wait_for(WAIT, || {
            let got = capture.received();
            [
                "/cmd\n",
                "/json\n",
                "/alerts\n",
                "/kairos\n",
                "/kairosrates\n",
            ]
            .iter()
            .all(|p| got.iter().any(|b| b.contains(p)))
                && got.iter().filter(|b| b.starts_with("POST /small")).count() >= 4
        });
        std::thread::sleep(Duration::from_millis(300));
        let mut bodies = capture.received();
        bodies.sort();
        bodies
    });
    both.assert_clean_exit();
    let (c, r) = (&both.collectd.value, &both.rcollectd.value);
    assert_same("write_http requests", c, r);
    assert!(c.len() >= 9, "collectd posted {c:#?}");
    assert!(
        c.iter()
            .any(|b| b.contains("\"name\":\"sys.app\"") && b.contains("\"dc\": \"eu\"")),
        "{c:#?}"
    );
    assert!(
        c.iter().any(|b| b.contains(r#""meta":{"tag":"blue"}"#)),
        "{c:#?}"
    );
    assert!(
        c.iter()
            .any(|b| b.contains("\"alertname\":\"collectd_app_gauge\"")),
        "{c:#?}"
    );
}

/// POSTs `body` to 127.0.0.1:`port``path`; returns the status line.
fn post(port: u16, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.lines().next().unwrap_or_default().to_owned()
}

fn start(extra: &str) -> Daemon {
    rcollectd_tests::plugin_dir();
    Daemon::start_rcollectd(&format!(
        r#"Hostname "difftest"
FQDNLookup false
Interval 1
BaseDir "{{dir}}"
PIDFile "{{dir}}/pid"
WriteThreads 1
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{{dir}}/sock"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
{extra}"#
    ))
}

fn ask(d: &Daemon, line: &str) {
    let reply = unixsock_ask(&d.dir().join("sock"), line, Duration::from_secs(2));
    assert!(reply.starts_with("0 "), "{line} -> {reply}");
}

#[test]
fn influxdb_returns_what_csv_wrote() {
    let Some(influx) = Server::influxdb() else {
        return;
    };
    let status = post(influx.port, "/query", "q=CREATE+DATABASE+collectd");
    assert!(status.contains(" 200"), "{status}\n{}", influx.output());
    let d = start(&format!(
        "LoadPlugin write_http\n<Plugin write_http>\n  <Node \"influx\">\n    URL \"http://127.0.0.1:{}/write?db=collectd\"\n    Format \"InfluxDB\"\n    BufferSize 1024\n  </Node>\n</Plugin>\n",
        influx.port
    ));
    assert!(
        wait_for(WAIT, || d.dir().join("sock").exists()),
        "{}",
        d.log()
    );
    let lines: Vec<String> = (0..20)
        .flat_map(|i| {
            let t = 1_700_000_000 + i * 10;
            [
                format!(
                    "PUTVAL difftest/app-x/if_octets {t}:{}:{}",
                    1000 + i * 7,
                    2000 + i * 11
                ),
                format!(
                    "PUTVAL difftest/app/gauge-temp {t}:{}",
                    20.0 + i as f64 / 4.0
                ),
            ]
        })
        .collect();
    for line in &lines {
        ask(&d, line);
    }
    ask(&d, "FLUSH");
    let select = |q: &str| influx.influx_query("collectd", q);
    let rows = |v: &serde_json::Value| {
        v["results"][0]["series"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        wait_for(WAIT, || rows(&select("SELECT rx, tx FROM app_if_octets"))
            .len()
            == 20
            && rows(&select("SELECT \"value\" FROM app_gauge")).len() == 20),
        "influx has {:?}\n{}",
        select("SELECT * FROM app_if_octets"),
        d.log()
    );
    let csv = read_csv(&d.dir().join("csv"));
    let from_csv = |ident: &str| -> Vec<String> {
        csv.iter()
            .find(|(k, _)| k.starts_with(ident))
            .map(|(_, rows)| rows.iter().skip(1).cloned().collect())
            .unwrap_or_default()
    };
    // InfluxDB answers 20.0 as 20: the measurement says which it is.
    let as_csv = |rows: Vec<serde_json::Value>, float: bool| -> Vec<String> {
        rows.iter()
            .map(|r| {
                let a = r.as_array().unwrap();
                let t = a[0].as_i64().unwrap() as f64 / 1e9;
                let vals: Vec<String> = a[1..]
                    .iter()
                    .map(|v| match v.as_i64() {
                        Some(i) if !float => i.to_string(),
                        _ => format!("{:.6}", v.as_f64().unwrap()),
                    })
                    .collect();
                format!("{t:.3},{}", vals.join(","))
            })
            .collect()
    };
    assert_same(
        "if_octets rows",
        &from_csv("difftest/app-x/if_octets"),
        &as_csv(rows(&select("SELECT rx, tx FROM app_if_octets")), false),
    );
    assert_same(
        "gauge rows",
        &from_csv("difftest/app/gauge-temp"),
        &as_csv(
            rows(&select(
                "SELECT \"value\" FROM app_gauge WHERE type_instance = 'temp'",
            )),
            true,
        ),
    );
    let tags = select("SHOW TAG VALUES FROM app_if_octets WITH KEY IN (host, plugin_instance)");
    assert_eq!(
        tags["results"][0]["series"][0]["values"],
        serde_json::json!([["host", "difftest"], ["plugin_instance", "x"]])
    );
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}

/// The last value csv wrote for `ident` (a derive or gauge).
fn last(d: &Daemon, ident: &str) -> Option<f64> {
    let csv = read_csv(&d.dir().join("csv"));
    let (_, rows) = csv.iter().find(|(k, _)| k.starts_with(ident))?;
    rows.last()?.rsplit(',').next()?.parse().ok()
}

#[test]
fn a_down_endpoint_costs_bounded_memory_and_counted_drops() {
    let port = free_tcp_port();
    let d = start(&format!(
        "LoadPlugin write_http\n<Plugin write_http>\n  <Node \"down\">\n    URL \"http://127.0.0.1:{port}/write\"\n    Format \"Command\"\n    BufferSize 1024\n    QueueLimit 20\n    ReportStats true\n  </Node>\n</Plugin>\n"
    ));
    assert!(
        wait_for(WAIT, || d.dir().join("sock").exists()),
        "{}",
        d.log()
    );
    for i in 0..300 {
        ask(
            &d,
            &format!("PUTVAL difftest/app/gauge-g{i} 1700000000:{i}"),
        );
    }
    ask(&d, "FLUSH");
    assert!(
        wait_for(WAIT, || last(
            &d,
            "difftest/write_http-down/total_values-dropped_full"
        )
        .is_some_and(|n| n > 0.0)),
        "no drops counted:\n{}",
        d.log()
    );
    let queued = last(&d, "difftest/write_http-down/queue_length").expect("queue_length");
    assert!(queued <= 20.0, "queue holds {queued} value lists");
    let dropped = last(&d, "difftest/write_http-down/total_values-dropped_full").unwrap();
    assert!(dropped >= 300.0 - 20.0 - 30.0, "dropped {dropped}");
    assert!(d.log().contains("will retry"), "{}", d.log());
    let t = Instant::now();
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    assert!(
        t.elapsed() < Duration::from_secs(12),
        "stopping took {:?}",
        t.elapsed()
    );
}
