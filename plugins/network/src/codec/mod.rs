//! The collectd binary network protocol, as pure functions over byte slices.
//!
//! Nothing here does I/O or allocates per value: the sockets and the daemon
//! glue live around it (`crate::plugin`), and the decoder is fuzzed.
//!
//! A packet is a sequence of parts `[type u16][length u16][payload]`, both
//! header fields big-endian, `length` including the 4-byte header.

pub mod crypto;
mod decode;
mod encode;
#[doc(hidden)]
pub mod fuzzing;

pub use decode::{decode, DecodeError, DecodeSummary, NotificationRef, Origin, Sink, ValueListRef};
pub use encode::{encode_notification, EncodeError, Encoder, NotificationOut, ValueListOut};

#[cfg(test)]
mod tests_roundtrip;

/// Part type: host name (string).
pub const TYPE_HOST: u16 = 0x0000;
/// Part type: time in whole seconds (number).
pub const TYPE_TIME: u16 = 0x0001;
/// Part type: plugin name (string).
pub const TYPE_PLUGIN: u16 = 0x0002;
/// Part type: plugin instance (string).
pub const TYPE_PLUGIN_INSTANCE: u16 = 0x0003;
/// Part type: type name (string).
pub const TYPE_TYPE: u16 = 0x0004;
/// Part type: type instance (string).
pub const TYPE_TYPE_INSTANCE: u16 = 0x0005;
/// Part type: the values of one value list.
pub const TYPE_VALUES: u16 = 0x0006;
/// Part type: interval in whole seconds (number).
pub const TYPE_INTERVAL: u16 = 0x0007;
/// Part type: time in cdtime units, 2^-30 s (number).
pub const TYPE_TIME_HR: u16 = 0x0008;
/// Part type: interval in cdtime units (number).
pub const TYPE_INTERVAL_HR: u16 = 0x0009;
/// Part type: notification message (string); completes a notification.
pub const TYPE_MESSAGE: u16 = 0x0100;
/// Part type: notification severity (number).
pub const TYPE_SEVERITY: u16 = 0x0101;
/// Part type: HMAC-SHA-256 signature over the rest of the packet.
pub const TYPE_SIGN_SHA256: u16 = 0x0200;
/// Part type: AES-256-OFB encrypted payload.
pub const TYPE_ENCR_AES256: u16 = 0x0210;

/// Size of a part header (type + length).
pub const PART_HEADER_SIZE: usize = 4;
/// Size of a number part (header + u64).
pub const PART_NUMBER_SIZE: usize = 12;
/// Fixed size of a signature part without the user name.
pub const PART_SIGNATURE_SIZE: usize = 36;
/// Fixed size of an encryption part without user name and payload.
pub const PART_ENCRYPTION_SIZE: usize = 42;
/// Longest string (including its NUL) collectd accepts in an identifier field.
pub const DATA_MAX_NAME_LEN: usize = 128;
/// Longest notification message (including its NUL), as collectd's `NOTIF_MAX_MSG_LEN`.
pub const NOTIF_MAX_MSG_LEN: usize = 256;
/// Longest user name a sender may use (collectd's send buffer reserves 64 bytes).
pub const MAX_USERNAME_LEN: usize = 64;
/// Default UDP port of the protocol.
pub const DEFAULT_PORT: u16 = 25826;
/// Default packet size: Ethernet MTU minus IPv6 and UDP headers.
pub const DEFAULT_PACKET_SIZE: usize = 1452;

/// Data source type code `COUNTER` on the wire (same as `DS_TYPE_COUNTER`).
pub const DS_COUNTER: u8 = 0;
/// Data source type code `GAUGE`.
pub const DS_GAUGE: u8 = 1;
/// Data source type code `DERIVE`.
pub const DS_DERIVE: u8 = 2;
/// Data source type code `ABSOLUTE`.
pub const DS_ABSOLUTE: u8 = 3;

/// One value of a value list, tagged with its data source type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Wrapping unsigned counter (big-endian on the wire).
    Counter(u64),
    /// Floating point gauge (little-endian IEEE 754 on the wire, as collectd).
    Gauge(f64),
    /// Signed counter (big-endian).
    Derive(i64),
    /// Counter reset on read (big-endian).
    Absolute(u64),
}

impl Value {
    /// The wire type code of this value.
    pub fn type_code(&self) -> u8 {
        match self {
            Value::Counter(_) => DS_COUNTER,
            Value::Gauge(_) => DS_GAUGE,
            Value::Derive(_) => DS_DERIVE,
            Value::Absolute(_) => DS_ABSOLUTE,
        }
    }

    /// The 8 wire bytes of this value.
    pub fn to_wire(&self) -> [u8; 8] {
        match *self {
            Value::Counter(v) | Value::Absolute(v) => v.to_be_bytes(),
            Value::Gauge(v) => v.to_le_bytes(),
            Value::Derive(v) => v.to_be_bytes(),
        }
    }

    /// Decodes 8 wire bytes of the given type code; `None` for an unknown code.
    pub fn from_wire(code: u8, b: [u8; 8]) -> Option<Value> {
        Some(match code {
            DS_COUNTER => Value::Counter(u64::from_be_bytes(b)),
            DS_GAUGE => Value::Gauge(f64::from_le_bytes(b)),
            DS_DERIVE => Value::Derive(i64::from_be_bytes(b)),
            DS_ABSOLUTE => Value::Absolute(u64::from_be_bytes(b)),
            _ => return None,
        })
    }
}

/// Minimum protection a receiver demands, or a sender applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum SecurityLevel {
    /// Plain text.
    #[default]
    None,
    /// HMAC-SHA-256 signed.
    Sign,
    /// AES-256-OFB encrypted (implies integrity through the SHA-1 checksum).
    Encrypt,
}

impl SecurityLevel {
    /// Parses collectd's spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<SecurityLevel> {
        if s.eq_ignore_ascii_case("none") {
            Some(SecurityLevel::None)
        } else if s.eq_ignore_ascii_case("sign") {
            Some(SecurityLevel::Sign)
        } else if s.eq_ignore_ascii_case("encrypt") {
            Some(SecurityLevel::Encrypt)
        } else {
            None
        }
    }
}

/// Converts whole seconds to cdtime (2^-30 s units), saturating.
pub fn seconds_to_cdtime(s: u64) -> u64 {
    s.saturating_mul(1 << 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_wire_byte_order_matches_collectd() {
        assert_eq!(Value::Counter(1).to_wire(), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(Value::Derive(-1).to_wire(), [0xff; 8]);
        assert_eq!(Value::Absolute(0x0102).to_wire(), [0, 0, 0, 0, 0, 0, 1, 2]);
        // 1.0 little-endian: 00 00 00 00 00 00 f0 3f
        assert_eq!(Value::Gauge(1.0).to_wire(), [0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        for v in [
            Value::Counter(7),
            Value::Gauge(-2.5),
            Value::Derive(-9),
            Value::Absolute(3),
        ] {
            assert_eq!(Value::from_wire(v.type_code(), v.to_wire()), Some(v));
        }
        assert_eq!(Value::from_wire(4, [0; 8]), None);
    }

    #[test]
    fn security_level_parse() {
        assert_eq!(
            SecurityLevel::parse("EnCrYpt"),
            Some(SecurityLevel::Encrypt)
        );
        assert_eq!(SecurityLevel::parse("sign"), Some(SecurityLevel::Sign));
        assert_eq!(SecurityLevel::parse("None"), Some(SecurityLevel::None));
        assert_eq!(SecurityLevel::parse("tls"), None);
        assert!(SecurityLevel::Encrypt > SecurityLevel::Sign);
    }
}
