//! The receiving side: one thread per listening socket reads a datagram
//! (reporting kernel drops via SO_RXQ_OVFL), decodes it and dispatches its
//! value lists as one batch, with no handoff to another thread in between.
//! The socket's receive buffer (`ReceiveBufferSize`) is the only queue: when
//! the daemon falls behind, the kernel drops, and the drops are counted.

use std::io::IoSliceMut;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};

use crate::auth::AuthFile;
use crate::codec::crypto::Credentials;
use crate::codec::{
    decode, DecodeError, DecodeSummary, NotificationRef, Origin, SecurityLevel, Sink, ValueListRef,
};
use crate::config::NetworkConfig;
use crate::stats::Stats;

/// What the receiver does with decoded items (the daemon glue, or a test);
/// each socket's thread gets its own clone.
pub trait Dispatch: Clone + Send + 'static {
    /// Dispatches one value list; returns whether it was accepted.
    fn values(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>, from: &SocketAddr) -> bool;
    /// Dispatches one notification.
    fn notification(&mut self, n: &NotificationRef<'_>, origin: &Origin<'_>, from: &SocketAddr);
}

struct Entry {
    level: SecurityLevel,
    auth: Option<AuthFile>,
}

/// Running receive machinery; stop it with [`Receiver::stop`].
pub struct Receiver {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// Logs at most once per 10 s per kind, saying how many were suppressed.
struct RateLimit {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    fn new() -> Self {
        RateLimit {
            last: None,
            suppressed: 0,
        }
    }

    fn check(&mut self) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(10))
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.suppressed))
    }
}

impl Receiver {
    /// Opens every `<Listen>` socket and starts the threads. A Listen that
    /// cannot be opened is logged and skipped (as collectd); an AuthFile
    /// that cannot be read disables that Listen.
    pub fn start<D: Dispatch>(
        cfg: &NetworkConfig,
        stats: Arc<Stats>,
        dispatch: D,
    ) -> std::io::Result<Receiver> {
        let mut sockets: Vec<(UdpSocket, Entry)> = Vec::new();
        for l in &cfg.listens {
            let addrs = match crate::sock::resolve(&l.node, &l.service) {
                Ok(a) => a,
                Err(e) => {
                    log::error!(
                        "cannot resolve Listen \"{}\" \"{}\": {e}",
                        l.node,
                        l.service
                    );
                    continue;
                }
            };
            for a in addrs {
                // Each socket's thread keeps its own copy of the AuthFile.
                let auth = match &l.auth_file {
                    Some(p) => match AuthFile::open(p) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            log::error!(
                                "reading AuthFile {} failed: {e}; not listening on \"{}\"",
                                p.display(),
                                l.node
                            );
                            break;
                        }
                    },
                    None => None,
                };
                // At a reload the previous process hands this socket over,
                // with whatever arrived meanwhile still in its buffer.
                let key = format!(
                    "network:listen:{a}:{}",
                    l.interface.as_deref().unwrap_or("")
                );
                let opened = match rcollectd_plugin::reload::take_fd(&key) {
                    Some(fd) => {
                        log::info!("taking over the socket on {a} from before the reload");
                        Ok(UdpSocket::from(fd))
                    }
                    None => crate::sock::listen_socket(
                        &a,
                        l.interface.as_deref(),
                        cfg.receive_buffer_size,
                    ),
                };
                match opened {
                    Ok(s) => {
                        rcollectd_plugin::reload::keep_fd(&key, &s);
                        let eff = crate::sock::receive_buffer(&s);
                        log::info!(
                            "listening on {a} (SecurityLevel {:?}, receive buffer {eff} bytes)",
                            l.level
                        );
                        sockets.push((
                            s,
                            Entry {
                                level: l.level,
                                auth,
                            },
                        ));
                    }
                    Err(e) => log::error!("cannot listen on {a}: {e}"),
                }
            }
        }
        if sockets.is_empty() {
            return Err(std::io::Error::other("no listening socket could be opened"));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut addrs = Vec::new();
        for (sock, entry) in sockets {
            addrs.push(sock.local_addr()?);
            let (stop, stats, d) = (stop.clone(), stats.clone(), dispatch.clone());
            let size = cfg.max_packet_size;
            threads.push(
                std::thread::Builder::new()
                    .name("network recv".into())
                    .spawn(move || receive_loop(sock, entry, size, &stop, d, &stats))?,
            );
        }
        Ok(Receiver {
            stop,
            threads,
            addrs,
        })
    }

    /// Bound addresses (useful when port 0 was configured).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops reading (each thread finishes the packet in hand), joins all threads.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            if t.join().is_err() {
                log::error!("a receive thread panicked");
            }
        }
    }
}

fn receive_loop<D: Dispatch>(
    sock: UdpSocket,
    mut entry: Entry,
    size: usize,
    stop: &AtomicBool,
    mut d: D,
    stats: &Stats,
) {
    let fd = sock.as_raw_fd();
    let mut last_ovfl: u32 = 0;
    let mut drop_log = RateLimit::new();
    let mut trunc_log = RateLimit::new();
    let mut err_log = RateLimit::new();
    let mut logs = PacketLogs::new();
    let mut buf = vec![0u8; size];
    while !stop.load(Ordering::Relaxed) {
        let mut cmsg = nix::cmsg_space!(u32);
        let (len, from, ovfl, truncated) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty()) {
                Ok(msg) => {
                    let mut ovfl = None;
                    if let Ok(cmsgs) = msg.cmsgs() {
                        for c in cmsgs {
                            if let ControlMessageOwned::RxqOvfl(n) = c {
                                ovfl = Some(n);
                            }
                        }
                    }
                    let from = msg.address.and_then(|a| {
                        a.as_sockaddr_in()
                            .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                            .or_else(|| {
                                a.as_sockaddr_in6()
                                    .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
                            })
                    });
                    (
                        msg.bytes,
                        from,
                        ovfl,
                        msg.flags.contains(MsgFlags::MSG_TRUNC),
                    )
                }
                Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    if let Some(n) = err_log.check() {
                        log::error!("recvmsg failed: {e} ({n} more suppressed)");
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        };
        if let Some(n) = ovfl {
            let delta = n.wrapping_sub(last_ovfl);
            last_ovfl = n;
            if delta > 0 {
                Stats::add(&stats.kernel_drops, u64::from(delta));
                if let Some(s) = drop_log.check() {
                    log::warn!(
                        "the kernel dropped {delta} packets (socket receive buffer full; raise ReceiveBufferSize or net.core.rmem_max) ({s} reports suppressed)"
                    );
                }
            }
        }
        if truncated {
            if let Some(s) = trunc_log.check() {
                log::warn!("received a packet larger than MaxPacketSize {size}; it was truncated ({s} more suppressed)");
            }
        }
        Stats::add(&stats.octets_rx, len as u64);
        Stats::add(&stats.packets_rx, 1);
        let from = from.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let len = len.min(buf.len());
        handle_packet(&mut buf[..len], from, &mut entry, &mut d, stats, &mut logs);
    }
}

/// Rate limits for what a received packet can go wrong with.
struct PacketLogs {
    error: RateLimit,
    insecure: RateLimit,
}

impl PacketLogs {
    fn new() -> Self {
        PacketLogs {
            error: RateLimit::new(),
            insecure: RateLimit::new(),
        }
    }
}

struct Adapter<'a, D> {
    d: &'a mut D,
    from: SocketAddr,
    stats: &'a Stats,
}

impl<D: Dispatch> Sink for Adapter<'_, D> {
    fn value_list(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>) {
        if self.d.values(vl, origin, &self.from) {
            Stats::add(&self.stats.values_dispatched, 1);
        } else {
            Stats::add(&self.stats.values_not_dispatched, 1);
        }
    }

    fn notification(&mut self, n: &NotificationRef<'_>, origin: &Origin<'_>) {
        self.d.notification(n, origin, &self.from);
    }
}

/// Decodes one datagram and dispatches what it holds, as one batch.
fn handle_packet<D: Dispatch>(
    packet: &mut [u8],
    from: SocketAddr,
    entry: &mut Entry,
    d: &mut D,
    stats: &Stats,
    logs: &mut PacketLogs,
) {
    if let Some(a) = &mut entry.auth {
        if let Err(e) = a.refresh() {
            if let Some(n) = logs.error.check() {
                log::error!("re-reading AuthFile failed: {e} ({n} more suppressed)");
            }
        }
    }
    let creds: Option<&dyn Credentials> = entry.auth.as_ref().map(|a| a.db() as &dyn Credentials);
    let mut summary = DecodeSummary::default();
    let mut sink = Adapter { d, from, stats };
    // One packet's value lists reach the write threads as one batch.
    let batch = rcollectd_plugin::DispatchBatch::begin();
    let r = decode(packet, entry.level, creds, &mut sink, &mut summary);
    drop(batch);
    let insecure = summary.insecure_value_lists + summary.insecure_notifications;
    if insecure > 0 {
        Stats::add(&stats.insecure_dropped, summary.insecure_value_lists);
        if let Some(n) = logs.insecure.check() {
            log::info!(
                "ignored {insecure} values/notifications from {from} below SecurityLevel {:?} ({n} more reports suppressed)",
                entry.level
            );
        }
    }
    if summary.incomplete_value_lists > 0 {
        Stats::add(&stats.values_not_dispatched, summary.incomplete_value_lists);
    }
    if let Err(e) = r {
        Stats::add(&stats.decode_errors, 1);
        if let Some(n) = logs.error.check() {
            let lvl = if matches!(
                e,
                DecodeError::SignatureMismatch
                    | DecodeError::ChecksumMismatch
                    | DecodeError::UnknownUser
            ) {
                log::Level::Warn
            } else {
                log::Level::Info
            };
            log::log!(
                lvl,
                "packet from {from} rejected: {e} ({n} more suppressed)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, Value, ValueListOut};
    use crate::config::{ConfValue, Item};
    use std::sync::Mutex;

    type Seen = Vec<(String, Vec<Value>, SecurityLevel)>;

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Seen>>);

    impl Dispatch for Collect {
        fn values(
            &mut self,
            vl: &ValueListRef<'_>,
            origin: &Origin<'_>,
            _from: &SocketAddr,
        ) -> bool {
            let name = String::from_utf8_lossy(vl.type_instance).into_owned();
            self.0
                .lock()
                .unwrap()
                .push((name, vl.values().collect(), origin.level));
            true
        }
        fn notification(&mut self, _n: &NotificationRef<'_>, _o: &Origin<'_>, _f: &SocketAddr) {}
    }

    fn packet(ti: &str) -> Vec<u8> {
        let mut e = Encoder::new(1452);
        let v = [Value::Gauge(1.0)];
        e.add(&ValueListOut {
            host: b"h",
            plugin: b"p",
            plugin_instance: b"",
            type_: b"gauge",
            type_instance: ti.as_bytes(),
            time: 1 << 30,
            interval: 0,
            values: &v,
        })
        .unwrap();
        e.packet().to_vec()
    }

    #[test]
    fn survives_garbage_and_keeps_receiving() {
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: vec![Item {
                key: "Listen".into(),
                values: vec![
                    ConfValue::String("127.0.0.1".into()),
                    ConfValue::String("0".into()),
                ],
                children: vec![],
            }],
        };
        let (cfg, e) = crate::config::parse(&block);
        assert!(e.is_empty());
        let stats = Arc::new(Stats::default());
        let c = Collect::default();
        let r = Receiver::start(&cfg, stats.clone(), c.clone()).unwrap();
        let dest = r.local_addrs()[0];
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(&packet("before"), dest).unwrap();
        // Truncated, oversized, empty and pseudo-random datagrams.
        let good = packet("x");
        tx.send_to(&good[..good.len() - 5], dest).unwrap();
        tx.send_to(&vec![0xab; 9000], dest).unwrap();
        tx.send_to(&[], dest).unwrap();
        let mut seed = 0x1234_5678_u64;
        for _ in 0..200 {
            let len = (seed % 1500) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            tx.send_to(&data, dest).unwrap();
        }
        tx.send_to(&packet("after"), dest).unwrap();
        let got = |name: &str| c.0.lock().unwrap().iter().any(|(n, _, _)| n == name);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(got("before") && got("after")) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        r.stop();
        assert!(got("before") && got("after"));
        assert!(stats.decode_errors.load(Ordering::Relaxed) >= 2);
        assert!(stats.packets_rx.load(Ordering::Relaxed) >= 205);
    }
}
