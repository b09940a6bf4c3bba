//! write_http, compatible with collectd 5.12's plugin of that name, plus an
//! InfluxDB format:
//!
//! ```text
//! <Plugin write_http>
//!   <Node "influx">
//!     URL "http://127.0.0.1:8086/write?db=collectd"
//!     Format "InfluxDB"        # Command (default), JSON, KAIROSDB or InfluxDB
//!     StoreRates false
//!     BufferSize 4096          # bytes per request
//!     Timeout 10000            # ms per request
//!     User "u"  Password "p"   # basic authentication
//!     Header "X-Token: abc"    # repeatable
//!     VerifyPeer true  VerifyHost true  CACert "/etc/ssl/ca.pem"
//!     ClientCert "/etc/ssl/me.pem"  ClientKey "/etc/ssl/me.key"
//!     Metrics true  Notifications false  LogHttpError false
//!     QueueLimit 100000        # value lists held while the endpoint is down
//!     ReportStats false        # dispatch the node's counters
//!   </Node>
//! </Plugin>
//! ```
//!
//! Bodies are built exactly as collectd builds them (the same lines and
//! JSON, split into the same requests by `BufferSize`, flushed by the
//! daemon's FLUSH with its timeout, and at shutdown), see [`format`]. What
//! differs is the sending: collectd posts from the write callback and loses
//! the buffer when the post fails; here each finished body goes to the
//! node's [`Outbox`], which retries with backoff while the endpoint is
//! down, holds at most `QueueLimit` value lists (dropping the oldest,
//! counted), and never blocks the write callback or other outputs.
//!
//! `Format "KAIROSDB"` is collectd's, with `Prefix`, `TTL` and `Attribute`
//! (whose tags collectd gives every KAIROSDB node, whichever node names
//! them). Not supported, with a warning: `Statistics`, `CAPath`,
//! `ClientKeyPass`, and
//! `SSLVersion` other than `default`/`TLSv1_2` (rustls speaks TLS 1.2 and
//! 1.3). `LowSpeedLimit` aborts a request that stalls for one interval.

pub mod format;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcollectd_plugin::log::{error, info, warn};
use rcollectd_plugin::{
    export_plugin, Config, ConfigItem, Flush, Notification, Notify, Plugin, Result, ValueList,
    Write,
};
use rcollectd_plugin_common::http::{basic_auth, parse_header, Endpoint, Tls};
use rcollectd_plugin_common::outbox::{Limits, Outbox};

use format::{Alert, Record};

/// collectd's default `BufferSize`.
const DEFAULT_BUFFER_SIZE: usize = 4096;

/// How long shutdown keeps sending what is queued.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `PUTVAL` lines.
    Command,
    /// collectd's JSON array of value lists.
    Json,
    /// InfluxDB line protocol.
    Influx,
    /// KairosDB's JSON.
    Kairos,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json | Format::Kairos => "application/json",
            Format::Command | Format::Influx => "text/plain",
        }
    }
}

/// One `<Node>` block.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSettings {
    /// The block's name.
    pub name: String,
    /// `URL`.
    pub url: String,
    /// `User` (basic authentication when set).
    pub user: Option<String>,
    /// `Password`.
    pub password: Option<String>,
    /// TLS options.
    pub tls: Tls,
    /// `Format`.
    pub format: Format,
    /// `Metrics`.
    pub metrics: bool,
    /// `Notifications`.
    pub notifications: bool,
    /// `StoreRates`.
    pub store_rates: bool,
    /// `BufferSize` in bytes.
    pub buffer_size: usize,
    /// `LowSpeedLimit` (bytes per second; 0: off).
    pub low_speed_limit: i64,
    /// `Timeout` in milliseconds (0: none).
    pub timeout_ms: i64,
    /// `LogHttpError`.
    pub log_http_error: bool,
    /// `Header` lines.
    pub headers: Vec<(String, String)>,
    /// `QueueLimit`: value lists waiting at most.
    pub queue_limit: usize,
    /// `ReportStats`.
    pub report_stats: bool,
    /// `Prefix`, `TTL` and this node's `Attribute`s (KAIROSDB).
    pub kairos: format::Kairos,
}

fn node_defaults(name: &str) -> NodeSettings {
    NodeSettings {
        name: name.to_owned(),
        url: String::new(),
        user: None,
        password: None,
        tls: Tls::default(),
        format: Format::Command,
        metrics: true,
        notifications: false,
        store_rates: false,
        buffer_size: DEFAULT_BUFFER_SIZE,
        low_speed_limit: 0,
        timeout_ms: 0,
        log_http_error: false,
        headers: Vec::new(),
        queue_limit: Limits::default().max_items,
        report_stats: false,
        kairos: format::Kairos {
            prefix: Some("collectd".to_owned()),
            ..Default::default()
        },
    }
}

/// Reads one `<Node>` (or legacy `<URL>`) block; errors are logged as
/// collectd logs them and the node is left out.
pub fn parse_node(block: &ConfigItem) -> std::result::Result<NodeSettings, String> {
    let name = block.get_string().map_err(|e| e.to_string())?;
    let mut s = node_defaults(name);
    if block.key.eq_ignore_ascii_case("URL") {
        s.url = name.to_owned();
    }
    let mut buffer_size = 0i64;
    for child in &block.children {
        let key = child.key.to_ascii_lowercase();
        let r: std::result::Result<(), String> = (|| {
            let string = || {
                child
                    .get_string()
                    .map(str::to_owned)
                    .map_err(|e| e.to_string())
            };
            let boolean = || child.get_bool().map_err(|e| e.to_string());
            let int = || child.get_i64().map_err(|e| e.to_string());
            match key.as_str() {
                "url" => s.url = string()?,
                "user" => s.user = Some(string()?),
                "password" => s.password = Some(string()?),
                "verifypeer" => s.tls.verify_peer = boolean()?,
                "verifyhost" => s.tls.verify_host = boolean()?,
                "cacert" => s.tls.ca_cert = Some(string()?.into()),
                "clientkey" => s.tls.client_key = Some(string()?.into()),
                "clientcert" => s.tls.client_cert = Some(string()?.into()),
                "attribute" => match child.values.as_slice() {
                    [rcollectd_plugin::ConfigValue::String(k), rcollectd_plugin::ConfigValue::String(v)] => {
                        s.kairos.attributes.push((k.clone(), v.clone()))
                    }
                    [_, _] => warn!("Attribute needs string arguments."),
                    _ => warn!("Attribute need both a key and a value."),
                },
                "ttl" => s.kairos.ttl = int()?,
                "prefix" => {
                    let p = string()?;
                    s.kairos.prefix = (!p.is_empty()).then_some(p);
                }
                "capath" | "clientkeypass" | "statistics" => {
                    warn!("The \"{}\" option is not supported; ignored.", child.key)
                }
                "sslversion" => {
                    let v = string()?;
                    match v.to_ascii_lowercase().as_str() {
                        "default" | "tlsv1_2" => {}
                        "sslv2" | "sslv3" | "tlsv1" | "tlsv1_0" | "tlsv1_1" => warn!(
                            "SSLVersion {v} is not supported (TLS 1.2 and 1.3 are); using the default."
                        ),
                        _ => return Err(format!("Invalid SSLVersion option: {v}.")),
                    }
                }
                "format" => {
                    let v = match child.values.as_slice() {
                        [rcollectd_plugin::ConfigValue::String(v)] => v,
                        _ => {
                            return Err(format!(
                                "The `{}' config option needs exactly one string argument.",
                                child.key
                            ))
                        }
                    };
                    s.format = match v.to_ascii_lowercase().as_str() {
                        "command" => Format::Command,
                        "json" => Format::Json,
                        "influxdb" => Format::Influx,
                        "kairosdb" => Format::Kairos,
                        _ => return Err(format!("Invalid format string: {v}")),
                    };
                }
                "metrics" => s.metrics = boolean()?,
                "notifications" => s.notifications = boolean()?,
                "storerates" => s.store_rates = boolean()?,
                "buffersize" => buffer_size = int()?,
                "lowspeedlimit" => s.low_speed_limit = int()?,
                "timeout" => s.timeout_ms = int()?,
                "loghttperror" => s.log_http_error = boolean()?,
                "header" => s.headers.push(parse_header(&string()?)?),
                "queuelimit" => {
                    s.queue_limit = usize::try_from(int()?)
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("QueueLimit must be a positive number")?
                }
                "reportstats" => s.report_stats = boolean()?,
                _ => return Err(format!("Invalid configuration option: {}.", child.key)),
            }
            Ok(())
        })();
        r?;
    }
    if s.url.is_empty() {
        return Err(format!("no URL defined for instance '{}'", s.name));
    }
    if !s.metrics && !s.notifications {
        return Err(format!(
            "Neither metrics nor notifications are enabled for \"{}\".",
            s.name
        ));
    }
    if buffer_size >= 1024 {
        s.buffer_size = buffer_size as usize;
    } else if buffer_size != 0 {
        error!("Ignoring invalid BufferSize setting ({buffer_size}).");
    }
    Ok(s)
}

/// A body waiting to be posted: bytes, content type, value lists in it.
struct Body {
    bytes: Vec<u8>,
    content_type: &'static str,
}

/// The text being filled, as collectd's `send_buffer`.
struct Buffer {
    text: String,
    /// Value lists in `text`.
    count: usize,
    /// When the buffer was last emptied (collectd's `send_buffer_init_time`).
    init: Instant,
}

/// One configured endpoint.
struct Node {
    settings: NodeSettings,
    buffer: Mutex<Buffer>,
    outbox: Outbox<Body>,
}

impl Node {
    fn start(settings: NodeSettings) -> std::result::Result<Node, String> {
        let mut headers = Vec::new();
        if let Some(user) = &settings.user {
            headers.push((
                "Authorization".to_owned(),
                basic_auth(user, settings.password.as_deref().unwrap_or("")),
            ));
        }
        headers.extend(settings.headers.iter().cloned());
        let mut endpoint = Endpoint::new(
            &settings.url,
            headers,
            &settings.tls,
            (settings.timeout_ms > 0).then(|| Duration::from_millis(settings.timeout_ms as u64)),
        )?;
        if settings.low_speed_limit > 0 {
            let interval = rcollectd_plugin::plugin_interval().unwrap_or(Duration::from_secs(10));
            endpoint = endpoint.with_stall_timeout(interval);
        }
        let log_http_error = settings.log_http_error;
        let outbox = Outbox::start(
            &format!("write_http node \"{}\"", settings.name),
            Limits {
                max_items: settings.queue_limit,
                ..Limits::default()
            },
            move |body: &Body| endpoint.post(body.content_type, &[], &body.bytes),
            move |why, _| {
                if log_http_error && why.starts_with("HTTP status") {
                    info!("HTTP Error code: {why}");
                }
            },
        )
        .map_err(|e| format!("starting the sender thread failed: {e}"))?;
        Ok(Node {
            settings,
            buffer: Mutex::new(Buffer {
                text: String::new(),
                count: 0,
                init: Instant::now(),
            }),
            outbox,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the buffer's content to the outbox and empties it (collectd's
    /// `wh_flush_nolock` with timeout 0).
    fn flush_locked(&self, b: &mut Buffer) {
        let empty = match self.settings.format {
            Format::Json | Format::Kairos => b.text.len() <= 2,
            Format::Command | Format::Influx => b.text.is_empty(),
        };
        if empty {
            b.init = Instant::now();
            return;
        }
        let bytes = match self.settings.format {
            Format::Json | Format::Kairos => format!("[{}]", &b.text[1..]).into_bytes(),
            Format::Command | Format::Influx => std::mem::take(&mut b.text).into_bytes(),
        };
        self.outbox.push(
            Body {
                bytes,
                content_type: self.settings.format.content_type(),
            },
            b.count,
        );
        b.text.clear();
        b.count = 0;
        b.init = Instant::now();
    }

    /// Whether `entry` fits into the buffer now, by collectd's rules.
    fn fits(&self, b: &Buffer, entry: &str) -> bool {
        let free = self.settings.buffer_size.saturating_sub(b.text.len());
        match self.settings.format {
            Format::Json | Format::Kairos => free >= 3 && entry.len() < free - 2,
            Format::Command | Format::Influx => entry.len() < free,
        }
    }

    fn append(&self, entry: String) -> Result {
        let mut b = self.lock();
        if !self.fits(&b, &entry) {
            self.flush_locked(&mut b);
            if !self.fits(&b, &entry) {
                return Err(format!(
                    "a value list needs {} bytes, more than BufferSize {} holds",
                    entry.len(),
                    self.settings.buffer_size
                )
                .into());
            }
        }
        b.text.push_str(&entry);
        b.count += 1;
        Ok(())
    }

    fn write(&self, vl: &ValueList<'_>) -> Result {
        let ds = vl.data_set();
        if ds.type_name() != vl.type_() {
            return Err("DS type does not match value list type".into());
        }
        let needs_rates = self.settings.store_rates
            && ds
                .sources()
                .any(|s| s.ds_type() != rcollectd_plugin::DsType::Gauge);
        let rates = if needs_rates {
            match vl.rates() {
                Ok(r) => Some(r.to_vec()),
                Err(_) => {
                    let what = match self.settings.format {
                        Format::Json => "utils_format_json",
                        _ => "format_values",
                    };
                    rcollectd_plugin::plugin_log(
                        rcollectd_plugin::LogLevel::Warning,
                        &format!("{what}: uc_get_rate failed."),
                    );
                    return Err("formatting the value list failed".into());
                }
            }
        } else {
            None
        };
        let meta = if self.settings.format == Format::Json {
            let m = vl.meta();
            m.keys()
                .into_iter()
                .filter_map(|k| m.get(&k).map(|v| (k, v)))
                .collect()
        } else {
            Vec::new()
        };
        let record = Record {
            host: vl.host(),
            plugin: vl.plugin(),
            plugin_instance: vl.plugin_instance(),
            type_: vl.type_(),
            type_instance: vl.type_instance(),
            time: vl.time(),
            interval: vl.interval(),
            values: vl
                .values()
                .map(|(d, v)| (d.name(), d.ds_type(), v))
                .collect(),
            rates,
            meta,
        };
        let entry = match self.settings.format {
            Format::Command => {
                let line = format::command(&record).ok_or("error with wh_value_list_to_string")?;
                if line.len() > format::COMMAND_MAX {
                    return Err(format!(
                        "Command buffer too small: Need {} bytes.",
                        line.len() + 1
                    )
                    .into());
                }
                line
            }
            Format::Json => format::json(&record).ok_or("formatting JSON failed")?,
            Format::Influx => match format::influx(&record) {
                Some(line) => line,
                // Nothing representable (every value NaN): nothing to send.
                None => return Ok(()),
            },
            Format::Kairos => match format::kairosdb(&record, &self.settings.kairos) {
                Ok(entry) => entry,
                // collectd leaves such a value list out, silently.
                Err(format::KairosSkip::NotFinite) => return Ok(()),
                Err(format::KairosSkip::RateNotFinite(what)) => {
                    rcollectd_plugin::plugin_log(
                        rcollectd_plugin::LogLevel::Warning,
                        &format!("utils_format_kairosdb: invalid rates[ds_idx] for {what}"),
                    );
                    return Ok(());
                }
            },
        };
        self.append(entry)
    }

    fn flush(&self, timeout: Option<Duration>) {
        let mut b = self.lock();
        if timeout.is_some_and(|t| b.init + t > Instant::now()) {
            return;
        }
        self.flush_locked(&mut b);
    }

    fn notify(&self, n: &Notification<'_>) {
        let severity = match n.as_raw().severity as u32 {
            rcollectd_plugin::sys::NOTIF_FAILURE => "FAILURE",
            rcollectd_plugin::sys::NOTIF_WARNING => "WARNING",
            rcollectd_plugin::sys::NOTIF_OKAY => "OKAY",
            _ => "UNKNOWN",
        };
        let alert = Alert {
            severity,
            time: n.time(),
            message: n.message(),
            host: n.host(),
            plugin: n.plugin(),
            plugin_instance: n.plugin_instance(),
            type_: n.type_(),
            type_instance: n.type_instance(),
            meta: n.meta(),
        };
        self.outbox.push(
            Body {
                bytes: format::json_alert(&alert).into_bytes(),
                content_type: self.settings.format.content_type(),
            },
            1,
        );
    }
}

/// The plugin: its nodes.
pub struct WriteHttp {
    nodes: Vec<Arc<Node>>,
}

impl Plugin for WriteHttp {
    const NAME: &'static str = "write_http";

    fn new(config: &Config) -> Result<Self> {
        let mut parsed = Vec::new();
        let mut nodes = Vec::new();
        for item in &config.items {
            let legacy = item.key.eq_ignore_ascii_case("URL");
            if !legacy && !item.key.eq_ignore_ascii_case("Node") {
                error!("Invalid configuration option: {}.", item.key);
                continue;
            }
            if legacy {
                warn!("Legacy <URL> block found. Please use <Node> instead.");
            }
            match parse_node(item) {
                Ok(settings) => parsed.push(settings),
                Err(e) => error!("{e}"),
            }
        }
        // collectd keeps `Attribute`s in one list for the whole plugin:
        // every KAIROSDB node sends them all.
        let attributes: Vec<(String, String)> = parsed
            .iter()
            .flat_map(|n| n.kairos.attributes.iter().cloned())
            .collect();
        for mut settings in parsed {
            settings.kairos.attributes = attributes.clone();
            match Node::start(settings) {
                Ok(node) => nodes.push(Arc::new(node)),
                Err(e) => error!("{e}"),
            }
        }
        for node in nodes.iter().filter(|n| n.settings.report_stats) {
            let n = node.clone();
            rcollectd_plugin::register_read_fn(
                &format!("write_http-{}", n.settings.name),
                None,
                move || {
                    rcollectd_plugin_common::dispatch_all(
                        "write_http",
                        rcollectd_plugin::CdTime::ZERO,
                        &n.outbox.stats().metrics(&n.settings.name),
                        rcollectd_plugin_common::warn_failed,
                    );
                    Ok(())
                },
            )?;
        }
        Ok(WriteHttp { nodes })
    }

    fn shutdown(&self) -> Result {
        // Every node gets the same grace at once: shutting down takes at
        // most SHUTDOWN_GRACE however many endpoints are down.
        std::thread::scope(|s| {
            for node in &self.nodes {
                s.spawn(move || {
                    node.flush(None);
                    node.outbox.close(SHUTDOWN_GRACE);
                });
            }
        });
        for node in &self.nodes {
            if let Some(loss) = node.outbox.stats().loss_summary("value lists") {
                warn!("node \"{}\": {loss}.", node.settings.name);
            }
        }
        Ok(())
    }
}

impl Write for WriteHttp {
    fn write(&self, vl: &ValueList<'_>) -> Result {
        let mut first_error = None;
        for node in self.nodes.iter().filter(|n| n.settings.metrics) {
            if let Err(e) = node.write(vl) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Flush for WriteHttp {
    fn flush(&self, timeout: Option<Duration>, _identifier: Option<&str>) -> Result {
        for node in self.nodes.iter().filter(|n| n.settings.metrics) {
            node.flush(timeout);
        }
        Ok(())
    }
}

impl Notify for WriteHttp {
    fn notify(&self, n: &Notification<'_>) -> Result {
        for node in self.nodes.iter().filter(|n| n.settings.notifications) {
            node.notify(n);
        }
        Ok(())
    }
}

export_plugin!(WriteHttp, write, flush, notify);

#[cfg(test)]
mod tests;
