//! UDP load generator in collectd's binary protocol, built on the network
//! plugin's codec. Packets of ~1452 bytes each carry dozens of distinct
//! series; they are encoded once, and per send only the shared time part is
//! patched (so every series' time strictly increases and no cache rejects a
//! value as too old) and, at SecurityLevel Encrypt, the packet is encrypted.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use network::codec::{
    crypto, seconds_to_cdtime, EncodeError, Encoder, Value, ValueListOut, DEFAULT_PACKET_SIZE,
    PART_HEADER_SIZE, TYPE_TIME_HR,
};

/// User name the encrypted load is sent as.
pub const USER: &str = "bench";
/// Its password (the receiver's AuthFile holds `bench: benchpass`).
pub const PASSWORD: &str = "benchpass";
/// Plugin name of every value list sent (count_writer filters on it).
pub const PLUGIN: &str = "benchnet";

/// How packets are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain packets.
    None,
    /// AES-256-OFB encrypted packets.
    Encrypt,
}

/// A cycle of pre-encoded packets.
pub struct Load {
    templates: Vec<Template>,
    security: Security,
    key: crypto::UserKey,
    out: Vec<u8>,
    seq: u64,
    base_time: u64,
}

struct Template {
    bytes: Vec<u8>,
    time_offset: usize,
    value_lists: u64,
}

/// What one sending phase did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Datagrams handed to the kernel.
    pub packets: u64,
    /// Value lists in them.
    pub value_lists: u64,
    /// Datagrams the kernel refused (counted as lost, not sent).
    pub send_errors: u64,
    /// CLOCK_MONOTONIC ns at the first send.
    pub start_ns: u64,
    /// At the last send.
    pub end_ns: u64,
}

/// Offset of the 8 value bytes of the single time_hr part of a plain packet.
pub fn time_offset(packet: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let mut found = None;
    while pos + PART_HEADER_SIZE <= packet.len() {
        let ty = u16::from_be_bytes([packet[pos], packet[pos + 1]]);
        let len = usize::from(u16::from_be_bytes([packet[pos + 2], packet[pos + 3]]));
        if len < PART_HEADER_SIZE || pos + len > packet.len() {
            return None;
        }
        if ty == TYPE_TIME_HR {
            if found.is_some() {
                return None;
            }
            found = Some(pos + PART_HEADER_SIZE);
        }
        pos += len;
    }
    found
}

/// Current wall-clock time in cdtime units.
fn now_cdtime() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    seconds_to_cdtime(d.as_secs()) + ((u64::from(d.subsec_nanos()) << 30) / 1_000_000_000)
}

impl Load {
    /// Encodes `packets` packets of distinct series (`s0`, `s1`, ...), as many
    /// per packet as fit in 1452 bytes after the security overhead.
    pub fn new(packets: usize, security: Security) -> Result<Load, String> {
        let capacity = match security {
            Security::None => DEFAULT_PACKET_SIZE,
            Security::Encrypt => DEFAULT_PACKET_SIZE - crypto::encrypt_overhead(USER.as_bytes()),
        };
        let base_time = now_cdtime();
        let interval = seconds_to_cdtime(10);
        let values = [Value::Gauge(1.0)];
        let mut templates = Vec::with_capacity(packets);
        let mut series = 0u64;
        let mut name = String::new();
        for _ in 0..packets {
            let mut enc = Encoder::new(capacity);
            let mut n = 0u64;
            loop {
                name.clear();
                name.push_str(&format!("s{series}"));
                let vl = ValueListOut {
                    host: b"loadgen",
                    plugin: PLUGIN.as_bytes(),
                    plugin_instance: b"",
                    type_: b"gauge",
                    type_instance: name.as_bytes(),
                    time: base_time,
                    interval,
                    values: &values,
                };
                match enc.add(&vl) {
                    Ok(()) => {
                        n += 1;
                        series += 1;
                    }
                    Err(EncodeError::Full) => break,
                    Err(e) => return Err(format!("encode: {e:?}")),
                }
            }
            let bytes = enc.packet().to_vec();
            let time_offset =
                time_offset(&bytes).ok_or("encoded packet has no single time part")?;
            templates.push(Template {
                bytes,
                time_offset,
                value_lists: n,
            });
        }
        Ok(Load {
            templates,
            security,
            key: crypto::UserKey::new(PASSWORD.as_bytes()),
            out: Vec::with_capacity(DEFAULT_PACKET_SIZE),
            seq: 0,
            base_time,
        })
    }

    /// Distinct series in one cycle.
    pub fn series(&self) -> u64 {
        self.templates.iter().map(|t| t.value_lists).sum()
    }

    /// Mean value lists per packet.
    pub fn per_packet(&self) -> f64 {
        self.series() as f64 / self.templates.len().max(1) as f64
    }

    /// The next datagram and its value list count.
    pub fn next_packet(&mut self) -> (&[u8], u64) {
        let i = (self.seq % self.templates.len() as u64) as usize;
        self.seq += 1;
        let time = self.base_time + self.seq;
        let t = &mut self.templates[i];
        t.bytes[t.time_offset..t.time_offset + 8].copy_from_slice(&time.to_be_bytes());
        match self.security {
            Security::None => (&t.bytes, t.value_lists),
            Security::Encrypt => {
                let mut iv = [0u8; crypto::IV_LEN];
                iv[..8].copy_from_slice(&self.seq.to_be_bytes());
                iv[8..].copy_from_slice(&self.base_time.to_be_bytes());
                if crypto::encrypt_with_iv(&mut self.out, USER.as_bytes(), &self.key, &iv, &t.bytes)
                    .is_err()
                {
                    self.out.clear();
                }
                (&self.out, t.value_lists)
            }
        }
    }

    /// Sends for `duration` (and at most `max_packets`), at `rate` packets
    /// per second or, with `None`, as fast as the socket takes them.
    pub fn send(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        rate: Option<u64>,
        duration: Duration,
        max_packets: u64,
    ) -> Sent {
        let mut sent = Sent {
            start_ns: crate::daemon::mono_ns(),
            ..Sent::default()
        };
        let start = Instant::now();
        let deadline = start + duration;
        let mut i: u64 = 0;
        while i < max_packets {
            if i & 63 == 0 && Instant::now() >= deadline {
                break;
            }
            if let Some(rate) = rate {
                let due =
                    start + Duration::from_nanos(i.saturating_mul(1_000_000_000) / rate.max(1));
                let now = Instant::now();
                if due > deadline {
                    break;
                }
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            let (packet, n) = self.next_packet();
            if packet.is_empty() {
                sent.send_errors += 1;
            } else {
                match sock.send_to(packet, to) {
                    Ok(_) => {
                        sent.packets += 1;
                        sent.value_lists += n;
                    }
                    Err(_) => sent.send_errors += 1,
                }
            }
            i += 1;
        }
        sent.end_ns = crate::daemon::mono_ns();
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use network::codec::{decode, DecodeSummary, NotificationRef, Origin, SecurityLevel, Sink};

    #[derive(Default)]
    struct Collect {
        times: Vec<u64>,
        names: Vec<String>,
    }

    impl Sink for Collect {
        fn value_list(&mut self, vl: &network::codec::ValueListRef<'_>, _o: &Origin<'_>) {
            self.times.push(vl.time);
            self.names
                .push(String::from_utf8_lossy(vl.type_instance).into_owned());
        }
        fn notification(&mut self, _n: &NotificationRef<'_>, _o: &Origin<'_>) {}
    }

    struct Creds(crypto::UserKey);
    impl crypto::Credentials for Creds {
        fn key(&self, user: &[u8]) -> Option<&crypto::UserKey> {
            (user == USER.as_bytes()).then_some(&self.0)
        }
    }

    #[test]
    fn plain_packets_decode_with_rising_times() {
        let mut load = Load::new(3, Security::None).unwrap();
        assert!(load.per_packet() > 30.0, "{}", load.per_packet());
        let mut seen = Collect::default();
        for _ in 0..6 {
            let (p, n) = load.next_packet();
            assert!(p.len() <= DEFAULT_PACKET_SIZE);
            let mut p = p.to_vec();
            let mut sum = DecodeSummary::default();
            decode(&mut p, SecurityLevel::None, None, &mut seen, &mut sum).unwrap();
            assert_eq!(sum.value_lists, n);
        }
        // Second cycle repeats the names with strictly later times.
        let half = seen.names.len() / 2;
        assert_eq!(seen.names[..half], seen.names[half..]);
        assert!(seen.times[half] > seen.times[0]);
        assert_eq!(seen.names[0], "s0");
        assert_eq!(load.series() as usize, half);
    }

    #[test]
    fn encrypted_packets_decode_with_the_password() {
        let mut load = Load::new(2, Security::Encrypt).unwrap();
        let creds = Creds(crypto::UserKey::new(PASSWORD.as_bytes()));
        let (p, n) = load.next_packet();
        assert!(p.len() <= DEFAULT_PACKET_SIZE, "{}", p.len());
        let mut p = p.to_vec();
        let mut seen = Collect::default();
        let mut sum = DecodeSummary::default();
        decode(
            &mut p,
            SecurityLevel::Encrypt,
            Some(&creds),
            &mut seen,
            &mut sum,
        )
        .unwrap();
        assert_eq!(sum.value_lists, n);
        assert!(n > 30);
    }

    #[test]
    fn time_offset_needs_exactly_one_time_part() {
        assert_eq!(time_offset(&[]), None);
        let mut p = vec![0x00, 0x08, 0x00, 0x0c];
        p.extend_from_slice(&[0; 8]);
        assert_eq!(time_offset(&p), Some(4));
        let twice = [p.clone(), p].concat();
        assert_eq!(time_offset(&twice), None);
        assert_eq!(time_offset(&[0x00, 0x08, 0x00, 0x02]), None);
    }

    #[test]
    fn paced_send_reaches_a_local_socket() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut load = Load::new(2, Security::None).unwrap();
        let sent = load.send(
            &tx,
            rx.local_addr().unwrap(),
            Some(1000),
            Duration::from_secs(2),
            20,
        );
        assert_eq!(sent.packets, 20);
        let mut buf = [0u8; 2048];
        let mut got = 0;
        while got < 20 && rx.recv(&mut buf).is_ok() {
            got += 1;
        }
        assert_eq!(got, 20);
        // 20 packets at 1000/s take at least 19 ms.
        assert!(sent.end_ns - sent.start_ns >= 19_000_000);
    }
}
