//! Golden packets captured from collectd 5.12 (see `golden/capture.sh`)
//! decode to exactly the value lists that were injected, at every security
//! level, and our encoder reproduces collectd's plain packet byte for byte.

use network::codec::crypto::{Credentials, UserKey};
use network::codec::{
    decode, encode_notification, DecodeError, DecodeSummary, Encoder, NotificationOut,
    NotificationRef, Origin, SecurityLevel, Sink, Value, ValueListOut, ValueListRef,
};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{GOLDEN}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[derive(Debug, Clone, PartialEq)]
struct Vl {
    id: String,
    time: u64,
    interval: u64,
    values: Vec<Value>,
    level: SecurityLevel,
}

#[derive(Default)]
struct Collect {
    vls: Vec<Vl>,
    notifs: Vec<(i32, u64, String, String, String, String)>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Sink for Collect {
    fn value_list(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>) {
        let mut id = format!("{}/{}", s(vl.host), s(vl.plugin));
        if !vl.plugin_instance.is_empty() {
            id += &format!("-{}", s(vl.plugin_instance));
        }
        id += &format!("/{}", s(vl.type_));
        if !vl.type_instance.is_empty() {
            id += &format!("-{}", s(vl.type_instance));
        }
        self.vls.push(Vl {
            id,
            time: vl.time,
            interval: vl.interval,
            values: vl.values().collect(),
            level: origin.level,
        });
    }
    fn notification(&mut self, n: &NotificationRef<'_>, _o: &Origin<'_>) {
        self.notifs.push((
            n.severity,
            n.time,
            s(n.host),
            s(n.plugin),
            s(n.type_),
            s(n.message),
        ));
    }
}

struct Db(UserKey);
impl Credentials for Db {
    fn key(&self, user: &[u8]) -> Option<&UserKey> {
        (user == b"golden").then_some(&self.0)
    }
}

fn t(secs: u64) -> u64 {
    secs << 30
}

/// What `capture.sh` injected with `collectdctl putval`.
fn expected(level: SecurityLevel) -> Vec<Vl> {
    let vl = |id: &str, time, interval, values: Vec<Value>| Vl {
        id: id.into(),
        time,
        interval,
        values,
        level,
    };
    vec![
        vl(
            "golden.example/cpu-0/derive-user",
            t(1700000000),
            t(10),
            vec![Value::Derive(12345)],
        ),
        vl(
            "golden.example/cpu-0/derive-system",
            t(1700000000),
            t(10),
            vec![Value::Derive(42)],
        ),
        vl(
            "golden.example/memory/gauge-used",
            t(1700000000),
            t(10),
            vec![Value::Gauge(1.5)],
        ),
        vl(
            "golden.example/interface-lo/if_octets",
            t(1700000001),
            t(10),
            vec![Value::Derive(100), Value::Derive(200)],
        ),
        vl(
            "golden.example/app/counter-requests",
            t(1700000001),
            t(20),
            vec![Value::Counter(u64::MAX)],
        ),
        vl(
            "golden.example/app/absolute-events",
            t(1700000001),
            t(20),
            vec![Value::Absolute(7)],
        ),
        vl(
            "other.example/df-root/df_complex-free",
            t(1700000002),
            t(10),
            vec![Value::Gauge(-0.25)],
        ),
    ]
}

fn decode_file(
    name: &str,
    level: SecurityLevel,
    creds: Option<&dyn Credentials>,
) -> (Collect, DecodeSummary, Result<(), DecodeError>) {
    let mut pkt = read(name);
    let mut c = Collect::default();
    let mut sum = DecodeSummary::default();
    let r = decode(&mut pkt, level, creds, &mut c, &mut sum);
    (c, sum, r)
}

#[test]
fn golden_value_packets_decode_at_each_level() {
    let db = Db(UserKey::new(b"goldenpass"));
    for (file, level) in [
        ("none-0.bin", SecurityLevel::None),
        ("sign-0.bin", SecurityLevel::Sign),
        ("encrypt-0.bin", SecurityLevel::Encrypt),
    ] {
        let (c, sum, r) = decode_file(file, level, Some(&db));
        r.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(c.vls, expected(level), "{file}");
        assert_eq!(sum.value_lists, 7);
    }
}

#[test]
fn golden_notifications_decode() {
    let db = Db(UserKey::new(b"goldenpass"));
    for (file, level) in [
        ("none-1.bin", SecurityLevel::None),
        ("sign-1.bin", SecurityLevel::Sign),
        ("encrypt-1.bin", SecurityLevel::Encrypt),
    ] {
        let (c, _, r) = decode_file(file, level, Some(&db));
        r.unwrap();
        assert_eq!(
            c.notifs,
            vec![(
                2,
                t(1700000003),
                "golden.example".into(),
                "app".into(),
                "gauge".into(),
                "golden notification".into()
            )],
            "{file}"
        );
    }
}

#[test]
fn golden_wrong_password_and_levels() {
    let wrong = Db(UserKey::new(b"not-the-password"));
    let (c, _, r) = decode_file("sign-0.bin", SecurityLevel::Sign, Some(&wrong));
    assert_eq!(r, Err(DecodeError::SignatureMismatch));
    assert!(c.vls.is_empty());
    let (c, _, r) = decode_file("encrypt-0.bin", SecurityLevel::Encrypt, Some(&wrong));
    assert_eq!(r, Err(DecodeError::ChecksumMismatch));
    assert!(c.vls.is_empty());
    // Plain data at a Sign or Encrypt receiver: dropped and counted.
    let right = Db(UserKey::new(b"goldenpass"));
    let (c, sum, r) = decode_file("none-0.bin", SecurityLevel::Sign, Some(&right));
    r.unwrap();
    assert!(c.vls.is_empty());
    assert_eq!(sum.insecure_value_lists, 7);
    // Signed data at an Encrypt receiver: dropped and counted.
    let (c, sum, r) = decode_file("sign-0.bin", SecurityLevel::Encrypt, Some(&right));
    r.unwrap();
    assert!(c.vls.is_empty());
    assert_eq!(sum.insecure_value_lists, 7);
    // Encrypted data at a Sign receiver: accepted, as collectd.
    let (c, _, r) = decode_file("encrypt-0.bin", SecurityLevel::Sign, Some(&right));
    r.unwrap();
    assert_eq!(c.vls.len(), 7);
}

#[test]
fn golden_truncations_are_rejected_without_panic() {
    let db = Db(UserKey::new(b"goldenpass"));
    for file in ["none-0.bin", "sign-0.bin", "encrypt-0.bin", "none-1.bin"] {
        let full = read(file);
        // Offsets where a top-level part ends.
        let mut boundaries = vec![0];
        while let Some(&at) = boundaries.last().filter(|&&at| at + 4 <= full.len()) {
            boundaries.push(at + usize::from(u16::from_be_bytes([full[at + 2], full[at + 3]])));
        }
        for cut in 0..full.len() {
            let mut pkt = full[..cut].to_vec();
            let mut c = Collect::default();
            let mut sum = DecodeSummary::default();
            let r = decode(&mut pkt, SecurityLevel::None, Some(&db), &mut c, &mut sum);
            // A cut on a part boundary is a valid, shorter packet; anything
            // else is an error. Either way, fewer lists come out.
            if r.is_ok() {
                assert!(
                    boundaries.contains(&cut),
                    "{file} cut at {cut} mid-part decoded cleanly"
                );
            }
            assert!(c.vls.len() < 7, "{file} cut at {cut}");
        }
    }
}

#[test]
fn our_encoder_reproduces_collectds_plain_packets() {
    let exp = expected(SecurityLevel::None);
    let mut e = Encoder::new(1452);
    let ids: Vec<(String, String, String, String, String)> = exp
        .iter()
        .map(|v| {
            let (host, rest) = v.id.split_once('/').unwrap();
            let (pl, ty) = rest.split_once('/').unwrap();
            let (p, pi) = pl.split_once('-').unwrap_or((pl, ""));
            let (t, ti) = ty.split_once('-').unwrap_or((ty, ""));
            (host.into(), p.into(), pi.into(), t.into(), ti.into())
        })
        .collect();
    for (v, id) in exp.iter().zip(&ids) {
        e.add(&ValueListOut {
            host: id.0.as_bytes(),
            plugin: id.1.as_bytes(),
            plugin_instance: id.2.as_bytes(),
            type_: id.3.as_bytes(),
            type_instance: id.4.as_bytes(),
            time: v.time,
            interval: v.interval,
            values: &v.values,
        })
        .unwrap();
    }
    assert_eq!(e.packet(), read("none-0.bin").as_slice());

    let mut out = Vec::new();
    encode_notification(
        &mut out,
        &NotificationOut {
            severity: 2,
            time: t(1700000003),
            host: b"golden.example",
            plugin: b"app",
            plugin_instance: b"",
            type_: b"gauge",
            type_instance: b"",
            message: b"golden notification",
        },
        1452,
    )
    .unwrap();
    assert_eq!(out, read("none-1.bin"));
}
