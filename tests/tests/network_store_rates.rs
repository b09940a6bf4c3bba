//! The network plugin's `StoreRates true` (rcollectd's own per-`<Server>`
//! option) end to end: rcollectd gets DERIVE, COUNTER, ABSOLUTE, GAUGE and
//! if_octets values with explicit timestamps through Debian's unixsock.so,
//! sends them to four `<Server>`s, and go-collectd (`network.Parse`, the
//! CloudWatch Agent's parser, in tests/go/netrecv) receives them:
//!
//! * StoreRates, receiver without types.db: the values as they travel, gauge
//!   rates (a fraction such as 10.5 can only be a GAUGE value);
//! * StoreRates, receiver with the all-GAUGE types.db that docs/cloudwatch.md
//!   tells the agent to use (made with the `sed` command given there): the
//!   exact rates, with data source names;
//! * StoreRates, receiver with the stock types.db (the agent's default):
//!   go-collectd converts each value to the type types.db names, so rates of
//!   DERIVE/COUNTER types lose their fraction and ABSOLUTE types are dropped;
//! * no StoreRates: the raw DERIVE values, unchanged (collectd's behaviour).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcollectd_tests::diff::skip_unless_runnable;
use rcollectd_tests::netrecv::Netrecv;
use rcollectd_tests::{free_udp_port, wait_for, Daemon};

const WAIT: Duration = Duration::from_secs(15);
const STOCK_TYPES_DB: &str = "/usr/share/collectd/types.db";

/// The command docs/cloudwatch.md gives for the agent's types.db.
const GAUGE_SED: &str = "s/:(COUNTER|DERIVE|ABSOLUTE):/:GAUGE:/g";

/// A go-collectd receiver with the helpers this test reads it through.
struct Receiver(Netrecv);

impl Receiver {
    /// Listens on `port` with `types_db` ("" for none) at SecurityLevel None.
    fn start(tmp: &Path, port: u16, types_db: &Path) -> Receiver {
        Receiver(Netrecv::start(
            tmp,
            port,
            &[OsStr::new("-typesdb"), types_db.as_os_str()],
        ))
    }

    /// The values of every received list `plugin/type-type_instance`, in arrival order.
    fn values(&self, plugin: &str, type_: &str, type_instance: &str) -> Vec<Vec<f64>> {
        self.0
            .lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| {
                field(l, "plugin") == Some(plugin)
                    && field(l, "type") == Some(type_)
                    && field(l, "type_instance") == Some(type_instance)
            })
            .map(|l| numbers(l, "values"))
            .collect()
    }

    fn lines(&self) -> String {
        self.0.lines.lock().unwrap().join("\n")
    }
}

/// A string field of netrecv's flat JSON line (no escapes in our names).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    line[start..].split('"').next()
}

/// A number array field of netrecv's JSON line (`null` when empty).
fn numbers(line: &str, key: &str) -> Vec<f64> {
    let Some(start) = line.find(&format!("\"{key}\":[")) else {
        return Vec::new();
    };
    let rest = &line[start + key.len() + 4..];
    rest[..rest.find(']').unwrap_or(0)]
        .split(',')
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("number {n:?} in {line}"))
        })
        .collect()
}

/// Sends one command to unixsock and returns its status line.
fn putval(sock: &Path, line: &str) -> String {
    let mut stream = UnixStream::connect(sock).expect("connect unixsock");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    writeln!(stream, "{line}").unwrap();
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).unwrap();
    reply
}

/// The stock types.db with every COUNTER, DERIVE and ABSOLUTE data source
/// turned into GAUGE, by the `sed` command of docs/cloudwatch.md.
fn gauge_types_db(tmp: &Path) -> PathBuf {
    let out = Command::new("sed")
        .args(["-E", GAUGE_SED, STOCK_TYPES_DB])
        .output()
        .expect("run sed");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text
        .lines()
        .any(|l| l.starts_with("derive") && l.contains("value:GAUGE:")));
    assert!(!text.contains(":DERIVE:") && !text.contains(":ABSOLUTE:"));
    let path = tmp.join("types-rates.db");
    std::fs::write(&path, text).unwrap();
    path
}

/// (receiver's name, receiver, type, type instance, expected value lists).
type Case<'a> = (&'a str, &'a Receiver, &'a str, &'a str, Vec<Vec<f64>>);

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

#[test]
fn store_rates_sends_gauge_rates_that_go_collectd_parses() {
    if skip_unless_runnable(&["unixsock"]) || !Path::new(STOCK_TYPES_DB).is_file() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let gauge_db = gauge_types_db(tmp.path());
    let ports: Vec<u16> = (0..4).map(|_| free_udp_port()).collect();
    let as_sent = Receiver::start(tmp.path(), ports[0], Path::new(""));
    let agent_rates = Receiver::start(tmp.path(), ports[1], &gauge_db);
    let agent_stock = Receiver::start(tmp.path(), ports[2], Path::new(STOCK_TYPES_DB));
    let raw = Receiver::start(tmp.path(), ports[3], Path::new(STOCK_TYPES_DB));
    std::thread::sleep(Duration::from_millis(300));
    let rates = "    StoreRates true\n    AbsoluteValues Drop\n";
    let server =
        |port: u16, opts: &str| format!("  <Server \"127.0.0.1\" \"{port}\">\n{opts}  </Server>\n");
    let config = format!(
        "Hostname \"ours\"\nFQDNLookup false\nInterval 1\nTypesDB \"{{types_db}}\"\n\
         BaseDir \"{{dir}}\"\nPIDFile \"{{dir}}/pid\"\n\
         PluginDir \"/usr/lib/collectd\"\nLoadPlugin unixsock\n\
         <Plugin unixsock>\n  SocketFile \"{{dir}}/sock\"\n</Plugin>\n\
         PluginDir \"{{plugin_dir}}\"\nLoadPlugin network\n<Plugin network>\n\
         {}{}{}{}  ReportStats true\n</Plugin>\n",
        server(ports[0], rates),
        server(ports[1], rates),
        server(ports[2], rates),
        // Without StoreRates; ABSOLUTE would make go-collectd reject the packet.
        server(ports[3], "    AbsoluteValues Drop\n"),
    );
    let daemon = Daemon::start_rcollectd(&config);
    let sock = daemon.dir().join("sock");
    assert!(
        wait_for(WAIT, || sock.exists()),
        "no unixsock socket\n{}",
        daemon.log()
    );
    // Ten seconds apart, the second at "now" so the cache keeps the entries.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t0 = now - 10;
    for (id, first, second) in [
        ("app/derive-d", "0", "105"),
        ("app/counter-c", "1000", "1003"),
        ("app/absolute-a", "50", "25"),
        ("app/gauge-g", "0.75", "1.25"),
        ("app/if_octets-x", "0:0", "1000:2005"),
    ] {
        for (t, v) in [(t0, first), (now, second)] {
            let reply = putval(&sock, &format!("PUTVAL ours/{id} interval=10 {t}:{v}"));
            assert!(reply.starts_with("0 "), "PUTVAL {id}: {reply}");
        }
    }
    let complete = |r: &Receiver, n: usize| r.values("app", "if_octets", "x").len() >= n;
    let arrived = wait_for(WAIT, || {
        complete(&as_sent, 1)
            && complete(&agent_rates, 1)
            && complete(&agent_stock, 1)
            && complete(&raw, 2)
            && raw
                .values("network", "total_values", "send-rate-unknown")
                .iter()
                .any(|v| v.first().is_some_and(|&n| n >= 3.0))
    });
    let out = daemon.stop();
    assert!(
        arrived,
        "not everything arrived\nas sent:\n{}\nraw:\n{}\nlog:\n{}",
        as_sent.lines(),
        raw.lines(),
        out.log
    );

    let ten_and_a_half = vec![vec![10.5]];
    let cases: Vec<Case> = vec![
        // The first DERIVE/COUNTER value has no rate yet: not sent.
        ("as sent", &as_sent, "derive", "d", ten_and_a_half.clone()),
        ("as sent", &as_sent, "counter", "c", vec![vec![0.3]]),
        // ABSOLUTE: value per second of the interval, from the first value on.
        (
            "as sent",
            &as_sent,
            "absolute",
            "a",
            vec![vec![5.0], vec![2.5]],
        ),
        (
            "as sent",
            &as_sent,
            "gauge",
            "g",
            vec![vec![0.75], vec![1.25]],
        ),
        (
            "as sent",
            &as_sent,
            "if_octets",
            "x",
            vec![vec![100.0, 200.5]],
        ),
        (
            "gauge types.db",
            &agent_rates,
            "derive",
            "d",
            ten_and_a_half,
        ),
        (
            "gauge types.db",
            &agent_rates,
            "counter",
            "c",
            vec![vec![0.3]],
        ),
        (
            "gauge types.db",
            &agent_rates,
            "absolute",
            "a",
            vec![vec![5.0], vec![2.5]],
        ),
        (
            "gauge types.db",
            &agent_rates,
            "if_octets",
            "x",
            vec![vec![100.0, 200.5]],
        ),
        // The stock types.db: converted back to DERIVE/COUNTER (truncated),
        // and go-collectd's types.db reader has no ABSOLUTE types.
        (
            "stock types.db",
            &agent_stock,
            "derive",
            "d",
            vec![vec![10.0]],
        ),
        (
            "stock types.db",
            &agent_stock,
            "counter",
            "c",
            vec![vec![0.0]],
        ),
        ("stock types.db", &agent_stock, "absolute", "a", vec![]),
        (
            "stock types.db",
            &agent_stock,
            "gauge",
            "g",
            vec![vec![0.75], vec![1.25]],
        ),
        (
            "stock types.db",
            &agent_stock,
            "if_octets",
            "x",
            vec![vec![100.0, 200.0]],
        ),
        // Without StoreRates: collectd's raw values, both of them.
        ("raw", &raw, "derive", "d", vec![vec![0.0], vec![105.0]]),
        (
            "raw",
            &raw,
            "counter",
            "c",
            vec![vec![1000.0], vec![1003.0]],
        ),
        ("raw", &raw, "absolute", "a", vec![]),
        (
            "raw",
            &raw,
            "if_octets",
            "x",
            vec![vec![0.0, 0.0], vec![1000.0, 2005.0]],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, rx, type_, ti, want) in cases {
        // Writer threads may hand two value lists over in either order.
        let (mut got, mut want) = (rx.values("app", type_, ti), want);
        for v in [&mut got, &mut want] {
            v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        }
        if got.len() != want.len() || !got.iter().zip(&want).all(|(g, w)| close(g, w)) {
            wrong.push(format!("{name} {type_}-{ti}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\nas sent:\n{}",
        wrong.join("\n"),
        as_sent.lines()
    );
    // go-collectd took every packet, and the types.db receivers named the sources.
    for rx in [&as_sent, &agent_rates, &agent_stock, &raw] {
        assert!(!rx.lines().contains("\"kind\":\"error\""), "{}", rx.lines());
    }
    assert!(
        agent_rates.lines().contains("\"dsnames\":[\"rx\",\"tx\"]"),
        "{}",
        agent_rates.lines()
    );
}
