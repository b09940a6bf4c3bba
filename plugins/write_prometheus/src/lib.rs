//! write_prometheus, compatible with collectd 5.12's plugin of that name:
//!
//! ```text
//! <Plugin write_prometheus>
//!   Host "::"            # default: every address (IPv6, then IPv4)
//!   Port "9103"
//!   StalenessDelta 300   # seconds; longer intervals are served without timestamp
//! </Plugin>
//! ```
//!
//! Every value list's latest values are served over HTTP on any path, in
//! Prometheus's text format, or in the delimited protobuf format when the
//! `Accept` header asks for `application/vnd.google.protobuf`; names,
//! labels, HELP/TYPE lines and order are collectd's (see [`store`]). A
//! series the daemon declares missing is dropped.
//!
//! Unlike collectd (one thread per connection, `MHD_NO` to anything but
//! GET), a fixed pool of threads serves the scrapes, and other methods get
//! `405 Method Not Allowed`. A scrape holds the store's lock only while the
//! body is formatted; writes wait for it on the plugin's own output queue,
//! never on the daemon's dispatch.

pub mod proto;
pub mod store;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcollectd_plugin::log::{error, info, warn};
use rcollectd_plugin::{
    export_plugin, hostname, CdTime, Config, Missing, Plugin, Result, ValueList, Write,
};

use store::{Ident, Sample, Store};

/// The version the closing comment line names: the one Debian's collectd
/// 5.12 package prints there, so scrapes are byte-identical to it.
pub const COLLECTD_VERSION: &str = "5.12.0.git";

/// Threads answering scrapes.
const SERVER_THREADS: usize = 2;

const CONTENT_TYPE_PROTO: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4";

/// The `<Plugin write_prometheus>` options.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `Host`: address to listen on (`None`: every address).
    pub host: Option<String>,
    /// `Port` (default 9103).
    pub port: u16,
    /// `StalenessDelta` as cdtime_t (default 300 s).
    pub staleness_delta: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: None,
            port: 9103,
            staleness_delta: 300 << 30,
        }
    }
}

impl Settings {
    /// Reads the options as collectd does: a bad value is logged and
    /// leaves the default, an unknown option is logged and ignored.
    pub fn from_config(config: &Config) -> Settings {
        let mut s = Settings::default();
        for item in &config.items {
            let key = item.key.to_ascii_lowercase();
            match key.as_str() {
                "host" => match item.get_string() {
                    Ok(h) => s.host = Some(h.to_owned()),
                    Err(e) => error!("{e}"),
                },
                "port" => match item.get_port() {
                    Ok(p) => s.port = p,
                    Err(e) => error!("{e}"),
                },
                "stalenessdelta" => match item.get_f64() {
                    Ok(d) if d >= 0.0 => {
                        s.staleness_delta = CdTime::from_secs_f64(d).0;
                    }
                    Ok(_) | Err(_) => error!(
                        "The \"{}\" option requires exactly one numeric argument.",
                        item.key
                    ),
                },
                _ => warn!("Ignoring unknown configuration option \"{}\".", item.key),
            }
        }
        s
    }
}

/// Logs a notice when first called, then at growing intervals (collectd's
/// `c_complain`: doubling from the daemon's interval up to a day).
#[derive(Debug, Default)]
struct Complain {
    next: Option<Instant>,
    interval: Duration,
}

impl Complain {
    fn due(&mut self, base: Duration) -> bool {
        let now = Instant::now();
        if self.next.is_some_and(|n| now < n) {
            return false;
        }
        self.interval = if self.interval.is_zero() {
            base
        } else {
            (self.interval * 2).min(Duration::from_secs(86400))
        };
        self.next = Some(now + self.interval);
        true
    }
}

struct Shared {
    store: Mutex<Store>,
    hostname: String,
}

/// The plugin: the store, and the threads serving it.
pub struct WritePrometheus {
    shared: Arc<Shared>,
    staleness_delta: u64,
    complain: Mutex<Complain>,
    server: Arc<tiny_http::Server>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Binds the listening socket as collectd does: the host's IPv6 addresses
/// first, then IPv4 (every address when no host is given).
fn listen(host: Option<&str>, port: u16) -> Option<TcpListener> {
    let candidates: Vec<SocketAddr> = match host {
        None => vec![
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)),
            SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, port)),
        ],
        Some(h) => {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            let mut all: Vec<SocketAddr> = (h, port).to_socket_addrs().ok()?.collect();
            all.sort_by_key(|a| a.is_ipv4());
            all
        }
    };
    for addr in candidates {
        if let Ok(l) = TcpListener::bind(addr) {
            let local = l.local_addr().unwrap_or(addr);
            info!("Listening on [{}]:{}.", local.ip(), local.port());
            return Some(l);
        }
    }
    None
}

/// Answers one request: the exposition for GET (and HEAD), 405 otherwise.
fn respond(shared: &Shared, request: tiny_http::Request) {
    use tiny_http::{Header, Method, Response};
    if !matches!(request.method(), Method::Get | Method::Head) {
        let _ = request.respond(Response::empty(405));
        return;
    }
    let want_proto = request.headers().iter().any(|h| {
        h.field.equiv("Accept") && h.value.as_str().contains("application/vnd.google.protobuf")
    });
    let mut body = Vec::new();
    {
        let store = shared.store.lock().unwrap_or_else(|e| e.into_inner());
        if want_proto {
            store.protobuf(&mut body);
        } else {
            store.text(&mut body, &shared.hostname);
        }
    }
    let content_type = if want_proto {
        CONTENT_TYPE_PROTO
    } else {
        CONTENT_TYPE_TEXT
    };
    let header = Header::from_bytes("Content-Type", content_type).expect("static header is valid");
    let _ = request.respond(Response::from_data(body).with_header(header));
}

/// The data sources of a value list with their values.
fn samples<'a>(vl: &ValueList<'a>) -> impl Iterator<Item = Sample<'a>> + 'a {
    vl.values().map(|(ds, v)| Sample {
        name: ds.name(),
        kind: ds.ds_type(),
        value: Some(v),
    })
}

/// The data sources of a missing value list (it carries no values).
fn sources<'a>(vl: &ValueList<'a>) -> impl Iterator<Item = Sample<'a>> + 'a {
    vl.data_set().sources().map(|ds| Sample {
        name: ds.name(),
        kind: ds.ds_type(),
        value: None,
    })
}

fn ident<'a>(vl: &ValueList<'a>) -> Ident<'a> {
    Ident {
        host: vl.host(),
        plugin: vl.plugin(),
        plugin_instance: vl.plugin_instance(),
        type_: vl.type_(),
        type_instance: vl.type_instance(),
    }
}

impl Plugin for WritePrometheus {
    const NAME: &'static str = "write_prometheus";

    fn new(config: &Config) -> Result<Self> {
        let settings = Settings::from_config(config);
        let Some(listener) = listen(settings.host.as_deref(), settings.port) else {
            let msg = format!(
                "Opening a listening socket for [{}]:{} failed.",
                settings.host.as_deref().unwrap_or("::"),
                settings.port
            );
            error!("{msg}");
            return Err(msg.into());
        };
        let server = Arc::new(
            tiny_http::Server::from_listener(listener, None)
                .map_err(|e| format!("starting the HTTP server failed: {e}"))?,
        );
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new()),
            hostname: hostname().unwrap_or_default(),
        });
        let threads = (0..SERVER_THREADS)
            .map(|i| {
                let (server, shared) = (server.clone(), shared.clone());
                std::thread::Builder::new()
                    .name(format!("wprom#{i}"))
                    .spawn(move || {
                        while let Ok(request) = server.recv() {
                            respond(&shared, request);
                        }
                    })
                    .map_err(|e| format!("starting a server thread failed: {e}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(WritePrometheus {
            shared,
            staleness_delta: settings.staleness_delta,
            complain: Mutex::new(Complain::default()),
            server,
            threads: Mutex::new(threads),
        })
    }

    fn shutdown(&self) -> Result {
        for _ in 0..SERVER_THREADS {
            self.server.unblock();
        }
        for t in self
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = t.join();
        }
        Ok(())
    }
}

impl Write for WritePrometheus {
    fn write(&self, vl: &ValueList<'_>) -> Result {
        let updated = self
            .shared
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update(
                &ident(vl),
                samples(vl),
                vl.plugin(),
                vl.time().0,
                vl.interval().0,
                self.staleness_delta,
            );
        if updated.beyond_staleness
            && self
                .complain
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .due(rcollectd_plugin::plugin_interval().unwrap_or(Duration::from_secs(10)))
        {
            rcollectd_plugin::plugin_log(
                rcollectd_plugin::LogLevel::Notice,
                &format!(
                    "write_prometheus plugin: You have metrics with an interval exceeding \
                     \"StalenessDelta\" setting ({:.3}s). This is suboptimal, please check \
                     the collectd.conf(5) manual page to understand what's going on.",
                    CdTime(self.staleness_delta).as_secs_f64()
                ),
            );
        }
        Ok(())
    }
}

impl Missing for WritePrometheus {
    fn missing(&self, vl: &ValueList<'_>) -> Result {
        let not_found = self
            .shared
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ident(vl), sources(vl));
        for family in not_found {
            error!(
                "Deleting a metric in family \"{family}\" failed with status {}",
                libc::ENOENT
            );
        }
        Ok(())
    }
}

export_plugin!(WritePrometheus, write, missing);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn settings_as_collectd_reads_them() {
        rcollectd_plugin::install_logger(WritePrometheus::NAME);
        let cfg = |items| Config {
            plugin: "write_prometheus".into(),
            items,
        };
        let cap = rcollectd_plugin::testing::capture(|| {
            Settings::from_config(&cfg(vec![
                ConfigItem::new("host", vec![ConfigValue::String("127.0.0.1".into())]),
                ConfigItem::new("Port", vec![ConfigValue::String("9200".into())]),
                ConfigItem::new("StalenessDelta", vec![ConfigValue::Number(60.5)]),
                ConfigItem::new("Bogus", vec![ConfigValue::Boolean(true)]),
            ]))
        });
        assert_eq!(
            cap.result,
            Settings {
                host: Some("127.0.0.1".into()),
                port: 9200,
                staleness_delta: CdTime::from_secs_f64(60.5).0,
            }
        );
        assert_eq!(cap.logs.len(), 1, "{:?}", cap.logs);
        assert_eq!(
            cap.logs[0].1,
            "write_prometheus plugin: Ignoring unknown configuration option \"Bogus\"."
        );
        let cap = rcollectd_plugin::testing::capture(|| {
            Settings::from_config(&cfg(vec![ConfigItem::new(
                "Port",
                vec![ConfigValue::Number(70000.0)],
            )]))
        });
        assert_eq!(cap.result.port, 9103);
        assert_eq!(cap.logs.len(), 1);
    }

    #[test]
    fn complain_backs_off() {
        let mut c = Complain::default();
        assert!(c.due(Duration::from_secs(10)));
        assert!(!c.due(Duration::from_secs(10)));
        assert_eq!(c.interval, Duration::from_secs(10));
    }
}
