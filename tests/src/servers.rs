//! Real Prometheus 2.42 and InfluxDB 1.6 servers (Debian's packages) for the
//! output tests: each on a free loopback port with its data in a scratch
//! directory, stopped when dropped. `None` (with the reason printed) where
//! the server is not installed: scripts/install-deps.sh installs both.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::diff::{free_tcp_port, http_get_raw};
use crate::wait_for;

/// How long a server may take to start.
const START: Duration = Duration::from_secs(30);

/// A server process with its scratch directory.
pub struct Server {
    child: Child,
    /// The server's HTTP port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn installed(bin: &str) -> bool {
    if Path::new(bin).is_file() {
        return true;
    }
    eprintln!("skipped: {bin} is not installed (scripts/install-deps.sh)");
    false
}

impl Server {
    /// The scratch directory (configs, data, the server's output).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir().join("output")).unwrap_or_default()
    }

    fn spawn(bin: &str, args: &[String], dir: tempfile::TempDir, port: u16) -> Server {
        let out = std::fs::File::create(dir.path().join("output")).expect("server output file");
        let child = Command::new(bin)
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup output"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        Server { child, port, dir }
    }

    /// Prometheus scraping `targets` (host:port) every second with
    /// `honor_labels`, as collectd users configure it, and accepting
    /// remote write on /api/v1/write. Waits until it is ready.
    pub fn prometheus(targets: &[String]) -> Option<Server> {
        let bin = "/usr/bin/prometheus";
        if !installed(bin) {
            return None;
        }
        let dir = tempfile::tempdir().expect("prometheus dir");
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: rcollectd\n    honor_labels: true\n    static_configs:\n      - targets: [{list}]\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write prometheus.yml");
        let port = free_tcp_port();
        let args = [
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--web.enable-remote-write-receiver".to_owned(),
            "--log.level=warn".to_owned(),
        ];
        let server = Server::spawn(bin, &args, dir, port);
        let ready = wait_for(START, || {
            http_get_raw(port, "/-/ready", &[]).is_ok_and(|(s, _, _)| s.contains(" 200"))
        });
        assert!(ready, "prometheus did not start:\n{}", server.output());
        Some(server)
    }

    /// InfluxDB 1.6 with HTTP on a free port (no auth, no reporting), its
    /// other listeners on free ports too. Waits until /ping answers.
    pub fn influxdb() -> Option<Server> {
        let bin = "/usr/bin/influxd";
        if !installed(bin) {
            return None;
        }
        let dir = tempfile::tempdir().expect("influxdb dir");
        let port = free_tcp_port();
        let d = dir.path().display();
        let config = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{}\"\n[meta]\n  dir = \"{d}/meta\"\n[data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n[http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n",
            free_tcp_port()
        );
        std::fs::write(dir.path().join("influxdb.conf"), config).expect("write influxdb.conf");
        let args = [
            "-config".to_owned(),
            dir.path().join("influxdb.conf").display().to_string(),
        ];
        let server = Server::spawn(bin, &args, dir, port);
        let ready = wait_for(START, || {
            http_get_raw(port, "/ping", &[]).is_ok_and(|(s, _, _)| s.contains(" 204"))
        });
        assert!(ready, "influxd did not start:\n{}", server.output());
        Some(server)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s), keeping its
    /// port, data and command line for [`Server::start_again`].
    pub fn stop(&mut self) {
        let pid = self.child.id();
        if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            std::fs::write(self.dir().join("cmdline"), cmdline).expect("save the command line");
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let child = &mut self.child;
        if !wait_for(Duration::from_secs(10), || {
            matches!(child.try_wait(), Ok(Some(_)))
        }) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Starts a [`Server::stop`]ped server again with the same command
    /// line (port, data directory), appending to its output, and waits
    /// until `ready_path` answers 200.
    pub fn start_again(&mut self, ready_path: &str) {
        let cmdline =
            std::fs::read(self.dir().join("cmdline")).expect("stop() saved the command line");
        let mut args = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned());
        let bin = args.next().expect("a command");
        let out = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.dir().join("output"))
            .expect("server output file");
        self.child = Command::new(&bin)
            .args(args)
            .current_dir(self.dir())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup output"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {bin}: {e}"));
        let port = self.port;
        let ready = wait_for(START, || {
            http_get_raw(port, ready_path, &[]).is_ok_and(|(s, _, _)| s.contains(" 200"))
        });
        assert!(ready, "{bin} did not start again:\n{}", self.output());
    }

    /// GET `path_and_query` and parse the JSON reply (`Value::Null` when
    /// the server cannot be reached or does not answer JSON).
    pub fn get_json(&self, path_and_query: &str) -> Value {
        match http_get_raw(self.port, path_and_query, &[]) {
            Ok((_, _, body)) => serde_json::from_slice(&body).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    /// A Prometheus instant query: each series' labels and value.
    pub fn prom_query(&self, expr: &str) -> Vec<(serde_json::Map<String, Value>, f64)> {
        let reply = self.get_json(&format!("/api/v1/query?query={}", url_encode(expr)));
        let Some(result) = reply["data"]["result"].as_array() else {
            return Vec::new();
        };
        result
            .iter()
            .filter_map(|r| {
                let labels = r["metric"].as_object()?.clone();
                let value = r["value"][1].as_str()?.parse().ok()?;
                Some((labels, value))
            })
            .collect()
    }

    /// An InfluxQL query against `db`: the rows of the first series as
    /// (columns, values).
    pub fn influx_query(&self, db: &str, q: &str) -> Value {
        self.get_json(&format!(
            "/query?db={}&epoch=ns&q={}",
            url_encode(db),
            url_encode(q)
        ))
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
