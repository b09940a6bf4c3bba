//! Daemon glue: the `network` plugin on the rcollectd SDK. Config is turned
//! into [`NetworkConfig`]; received value lists are dispatched with
//! collectd's `network:*` meta data; written value lists go to the
//! [`Sender`]; a timer thread sends quiet buffers promptly.

use std::ffi::{c_char, CStr};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use rcollectd_plugin::{
    cache_meta_unsigned_int, dispatch_notification_raw, dispatch_raw, plugin_interval,
    set_cache_meta_unsigned_int, sys, Config, ConfigItem, ConfigValue, DispatchError, Flush,
    MetaData, MetaValue, Notification, NotificationMetaValue, Notify, Plugin, Read,
    Value as SdkValue, ValueList, ValueListBuilder, Write,
};

use crate::codec::{NotificationOut, NotificationRef, Origin, Value, ValueListOut, ValueListRef};
use crate::config::{self, ConfValue, Item, NetworkConfig};
use crate::receiver::{Dispatch, Receiver};
use crate::sender::Sender;
use crate::stats::Stats;

/// Longest a buffered value waits before the timer sends it.
pub const MAX_BUFFER_DELAY: Duration = Duration::from_secs(1);

fn convert(item: &ConfigItem) -> Item {
    Item {
        key: item.key.clone(),
        values: item
            .values
            .iter()
            .map(|v| match v {
                ConfigValue::String(s) => ConfValue::String(s.clone()),
                ConfigValue::Number(n) => ConfValue::Number(*n),
                ConfigValue::Boolean(b) => ConfValue::Boolean(*b),
            })
            .collect(),
        children: item.children.iter().map(convert).collect(),
    }
}

struct SendState {
    sender: Sender,
    values: Vec<Value>,
}

/// The flush timer's clock: a timerfd that the write path arms when a value
/// list lands in buffers that were all empty. Arming it wakes no thread, so
/// a round of values costs the timer thread one wake-up, when the deadline
/// comes, where a condition variable would cost two (the kick and the
/// deadline).
struct Timer {
    fd: TimerFd,
    /// How long a buffered value list may wait.
    age: Duration,
    stopped: AtomicBool,
}

impl Timer {
    fn new(age: Duration) -> std::io::Result<Timer> {
        let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_CLOEXEC)?;
        Ok(Timer {
            fd,
            age,
            stopped: AtomicBool::new(false),
        })
    }

    /// Makes the timer thread wake `after` from now (at least 1 ms: a zero
    /// would disarm the timerfd), replacing any earlier deadline.
    fn arm(&self, after: Duration) {
        let after = after.max(Duration::from_millis(1));
        let spec = Expiration::OneShot(TimeSpec::from_duration(after));
        if let Err(e) = self.fd.set(spec, TimerSetTimeFlags::empty()) {
            log::error!("flush timer: timerfd_settime: {e}");
        }
    }

    /// Stops the timer thread.
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.arm(Duration::ZERO);
    }
}

/// The plugin instance.
pub struct Network {
    cfg: NetworkConfig,
    stats: Arc<Stats>,
    send: Arc<Mutex<SendState>>,
    receiver: Mutex<Option<Receiver>>,
    timer: Mutex<Option<(Arc<Timer>, JoinHandle<()>)>>,
    /// The timer, for the write path to arm.
    kick: Option<Arc<Timer>>,
}

/// Dispatches what the receiver decodes into the daemon.
struct DaemonDispatch {
    /// Whether this daemon also sends (then `network:time_sent` loop
    /// protection applies, as in collectd).
    check_loops: bool,
    raw_values: Vec<sys::value_t>,
    /// The meta data of the last value list (`network:received`, the
    /// sender's address and user name), kept while they stay the same: the
    /// daemon copies what it keeps, so one object serves a whole packet and
    /// more, instead of one created and freed per value list.
    last_meta: Option<ReceivedMeta>,
}

/// Meta data for value lists from one peer and user.
struct ReceivedMeta {
    from: SocketAddr,
    user: Option<Vec<u8>>,
    meta: Option<MetaData>,
}

fn copy_name(dst: &mut [c_char; 128], src: &[u8]) {
    let n = src.len().min(dst.len() - 1);
    for (d, s) in dst.iter_mut().zip(&src[..n]) {
        *d = *s as c_char;
    }
    dst[n] = 0;
}

/// The loop-protection key in the value cache, as collectd's.
const TIME_SENT: &CStr = c"network:time_sent";

/// Meta data with `network:received = true` and, when given,
/// `network:username` and `network:ip_address` (as collectd's receiver);
/// `None` outside a daemon.
fn received_meta(username: Option<&[u8]>, ip: &str) -> Option<MetaData> {
    let mut meta = MetaData::new().ok()?;
    // Like collectd, a key the daemon refuses is left out.
    let _ = meta.add_boolean("network:received", true);
    if let Some(u) = username {
        // The name up to its first NUL, as C reads it.
        let _ = meta.add_string(
            "network:username",
            u.split(|&c| c == 0).next().unwrap_or_default(),
        );
    }
    let _ = meta.add_string("network:ip_address", ip);
    Some(meta)
}

/// A fresh dispatcher with the same settings (one per receiving socket);
/// the per-thread caches start empty.
impl Clone for DaemonDispatch {
    fn clone(&self) -> Self {
        DaemonDispatch {
            check_loops: self.check_loops,
            raw_values: Vec::new(),
            last_meta: None,
        }
    }
}

impl DaemonDispatch {
    /// The meta data for a value list from `from` sent by `user`.
    fn meta_for(&mut self, from: &SocketAddr, user: Option<&[u8]>) -> *mut sys::meta_data_t {
        let current = self
            .last_meta
            .as_ref()
            .is_some_and(|m| m.from == *from && m.user.as_deref() == user);
        if !current {
            let meta = received_meta(user, &from.ip().to_string());
            self.last_meta = Some(ReceivedMeta {
                from: *from,
                user: user.map(<[u8]>::to_vec),
                meta,
            });
        }
        self.last_meta
            .as_ref()
            .and_then(|m| m.meta.as_ref())
            .map_or(std::ptr::null_mut(), MetaData::as_ptr)
    }
}

impl Dispatch for DaemonDispatch {
    fn values(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>, from: &SocketAddr) -> bool {
        let mut raw = sys::value_list_t::default();
        copy_name(&mut raw.host, vl.host);
        copy_name(&mut raw.plugin, vl.plugin);
        copy_name(&mut raw.plugin_instance, vl.plugin_instance);
        copy_name(&mut raw.type_, vl.type_);
        copy_name(&mut raw.type_instance, vl.type_instance);
        raw.time = vl.time;
        raw.interval = vl.interval;
        if self.check_loops
            && cache_meta_unsigned_int(&raw, TIME_SENT).is_some_and(|sent| sent >= vl.time)
        {
            // We sent this value ourselves: do not receive it again.
            return false;
        }
        self.raw_values.clear();
        self.raw_values.extend(vl.values().map(|v| match v {
            Value::Counter(c) => sys::value_t { counter: c },
            Value::Gauge(g) => sys::value_t { gauge: g },
            Value::Derive(d) => sys::value_t { derive: d },
            Value::Absolute(a) => sys::value_t { absolute: a },
        }));
        raw.values = self.raw_values.as_mut_ptr();
        raw.values_len = self.raw_values.len();
        raw.meta = self.meta_for(from, origin.username);
        dispatch_raw(&raw).is_ok()
    }

    fn notification(&mut self, n: &NotificationRef<'_>, _origin: &Origin<'_>, _from: &SocketAddr) {
        let mut raw = sys::notification_t {
            severity: n.severity,
            time: n.time,
            ..Default::default()
        };
        copy_name(&mut raw.host, n.host);
        copy_name(&mut raw.plugin, n.plugin);
        copy_name(&mut raw.plugin_instance, n.plugin_instance);
        copy_name(&mut raw.type_, n.type_);
        copy_name(&mut raw.type_instance, n.type_instance);
        let m = n.message.len().min(raw.message.len() - 1);
        for (d, s) in raw.message.iter_mut().zip(&n.message[..m]) {
            *d = *s as c_char;
        }
        raw.message[m] = 0;
        let flags = [(c"network:received", true)];
        if let Err(DispatchError::Host(_)) = dispatch_notification_raw(&raw, &flags) {
            log::debug!("no host to dispatch a notification to");
        }
    }
}

impl Plugin for Network {
    const NAME: &'static str = "network";

    fn new(config: &Config) -> rcollectd_plugin::Result<Self> {
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: config.items.iter().map(convert).collect(),
        };
        let (cfg, errors) = config::parse(&block);
        for e in &errors {
            log::error!("{e}");
        }
        if let Some(secs) = cfg.cache_flush {
            log::info!("CacheFlush {secs} accepted; rcollectd keeps no per-identifier send cache, so it has no effect");
        }
        let stats = Arc::new(Stats::default());
        let sender = Sender::new(&cfg, stats.clone());
        let has_servers = !sender.is_empty();
        let receiver = if cfg.listens.is_empty() {
            None
        } else {
            let d = DaemonDispatch {
                check_loops: has_servers,
                raw_values: Vec::new(),
                last_meta: None,
            };
            match Receiver::start(&cfg, stats.clone(), d) {
                Ok(r) => Some(r),
                Err(e) => {
                    log::error!("{e}");
                    None
                }
            }
        };
        let send = Arc::new(Mutex::new(SendState {
            sender,
            values: Vec::new(),
        }));
        let timer = if has_servers {
            let interval = plugin_interval().unwrap_or(Duration::from_secs(10));
            let age = MAX_BUFFER_DELAY
                .min(interval / 2)
                .max(Duration::from_millis(10));
            let t = Arc::new(Timer::new(age)?);
            let (t2, send2) = (t.clone(), send.clone());
            let h = std::thread::Builder::new()
                .name("network flush".into())
                .spawn(move || flush_timer(&t2, &send2))?;
            Some((t, h))
        } else {
            None
        };
        let kick = timer.as_ref().map(|(t, _)| t.clone());
        Ok(Network {
            cfg,
            stats,
            send,
            receiver: Mutex::new(receiver),
            timer: Mutex::new(timer),
            kick,
        })
    }

    fn shutdown(&self) -> rcollectd_plugin::Result {
        if let Some(r) = self
            .receiver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            r.stop();
        }
        if let Some((t, h)) = self.timer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.stop();
            let _ = h.join();
        }
        self.send
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sender
            .flush(Duration::ZERO);
        Ok(())
    }
}

/// Sends every buffer whose oldest value list has waited the timer's age.
/// Sleeps until the next such deadline; while nothing is buffered the timer
/// is unarmed until a write buffers something and arms it an age ahead, so
/// an idle round costs this thread one wake-up.
fn flush_timer(timer: &Timer, send: &Mutex<SendState>) {
    let age = timer.age;
    loop {
        if let Err(e) = timer.fd.wait() {
            log::error!("flush timer: {e}");
            return;
        }
        if timer.stopped.load(Ordering::Acquire) {
            return;
        }
        // Under the send lock, so a write that finds the buffers empty
        // after this flush arms the timer itself, and one that finds them
        // not empty leaves the deadline computed here.
        let mut st = send.lock().unwrap_or_else(|e| e.into_inner());
        st.sender.flush(age);
        if let Some(t) = st.sender.next_flush(age) {
            timer.arm(
                t.saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(5)),
            );
        }
    }
}

impl Read for Network {
    fn read(&self) -> rcollectd_plugin::Result {
        if !self.cfg.report_stats {
            return Ok(());
        }
        for (type_, ti, v, n, gauge) in self.stats.report() {
            let vals: Vec<SdkValue> = v[..n]
                .iter()
                .map(|&x| {
                    if gauge {
                        SdkValue::Gauge(x as f64)
                    } else {
                        SdkValue::Derive(x as i64)
                    }
                })
                .collect();
            ValueListBuilder::new("network", type_)
                .type_instance(ti)
                .values(&vals)
                .dispatch()?;
        }
        Ok(())
    }
}

impl Write for Network {
    fn write(&self, vl: &ValueList<'_>) -> rcollectd_plugin::Result {
        let mut st = self.send.lock().unwrap_or_else(|e| e.into_inner());
        if st.sender.is_empty() {
            return Ok(());
        }
        if !self.cfg.forward
            && matches!(
                vl.meta().get("network:received"),
                Some(MetaValue::Boolean(true))
            )
        {
            Stats::add(&self.stats.values_not_sent, 1);
            return Ok(());
        }
        if !self.cfg.listens.is_empty() {
            // Without a host there is no cache to protect against loops.
            let _ = set_cache_meta_unsigned_int(vl.as_raw(), TIME_SENT, vl.time().0);
        }
        let SendState { sender, values } = &mut *st;
        let was_empty = sender.next_flush(Duration::ZERO).is_none();
        values.clear();
        values.extend(vl.values().map(|(_, v)| match v {
            SdkValue::Gauge(g) => Value::Gauge(g),
            SdkValue::Derive(d) => Value::Derive(d),
            SdkValue::Counter(c) => Value::Counter(c),
            SdkValue::Absolute(a) => Value::Absolute(a),
        }));
        let out = ValueListOut {
            host: vl.host().as_bytes(),
            plugin: vl.plugin().as_bytes(),
            plugin_instance: vl.plugin_instance().as_bytes(),
            type_: vl.type_().as_bytes(),
            type_instance: vl.type_instance().as_bytes(),
            time: vl.time().0,
            interval: vl.interval().0,
            values,
        };
        // As csv's StoreRates: the cache's rates of this very value list,
        // asked for only when a server wants them and a value is not a GAUGE.
        let rates = if sender.needs_rates() && values.iter().any(|v| !matches!(v, Value::Gauge(_)))
        {
            vl.rates()
                .inspect_err(|e| log::debug!("StoreRates: {e}"))
                .ok()
        } else {
            None
        };
        sender.write_rated(&out, rates.as_deref());
        let buffered = sender.next_flush(Duration::ZERO).is_some();
        if let (true, true, Some(t)) = (was_empty, buffered, &self.kick) {
            // Under the send lock: the timer thread arms its own next
            // deadline under it too, so the two never race.
            t.arm(t.age);
        }
        drop(st);
        Ok(())
    }
}

impl Flush for Network {
    fn flush(
        &self,
        timeout: Option<Duration>,
        _identifier: Option<&str>,
    ) -> rcollectd_plugin::Result {
        // The buffer cannot be flushed per identifier (as collectd): send it.
        self.send
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sender
            .flush(timeout.unwrap_or(Duration::ZERO));
        Ok(())
    }
}

impl Notify for Network {
    fn notify(&self, n: &Notification<'_>) -> rcollectd_plugin::Result {
        let mut st = self.send.lock().unwrap_or_else(|e| e.into_inner());
        if st.sender.is_empty() {
            return Ok(());
        }
        let received = n.meta().iter().any(|(k, v)| {
            *k == "network:received" && matches!(v, NotificationMetaValue::Boolean(true))
        });
        if received {
            // Forwarding notifications has no loop detection (as collectd).
            return Ok(());
        }
        let out = NotificationOut {
            severity: n.severity().to_raw(),
            time: n.time().0,
            host: n.host().as_bytes(),
            plugin: n.plugin().as_bytes(),
            plugin_instance: n.plugin_instance().as_bytes(),
            type_: n.type_().as_bytes(),
            type_instance: n.type_instance().as_bytes(),
            message: n.message().as_bytes(),
        };
        st.sender.notify(&out)?;
        Ok(())
    }
}

rcollectd_plugin::export_plugin!(Network, read, write, flush, notify);

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn the_timer_sends_a_quiet_buffer_once_armed_and_stops() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: vec![Item {
                key: "Server".into(),
                values: vec![
                    ConfValue::String("127.0.0.1".into()),
                    ConfValue::String(rx.local_addr().unwrap().port().to_string()),
                ],
                children: vec![],
            }],
        };
        let (cfg, errs) = config::parse(&block);
        assert!(errs.is_empty());
        let send = Arc::new(Mutex::new(SendState {
            sender: Sender::new(&cfg, Arc::new(Stats::default())),
            values: Vec::new(),
        }));
        let age = Duration::from_millis(50);
        let timer = Arc::new(Timer::new(age).unwrap());
        let (t2, s2) = (timer.clone(), send.clone());
        let h = std::thread::spawn(move || flush_timer(&t2, &s2));
        // Let the timer fall asleep on empty buffers first.
        std::thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        send.lock().unwrap().sender.write(&ValueListOut {
            host: b"h",
            plugin: b"p",
            plugin_instance: b"",
            type_: b"gauge",
            type_instance: b"",
            time: 1 << 30,
            interval: 10 << 30,
            values: &[Value::Gauge(1.0)],
        });
        timer.arm(age);
        let mut buf = [0u8; 1500];
        let n = rx.recv(&mut buf).expect("the timer sent the buffer");
        assert!(n > 0);
        assert!(start.elapsed() >= age, "not before the buffer's age");
        assert!(send.lock().unwrap().sender.next_flush(age).is_none());
        timer.stop();
        h.join().unwrap();
    }
}
