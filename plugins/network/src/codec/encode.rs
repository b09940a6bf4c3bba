//! Packet encoder: appends value lists to a fixed-capacity buffer, writing
//! identifier/time/interval parts only when they differ from the previous
//! value list of the same packet (collectd's `add_to_buffer` order: host,
//! time_hr, interval_hr, plugin, plugin_instance, type, type_instance, values).

use super::*;

/// A value list to encode.
#[derive(Debug, Clone, Copy)]
pub struct ValueListOut<'a> {
    /// Host name (no NUL).
    pub host: &'a [u8],
    /// Plugin name.
    pub plugin: &'a [u8],
    /// Plugin instance (may be empty).
    pub plugin_instance: &'a [u8],
    /// Type name.
    pub type_: &'a [u8],
    /// Type instance (may be empty).
    pub type_instance: &'a [u8],
    /// Time in cdtime units.
    pub time: u64,
    /// Interval in cdtime units.
    pub interval: u64,
    /// The values, typed by their data source.
    pub values: &'a [Value],
}

/// A notification to encode.
#[derive(Debug, Clone, Copy)]
pub struct NotificationOut<'a> {
    /// 1 failure, 2 warning, 4 okay.
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
    /// Message text.
    pub message: &'a [u8],
}

/// Why a value list could not be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// It does not fit in what is left of the packet: send it, then retry.
    Full,
    /// It would not fit even in an empty packet.
    TooLarge,
    /// An identifier field is 128 bytes or longer, or contains a NUL.
    BadString,
    /// No values, or more than fit a values part.
    BadValueCount,
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Full => write!(f, "packet full"),
            EncodeError::TooLarge => write!(f, "value list larger than MaxPacketSize"),
            EncodeError::BadString => write!(f, "identifier field too long or containing NUL"),
            EncodeError::BadValueCount => write!(f, "value list has no values or too many"),
        }
    }
}

impl std::error::Error for EncodeError {}

#[derive(Clone, Copy)]
struct Field {
    len: u8,
    bytes: [u8; DATA_MAX_NAME_LEN],
}

impl Field {
    const EMPTY: Field = Field {
        len: 0,
        bytes: [0; DATA_MAX_NAME_LEN],
    };

    fn get(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    fn set(&mut self, s: &[u8]) {
        let n = s.len().min(DATA_MAX_NAME_LEN - 1);
        self.bytes[..n].copy_from_slice(&s[..n]);
        self.len = n as u8;
    }
}

/// What the previous value list of the current packet carried.
#[derive(Clone, Copy)]
struct Last {
    host: Field,
    plugin: Field,
    plugin_instance: Field,
    type_: Field,
    type_instance: Field,
    time: u64,
    interval: u64,
}

impl Last {
    const EMPTY: Last = Last {
        host: Field::EMPTY,
        plugin: Field::EMPTY,
        plugin_instance: Field::EMPTY,
        type_: Field::EMPTY,
        type_instance: Field::EMPTY,
        time: 0,
        interval: 0,
    };
}

/// Builds packets of at most `capacity` bytes.
pub struct Encoder {
    buf: Vec<u8>,
    capacity: usize,
    last: Last,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("len", &self.buf.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

fn string_part_len(s: &[u8]) -> usize {
    PART_HEADER_SIZE + s.len() + 1
}

fn valid_string(s: &[u8]) -> bool {
    s.len() < DATA_MAX_NAME_LEN && !s.contains(&0)
}

fn put_string(buf: &mut Vec<u8>, part_type: u16, s: &[u8]) {
    buf.extend_from_slice(&part_type.to_be_bytes());
    buf.extend_from_slice(&(string_part_len(s) as u16).to_be_bytes());
    buf.extend_from_slice(s);
    buf.push(0);
}

fn put_number(buf: &mut Vec<u8>, part_type: u16, v: u64) {
    buf.extend_from_slice(&part_type.to_be_bytes());
    buf.extend_from_slice(&(PART_NUMBER_SIZE as u16).to_be_bytes());
    buf.extend_from_slice(&v.to_be_bytes());
}

impl Encoder {
    /// An encoder whose packets never exceed `capacity` bytes (the
    /// MaxPacketSize minus any signature/encryption overhead).
    pub fn new(capacity: usize) -> Encoder {
        let capacity = capacity.min(usize::from(u16::MAX));
        Encoder {
            buf: Vec::with_capacity(capacity),
            capacity,
            last: Last::EMPTY,
        }
    }

    /// The packet built so far.
    pub fn packet(&self) -> &[u8] {
        &self.buf
    }

    /// Whether nothing has been added since the last [`Encoder::reset`].
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes in the current packet.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Maximum packet size.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Starts a new packet (after the current one was sent).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.last = Last::EMPTY;
    }

    fn needed(vl: &ValueListOut<'_>, last: &Last) -> usize {
        let mut n = PART_HEADER_SIZE + 2 + 9 * vl.values.len();
        if last.host.get() != vl.host {
            n += string_part_len(vl.host);
        }
        if last.time != vl.time {
            n += PART_NUMBER_SIZE;
        }
        if last.interval != vl.interval {
            n += PART_NUMBER_SIZE;
        }
        for (old, new) in [
            (&last.plugin, vl.plugin),
            (&last.plugin_instance, vl.plugin_instance),
            (&last.type_, vl.type_),
            (&last.type_instance, vl.type_instance),
        ] {
            if old.get() != new {
                n += string_part_len(new);
            }
        }
        n
    }

    /// Appends a value list, or reports why not (nothing is written then).
    pub fn add(&mut self, vl: &ValueListOut<'_>) -> Result<(), EncodeError> {
        for s in [
            vl.host,
            vl.plugin,
            vl.plugin_instance,
            vl.type_,
            vl.type_instance,
        ] {
            if !valid_string(s) {
                return Err(EncodeError::BadString);
            }
        }
        let n = vl.values.len();
        if n == 0 || PART_HEADER_SIZE + 2 + 9 * n > usize::from(u16::MAX) {
            return Err(EncodeError::BadValueCount);
        }
        let need = Self::needed(vl, &self.last);
        if self.buf.len() + need > self.capacity {
            if Self::needed(vl, &Last::EMPTY) > self.capacity {
                return Err(EncodeError::TooLarge);
            }
            return Err(EncodeError::Full);
        }
        let buf = &mut self.buf;
        let last = &mut self.last;
        if last.host.get() != vl.host {
            put_string(buf, TYPE_HOST, vl.host);
            last.host.set(vl.host);
        }
        if last.time != vl.time {
            put_number(buf, TYPE_TIME_HR, vl.time);
            last.time = vl.time;
        }
        if last.interval != vl.interval {
            put_number(buf, TYPE_INTERVAL_HR, vl.interval);
            last.interval = vl.interval;
        }
        for (field, part_type, new) in [
            (&mut last.plugin, TYPE_PLUGIN, vl.plugin),
            (
                &mut last.plugin_instance,
                TYPE_PLUGIN_INSTANCE,
                vl.plugin_instance,
            ),
            (&mut last.type_, TYPE_TYPE, vl.type_),
            (
                &mut last.type_instance,
                TYPE_TYPE_INSTANCE,
                vl.type_instance,
            ),
        ] {
            if field.get() != new {
                put_string(buf, part_type, new);
                field.set(new);
            }
        }
        buf.extend_from_slice(&TYPE_VALUES.to_be_bytes());
        buf.extend_from_slice(&((PART_HEADER_SIZE + 2 + 9 * n) as u16).to_be_bytes());
        buf.extend_from_slice(&(n as u16).to_be_bytes());
        buf.extend(vl.values.iter().map(|v| v.type_code()));
        for v in vl.values {
            buf.extend_from_slice(&v.to_wire());
        }
        Ok(())
    }
}

/// Encodes one notification as a packet of its own into `out` (cleared
/// first), as collectd does: time_hr, severity, the non-empty identifier
/// fields, message. Fails if it would exceed `capacity`.
pub fn encode_notification(
    out: &mut Vec<u8>,
    n: &NotificationOut<'_>,
    capacity: usize,
) -> Result<(), EncodeError> {
    for s in [
        n.host,
        n.plugin,
        n.plugin_instance,
        n.type_,
        n.type_instance,
    ] {
        if !valid_string(s) {
            return Err(EncodeError::BadString);
        }
    }
    if n.message.len() >= NOTIF_MAX_MSG_LEN || n.message.contains(&0) {
        return Err(EncodeError::BadString);
    }
    out.clear();
    put_number(out, TYPE_TIME_HR, n.time);
    put_number(out, TYPE_SEVERITY, n.severity as i64 as u64);
    for (part_type, s) in [
        (TYPE_HOST, n.host),
        (TYPE_PLUGIN, n.plugin),
        (TYPE_PLUGIN_INSTANCE, n.plugin_instance),
        (TYPE_TYPE, n.type_),
        (TYPE_TYPE_INSTANCE, n.type_instance),
    ] {
        if !s.is_empty() {
            put_string(out, part_type, s);
        }
    }
    put_string(out, TYPE_MESSAGE, n.message);
    if out.len() > capacity {
        out.clear();
        return Err(EncodeError::TooLarge);
    }
    Ok(())
}
