//! remote_write, rcollectd's own output (collectd has none): every value
//! list pushed to Prometheus remote-write 1.0 receivers (Prometheus with
//! `--web.enable-remote-write-receiver`, Mimir, Cortex, Thanos, VictoriaMetrics,
//! Grafana Cloud, ...):
//!
//! ```text
//! <Plugin remote_write>
//!   <Node "mimir">
//!     URL "http://127.0.0.1:9090/api/v1/write"
//!     User "u"                        # basic auth (Password "p"), or
//!     BearerToken "..."               # or BearerTokenFile "/path" (read at start)
//!     Header "X-Scope-OrgID: tenant1" # repeatable
//!     Timeout 10000                   # ms per request (default 10000)
//!     VerifyPeer true                 # TLS, as write_http's options
//!     VerifyHost true
//!     CACert "/path"                  # default: the system's CA bundle
//!     ClientCert "/path"              # with ClientKey
//!     ClientKey "/path"
//!     BatchSize 1000                  # samples per request (default 1000)
//!     BufferSize 100000               # samples held while the endpoint is down
//!     FlushInterval 1                 # seconds: a partial batch is sent at most this late
//!     ReportStats false               # dispatch the node's counters
//!   </Node>
//! </Plugin>
//! ```
//!
//! Each data source of a value list is one time series, named and labelled
//! as write_prometheus serves it (`rcollectd_plugin_common::prometheus`):
//! `__name__="collectd_<plugin>_<type>[_<ds>][_total]"`, `<plugin>`,
//! `type`, `instance` (the host); label names sorted, characters Prometheus
//! does not allow in names replaced by `_` (see [`encode`]). The sample is
//! the gauge, or a counter's, derive's or absolute's raw value, at the
//! value list's time in milliseconds (collectd's `CDTIME_T_TO_MS`). A
//! request is a protobuf `WriteRequest` ([`proto`]) in snappy's block
//! format, with `Content-Encoding: snappy`, `Content-Type:
//! application/x-protobuf` and `X-Prometheus-Remote-Write-Version: 0.1.0`.
//!
//! The write callback only appends to the node's current batch and hands a
//! full one to the node's [`Outbox`]; a flush (`FLUSH`, SIGUSR1) or the
//! `FlushInterval` timer sends a partial one. The outbox's thread posts the
//! batches in order: 2xx is delivered; connection errors, timeouts, 429
//! and 5xx are retried with backoff (100 ms doubling up to 5 s) while newer
//! batches wait; other statuses drop the batch (counted). Beyond
//! `BufferSize` waiting samples the oldest batches are dropped (counted).
//! The outbox logs failures when they start, once a minute while they
//! last, and when a batch arrives again. At shutdown the last batch is
//! queued and the node gets `Timeout`, at most 5 s, to deliver what waits;
//! the rest is counted as dropped at shutdown.
//!
//! With `ReportStats true`, each read dispatches per node (plugin
//! `remote_write`, plugin instance the node's name): `queue_length`
//! (samples waiting), `total_values-sent`, `total_values-dropped_full`,
//! `total_values-dropped_rejected`, `total_values-dropped_shutdown`,
//! `http_requests-ok` and `http_requests-failed`.

pub mod encode;
pub mod proto;
pub mod settings;

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcollectd_plugin::log::warn;
use rcollectd_plugin::{
    export_plugin, register_read_fn, CdTime, Config, Flush, Plugin, Result, ValueList, Write,
};
use rcollectd_plugin_common::http::Endpoint;
use rcollectd_plugin_common::outbox::{Limits, Outbox};
use rcollectd_plugin_common::{dispatch_all, prometheus, warn_failed};

use encode::Batcher;

const CONTENT_TYPE: &str = "application/x-protobuf";
const HEADERS: [(&str, &str); 2] = [
    ("Content-Encoding", "snappy"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];
/// Longest wait at shutdown for what is queued.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Shortest sleep of the flush timer.
const MIN_TICK: Duration = Duration::from_millis(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One `<Node>`: its current batch and its outbox.
struct Node {
    name: String,
    flush_interval: Duration,
    timeout: Duration,
    batch: Mutex<Batcher>,
    outbox: Outbox<Vec<u8>>,
}

impl Node {
    fn start(s: &settings::Node) -> std::result::Result<Node, String> {
        let endpoint = Endpoint::new(&s.url, s.headers.clone(), &s.tls, Some(s.timeout))
            .map_err(|e| format!("<Node \"{}\">: {e}", s.name))?;
        let send = move |body: &Vec<u8>| endpoint.post(CONTENT_TYPE, &HEADERS, body);
        let limits = Limits {
            max_items: s.buffer_size,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        };
        // The outbox logs failures (rate-limited) and the recovery.
        let outbox = Outbox::start(&format!("node \"{}\"", s.name), limits, send, |_, _| {})
            .map_err(|e| format!("<Node \"{}\">: starting its thread failed: {e}", s.name))?;
        Ok(Node {
            name: s.name.clone(),
            flush_interval: s.flush_interval,
            timeout: s.timeout,
            batch: Mutex::new(Batcher::new(s.batch_size)),
            outbox,
        })
    }

    /// Appends encoded series; full batches go to the outbox (in order:
    /// the batch stays locked until its successor may start).
    fn append(&self, entries: &[Vec<u8>]) {
        let now = Instant::now();
        let mut batch = lock(&self.batch);
        for entry in entries {
            if let Some((body, samples)) = batch.push(entry, now) {
                self.outbox.push(body, samples);
            }
        }
    }

    /// Queues the partial batch if its oldest sample waited `min_age`;
    /// returns how long until it will have.
    fn send_older_than(&self, min_age: Duration, now: Instant) -> Duration {
        let mut batch = lock(&self.batch);
        match batch.age(now) {
            Some(age) if age < min_age => min_age - age,
            Some(_) => {
                if let Some((body, samples)) = batch.take() {
                    self.outbox.push(body, samples);
                }
                self.flush_interval
            }
            None => self.flush_interval,
        }
    }

    /// Dispatches the node's counters (`ReportStats`); `queue_length`
    /// counts the current batch too.
    fn report(&self) -> Result {
        let mut stats = self.outbox.stats();
        stats.queued += lock(&self.batch).len() as u64;
        dispatch_all(
            RemoteWrite::NAME,
            CdTime::ZERO,
            &stats.metrics(&self.name),
            warn_failed,
        );
        Ok(())
    }

    /// Queues the last batch and gives the outbox `grace` to deliver.
    fn close(&self, grace: Duration) {
        self.send_older_than(Duration::ZERO, Instant::now());
        self.outbox.close(grace);
        if let Some(loss) = self.outbox.stats().loss_summary("samples") {
            warn!("node \"{}\": {loss}.", self.name);
        }
    }
}

/// Stops the flush timer.
#[derive(Default)]
struct Ticker {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// The flush timer: sends each node's partial batch once its oldest
/// sample waited `FlushInterval`.
fn run_timer(nodes: &[Arc<Node>], ticker: &Ticker) {
    let mut stopped = lock(&ticker.stopped);
    while !*stopped {
        let now = Instant::now();
        let next = nodes
            .iter()
            .map(|n| n.send_older_than(n.flush_interval, now))
            .min()
            .unwrap_or(settings::DEFAULT_FLUSH_INTERVAL)
            .max(MIN_TICK);
        stopped = ticker
            .wake
            .wait_timeout(stopped, next)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

/// The plugin: its nodes and their flush timer.
pub struct RemoteWrite {
    nodes: Vec<Arc<Node>>,
    ticker: Arc<Ticker>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

impl Plugin for RemoteWrite {
    const NAME: &'static str = "remote_write";

    fn new(config: &Config) -> Result<Self> {
        let settings = settings::parse(config)?;
        // Every node first: one that cannot start stops the others' threads.
        let nodes = settings
            .iter()
            .map(|s| Node::start(s).map(Arc::new))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for (s, node) in settings.iter().zip(&nodes) {
            if s.report_stats {
                let node = node.clone();
                register_read_fn(&format!("remote_write-{}", s.name), None, move || {
                    node.report()
                })?;
            }
        }
        let ticker = Arc::new(Ticker::default());
        let timer = {
            let (nodes, ticker) = (nodes.clone(), ticker.clone());
            std::thread::Builder::new()
                .name("rw-flush".into())
                .spawn(move || run_timer(&nodes, &ticker))
                .map_err(|e| format!("starting the flush thread failed: {e}"))?
        };
        Ok(RemoteWrite {
            nodes,
            ticker,
            timer: Mutex::new(Some(timer)),
        })
    }

    fn shutdown(&self) -> Result {
        *lock(&self.ticker.stopped) = true;
        self.ticker.wake.notify_all();
        if let Some(t) = lock(&self.timer).take() {
            let _ = t.join();
        }
        // Every node at once, so the grace does not add up.
        std::thread::scope(|scope| {
            for node in &self.nodes {
                scope.spawn(|| node.close(node.timeout.min(SHUTDOWN_GRACE)));
            }
        });
        Ok(())
    }
}

impl Write for RemoteWrite {
    fn write(&self, vl: &ValueList<'_>) -> Result {
        let samples = vl.values().map(|(ds, value)| {
            (
                prometheus::family_name(vl.plugin(), vl.type_(), ds.name(), ds.ds_type()),
                prometheus::sample_value(value),
            )
        });
        let series = encode::time_series(
            prometheus::labels(
                vl.host(),
                vl.plugin(),
                vl.plugin_instance(),
                vl.type_instance(),
            ),
            samples,
            prometheus::cdtime_to_ms(vl.time().0),
        );
        let entries: Vec<Vec<u8>> = series.iter().map(encode::entry).collect();
        for node in &self.nodes {
            node.append(&entries);
        }
        Ok(())
    }
}

impl Flush for RemoteWrite {
    /// Queues every partial batch older than `timeout` (all without one);
    /// a batch mixes identifiers, so `identifier` does not narrow it.
    fn flush(&self, timeout: Option<Duration>, _identifier: Option<&str>) -> Result {
        let now = Instant::now();
        for node in &self.nodes {
            node.send_older_than(timeout.unwrap_or_default(), now);
        }
        Ok(())
    }
}

export_plugin!(RemoteWrite, write, flush);
