//! The messages between the daemon and an isolated plugin's host process,
//! as length-prefixed binary frames: a pure codec, no I/O.
//!
//! Frame: `u32` length of what follows (little endian), `u8` kind, payload.
//! Strings are a length then bytes; numbers little endian.

use std::ffi::CString;

use crate::dispatch::PlainValueList;
use crate::meta::{MetaData, MetaValue};
use crate::types_db::{DataSet, DataSource, DsType};

/// The largest frame accepted; anything longer is a broken peer.
pub const MAX_FRAME: usize = 1 << 20;

/// One notification as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainNotification {
    /// `NOTIF_*`.
    pub severity: i32,
    /// cdtime_t.
    pub time: u64,
    /// The message.
    pub message: Vec<u8>,
    /// host, plugin, plugin instance, type, type instance.
    pub fields: [Vec<u8>; 5],
    /// Its meta entries, in order.
    pub meta: Vec<(Vec<u8>, NotifValue)>,
}

/// A notification meta value.
#[derive(Debug, Clone, PartialEq)]
pub enum NotifValue {
    /// `NM_TYPE_STRING`.
    String(Vec<u8>),
    /// `NM_TYPE_SIGNED_INT`.
    SignedInt(i64),
    /// `NM_TYPE_UNSIGNED_INT`.
    UnsignedInt(u64),
    /// `NM_TYPE_DOUBLE`.
    Double(f64),
    /// `NM_TYPE_BOOLEAN`.
    Boolean(bool),
}

/// What crosses the channel.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Host -> daemon: value lists the plugin dispatched.
    Values(Vec<PlainValueList>),
    /// Daemon -> host: value lists for the plugin's write callbacks.
    Write(Vec<PlainValueList>),
    /// Either way: a notification (the plugin's, or one for its callback).
    Notification(PlainNotification),
    /// Host -> daemon: a log line.
    Log { level: i32, message: Vec<u8> },
    /// Host -> daemon, once the plugin is initialized: which callbacks it
    /// registered that the daemon must stand in for, and the data sets it
    /// registered itself (its values need them in the daemon too).
    Hello {
        writes: bool,
        notifications: bool,
        /// It registered a missing-value callback.
        missing: bool,
        types: Vec<DataSet>,
    },
    /// Daemon -> host: a value list that went missing, for the plugin's
    /// missing callbacks.
    Missing(PlainValueList),
    /// Daemon -> host: flush the plugin's writers.
    Flush { timeout: u64, identifier: Vec<u8> },
}

const VALUES: u8 = 1;
const WRITE: u8 = 2;
const NOTIFICATION: u8 = 3;
const LOG: u8 = 4;
const HELLO: u8 = 5;
const FLUSH: u8 = 6;
const MISSING: u8 = 7;

/// Appends `frame` to `out`.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend([0; 4]);
    match frame {
        Frame::Values(lists) | Frame::Write(lists) => {
            out.push(if matches!(frame, Frame::Values(_)) {
                VALUES
            } else {
                WRITE
            });
            put_u32(out, lists.len() as u32);
            for l in lists {
                put_vl(out, l);
            }
        }
        Frame::Notification(n) => {
            out.push(NOTIFICATION);
            put_u32(out, n.severity as u32);
            put_u64(out, n.time);
            put_bytes(out, &n.message);
            for f in &n.fields {
                put_bytes(out, f);
            }
            put_u32(out, n.meta.len() as u32);
            for (name, v) in &n.meta {
                put_bytes(out, name);
                match v {
                    NotifValue::String(s) => {
                        out.push(0);
                        put_bytes(out, s);
                    }
                    NotifValue::SignedInt(x) => {
                        out.push(1);
                        put_u64(out, *x as u64);
                    }
                    NotifValue::UnsignedInt(x) => {
                        out.push(2);
                        put_u64(out, *x);
                    }
                    NotifValue::Double(x) => {
                        out.push(3);
                        put_u64(out, x.to_bits());
                    }
                    NotifValue::Boolean(b) => {
                        out.push(4);
                        put_u64(out, u64::from(*b));
                    }
                }
            }
        }
        Frame::Log { level, message } => {
            out.push(LOG);
            put_u32(out, *level as u32);
            put_bytes(out, message);
        }
        Frame::Hello {
            writes,
            notifications,
            missing,
            types,
        } => {
            out.push(HELLO);
            out.push(u8::from(*writes) | u8::from(*notifications) << 1 | u8::from(*missing) << 2);
            put_u32(out, types.len() as u32);
            for t in types {
                put_bytes(out, t.type_name.as_bytes());
                put_u32(out, t.sources.len() as u32);
                for s in &t.sources {
                    put_bytes(out, s.name.as_bytes());
                    out.push(s.ds_type.as_c() as u8);
                    put_u64(out, s.min.to_bits());
                    put_u64(out, s.max.to_bits());
                }
            }
        }
        Frame::Flush {
            timeout,
            identifier,
        } => {
            out.push(FLUSH);
            put_u64(out, *timeout);
            put_bytes(out, identifier);
        }
        Frame::Missing(l) => {
            out.push(MISSING);
            put_vl(out, l);
        }
    }
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// The first frame in `buf` and how many bytes it took; `Ok(None)` when
/// `buf` holds only part of one.
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    let Some(len) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(format!("bad frame length {len}"));
    }
    let Some(body) = buf.get(4..4 + len) else {
        return Ok(None);
    };
    let mut r = Reader { buf: body, at: 1 };
    let frame = match body[0] {
        kind @ (VALUES | WRITE) => {
            let n = r.u32()? as usize;
            let mut lists = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                lists.push(r.vl()?);
            }
            if kind == VALUES {
                Frame::Values(lists)
            } else {
                Frame::Write(lists)
            }
        }
        NOTIFICATION => {
            let severity = r.u32()? as i32;
            let time = r.u64()?;
            let message = r.bytes()?;
            let fields = [r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?];
            let n = r.u32()? as usize;
            let mut meta = Vec::with_capacity(n.min(256));
            for _ in 0..n {
                let name = r.bytes()?;
                let v = match r.u8()? {
                    0 => NotifValue::String(r.bytes()?),
                    1 => NotifValue::SignedInt(r.u64()? as i64),
                    2 => NotifValue::UnsignedInt(r.u64()?),
                    3 => NotifValue::Double(f64::from_bits(r.u64()?)),
                    4 => NotifValue::Boolean(r.u64()? != 0),
                    t => return Err(format!("bad notification meta type {t}")),
                };
                meta.push((name, v));
            }
            Frame::Notification(PlainNotification {
                severity,
                time,
                message,
                fields,
                meta,
            })
        }
        LOG => Frame::Log {
            level: r.u32()? as i32,
            message: r.bytes()?,
        },
        HELLO => {
            let b = r.u8()?;
            let n = r.u32()? as usize;
            let mut types = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let type_name = r.string()?;
                let m = r.u32()? as usize;
                let mut sources = Vec::with_capacity(m.min(64));
                for _ in 0..m {
                    let name = r.string()?;
                    let ds_type =
                        DsType::from_c(i32::from(r.u8()?)).ok_or("bad data source type")?;
                    let min = f64::from_bits(r.u64()?);
                    let max = f64::from_bits(r.u64()?);
                    sources.push(DataSource {
                        name,
                        ds_type,
                        min,
                        max,
                    });
                }
                types.push(DataSet { type_name, sources });
            }
            Frame::Hello {
                writes: b & 1 != 0,
                notifications: b & 2 != 0,
                missing: b & 4 != 0,
                types,
            }
        }
        MISSING => Frame::Missing(r.vl()?),
        FLUSH => Frame::Flush {
            timeout: r.u64()?,
            identifier: r.bytes()?,
        },
        k => return Err(format!("unknown frame kind {k}")),
    };
    if r.at != body.len() {
        return Err("trailing bytes in a frame".into());
    }
    Ok(Some((frame, 4 + len)))
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend(v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend(v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend(b);
}

fn put_vl(out: &mut Vec<u8>, l: &PlainValueList) {
    for f in &l.fields {
        put_bytes(out, f);
    }
    put_u64(out, l.time);
    put_u64(out, l.interval);
    put_u32(out, l.values.len() as u32);
    for v in &l.values {
        put_u64(out, *v);
    }
    let meta: Vec<_> = l.meta.iter().flat_map(|m| m.iter()).collect();
    put_u32(out, meta.len() as u32);
    for (k, v) in meta {
        put_bytes(out, k.to_bytes());
        match v {
            MetaValue::String(s) => {
                out.push(1);
                put_bytes(out, s.as_bytes());
            }
            MetaValue::SignedInt(x) => {
                out.push(2);
                put_u64(out, *x as u64);
            }
            MetaValue::UnsignedInt(x) => {
                out.push(3);
                put_u64(out, *x);
            }
            MetaValue::Double(x) => {
                out.push(4);
                put_u64(out, x.to_bits());
            }
            MetaValue::Boolean(b) => {
                out.push(5);
                put_u64(out, u64::from(*b));
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let s = self
            .buf
            .get(self.at..self.at + n)
            .ok_or("frame ends early")?;
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "short u32")?,
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "short u64")?,
        ))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }

    fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?).map_err(|_| "a name that is not UTF-8".into())
    }

    fn vl(&mut self) -> Result<PlainValueList, String> {
        let mut fields: [Vec<u8>; 5] = Default::default();
        for f in &mut fields {
            *f = self.bytes()?;
            if f.len() >= 128 || f.contains(&0) {
                return Err("bad identifier field".into());
            }
        }
        let time = self.u64()?;
        let interval = self.u64()?;
        // A missing value list (`plugin_dispatch_missing`) carries no values.
        let n = self.u32()? as usize;
        if n > 1024 {
            return Err(format!("bad value count {n}"));
        }
        let values = (0..n).map(|_| self.u64()).collect::<Result<_, _>>()?;
        let m = self.u32()? as usize;
        let mut meta = MetaData::new();
        for _ in 0..m {
            let key = CString::new(self.bytes()?).map_err(|_| "NUL in a meta key")?;
            let v = match self.u8()? {
                1 => MetaValue::String(CString::new(self.bytes()?).map_err(|_| "NUL in meta")?),
                2 => MetaValue::SignedInt(self.u64()? as i64),
                3 => MetaValue::UnsignedInt(self.u64()?),
                4 => MetaValue::Double(f64::from_bits(self.u64()?)),
                5 => MetaValue::Boolean(self.u64()? != 0),
                t => return Err(format!("bad meta type {t}")),
            };
            meta.insert(&key, v);
        }
        Ok(PlainValueList {
            fields,
            time,
            interval,
            values,
            meta: (!meta.is_empty()).then_some(meta),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vl(i: u64) -> PlainValueList {
        let mut meta = MetaData::new();
        meta.insert_str("k", MetaValue::String(c"v".into()));
        meta.insert_str("b", MetaValue::Boolean(true));
        PlainValueList {
            fields: [
                b"h".to_vec(),
                b"p".to_vec(),
                b"".to_vec(),
                b"gauge".to_vec(),
                b"x".to_vec(),
            ],
            time: i << 30,
            interval: 10 << 30,
            values: vec![i],
            meta: (i % 2 == 0).then_some(meta),
        }
    }

    #[test]
    fn every_frame_round_trips_even_when_split() {
        let frames = [
            Frame::Values((0..3).map(vl).collect()),
            Frame::Write(vec![vl(7)]),
            Frame::Notification(PlainNotification {
                severity: 2,
                time: 99,
                message: b"hot".to_vec(),
                fields: [
                    b"h".to_vec(),
                    b"p".to_vec(),
                    b"i".to_vec(),
                    b"t".to_vec(),
                    b"".to_vec(),
                ],
                meta: vec![
                    (b"s".to_vec(), NotifValue::String(b"x".to_vec())),
                    (b"d".to_vec(), NotifValue::Double(0.5)),
                    (b"n".to_vec(), NotifValue::SignedInt(-1)),
                ],
            }),
            Frame::Log {
                level: 3,
                message: b"oops".to_vec(),
            },
            Frame::Missing(vl(3)),
            Frame::Hello {
                writes: true,
                notifications: false,
                missing: true,
                types: vec![DataSet {
                    type_name: "test_gauge".into(),
                    sources: vec![DataSource {
                        name: "value".into(),
                        ds_type: DsType::Gauge,
                        min: f64::NEG_INFINITY,
                        max: 5.0,
                    }],
                }],
            },
            Frame::Flush {
                timeout: 5,
                identifier: b"h/p/t".to_vec(),
            },
        ];
        let mut buf = Vec::new();
        for f in &frames {
            encode(f, &mut buf);
        }
        // Fed a byte at a time, the decoder waits for whole frames.
        let mut got = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        for b in buf {
            pending.push(b);
            while let Some((f, used)) = decode(&pending).unwrap() {
                got.push(f);
                pending.drain(..used);
            }
        }
        assert_eq!(got, frames);
        assert!(pending.is_empty());
    }

    #[test]
    fn broken_frames_are_errors() {
        for bad in [
            &[0u8, 0, 0, 0][..],
            &[1, 0, 0, 0, 99][..],
            &[2, 0, 0, 0, HELLO, 0][..],
            &[6, 0, 0, 0, HELLO, 0, 1, 0, 0, 0][..],
            &[255, 255, 255, 255][..],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(decode(&[5, 0, 0]).unwrap(), None);
    }
}
