//! statsd plugin, compatible with collectd 5.12's `statsd`:
//!
//! ```text
//! <Plugin statsd>
//!   Host "::"            # default: every address (0.0.0.0 and ::)
//!   Port "8125"          # number or service name
//!   DeleteCounters false # forget idle metrics instead of repeating them
//!   DeleteTimers false
//!   DeleteGauges false
//!   DeleteSets false
//!   CounterSum false     # also dispatch each counter's change as `count`
//!   TimerPercentile 90   # repeatable: <name>-percentile-90
//!   TimerLower false     # <name>-lower, TimerUpper <name>-upper,
//!   TimerUpper false     # TimerSum <name>-sum, TimerCount <name>-count
//!   TimerSum false
//!   TimerCount false
//! </Plugin>
//! ```
//!
//! One thread receives datagrams on every bound socket and aggregates the
//! lines ([`core`]); each read dispatches what collectd dispatches (plugin
//! `statsd`, types `derive`, `gauge`, `latency`, `objects`, `count`).
//! Unlike collectd, the number of metrics and set members is capped (see
//! [`core`]); what the caps drop, and the bad lines, are counted under
//! `statsd-internal/derive-{dropped_metrics,dropped_set_members,bad_lines}`
//! once not zero.

pub mod core;

use std::ffi::{c_char, CStr, CString};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rcollectd_plugin::{
    dispatch_raw, export_plugin, sys, CdTime, Config, ConfigItem, ConfigValue, Plugin, Read, Result,
};

use crate::core::{Aggregator, Options, OutValue, Output};

/// Datagrams read from one socket before the stop flag is checked again.
const RECV_BATCH: usize = 64;
/// How long the receive thread sleeps in `poll` before checking the flag.
const POLL_MS: i32 = 200;

/// Everything `<Plugin statsd>` sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `Host`: the address to bind (none: every address).
    pub host: Option<String>,
    /// `Port`: port number or service name (default "8125").
    pub port: Option<String>,
    /// The aggregation options.
    pub options: Options,
}

fn bool_option(item: &ConfigItem, slot: &mut bool) {
    match item.get_bool() {
        Ok(b) => *slot = b,
        Err(e) => log::error!("{e}"),
    }
}

/// Reads the options as collectd does: a bad or unknown option is logged
/// and skipped, never fatal.
pub fn parse_config(config: &Config) -> Settings {
    let mut s = Settings::default();
    let o = &mut s.options;
    for item in &config.items {
        let key = item.key.to_ascii_lowercase();
        match key.as_str() {
            "host" => match item.get_string() {
                Ok(h) => s.host = Some(h.to_owned()),
                Err(e) => log::error!("{e}"),
            },
            "port" => match item.values.as_slice() {
                [ConfigValue::String(p)] => s.port = Some(p.clone()),
                [ConfigValue::Number(n)] if (1.0..=65535.0).contains(n) && n.fract() == 0.0 => {
                    s.port = Some(format!("{n}"))
                }
                _ => log::error!(
                    "The \"{}\" option requires exactly one string or numeric argument.",
                    item.key
                ),
            },
            "deletecounters" => bool_option(item, &mut o.delete_counters),
            "deletetimers" => bool_option(item, &mut o.delete_timers),
            "deletegauges" => bool_option(item, &mut o.delete_gauges),
            "deletesets" => bool_option(item, &mut o.delete_sets),
            "countersum" => bool_option(item, &mut o.counter_sum),
            "timerlower" => bool_option(item, &mut o.timer_lower),
            "timerupper" => bool_option(item, &mut o.timer_upper),
            "timersum" => bool_option(item, &mut o.timer_sum),
            "timercount" => bool_option(item, &mut o.timer_count),
            "timerpercentile" => match item.get_f64() {
                Ok(p) if p > 0.0 && p < 100.0 => o.timer_percentiles.push(p),
                Ok(_) => log::error!(
                    "The value for \"{}\" must be between 0 and 100, exclusively.",
                    item.key
                ),
                Err(e) => log::error!("{e}"),
            },
            _ => log::error!("The \"{}\" config option is not valid.", item.key),
        }
    }
    s
}

/// Binds a UDP socket for every address `getaddrinfo` gives for the node
/// and service (passive, any family), with `SO_REUSEADDR`, as collectd does.
pub fn open_sockets(node: Option<&str>, service: &str) -> Vec<UdpSocket> {
    let node_c = node.and_then(|n| CString::new(n).ok());
    let Ok(service_c) = CString::new(service) else {
        log::error!("invalid port {service:?}");
        return Vec::new();
    };
    // SAFETY: addrinfo is plain data; all-zero is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_flags = libc::AI_PASSIVE | libc::AI_ADDRCONFIG;
    hints.ai_socktype = libc::SOCK_DGRAM;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and outlive the call; `list`
    // receives a list we free below.
    let status = unsafe {
        libc::getaddrinfo(
            node_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            service_c.as_ptr(),
            &hints,
            &mut list,
        )
    };
    let node_text = node.unwrap_or("(null)");
    if status != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(status)) }.to_string_lossy();
        log::error!("getaddrinfo (\"{node_text}\", \"{service}\") failed: {msg}");
        return Vec::new();
    }
    let mut socks = Vec::new();
    let mut p = list;
    while !p.is_null() {
        // SAFETY: `p` is a node of the list getaddrinfo returned, not freed yet.
        let ai = unsafe { &*p };
        p = ai.ai_next;
        if let Some(s) = bind_one(ai) {
            socks.push(s);
        }
    }
    // SAFETY: `list` came from getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    if socks.is_empty() {
        log::error!(
            "Unable to create listening socket for [{}]:{service}.",
            node.unwrap_or("::")
        );
    }
    socks
}

fn sockaddr_of(ai: &libc::addrinfo) -> Option<SocketAddr> {
    match ai.ai_family {
        libc::AF_INET => {
            // SAFETY: for AF_INET, ai_addr points to a sockaddr_in.
            let a = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: for AF_INET6, ai_addr points to a sockaddr_in6.
            let a = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::from((ip, u16::from_be(a.sin6_port))))
        }
        _ => None,
    }
}

fn bind_one(ai: &libc::addrinfo) -> Option<UdpSocket> {
    let addr = sockaddr_of(ai)?;
    // SAFETY: plain socket(2) call with values from getaddrinfo.
    let fd = unsafe { libc::socket(ai.ai_family, ai.ai_socktype, ai.ai_protocol) };
    if fd < 0 {
        log::error!("socket(2) failed: {}", std::io::Error::last_os_error());
        return None;
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let yes: libc::c_int = 1;
    // SAFETY: `yes` lives for the call and its size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&yes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        log::error!(
            "setsockopt (reuseaddr): {}",
            std::io::Error::last_os_error()
        );
        return None;
    }
    // SAFETY: ai_addr/ai_addrlen describe a valid address from getaddrinfo.
    if unsafe { libc::bind(fd.as_raw_fd(), ai.ai_addr, ai.ai_addrlen) } != 0 {
        log::error!(
            "bind(2) to [{}]:{} failed: {}",
            addr.ip(),
            addr.port(),
            std::io::Error::last_os_error()
        );
        return None;
    }
    let sock = UdpSocket::from(fd);
    if let Err(e) = sock.set_nonblocking(true) {
        log::error!("cannot make the socket non-blocking: {e}");
        return None;
    }
    log::info!("Listening on [{}]:{}.", addr.ip(), addr.port());
    Some(sock)
}

/// State shared by the receive thread and the callbacks.
struct Shared {
    agg: Mutex<Aggregator>,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Aggregator> {
        self.agg.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Receives until `stop`: waits in `poll` at most [`POLL_MS`], then reads
/// at most [`RECV_BATCH`] datagrams per socket.
fn receive_loop(socks: Vec<UdpSocket>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; core::DATAGRAM_MAX + 1];
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: s.as_raw_fd(),
            events: libc::POLLIN | libc::POLLPRI,
            revents: 0,
        })
        .collect();
    while !shared.stop.load(Ordering::Relaxed) {
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL_MS) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)) {
                continue;
            }
            log::error!("poll(2) failed: {e}");
            break;
        }
        for (sock, pfd) in socks.iter().zip(fds.iter_mut()) {
            if pfd.revents == 0 {
                continue;
            }
            pfd.revents = 0;
            for _ in 0..RECV_BATCH {
                let len = match sock.recv(&mut buf) {
                    Ok(len) => len,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log::error!("recv(2) failed: {e}");
                        break;
                    }
                };
                let errors = shared.lock().handle_datagram(&buf[..len]);
                for e in errors {
                    log::error!("{e}");
                }
            }
        }
    }
}

/// The plugin: the aggregator and its receive thread.
pub struct Statsd {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Plugin for Statsd {
    const NAME: &'static str = "statsd";

    fn new(config: &Config) -> Result<Self> {
        let settings = parse_config(config);
        let shared = Arc::new(Shared {
            agg: Mutex::new(Aggregator::new(settings.options)),
            stop: AtomicBool::new(false),
        });
        let socks = open_sockets(
            settings.host.as_deref(),
            settings.port.as_deref().unwrap_or("8125"),
        );
        let thread = if socks.is_empty() {
            log::error!("Unable to open listening sockets.");
            None
        } else {
            let s = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("statsd".into())
                    .spawn(move || {
                        rcollectd_plugin::set_thread_plugin(Some("statsd"));
                        receive_loop(socks, s)
                    })?,
            )
        };
        Ok(Statsd {
            shared,
            thread: Mutex::new(thread),
        })
    }

    fn shutdown(&self) -> Result {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if t.join().is_err() {
                log::error!("the receive thread panicked");
            }
        }
        Ok(())
    }
}

fn copy_field(dst: &mut [c_char; 128], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src.iter().take(127)) {
        *d = *s as c_char;
    }
}

/// Dispatches one output as collectd's `statsd_metric_submit_unsafe` does.
fn dispatch(o: &Output, now: CdTime) {
    let mut vl = sys::value_list_t::default();
    copy_field(&mut vl.plugin, b"statsd");
    copy_field(&mut vl.plugin_instance, o.plugin_instance.as_bytes());
    copy_field(&mut vl.type_, o.type_.as_bytes());
    copy_field(&mut vl.type_instance, &o.type_instance);
    if o.stamped {
        vl.time = now.0;
    }
    let mut value = match o.value {
        OutValue::Gauge(g) => sys::value_t { gauge: g },
        OutValue::Derive(d) => sys::value_t { derive: d },
    };
    vl.values = &mut value;
    vl.values_len = 1;
    if let Err(e) = dispatch_raw(&vl) {
        log::debug!("dispatch failed: {e}");
    }
}

impl Read for Statsd {
    fn read(&self) -> Result {
        let out = self.shared.lock().read();
        let now = CdTime::now();
        for o in &out {
            dispatch(o, now);
        }
        Ok(())
    }
}

export_plugin!(Statsd, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    fn config(items: Vec<ConfigItem>) -> Config {
        Config {
            plugin: "statsd".into(),
            items,
        }
    }

    #[test]
    fn options_parse_and_bad_ones_are_logged() {
        let n = |k: &str, v: f64| ConfigItem::new(k, vec![ConfigValue::Number(v)]);
        let b = |k: &str| ConfigItem::new(k, vec![ConfigValue::Boolean(true)]);
        let s = |k: &str, v: &str| ConfigItem::new(k, vec![ConfigValue::String(v.into())]);
        rcollectd_plugin::install_logger("statsd");
        let cap = capture(|| {
            parse_config(&config(vec![
                s("Host", "127.0.0.1"),
                n("Port", 9125.0),
                b("DeleteCounters"),
                b("deletetimers"),
                b("DeleteGauges"),
                b("DeleteSets"),
                b("CounterSum"),
                n("TimerPercentile", 90.0),
                s("TimerPercentile", "99.5"),
                n("TimerPercentile", 100.0),
                b("TimerLower"),
                b("TimerUpper"),
                b("TimerSum"),
                b("TimerCount"),
                b("Bogus"),
            ]))
        });
        let got = cap.result;
        assert_eq!(got.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(got.port.as_deref(), Some("9125"));
        let o = &got.options;
        assert!(o.delete_counters && o.delete_timers && o.delete_gauges && o.delete_sets);
        assert!(o.counter_sum && o.timer_lower && o.timer_upper && o.timer_sum && o.timer_count);
        assert_eq!(o.timer_percentiles, [90.0, 99.5]);
        let logs: Vec<&str> = cap.logs.iter().map(|l| l.1.as_str()).collect();
        assert!(
            logs.iter().any(|l| l.contains("must be between 0 and 100")),
            "{logs:?}"
        );
        assert!(
            logs.iter()
                .any(|l| l.contains("\"Bogus\" config option is not valid")),
            "{logs:?}"
        );
    }

    #[test]
    fn receive_thread_aggregates_and_stops() {
        let socks = open_sockets(Some("127.0.0.1"), "0");
        assert_eq!(socks.len(), 1);
        let addr = socks[0].local_addr().unwrap();
        let shared = Arc::new(Shared {
            agg: Mutex::new(Aggregator::new(Options::default())),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let t = std::thread::spawn(move || receive_loop(socks, s));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client.send_to(b"a:1|c\na:2|c", addr).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while shared.lock().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        shared.stop.store(true, Ordering::SeqCst);
        t.join().unwrap();
        let out = shared.lock().read();
        assert_eq!(out[0].value, OutValue::Derive(3));
    }
}
