//! The sink behind [`crate::testing::capture`]: what a thread dispatches
//! and logs while a capture runs, kept as the raw data the dispatching
//! modules hand over. It depends on nothing but the C types, so the modules
//! that feed it and the public `testing` API that reads it both sit above.

use std::cell::RefCell;
use std::ffi::c_int;

use crate::sys;
use crate::util::str_from_array;

/// A captured value list: its five identifier fields, time, interval and
/// the raw bits of its values.
pub(crate) struct RawValues {
    pub fields: [String; 5],
    pub time: u64,
    pub interval: u64,
    pub raw: Vec<u64>,
}

/// Everything one capture saw, in order.
#[derive(Default)]
pub(crate) struct Sink {
    pub values: Vec<RawValues>,
    pub logs: Vec<(c_int, String)>,
    /// Copies with the meta pointer cleared.
    pub notifications: Vec<sys::notification_t>,
}

thread_local! {
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// Starts capturing on this thread; returns the capture it interrupts.
pub(crate) fn begin() -> Option<Sink> {
    SINK.with(|s| s.borrow_mut().replace(Sink::default()))
}

/// Ends the capture `begin` started, restoring `prev`.
pub(crate) fn end(prev: Option<Sink>) -> Sink {
    SINK.with(|s| std::mem::replace(&mut *s.borrow_mut(), prev))
        .unwrap_or_default()
}

/// Captures a dispatched value list; `None` when no capture runs.
pub(crate) fn capture_values(vl: &sys::value_list_t) -> Option<c_int> {
    SINK.with(|s| {
        let mut s = s.borrow_mut();
        let sink = s.as_mut()?;
        let raw = if vl.values.is_null() {
            Vec::new()
        } else {
            // SAFETY: dispatch_raw's caller passes `values_len` valid values;
            // every value_t member is 8 bytes, read here as bits.
            unsafe { std::slice::from_raw_parts(vl.values, vl.values_len) }
                .iter()
                // SAFETY: reading the u64 member of a plain 8-byte union.
                .map(|v| unsafe { v.absolute })
                .collect()
        };
        sink.values.push(RawValues {
            fields: [
                &vl.host[..],
                &vl.plugin,
                &vl.plugin_instance,
                &vl.type_,
                &vl.type_instance,
            ]
            .map(|f| str_from_array(f).to_owned()),
            time: vl.time,
            interval: vl.interval,
            raw,
        });
        Some(0)
    })
}

/// Captures a dispatched notification; false when no capture runs.
pub(crate) fn capture_notification(n: &sys::notification_t) -> bool {
    SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(sink) => {
            sink.notifications.push(sys::notification_t {
                meta: std::ptr::null_mut(),
                ..*n
            });
            true
        }
        None => false,
    })
}

/// Captures a log message; false when no capture runs.
pub(crate) fn capture_log(level: c_int, message: &str) -> bool {
    SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(sink) => {
            sink.logs.push((level, message.to_owned()));
            true
        }
        None => false,
    })
}
