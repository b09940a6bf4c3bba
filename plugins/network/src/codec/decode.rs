//! Packet decoder: validates every length before reading, decrypts in place,
//! and hands value lists and notifications to a [`Sink`] as borrowed views
//! into the packet (no allocation).
//!
//! Semantics follow collectd 5's `parse_packet`: state (identifier, time,
//! interval, severity) carries over from part to part and starts empty in
//! every packet and in every signed or encrypted sub-packet; unknown part
//! types are skipped; the first malformed part stops decoding and is
//! reported, while what was decoded before it stays delivered.

use super::crypto::{self, Credentials, CHECKSUM_LEN, IV_LEN, MAC_LEN};
use super::*;

/// Maximum nesting of signed/encrypted parts inside each other.
const MAX_DEPTH: u8 = 4;

/// Why a packet (or the rest of it) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A part header claims fewer bytes than its type needs.
    PartTooShort {
        /// Part type.
        part_type: u16,
        /// Claimed length.
        length: u16,
    },
    /// A part header claims more bytes than the packet has left.
    PartExceedsPacket {
        /// Part type.
        part_type: u16,
        /// Claimed length.
        length: u16,
        /// Bytes left in the packet.
        remaining: usize,
    },
    /// 1 to 4 bytes follow the last part: too short for a part header.
    TrailingBytes(usize),
    /// A number part (time, interval, severity) is not exactly 12 bytes.
    BadNumberLength(u16),
    /// A string part does not end with a NUL byte.
    StringNotTerminated(u16),
    /// A string part is longer than the field it fills.
    StringTooLong(u16),
    /// A values part's length does not match its value count.
    ValuesLengthMismatch {
        /// Declared number of values.
        count: u16,
        /// Part length.
        length: u16,
    },
    /// A values part with zero values.
    NoValues,
    /// A values part holds a data source type code other than 0..=3.
    UnknownDsType(u8),
    /// A signature part is too short or too long.
    BadSignaturePart,
    /// An encryption part's length or user name length is invalid.
    BadEncryptionPart,
    /// A signed or encrypted part names a user the receiver does not know.
    UnknownUser,
    /// The receiver has no credentials (AuthFile) to decrypt with.
    NoCredentials,
    /// The HMAC does not match: wrong password or tampered packet.
    SignatureMismatch,
    /// The SHA-1 checksum after decryption does not match: wrong password or
    /// tampered packet.
    ChecksumMismatch,
    /// Signed/encrypted parts nested deeper than collectd ever produces.
    NestingTooDeep,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use DecodeError::*;
        match *self {
            PartTooShort { part_type, length } => {
                write!(f, "part 0x{part_type:04x} claims length {length}, too short")
            }
            PartExceedsPacket { part_type, length, remaining } => write!(
                f,
                "part 0x{part_type:04x} claims length {length} but only {remaining} bytes are left (truncated packet? increase MaxPacketSize)"
            ),
            TrailingBytes(n) => write!(f, "{n} trailing bytes after the last part"),
            BadNumberLength(l) => write!(f, "number part of length {l}, expected 12"),
            StringNotTerminated(t) => write!(f, "string part 0x{t:04x} is not NUL-terminated"),
            StringTooLong(t) => write!(f, "string part 0x{t:04x} is too long"),
            ValuesLengthMismatch { count, length } => {
                write!(f, "values part of length {length} cannot hold {count} values")
            }
            NoValues => write!(f, "values part with zero values"),
            UnknownDsType(t) => write!(f, "unknown data source type {t}"),
            BadSignaturePart => write!(f, "malformed signature part"),
            BadEncryptionPart => write!(f, "malformed encryption part"),
            UnknownUser => write!(f, "unknown user"),
            NoCredentials => write!(f, "encrypted packet but no AuthFile configured"),
            SignatureMismatch => write!(f, "HMAC-SHA-256 signature mismatch (wrong password?)"),
            ChecksumMismatch => write!(f, "checksum mismatch after decryption (wrong password?)"),
            NestingTooDeep => write!(f, "signed/encrypted parts nested too deeply"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// How a decoded item reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// Highest protection the item was under.
    pub level: SecurityLevel,
    /// User named in the signature or encryption part, if any.
    pub username: Option<&'a [u8]>,
}

/// A decoded value list, borrowing from the packet.
#[derive(Debug, Clone, Copy)]
pub struct ValueListRef<'a> {
    /// Host name (no NUL).
    pub host: &'a [u8],
    /// Plugin name.
    pub plugin: &'a [u8],
    /// Plugin instance (may be empty).
    pub plugin_instance: &'a [u8],
    /// Type name (a types.db entry).
    pub type_: &'a [u8],
    /// Type instance (may be empty).
    pub type_instance: &'a [u8],
    /// Time in cdtime units.
    pub time: u64,
    /// Interval in cdtime units (0 if the sender sent none).
    pub interval: u64,
    types: &'a [u8],
    data: &'a [u8],
}

impl<'a> ValueListRef<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether there are no values (never true for a decoded list).
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// The values, in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = Value> + 'a {
        let data = self.data;
        self.types.iter().enumerate().map(move |(i, &code)| {
            let mut b = [0u8; 8];
            if let Some(src) = data.get(i * 8..i * 8 + 8) {
                b.copy_from_slice(src);
            }
            // Codes were validated when the part was decoded.
            Value::from_wire(code, b).unwrap_or(Value::Gauge(f64::NAN))
        })
    }

    /// The wire type codes of the values.
    pub fn type_codes(&self) -> &'a [u8] {
        self.types
    }
}

/// A decoded notification, borrowing from the packet.
#[derive(Debug, Clone, Copy)]
pub struct NotificationRef<'a> {
    /// 1 failure, 2 warning, 4 okay (collectd's `NOTIF_*`).
    pub severity: i32,
    /// Time in cdtime units.
    pub time: u64,
    /// Host name.
    pub host: &'a [u8],
    /// Plugin name.
    pub plugin: &'a [u8],
    /// Plugin instance.
    pub plugin_instance: &'a [u8],
    /// Type.
    pub type_: &'a [u8],
    /// Type instance.
    pub type_instance: &'a [u8],
    /// Message text (no NUL).
    pub message: &'a [u8],
}

/// Receives what the decoder finds.
pub trait Sink {
    /// Called once per accepted value list.
    fn value_list(&mut self, vl: &ValueListRef<'_>, origin: &Origin<'_>);
    /// Called once per accepted notification.
    fn notification(&mut self, n: &NotificationRef<'_>, origin: &Origin<'_>);
}

/// Counters of one [`decode`] call (added to, never reset by the decoder).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecodeSummary {
    /// Value lists handed to the sink.
    pub value_lists: u64,
    /// Notifications handed to the sink.
    pub notifications: u64,
    /// Value lists dropped because they were below the receiver's security level.
    pub insecure_value_lists: u64,
    /// Notifications dropped because they were below the receiver's security level.
    pub insecure_notifications: u64,
    /// Value lists dropped because time, host, plugin or type was missing.
    pub incomplete_value_lists: u64,
    /// Notifications dropped for a bad severity, zero time or empty message.
    pub incomplete_notifications: u64,
    /// Parts of unknown type that were skipped.
    pub unknown_parts: u64,
}

/// Decodes one datagram.
///
/// `level` is the receiver's minimum security level; `creds` its user
/// database (collectd's `AuthFile`), if any. The packet is modified in place
/// when encrypted parts are decrypted.
pub fn decode<S: Sink>(
    packet: &mut [u8],
    level: SecurityLevel,
    creds: Option<&dyn Credentials>,
    sink: &mut S,
    summary: &mut DecodeSummary,
) -> Result<(), DecodeError> {
    let mut ctx = Ctx {
        level,
        creds,
        sink,
        summary,
    };
    ctx.parse(packet, 0, SecurityLevel::None, None)
}

struct Ctx<'s, S> {
    level: SecurityLevel,
    creds: Option<&'s dyn Credentials>,
    sink: &'s mut S,
    summary: &'s mut DecodeSummary,
}

#[derive(Default)]
struct State<'a> {
    host: &'a [u8],
    plugin: &'a [u8],
    plugin_instance: &'a [u8],
    type_: &'a [u8],
    type_instance: &'a [u8],
    time: u64,
    interval: u64,
    severity: i64,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Reads a number part (exactly 12 bytes).
fn number(part: &[u8]) -> Result<u64, DecodeError> {
    match part.get(4..12) {
        Some(b) if part.len() == PART_NUMBER_SIZE => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(u64::from_be_bytes(a))
        }
        _ => Err(DecodeError::BadNumberLength(part.len() as u16)),
    }
}

/// Reads a string part: payload must be non-empty, NUL-terminated and fit
/// `max` bytes including the NUL. Like C, the string ends at the first NUL.
fn string(part: &[u8], part_type: u16, max: usize) -> Result<&[u8], DecodeError> {
    let payload = &part[PART_HEADER_SIZE.min(part.len())..];
    if payload.is_empty() {
        return Err(DecodeError::PartTooShort {
            part_type,
            length: part.len() as u16,
        });
    }
    if payload.len() > max {
        return Err(DecodeError::StringTooLong(part_type));
    }
    if payload.last() != Some(&0) {
        return Err(DecodeError::StringNotTerminated(part_type));
    }
    let end = payload
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(payload.len());
    Ok(&payload[..end])
}

impl<S: Sink> Ctx<'_, S> {
    fn parse<'a>(
        &mut self,
        mut buf: &'a mut [u8],
        depth: u8,
        protection: SecurityLevel,
        username: Option<&'a [u8]>,
    ) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::NestingTooDeep);
        }
        let origin = Origin {
            level: protection,
            username,
        };
        let mut st = State::default();
        while !buf.is_empty() {
            let remaining = buf.len();
            if remaining <= PART_HEADER_SIZE {
                return Err(DecodeError::TrailingBytes(remaining));
            }
            let part_type = be16(buf, 0);
            let length = be16(buf, 2);
            let len = usize::from(length);
            if len < PART_HEADER_SIZE {
                return Err(DecodeError::PartTooShort { part_type, length });
            }
            if len > remaining {
                return Err(DecodeError::PartExceedsPacket {
                    part_type,
                    length,
                    remaining,
                });
            }

            if part_type == TYPE_ENCR_AES256 {
                let (part, rest) = std::mem::take(&mut buf).split_at_mut(len);
                buf = rest;
                self.encrypted(part, depth, username)?;
                continue;
            }
            if self.level == SecurityLevel::Encrypt && protection < SecurityLevel::Encrypt {
                self.count_insecure(part_type);
                buf = &mut std::mem::take(&mut buf)[len..];
                continue;
            }
            if part_type == TYPE_SIGN_SHA256 {
                return self.signed(buf, len, depth, protection, username);
            }
            if self.level == SecurityLevel::Sign && protection < SecurityLevel::Sign {
                self.count_insecure(part_type);
                buf = &mut std::mem::take(&mut buf)[len..];
                continue;
            }

            let (part, rest) = std::mem::take(&mut buf).split_at_mut(len);
            buf = rest;
            let part: &'a [u8] = part;
            match part_type {
                TYPE_VALUES => self.values(part, &st, &origin)?,
                TYPE_TIME => {
                    st.time = seconds_to_cdtime(number(part)?);
                }
                TYPE_TIME_HR => st.time = number(part)?,
                TYPE_INTERVAL => st.interval = seconds_to_cdtime(number(part)?),
                TYPE_INTERVAL_HR => st.interval = number(part)?,
                TYPE_SEVERITY => st.severity = number(part)? as i64,
                TYPE_HOST => st.host = string(part, part_type, DATA_MAX_NAME_LEN)?,
                TYPE_PLUGIN => st.plugin = string(part, part_type, DATA_MAX_NAME_LEN)?,
                TYPE_PLUGIN_INSTANCE => {
                    st.plugin_instance = string(part, part_type, DATA_MAX_NAME_LEN)?
                }
                TYPE_TYPE => st.type_ = string(part, part_type, DATA_MAX_NAME_LEN)?,
                TYPE_TYPE_INSTANCE => {
                    st.type_instance = string(part, part_type, DATA_MAX_NAME_LEN)?
                }
                TYPE_MESSAGE => {
                    let message = string(part, part_type, NOTIF_MAX_MSG_LEN)?;
                    // collectd stores the severity as a C int.
                    let severity = st.severity as i32;
                    if !matches!(severity, 1 | 2 | 4) || st.time == 0 || message.is_empty() {
                        self.summary.incomplete_notifications += 1;
                    } else {
                        let n = NotificationRef {
                            severity,
                            time: st.time,
                            host: st.host,
                            plugin: st.plugin,
                            plugin_instance: st.plugin_instance,
                            type_: st.type_,
                            type_instance: st.type_instance,
                            message,
                        };
                        self.summary.notifications += 1;
                        self.sink.notification(&n, &origin);
                    }
                }
                _ => self.summary.unknown_parts += 1,
            }
        }
        Ok(())
    }

    fn count_insecure(&mut self, part_type: u16) {
        match part_type {
            TYPE_VALUES => self.summary.insecure_value_lists += 1,
            TYPE_MESSAGE => self.summary.insecure_notifications += 1,
            _ => {}
        }
    }

    fn values<'a>(
        &mut self,
        part: &'a [u8],
        st: &State<'a>,
        origin: &Origin<'_>,
    ) -> Result<(), DecodeError> {
        let length = part.len() as u16;
        if part.len() < 6 {
            return Err(DecodeError::PartTooShort {
                part_type: TYPE_VALUES,
                length,
            });
        }
        let count = be16(part, 4);
        let n = usize::from(count);
        if n == 0 {
            return Err(DecodeError::NoValues);
        }
        if 6 + 9 * n != part.len() {
            return Err(DecodeError::ValuesLengthMismatch { count, length });
        }
        let types = &part[6..6 + n];
        if let Some(&bad) = types.iter().find(|&&t| t > DS_ABSOLUTE) {
            return Err(DecodeError::UnknownDsType(bad));
        }
        if st.time == 0 || st.host.is_empty() || st.plugin.is_empty() || st.type_.is_empty() {
            self.summary.incomplete_value_lists += 1;
            return Ok(());
        }
        let vl = ValueListRef {
            host: st.host,
            plugin: st.plugin,
            plugin_instance: st.plugin_instance,
            type_: st.type_,
            type_instance: st.type_instance,
            time: st.time,
            interval: st.interval,
            types,
            data: &part[6 + n..],
        };
        self.summary.value_lists += 1;
        self.sink.value_list(&vl, origin);
        Ok(())
    }

    /// A signature part covers everything after it; `buf` starts at the part.
    fn signed<'a>(
        &mut self,
        buf: &'a mut [u8],
        len: usize,
        depth: u8,
        protection: SecurityLevel,
        username: Option<&'a [u8]>,
    ) -> Result<(), DecodeError> {
        if len <= PART_SIGNATURE_SIZE {
            return Err(DecodeError::BadSignaturePart);
        }
        let Some(creds) = self.creds else {
            // As collectd: without a user database the signature cannot be
            // checked; the rest is parsed at the current protection level.
            let rest = &mut buf[len..];
            return self.parse(rest, depth + 1, protection, username);
        };
        let (head, rest) = buf.split_at_mut(len);
        let head: &'a [u8] = head;
        let tag = &head[4..4 + MAC_LEN];
        let user = &head[PART_SIGNATURE_SIZE..];
        let key = creds.key(user).ok_or(DecodeError::UnknownUser)?;
        if !crypto::verify_signature_parts(key, tag, user, rest) {
            return Err(DecodeError::SignatureMismatch);
        }
        self.parse(
            rest,
            depth + 1,
            protection.max(SecurityLevel::Sign),
            Some(user),
        )
    }

    fn encrypted<'a>(
        &mut self,
        part: &'a mut [u8],
        depth: u8,
        _outer_user: Option<&'a [u8]>,
    ) -> Result<(), DecodeError> {
        let len = part.len();
        if len <= PART_ENCRYPTION_SIZE {
            return Err(DecodeError::BadEncryptionPart);
        }
        let ulen = usize::from(be16(part, 4));
        if ulen == 0 || ulen > len - (PART_ENCRYPTION_SIZE + 1) {
            return Err(DecodeError::BadEncryptionPart);
        }
        let (head, body) = part.split_at_mut(6 + ulen + IV_LEN);
        let head: &'a [u8] = head;
        let user = &head[6..6 + ulen];
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&head[6 + ulen..]);
        let creds = self.creds.ok_or(DecodeError::NoCredentials)?;
        let key = creds.key(user).ok_or(DecodeError::UnknownUser)?;
        crypto::apply_keystream(key, &iv, body);
        let (checksum, payload) = body.split_at_mut(CHECKSUM_LEN);
        if !crypto::checksum_matches(checksum, payload) {
            return Err(DecodeError::ChecksumMismatch);
        }
        self.parse(payload, depth + 1, SecurityLevel::Encrypt, Some(user))
    }
}
