//! Encode -> decode round trips and malformed-input tests of the codec.

use super::crypto::{self, Credentials, UserKey};
use super::*;

/// An owned copy of a decoded value list, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnedVl {
    pub host: String,
    pub plugin: String,
    pub plugin_instance: String,
    pub type_: String,
    pub type_instance: String,
    pub time: u64,
    pub interval: u64,
    pub values: Vec<Value>,
    pub level: SecurityLevel,
    pub user: Option<String>,
}

#[derive(Default)]
pub(crate) struct Collect {
    pub vls: Vec<OwnedVl>,
    pub notifs: Vec<(i32, u64, String, String)>,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Sink for Collect {
    fn value_list(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>) {
        self.vls.push(OwnedVl {
            host: s(vl.host),
            plugin: s(vl.plugin),
            plugin_instance: s(vl.plugin_instance),
            type_: s(vl.type_),
            type_instance: s(vl.type_instance),
            time: vl.time,
            interval: vl.interval,
            values: vl.values().collect(),
            level: origin.level,
            user: origin.username.map(s),
        });
    }
    fn notification(&mut self, n: &NotificationRef<'_>, _origin: &Origin<'_>) {
        self.notifs
            .push((n.severity, n.time, s(n.host), s(n.message)));
    }
}

pub(crate) struct Users(pub Vec<(Vec<u8>, UserKey)>);

impl Credentials for Users {
    fn key(&self, user: &[u8]) -> Option<&UserKey> {
        self.0.iter().find(|(u, _)| u == user).map(|(_, k)| k)
    }
}

fn vl<'a>(plugin: &'a [u8], ti: &'a [u8], time: u64, values: &'a [Value]) -> ValueListOut<'a> {
    ValueListOut {
        host: b"host.example",
        plugin,
        plugin_instance: b"",
        type_: b"gauge",
        type_instance: ti,
        time,
        interval: 10 << 30,
        values,
    }
}

fn run(
    packet: &mut [u8],
    level: SecurityLevel,
    creds: Option<&dyn Credentials>,
) -> (Collect, DecodeSummary, Result<(), DecodeError>) {
    let mut c = Collect::default();
    let mut sum = DecodeSummary::default();
    let r = decode(packet, level, creds, &mut c, &mut sum);
    (c, sum, r)
}

#[test]
fn roundtrip_all_types_and_header_compression() {
    let v1 = [Value::Gauge(1.5)];
    let v2 = [
        Value::Counter(u64::MAX),
        Value::Derive(-5),
        Value::Absolute(9),
        Value::Gauge(f64::INFINITY),
    ];
    let mut e = Encoder::new(1452);
    e.add(&vl(b"cpu", b"a", 100 << 30, &v1)).unwrap();
    let after_first = e.len();
    e.add(&vl(b"cpu", b"b", 100 << 30, &v2)).unwrap();
    // Only type_instance + values were added for the second list.
    assert_eq!(e.len() - after_first, (4 + 2) + (4 + 2 + 4 * 9));
    e.add(&vl(b"mem", b"", 101 << 30, &v1)).unwrap();
    let mut pkt = e.packet().to_vec();
    let (c, sum, r) = run(&mut pkt, SecurityLevel::None, None);
    r.unwrap();
    assert_eq!(sum.value_lists, 3);
    assert_eq!(c.vls.len(), 3);
    assert_eq!(c.vls[0].plugin, "cpu");
    assert_eq!(c.vls[0].type_instance, "a");
    assert_eq!(c.vls[0].values, v1);
    assert_eq!(c.vls[1].type_instance, "b");
    assert_eq!(c.vls[1].values, v2);
    assert_eq!(c.vls[2].plugin, "mem");
    assert_eq!(c.vls[2].type_instance, "");
    assert_eq!(c.vls[2].time, 101 << 30);
    assert_eq!(c.vls[2].interval, 10 << 30);
    assert_eq!(c.vls[2].level, SecurityLevel::None);
}

#[test]
fn encoder_fills_up_to_capacity_then_reports_full() {
    let v = [Value::Gauge(0.0)];
    let mut e = Encoder::new(1024);
    let mut n = 0;
    let mut names = Vec::new();
    for i in 0..1000 {
        names.push(format!("inst{i}"));
    }
    let err = loop {
        match e.add(&vl(b"p", names[n].as_bytes(), 1 << 30, &v)) {
            Ok(()) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 1000);
    };
    assert_eq!(err, EncodeError::Full);
    assert!(e.len() <= 1024);
    // Next one (type_instance ~10 bytes + 19 values bytes) would not fit.
    assert!(e.len() + 4 + names[n].len() + 1 + 15 > 1024);
    let mut pkt = e.packet().to_vec();
    let (c, _, r) = run(&mut pkt, SecurityLevel::None, None);
    r.unwrap();
    assert_eq!(c.vls.len(), n);
    e.reset();
    assert!(e.is_empty());
    e.add(&vl(b"p", names[n].as_bytes(), 1 << 30, &v)).unwrap();
}

#[test]
fn encoder_rejects_bad_input() {
    let mut e = Encoder::new(1024);
    assert_eq!(
        e.add(&vl(b"p", b"", 1, &[])),
        Err(EncodeError::BadValueCount)
    );
    let long = [b'x'; 128];
    assert_eq!(
        e.add(&vl(&long, b"", 1, &[Value::Gauge(1.0)])),
        Err(EncodeError::BadString)
    );
    let many = vec![Value::Gauge(1.0); 200];
    assert_eq!(e.add(&vl(b"p", b"", 1, &many)), Err(EncodeError::TooLarge));
    assert!(e.is_empty());
}

#[test]
fn notification_roundtrip() {
    let mut out = Vec::new();
    let n = NotificationOut {
        severity: 2,
        time: 5 << 30,
        host: b"h",
        plugin: b"p",
        plugin_instance: b"",
        type_: b"t",
        type_instance: b"",
        message: b"disk almost full",
    };
    encode_notification(&mut out, &n, 1452).unwrap();
    let (c, sum, r) = run(&mut out, SecurityLevel::None, None);
    r.unwrap();
    assert_eq!(sum.notifications, 1);
    assert_eq!(
        c.notifs,
        vec![(2, 5 << 30, "h".to_string(), "disk almost full".to_string())]
    );
    // Severity 3 is not a valid collectd severity: dropped, counted.
    let bad = NotificationOut { severity: 3, ..n };
    encode_notification(&mut out, &bad, 1452).unwrap();
    let (c, sum, r) = run(&mut out, SecurityLevel::None, None);
    r.unwrap();
    assert!(c.notifs.is_empty());
    assert_eq!(sum.incomplete_notifications, 1);
}

fn users() -> Users {
    Users(vec![(b"alice".to_vec(), UserKey::new(b"wonderland"))])
}

fn sample_packet() -> Vec<u8> {
    let mut e = Encoder::new(1452);
    e.add(&vl(b"cpu", b"x", 7 << 30, &[Value::Derive(42)]))
        .unwrap();
    e.add(&vl(b"cpu", b"y", 7 << 30, &[Value::Gauge(2.0)]))
        .unwrap();
    e.packet().to_vec()
}

#[test]
fn signed_roundtrip_and_levels() {
    let key = UserKey::new(b"wonderland");
    let mut out = Vec::new();
    crypto::sign_into(&mut out, b"alice", &key, &sample_packet()).unwrap();
    let u = users();
    for level in [SecurityLevel::None, SecurityLevel::Sign] {
        let mut p = out.clone();
        let (c, _, r) = run(&mut p, level, Some(&u));
        r.unwrap();
        assert_eq!(c.vls.len(), 2, "level {level:?}");
        assert_eq!(c.vls[0].level, SecurityLevel::Sign);
        assert_eq!(c.vls[0].user.as_deref(), Some("alice"));
        assert_eq!(c.vls[0].values, [Value::Derive(42)]);
    }
    // An Encrypt receiver ignores signed-only data and counts it.
    let mut p = out.clone();
    let (c, sum, r) = run(&mut p, SecurityLevel::Encrypt, Some(&u));
    r.unwrap();
    assert!(c.vls.is_empty());
    assert_eq!(sum.insecure_value_lists, 2);
    // Wrong password.
    let mut bad = Vec::new();
    crypto::sign_into(
        &mut bad,
        b"alice",
        &UserKey::new(b"wrong"),
        &sample_packet(),
    )
    .unwrap();
    let (c, _, r) = run(&mut bad, SecurityLevel::Sign, Some(&u));
    assert_eq!(r, Err(DecodeError::SignatureMismatch));
    assert!(c.vls.is_empty());
    // Unknown user.
    crypto::sign_into(&mut bad, b"mallory", &key, &sample_packet()).unwrap();
    assert_eq!(
        run(&mut bad, SecurityLevel::Sign, Some(&u)).2,
        Err(DecodeError::UnknownUser)
    );
    // Tampered payload byte.
    let mut t = out.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    assert_eq!(
        run(&mut t, SecurityLevel::Sign, Some(&u)).2,
        Err(DecodeError::SignatureMismatch)
    );
    // Without a user database a None receiver accepts it unverified, as collectd.
    let mut p = out.clone();
    let (c, _, r) = run(&mut p, SecurityLevel::None, None);
    r.unwrap();
    assert_eq!(c.vls.len(), 2);
    assert_eq!(c.vls[0].level, SecurityLevel::None);
}

#[test]
fn encrypted_roundtrip_and_levels() {
    let key = UserKey::new(b"wonderland");
    let mut out = Vec::new();
    crypto::encrypt_into(&mut out, b"alice", &key, &sample_packet()).unwrap();
    let u = users();
    for level in [
        SecurityLevel::None,
        SecurityLevel::Sign,
        SecurityLevel::Encrypt,
    ] {
        let mut p = out.clone();
        let (c, _, r) = run(&mut p, level, Some(&u));
        r.unwrap();
        assert_eq!(c.vls.len(), 2, "level {level:?}");
        assert_eq!(c.vls[1].level, SecurityLevel::Encrypt);
        assert_eq!(c.vls[1].values, [Value::Gauge(2.0)]);
    }
    let mut bad = Vec::new();
    crypto::encrypt_into(
        &mut bad,
        b"alice",
        &UserKey::new(b"wrong"),
        &sample_packet(),
    )
    .unwrap();
    let (c, _, r) = run(&mut bad, SecurityLevel::Encrypt, Some(&u));
    assert_eq!(r, Err(DecodeError::ChecksumMismatch));
    assert!(c.vls.is_empty());
    let mut p = out.clone();
    assert_eq!(
        run(&mut p, SecurityLevel::Encrypt, None).2,
        Err(DecodeError::NoCredentials)
    );
    crypto::encrypt_into(&mut bad, b"eve", &key, &sample_packet()).unwrap();
    assert_eq!(
        run(&mut bad, SecurityLevel::Encrypt, Some(&u)).2,
        Err(DecodeError::UnknownUser)
    );
}

#[test]
fn plain_data_below_level_is_counted_not_delivered() {
    let u = users();
    for level in [SecurityLevel::Sign, SecurityLevel::Encrypt] {
        let mut p = sample_packet();
        let (c, sum, r) = run(&mut p, level, Some(&u));
        r.unwrap();
        assert!(c.vls.is_empty());
        assert_eq!(sum.insecure_value_lists, 2);
    }
}

#[test]
fn malformed_inputs_yield_reasons() {
    let good = sample_packet();
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        // Truncated in the middle of the last part.
        (
            good[..good.len() - 3].to_vec(),
            DecodeError::PartExceedsPacket {
                part_type: TYPE_VALUES,
                length: 15,
                remaining: 12,
            },
        ),
        // A few stray bytes.
        (vec![0, 0, 0], DecodeError::TrailingBytes(3)),
        // Length smaller than the header.
        (
            vec![0, 0, 0, 2, 0, 0],
            DecodeError::PartTooShort {
                part_type: 0,
                length: 2,
            },
        ),
        // Host string without NUL.
        (
            vec![0, 0, 0, 6, b'a', b'b'],
            DecodeError::StringNotTerminated(TYPE_HOST),
        ),
        // Empty string part.
        (
            vec![0, 2, 0, 4, 0, 0, 0, 0],
            DecodeError::PartTooShort {
                part_type: TYPE_PLUGIN,
                length: 4,
            },
        ),
        // Time part of 10 bytes.
        (
            vec![0, 8, 0, 10, 0, 0, 0, 0, 0, 1],
            DecodeError::BadNumberLength(10),
        ),
        // Values: count 2 but room for 1.
        (
            [&[0u8, 6, 0, 15, 0, 2, 1][..], &[0u8; 8][..]].concat(),
            DecodeError::ValuesLengthMismatch {
                count: 2,
                length: 15,
            },
        ),
        // Values: unknown DS type 9.
        (
            [&[0u8, 6, 0, 15, 0, 1, 9][..], &[0u8; 8][..]].concat(),
            DecodeError::UnknownDsType(9),
        ),
        // Values: zero count.
        (vec![0, 6, 0, 6, 0, 0], DecodeError::NoValues),
        // Signature part too short.
        (
            [&[2u8, 0, 0, 36][..], &[0u8; 40][..]].concat(),
            DecodeError::BadSignaturePart,
        ),
        // Encryption part with username length larger than the part.
        (
            [&[2u8, 0x10, 0, 60, 0, 200][..], &[0u8; 56][..]].concat(),
            DecodeError::BadEncryptionPart,
        ),
    ];
    let u = users();
    for (mut pkt, want) in cases {
        let (_, _, r) = run(&mut pkt, SecurityLevel::None, Some(&u));
        assert_eq!(r, Err(want), "packet {pkt:?}");
    }
    // A string longer than 127 characters.
    let mut p = vec![0u8, 0, 0, 4 + 129];
    p.extend_from_slice(&[b'a'; 128]);
    p.push(0);
    assert_eq!(
        run(&mut p, SecurityLevel::None, None).2,
        Err(DecodeError::StringTooLong(TYPE_HOST))
    );
}

#[test]
fn values_before_an_error_stay_delivered_and_missing_identity_is_counted() {
    let mut p = sample_packet();
    p.extend_from_slice(&[0, 0, 0, 5]); // host part without NUL after two good lists
    p.push(b'x');
    let (c, _, r) = run(&mut p, SecurityLevel::None, None);
    assert_eq!(r, Err(DecodeError::StringNotTerminated(TYPE_HOST)));
    assert_eq!(c.vls.len(), 2);
    // A values part with no host/plugin/type/time before it.
    let mut v = [&[0u8, 6, 0, 15, 0, 1, 1][..], &[0u8; 8][..]].concat();
    let (c, sum, r) = run(&mut v, SecurityLevel::None, None);
    r.unwrap();
    assert!(c.vls.is_empty());
    assert_eq!(sum.incomplete_value_lists, 1);
}

#[test]
fn unknown_parts_are_skipped_and_seconds_parts_converted() {
    let mut p = Vec::new();
    p.extend_from_slice(&[0x77, 0x77, 0, 6, 1, 2]);
    p.extend_from_slice(&[0, 0, 0, 6, b'h', 0]);
    p.extend_from_slice(&[0, 1, 0, 12, 0, 0, 0, 0, 0, 0, 0, 3]);
    p.extend_from_slice(&[0, 7, 0, 12, 0, 0, 0, 0, 0, 0, 0, 10]);
    p.extend_from_slice(&[0, 2, 0, 6, b'p', 0]);
    p.extend_from_slice(&[0, 4, 0, 6, b't', 0]);
    p.extend_from_slice(&[0, 6, 0, 15, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
    let (c, sum, r) = run(&mut p, SecurityLevel::None, None);
    r.unwrap();
    assert_eq!(sum.unknown_parts, 1);
    assert_eq!(c.vls[0].time, 3 << 30);
    assert_eq!(c.vls[0].interval, 10 << 30);
    assert_eq!(c.vls[0].values, [Value::Counter(9)]);
}

#[test]
fn nesting_depth_is_bounded() {
    let key = UserKey::new(b"wonderland");
    let mut p = sample_packet();
    let mut out = Vec::new();
    for _ in 0..8 {
        crypto::encrypt_into(&mut out, b"alice", &key, &p).unwrap();
        p = out.clone();
    }
    let u = users();
    assert_eq!(
        run(&mut p, SecurityLevel::None, Some(&u)).2,
        Err(DecodeError::NestingTooDeep)
    );
}
