//! The sending side: one packet buffer per `<Server>` (so each can use its
//! own security overhead, ABSOLUTE policy and `StoreRates`), sealed and sent
//! when full, on flush, when older than the interval, and at shutdown.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::codec::crypto::{self, UserKey};
use crate::codec::{
    encode_notification, EncodeError, Encoder, NotificationOut, SecurityLevel, Value, ValueListOut,
    DS_ABSOLUTE,
};
use crate::config::{AbsoluteMode, NetworkConfig, ServerConf};
use crate::stats::Stats;

struct Conn {
    sock: UdpSocket,
    addr: SocketAddr,
    resolved: Instant,
}

struct Server {
    conf: ServerConf,
    ttl: Option<u32>,
    key: Option<UserKey>,
    enc: Encoder,
    /// Used for `AbsoluteValues Separate`: one value list per packet.
    single: Encoder,
    first_write: Option<Instant>,
    sealed: Vec<u8>,
    conn: Option<Conn>,
    last_error: Option<Instant>,
}

/// All destinations of this plugin instance.
pub struct Sender {
    servers: Vec<Server>,
    max_packet: usize,
    stats: Arc<Stats>,
    scratch: Vec<u8>,
    /// The values of the list being written as `StoreRates` sends them.
    rated: Vec<Value>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("servers", &self.servers.len())
            .finish()
    }
}

fn overhead(conf: &ServerConf) -> usize {
    match conf.level {
        SecurityLevel::None => 0,
        SecurityLevel::Sign => crypto::sign_overhead(conf.username.as_bytes()),
        SecurityLevel::Encrypt => crypto::encrypt_overhead(conf.username.as_bytes()),
    }
}

impl Server {
    fn connect(&mut self) -> Option<&Conn> {
        let stale = match &self.conn {
            Some(c) => {
                !self.conf.resolve_interval.is_zero()
                    && c.resolved.elapsed() >= self.conf.resolve_interval
            }
            None => true,
        };
        if stale {
            // Do not hammer the resolver after a failure.
            if self.conn.is_none()
                && self
                    .last_error
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
            {
                return None;
            }
            match crate::sock::resolve(&self.conf.node, &self.conf.service) {
                Ok(addrs) if !addrs.is_empty() => {
                    let addr = addrs[0];
                    match crate::sock::sender_socket(
                        &addr,
                        self.conf.bind_address,
                        self.ttl,
                        self.conf.interface.as_deref(),
                    ) {
                        Ok(sock) => {
                            self.conn = Some(Conn {
                                sock,
                                addr,
                                resolved: Instant::now(),
                            });
                            self.last_error = None;
                        }
                        Err(e) => {
                            log::error!("socket for {addr} failed: {e}");
                            self.last_error = Some(Instant::now());
                        }
                    }
                }
                Ok(_) | Err(_) => {
                    if self.last_error.is_none() {
                        log::error!(
                            "cannot resolve \"{}\" port {}",
                            self.conf.node,
                            self.conf.service
                        );
                    }
                    self.last_error = Some(Instant::now());
                    // Keep using the old address if re-resolution failed.
                    if let Some(c) = &mut self.conn {
                        c.resolved = Instant::now();
                    }
                }
            }
        }
        self.conn.as_ref()
    }

    /// Seals `payload` for this server and sends it.
    fn send(&mut self, payload: &[u8], stats: &Stats) {
        if payload.is_empty() {
            return;
        }
        let mut sealed = std::mem::take(&mut self.sealed);
        let data: &[u8] = match (&self.key, self.conf.level) {
            (Some(k), SecurityLevel::Sign) => {
                match crypto::sign_into(&mut sealed, self.conf.username.as_bytes(), k, payload) {
                    Ok(()) => &sealed,
                    Err(e) => {
                        log::error!("signing failed: {e}");
                        self.sealed = sealed;
                        return;
                    }
                }
            }
            (Some(k), SecurityLevel::Encrypt) => {
                match crypto::encrypt_into(&mut sealed, self.conf.username.as_bytes(), k, payload) {
                    Ok(()) => &sealed,
                    Err(e) => {
                        log::error!("encryption failed: {e}");
                        self.sealed = sealed;
                        return;
                    }
                }
            }
            _ => payload,
        };
        let mut sent = false;
        if let Some(conn) = self.connect() {
            for _ in 0..3 {
                match conn.sock.send_to(data, conn.addr) {
                    Ok(_) => {
                        sent = true;
                        break;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                        ) =>
                    {
                        continue
                    }
                    Err(e) => {
                        log::error!("sendto {} failed: {e}; reopening the socket", conn.addr);
                        self.conn = None;
                        break;
                    }
                }
            }
        }
        if sent {
            Stats::add(&stats.octets_tx, data.len() as u64);
            Stats::add(&stats.packets_tx, 1);
        }
        self.sealed = sealed;
    }

    fn flush(&mut self, stats: &Stats) {
        if self.enc.is_empty() {
            return;
        }
        let enc = std::mem::replace(&mut self.enc, Encoder::new(0));
        self.send(enc.packet(), stats);
        self.enc = enc;
        self.enc.reset();
        self.first_write = None;
    }
}

/// Why a value list cannot be sent to a `StoreRates` server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSkip {
    /// A COUNTER, DERIVE or ABSOLUTE value has no finite rate yet (NaN: the
    /// first value of a series); counted as `send-rate-unknown`.
    Unknown,
    /// The value cache gave no rates, or fewer than values; counted as
    /// `send-rate-unavailable`.
    Unavailable,
}

/// Fills `out` with `values` as `StoreRates` sends them: GAUGE values
/// unchanged, every other value replaced by `Gauge(rate)` from `rates`
/// (`uc_get_rate`'s array, one rate per value). A rate that is not finite
/// refuses the whole list: a values part cannot leave one value out.
pub fn as_rates(
    values: &[Value],
    rates: Option<&[f64]>,
    out: &mut Vec<Value>,
) -> Result<(), RateSkip> {
    out.clear();
    let rates = rates
        .filter(|r| r.len() >= values.len())
        .ok_or(RateSkip::Unavailable)?;
    for (v, &r) in values.iter().zip(rates) {
        out.push(match v {
            Value::Gauge(_) => *v,
            _ if r.is_finite() => Value::Gauge(r),
            _ => return Err(RateSkip::Unknown),
        });
    }
    Ok(())
}

/// Outcome of offering a value list to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Buffered (or sent) for at least one server.
    Accepted,
    /// Could not be encoded for any server.
    Rejected,
}

impl Sender {
    /// Builds the sender from the configuration (no socket is opened until
    /// the first packet, as collectd).
    pub fn new(cfg: &NetworkConfig, stats: Arc<Stats>) -> Sender {
        let servers = cfg
            .servers
            .iter()
            .map(|conf| {
                let cap = cfg.max_packet_size.saturating_sub(overhead(conf));
                Server {
                    key: (conf.level > SecurityLevel::None)
                        .then(|| UserKey::new(conf.password.as_bytes())),
                    conf: conf.clone(),
                    ttl: cfg.ttl,
                    enc: Encoder::new(cap),
                    single: Encoder::new(cap),
                    first_write: None,
                    sealed: Vec::with_capacity(cfg.max_packet_size),
                    conn: None,
                    last_error: None,
                }
            })
            .collect();
        Sender {
            servers,
            max_packet: cfg.max_packet_size,
            stats,
            scratch: Vec::new(),
            rated: Vec::new(),
        }
    }

    /// Whether some server has `StoreRates`, so [`Sender::write_rated`]
    /// wants the value cache's rates of lists that are not all GAUGE.
    pub fn needs_rates(&self) -> bool {
        self.servers.iter().any(|s| s.conf.store_rates)
    }

    /// Whether any server is configured.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// [`Sender::write_rated`] without rates: `StoreRates` servers get only
    /// all-GAUGE lists.
    pub fn write(&mut self, vl: &ValueListOut<'_>) -> WriteOutcome {
        self.write_rated(vl, None)
    }

    /// Adds a value list to every server's buffer, sending full buffers.
    /// `rates` are the value cache's rates of this list (`uc_get_rate`), for
    /// servers with `StoreRates`.
    pub fn write_rated(&mut self, vl: &ValueListOut<'_>, rates: Option<&[f64]>) -> WriteOutcome {
        let has_absolute = vl.values.iter().any(|v| v.type_code() == DS_ABSOLUTE);
        let cumulative = vl.values.iter().any(|v| !matches!(v, Value::Gauge(_)));
        let rated = if cumulative && self.needs_rates() {
            as_rates(vl.values, rates, &mut self.rated)
        } else {
            Ok(())
        };
        let rated_vl = ValueListOut {
            values: &self.rated,
            ..*vl
        };
        let mut accepted = false;
        let mut absolute_dropped = false;
        let mut rate_skipped = None;
        for s in &mut self.servers {
            let vl = if cumulative && s.conf.store_rates {
                if let Err(why) = rated {
                    rate_skipped = Some(why);
                    continue;
                }
                // Every value is a GAUGE now: AbsoluteValues has nothing to do.
                &rated_vl
            } else {
                vl
            };
            if has_absolute && !s.conf.store_rates {
                match s.conf.absolute {
                    AbsoluteMode::Send => {}
                    AbsoluteMode::Drop => {
                        absolute_dropped = true;
                        continue;
                    }
                    AbsoluteMode::Separate => {
                        s.single.reset();
                        match s.single.add(vl) {
                            Ok(()) => {
                                let single = std::mem::replace(&mut s.single, Encoder::new(0));
                                s.send(single.packet(), &self.stats);
                                s.single = single;
                                accepted = true;
                            }
                            Err(e) => log::warn!("cannot encode value list: {e}"),
                        }
                        continue;
                    }
                }
            }
            let r = match s.enc.add(vl) {
                Err(EncodeError::Full) => {
                    s.flush(&self.stats);
                    s.enc.add(vl)
                }
                r => r,
            };
            match r {
                Ok(()) => {
                    accepted = true;
                    if s.first_write.is_none() {
                        s.first_write = Some(Instant::now());
                    }
                }
                Err(e) => log::warn!("cannot encode value list for {}: {e}", s.conf.node),
            }
        }
        if absolute_dropped {
            Stats::add(&self.stats.absolute_dropped, 1);
        }
        match rate_skipped {
            Some(RateSkip::Unknown) => Stats::add(&self.stats.rate_unknown, 1),
            Some(RateSkip::Unavailable) => Stats::add(&self.stats.rate_unavailable, 1),
            None => {}
        }
        if accepted {
            Stats::add(&self.stats.values_sent, 1);
            WriteOutcome::Accepted
        } else {
            Stats::add(&self.stats.values_not_sent, 1);
            WriteOutcome::Rejected
        }
    }

    /// Sends buffers whose first value is at least `age` old (`Duration::ZERO`: all).
    /// When the oldest buffered value list of any server turns `age` old;
    /// `None` while nothing is buffered.
    pub fn next_flush(&self, age: Duration) -> Option<Instant> {
        self.servers
            .iter()
            .filter_map(|s| s.first_write)
            .min()
            .map(|t| t + age)
    }

    pub fn flush(&mut self, age: Duration) {
        for s in &mut self.servers {
            if s.first_write.is_some_and(|t| t.elapsed() >= age)
                || (age.is_zero() && !s.enc.is_empty())
            {
                s.flush(&self.stats);
            }
        }
    }

    /// Sends a notification, in a packet of its own, to every server.
    pub fn notify(&mut self, n: &NotificationOut<'_>) -> Result<(), EncodeError> {
        let mut buf = std::mem::take(&mut self.scratch);
        let mut result = Ok(());
        for s in &mut self.servers {
            let cap = self.max_packet.saturating_sub(overhead(&s.conf));
            match encode_notification(&mut buf, n, cap) {
                Ok(()) => s.send(&buf, &self.stats),
                Err(e) => result = Err(e),
            }
        }
        self.scratch = buf;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, DecodeSummary, Value};
    use crate::config::{parse, ConfValue, Item};

    fn server_item(port: u16, extra: Vec<Item>) -> Item {
        Item {
            key: "Server".into(),
            values: vec![
                ConfValue::String("127.0.0.1".into()),
                ConfValue::String(port.to_string()),
            ],
            children: extra,
        }
    }

    struct Count(usize, usize);
    impl crate::codec::Sink for Count {
        fn value_list(
            &mut self,
            vl: &crate::codec::ValueListRef<'_>,
            _o: &crate::codec::Origin<'_>,
        ) {
            self.0 += 1;
            if vl.type_codes().contains(&DS_ABSOLUTE) {
                self.1 += 1;
            }
        }
        fn notification(
            &mut self,
            _n: &crate::codec::NotificationRef<'_>,
            _o: &crate::codec::Origin<'_>,
        ) {
        }
    }

    fn recv_all(sock: &UdpSocket) -> Vec<Vec<u8>> {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut out = Vec::new();
        let mut b = [0u8; 65536];
        while let Ok(n) = sock.recv(&mut b) {
            out.push(b[..n].to_vec());
            assert!(out.len() < 10_000);
        }
        out
    }

    #[test]
    fn fills_packets_flushes_and_handles_absolute() {
        let rx_send = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx_sep = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx_drop = UdpSocket::bind("127.0.0.1:0").unwrap();
        let abs = |m: &str| Item {
            key: "AbsoluteValues".into(),
            values: vec![ConfValue::String(m.into())],
            children: vec![],
        };
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: vec![
                server_item(rx_send.local_addr().unwrap().port(), vec![]),
                server_item(rx_sep.local_addr().unwrap().port(), vec![abs("Separate")]),
                server_item(rx_drop.local_addr().unwrap().port(), vec![abs("Drop")]),
            ],
        };
        let (cfg, errs) = parse(&block);
        assert!(errs.is_empty());
        let stats = Arc::new(Stats::default());
        let mut s = Sender::new(&cfg, stats.clone());
        let names: Vec<String> = (0..200).map(|i| format!("i{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let v = if i % 50 == 0 {
                [Value::Absolute(i as u64)]
            } else {
                [Value::Gauge(i as f64)]
            };
            let vl = ValueListOut {
                host: b"h",
                plugin: b"p",
                plugin_instance: b"",
                type_: b"gauge",
                type_instance: n.as_bytes(),
                time: 1 << 30,
                interval: 10 << 30,
                values: &v,
            };
            assert_eq!(s.write(&vl), WriteOutcome::Accepted);
        }
        let hour = Duration::from_secs(3600);
        let due = s.next_flush(hour).expect("values are buffered");
        assert!(due > std::time::Instant::now() + hour - Duration::from_secs(60));
        // Nothing young is flushed by an interval check...
        s.flush(hour);
        assert!(s.next_flush(hour).is_some());
        // ...but an explicit flush sends everything.
        s.flush(Duration::ZERO);
        assert_eq!(s.next_flush(hour), None);
        let count = |pkts: &[Vec<u8>]| {
            let mut c = Count(0, 0);
            for p in pkts {
                assert!(p.len() <= 1452);
                let mut p = p.clone();
                decode(
                    &mut p,
                    SecurityLevel::None,
                    None,
                    &mut c,
                    &mut DecodeSummary::default(),
                )
                .unwrap();
            }
            (c.0, c.1)
        };
        let a = recv_all(&rx_send);
        assert!(a.len() >= 3, "200 lists need several packets");
        assert_eq!(count(&a), (200, 4));
        let b = recv_all(&rx_sep);
        assert_eq!(count(&b), (200, 4));
        // The four ABSOLUTE lists each travelled alone.
        assert_eq!(b.iter().filter(|p| p.len() < 100).count(), 4);
        let c = recv_all(&rx_drop);
        assert_eq!(count(&c), (196, 0));
        assert_eq!(
            stats
                .absolute_dropped
                .load(std::sync::atomic::Ordering::Relaxed),
            4
        );
        assert_eq!(
            stats.values_sent.load(std::sync::atomic::Ordering::Relaxed),
            200
        );
    }

    #[test]
    fn as_rates_converts_every_cumulative_value() {
        use Value::*;
        let nan = f64::NAN;
        /// Values, the cache's rates, what is sent.
        type Case = (Vec<Value>, Option<Vec<f64>>, Result<Vec<Value>, RateSkip>);
        let cases: Vec<Case> = vec![
            // A COUNTER series: first value (no rate yet), then 12.5/s.
            (vec![Counter(1000)], Some(vec![nan]), Err(RateSkip::Unknown)),
            (vec![Counter(1125)], Some(vec![12.5]), Ok(vec![Gauge(12.5)])),
            // A DERIVE series may fall.
            (vec![Derive(-5)], Some(vec![nan]), Err(RateSkip::Unknown)),
            (vec![Derive(-35)], Some(vec![-3.0]), Ok(vec![Gauge(-3.0)])),
            (
                vec![Derive(7)],
                Some(vec![f64::INFINITY]),
                Err(RateSkip::Unknown),
            ),
            // ABSOLUTE: the value per second of the interval.
            (vec![Absolute(50)], Some(vec![5.0]), Ok(vec![Gauge(5.0)])),
            // GAUGE values are sent as they are, whatever the cache says
            // (`write_rated` does not ask for rates of all-GAUGE lists).
            (vec![Gauge(2.5)], Some(vec![99.0]), Ok(vec![Gauge(2.5)])),
            // Mixed data set: the gauge stays, the derive becomes its rate.
            (
                vec![Gauge(1.5), Derive(100)],
                Some(vec![1.5, 7.0]),
                Ok(vec![Gauge(1.5), Gauge(7.0)]),
            ),
            (
                vec![Gauge(nan), Derive(100)],
                Some(vec![nan, 7.0]),
                Ok(vec![Gauge(nan), Gauge(7.0)]),
            ),
            // if_octets (rx, tx): one unknown rate holds back the whole list.
            (
                vec![Derive(10), Derive(20)],
                Some(vec![nan, 2.0]),
                Err(RateSkip::Unknown),
            ),
            (
                vec![Derive(10), Derive(20)],
                Some(vec![1.0]),
                Err(RateSkip::Unavailable),
            ),
            (vec![Derive(10)], None, Err(RateSkip::Unavailable)),
        ];
        for (values, rates, want) in cases {
            let mut out = vec![Counter(1)];
            let got = as_rates(&values, rates.as_deref(), &mut out).map(|()| out.clone());
            // NaN != NaN: compare the wire bytes.
            let wire = |r: &Result<Vec<Value>, RateSkip>| {
                r.clone().map(|v| {
                    v.iter()
                        .map(|x| (x.type_code(), x.to_wire()))
                        .collect::<Vec<_>>()
                })
            };
            assert_eq!(wire(&got), wire(&want), "{values:?} with {rates:?}");
        }
    }

    /// Every value list a packet holds: (type instance, type codes, values).
    #[derive(Default)]
    struct Lists(Vec<(String, Vec<u8>, Vec<Value>)>);
    impl crate::codec::Sink for Lists {
        fn value_list(
            &mut self,
            vl: &crate::codec::ValueListRef<'_>,
            _o: &crate::codec::Origin<'_>,
        ) {
            self.0.push((
                String::from_utf8_lossy(vl.type_instance).into_owned(),
                vl.type_codes().to_vec(),
                vl.values().collect(),
            ));
        }
        fn notification(
            &mut self,
            _n: &crate::codec::NotificationRef<'_>,
            _o: &crate::codec::Origin<'_>,
        ) {
        }
    }

    fn lists(sock: &UdpSocket) -> Vec<(String, Vec<u8>, Vec<Value>)> {
        let mut l = Lists::default();
        for mut p in recv_all(sock) {
            decode(
                &mut p,
                SecurityLevel::None,
                None,
                &mut l,
                &mut DecodeSummary::default(),
            )
            .unwrap();
        }
        l.0
    }

    #[test]
    fn store_rates_servers_get_gauge_rates_and_others_raw_values() {
        use crate::codec::{DS_DERIVE, DS_GAUGE};
        use std::sync::atomic::Ordering::Relaxed;
        let rx_rates = UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx_raw = UdpSocket::bind("127.0.0.1:0").unwrap();
        let kid = |k: &str, v: ConfValue| Item {
            key: k.into(),
            values: vec![v],
            children: vec![],
        };
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: vec![
                server_item(
                    rx_rates.local_addr().unwrap().port(),
                    vec![
                        kid("StoreRates", ConfValue::Boolean(true)),
                        // Does not apply: no ABSOLUTE value is left.
                        kid("AbsoluteValues", ConfValue::String("Drop".into())),
                    ],
                ),
                server_item(rx_raw.local_addr().unwrap().port(), vec![]),
            ],
        };
        let (cfg, errs) = parse(&block);
        assert!(errs.is_empty(), "{errs:?}");
        let stats = Arc::new(Stats::default());
        let mut s = Sender::new(&cfg, stats.clone());
        assert!(s.needs_rates());
        let nan = f64::NAN;
        /// Type instance, values, the cache's rates.
        type Write = (&'static str, Vec<Value>, Option<Vec<f64>>);
        let writes: Vec<Write> = vec![
            ("derive-first", vec![Value::Derive(0)], Some(vec![nan])),
            ("derive", vec![Value::Derive(105)], Some(vec![10.5])),
            ("absolute", vec![Value::Absolute(50)], Some(vec![5.0])),
            ("gauge", vec![Value::Gauge(0.25)], None),
            (
                "mixed",
                vec![Value::Gauge(3.0), Value::Counter(7)],
                Some(vec![3.0, 0.5]),
            ),
            ("no-cache", vec![Value::Derive(1)], None),
        ];
        for (ti, values, rates) in &writes {
            let vl = ValueListOut {
                host: b"h",
                plugin: b"p",
                plugin_instance: b"",
                type_: b"derive",
                type_instance: ti.as_bytes(),
                time: 1 << 30,
                interval: 10 << 30,
                values,
            };
            assert_eq!(
                s.write_rated(&vl, rates.as_deref()),
                WriteOutcome::Accepted,
                "the raw server takes every list"
            );
        }
        s.flush(Duration::ZERO);
        let got = lists(&rx_rates);
        let want: Vec<(String, Vec<u8>, Vec<Value>)> = vec![
            ("derive".into(), vec![DS_GAUGE], vec![Value::Gauge(10.5)]),
            ("absolute".into(), vec![DS_GAUGE], vec![Value::Gauge(5.0)]),
            ("gauge".into(), vec![DS_GAUGE], vec![Value::Gauge(0.25)]),
            (
                "mixed".into(),
                vec![DS_GAUGE, DS_GAUGE],
                vec![Value::Gauge(3.0), Value::Gauge(0.5)],
            ),
        ];
        assert_eq!(got, want);
        let raw = lists(&rx_raw);
        assert_eq!(raw.len(), writes.len());
        assert_eq!(raw[1].1, vec![DS_DERIVE]);
        assert_eq!(raw[1].2, vec![Value::Derive(105)]);
        assert_eq!(raw[2].2, vec![Value::Absolute(50)]);
        assert_eq!(stats.rate_unknown.load(Relaxed), 1);
        assert_eq!(stats.rate_unavailable.load(Relaxed), 1);
        assert_eq!(stats.absolute_dropped.load(Relaxed), 0);
        assert_eq!(stats.values_sent.load(Relaxed), 6);
    }

    #[test]
    fn without_store_rates_no_rates_are_asked_for() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let block = Item {
            key: "Plugin".into(),
            values: vec![],
            children: vec![server_item(rx.local_addr().unwrap().port(), vec![])],
        };
        let (cfg, _) = parse(&block);
        let stats = Arc::new(Stats::default());
        let mut s = Sender::new(&cfg, stats.clone());
        assert!(!s.needs_rates());
        let vl = ValueListOut {
            host: b"h",
            plugin: b"p",
            plugin_instance: b"",
            type_: b"derive",
            type_instance: b"",
            time: 1 << 30,
            interval: 10 << 30,
            values: &[Value::Derive(42)],
        };
        assert_eq!(s.write(&vl), WriteOutcome::Accepted);
        s.flush(Duration::ZERO);
        let got = lists(&rx);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, vec![Value::Derive(42)]);
        assert_eq!(
            stats
                .rate_unavailable
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
