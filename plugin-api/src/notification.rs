//! Notifications: a read view for notification callbacks and a builder to
//! dispatch them.

use std::ffi::CStr;
use std::fmt;

use crate::host::{host, need, Host, HostError};
use crate::sys;
use crate::util::{copy_to_array, str_from_array, str_from_ptr};
use crate::value::{CdTime, DispatchError};

/// Notification severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `NOTIF_FAILURE` (1)
    Failure,
    /// `NOTIF_WARNING` (2)
    Warning,
    /// `NOTIF_OKAY` (4)
    Okay,
}

impl Severity {
    /// From the ABI number (unknown numbers read as Failure).
    pub fn from_raw(s: i32) -> Severity {
        match s as u32 {
            sys::NOTIF_OKAY => Severity::Okay,
            sys::NOTIF_WARNING => Severity::Warning,
            _ => Severity::Failure,
        }
    }
    /// The ABI number.
    pub fn to_raw(self) -> i32 {
        (match self {
            Severity::Failure => sys::NOTIF_FAILURE,
            Severity::Warning => sys::NOTIF_WARNING,
            Severity::Okay => sys::NOTIF_OKAY,
        }) as i32
    }
    /// "FAILURE", "WARNING" or "OKAY", as collectd prints them.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Failure => "FAILURE",
            Severity::Warning => "WARNING",
            Severity::Okay => "OKAY",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A meta-data entry of a notification.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationMetaValue<'a> {
    /// string
    String(&'a str),
    /// signed integer
    SignedInt(i64),
    /// unsigned integer
    UnsignedInt(u64),
    /// double
    Double(f64),
    /// boolean
    Boolean(bool),
}

/// A notification as notification callbacks see it.
#[derive(Clone, Copy)]
pub struct Notification<'a> {
    raw: &'a sys::notification_t,
}

impl fmt::Debug for Notification<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("severity", &self.severity())
            .field("time", &self.time())
            .field("message", &self.message())
            .field("host", &self.host())
            .field("plugin", &self.plugin())
            .field("type", &self.type_())
            .finish()
    }
}

impl<'a> Notification<'a> {
    /// Wraps a raw notification.
    ///
    /// # Safety
    /// `raw` and its meta list must be valid for `'a`.
    pub unsafe fn from_raw(raw: &'a sys::notification_t) -> Notification<'a> {
        Notification { raw }
    }
    /// Severity.
    pub fn severity(&self) -> Severity {
        Severity::from_raw(self.raw.severity)
    }
    /// Time.
    pub fn time(&self) -> CdTime {
        CdTime(self.raw.time)
    }
    /// The message text.
    pub fn message(&self) -> &'a str {
        str_from_array(&self.raw.message)
    }
    /// Host.
    pub fn host(&self) -> &'a str {
        str_from_array(&self.raw.host)
    }
    /// Plugin.
    pub fn plugin(&self) -> &'a str {
        str_from_array(&self.raw.plugin)
    }
    /// Plugin instance.
    pub fn plugin_instance(&self) -> &'a str {
        str_from_array(&self.raw.plugin_instance)
    }
    /// Type.
    pub fn type_(&self) -> &'a str {
        str_from_array(&self.raw.type_)
    }
    /// Type instance.
    pub fn type_instance(&self) -> &'a str {
        str_from_array(&self.raw.type_instance)
    }
    /// Meta data entries, in list order.
    pub fn meta(&self) -> Vec<(&'a str, NotificationMetaValue<'a>)> {
        let mut out = Vec::new();
        let mut p = self.raw.meta;
        // Bounded: a corrupt cyclic list stops after 4096 entries.
        while !p.is_null() && out.len() < 4096 {
            // SAFETY: `from_raw` guarantees the list is valid for 'a.
            let m: &'a sys::notification_meta_t = unsafe { &*p };
            // SAFETY: the union member read is selected by `type_`.
            let v = unsafe {
                match m.type_ {
                    sys::notification_meta_type_e_NM_TYPE_STRING => {
                        NotificationMetaValue::String(str_from_ptr(m.nm_value.nm_string))
                    }
                    sys::notification_meta_type_e_NM_TYPE_SIGNED_INT => {
                        NotificationMetaValue::SignedInt(m.nm_value.nm_signed_int)
                    }
                    sys::notification_meta_type_e_NM_TYPE_UNSIGNED_INT => {
                        NotificationMetaValue::UnsignedInt(m.nm_value.nm_unsigned_int)
                    }
                    sys::notification_meta_type_e_NM_TYPE_DOUBLE => {
                        NotificationMetaValue::Double(m.nm_value.nm_double)
                    }
                    _ => NotificationMetaValue::Boolean(m.nm_value.nm_boolean),
                }
            };
            out.push((str_from_array(&m.name), v));
            p = m.next;
        }
        out
    }
    /// The one-line text collectd's logfile and syslog plugins log:
    /// `Notification: severity = WARNING, host = h, plugin = p, ...,
    /// message = m` (empty fields left out, unknown severities "UNKNOWN").
    pub fn summary(&self) -> String {
        let sev = match self.raw.severity as u32 {
            sys::NOTIF_FAILURE => "FAILURE",
            sys::NOTIF_WARNING => "WARNING",
            sys::NOTIF_OKAY => "OKAY",
            _ => "UNKNOWN",
        };
        let mut s = format!("Notification: severity = {sev}");
        for (key, value) in [
            ("host", self.host()),
            ("plugin", self.plugin()),
            ("plugin_instance", self.plugin_instance()),
            ("type", self.type_()),
            ("type_instance", self.type_instance()),
            ("message", self.message()),
        ] {
            if !value.is_empty() {
                s.push_str(", ");
                s.push_str(key);
                s.push_str(" = ");
                s.push_str(value);
            }
        }
        s
    }

    /// The raw struct.
    pub fn as_raw(&self) -> &'a sys::notification_t {
        self.raw
    }
}

/// Builds and dispatches a notification (`plugin_dispatch_notification`).
/// Time defaults to now and host to the daemon's hostname.
#[derive(Debug, Clone)]
#[must_use = "a notification does nothing until dispatched"]
pub struct NotificationBuilder<'a> {
    severity: Severity,
    message: &'a str,
    host: Option<&'a str>,
    plugin: &'a str,
    plugin_instance: &'a str,
    type_: &'a str,
    type_instance: &'a str,
    time: Option<CdTime>,
}

impl<'a> NotificationBuilder<'a> {
    /// A notification with this severity and message (cut to 255 bytes).
    pub fn new(severity: Severity, message: &'a str) -> Self {
        NotificationBuilder {
            severity,
            message,
            host: None,
            plugin: "",
            plugin_instance: "",
            type_: "",
            type_instance: "",
            time: None,
        }
    }
    /// Sets the host (default: the daemon's `Hostname`).
    pub fn host(mut self, s: &'a str) -> Self {
        self.host = Some(s);
        self
    }
    /// Sets the plugin.
    pub fn plugin(mut self, s: &'a str) -> Self {
        self.plugin = s;
        self
    }
    /// Sets the plugin instance.
    pub fn plugin_instance(mut self, s: &'a str) -> Self {
        self.plugin_instance = s;
        self
    }
    /// Sets the type.
    pub fn type_(mut self, s: &'a str) -> Self {
        self.type_ = s;
        self
    }
    /// Sets the type instance.
    pub fn type_instance(mut self, s: &'a str) -> Self {
        self.type_instance = s;
        self
    }
    /// Sets the time (default: now).
    pub fn time(mut self, t: CdTime) -> Self {
        self.time = Some(t);
        self
    }

    /// Fills a raw notification (no meta data).
    pub fn to_raw(&self) -> Result<sys::notification_t, DispatchError> {
        let mut n = sys::notification_t {
            severity: self.severity.to_raw(),
            ..Default::default()
        };
        n.time = self.time.unwrap_or_else(CdTime::now).0;
        let mut msg = self.message;
        let max = n.message.len() - 1;
        if msg.len() > max {
            let mut end = max;
            while !msg.is_char_boundary(end) {
                end -= 1;
            }
            msg = &msg[..end];
        }
        copy_to_array(&mut n.message, msg, "message")?;
        let host_owned;
        let host = match self.host {
            Some(h) => h,
            None => {
                host_owned = crate::value::hostname().unwrap_or_default();
                &host_owned
            }
        };
        copy_to_array(&mut n.host, host, "host")?;
        copy_to_array(&mut n.plugin, self.plugin, "plugin")?;
        copy_to_array(
            &mut n.plugin_instance,
            self.plugin_instance,
            "plugin_instance",
        )?;
        copy_to_array(&mut n.type_, self.type_, "type")?;
        copy_to_array(&mut n.type_instance, self.type_instance, "type_instance")?;
        Ok(n)
    }

    /// Dispatches the notification.
    pub fn dispatch(&self) -> Result<(), DispatchError> {
        let n = self.to_raw()?;
        #[cfg(any(test, feature = "testing"))]
        if crate::capture::capture_notification(&n) {
            return Ok(());
        }
        let f = need(host().dispatch_notification, "plugin_dispatch_notification")?;
        // SAFETY: `n` is fully initialised and has no meta list.
        let status = unsafe { f(&n) };
        if status == 0 {
            Ok(())
        } else {
            Err(DispatchError::Rejected(status))
        }
    }
}

/// Dispatches a notification the plugin filled in itself
/// (`plugin_dispatch_notification`, e.g. one a network receiver decoded)
/// with the boolean meta data `flags` attached, such as
/// `network:received = true`. The meta list of `n` is not used: the host
/// builds the list from `flags` and it is freed after the call.
pub fn dispatch_notification_raw(
    n: &sys::notification_t,
    flags: &[(&CStr, bool)],
) -> Result<(), DispatchError> {
    dispatch_with_meta(n, |h, n| {
        if let Some(add) = h.notification_meta_add_boolean {
            for (key, value) in flags {
                // SAFETY: `n` is a valid local notification whose meta list
                // only the host builds; `key` is NUL-terminated and copied.
                unsafe { add(n, key.as_ptr(), *value) };
            }
        }
        Ok(())
    })
}

/// Dispatches a notification the plugin filled in itself with string meta
/// data attached in this order (`plugin_notification_meta_add_string`, as
/// collectd's `PUTNOTIF ... s:key=value` does). The meta list of `n` is not
/// used: the host builds the list from `strings` and it is freed after the
/// call.
pub fn dispatch_notification_with_strings(
    n: &sys::notification_t,
    strings: &[(&CStr, &CStr)],
) -> Result<(), DispatchError> {
    dispatch_with_meta(n, |h, n| {
        if strings.is_empty() {
            return Ok(());
        }
        let add = need(
            h.notification_meta_add_string,
            "plugin_notification_meta_add_string",
        )?;
        for (key, value) in strings {
            // SAFETY: `n` is a valid local notification whose meta list
            // only the host builds; key and value are NUL-terminated and
            // copied by the host.
            unsafe { add(n, key.as_ptr(), value.as_ptr()) };
        }
        Ok(())
    })
}

/// Dispatches a copy of `n` whose meta list `add_meta` builds with the
/// host's functions, then frees that list.
fn dispatch_with_meta(
    n: &sys::notification_t,
    add_meta: impl FnOnce(&Host, &mut sys::notification_t) -> Result<(), HostError>,
) -> Result<(), DispatchError> {
    let mut n = sys::notification_t {
        meta: std::ptr::null_mut(),
        ..*n
    };
    #[cfg(any(test, feature = "testing"))]
    if crate::capture::capture_notification(&n) {
        return Ok(());
    }
    let h = host();
    let dispatch = need(h.dispatch_notification, "plugin_dispatch_notification")?;
    let added = add_meta(h, &mut n);
    let status = if added.is_ok() {
        // SAFETY: `n` is fully initialised and its meta list, if any, is the
        // host's own; the daemon copies what it keeps.
        unsafe { dispatch(&n) }
    } else {
        0
    };
    if !n.meta.is_null() {
        if let Some(free) = h.notification_meta_free {
            // SAFETY: the list was allocated by the host above, is ours and
            // is not used after this.
            unsafe { free(n.meta) };
        }
    }
    added?;
    if status == 0 {
        Ok(())
    } else {
        Err(DispatchError::Rejected(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_view() {
        let long = "é".repeat(200);
        let n = NotificationBuilder::new(Severity::Warning, &long)
            .host("h")
            .plugin("cpu")
            .type_("percent")
            .time(CdTime(5 << 30))
            .to_raw()
            .unwrap();
        // SAFETY: `n` is a valid notification without meta data.
        let v = unsafe { Notification::from_raw(&n) };
        assert_eq!(v.severity(), Severity::Warning);
        assert_eq!(v.message().len(), 254, "cut at a char boundary below 256");
        assert_eq!(v.host(), "h");
        assert_eq!(v.plugin(), "cpu");
        assert_eq!(v.type_(), "percent");
        assert_eq!(v.time().as_time_t(), 5);
        assert!(v.meta().is_empty());
        let short = NotificationBuilder::new(Severity::Okay, "back to normal")
            .host("h")
            .plugin("cpu")
            .type_instance("idle")
            .to_raw()
            .unwrap();
        // SAFETY: as above.
        let v = unsafe { Notification::from_raw(&short) };
        assert_eq!(
            v.summary(),
            "Notification: severity = OKAY, host = h, plugin = cpu, type_instance = idle, message = back to normal"
        );
        let mut odd = short;
        odd.severity = 3;
        // SAFETY: as above.
        assert!(unsafe { Notification::from_raw(&odd) }
            .summary()
            .starts_with("Notification: severity = UNKNOWN, "));
    }

    #[test]
    fn meta_list() {
        let mut second = sys::notification_meta_t {
            type_: sys::notification_meta_type_e_NM_TYPE_DOUBLE,
            nm_value: sys::notification_meta_s__bindgen_ty_1 { nm_double: 1.5 },
            ..Default::default()
        };
        copy_to_array(&mut second.name, "ratio", "name").unwrap();
        let mut first = sys::notification_meta_t {
            type_: sys::notification_meta_type_e_NM_TYPE_STRING,
            nm_value: sys::notification_meta_s__bindgen_ty_1 {
                nm_string: c"x".as_ptr(),
            },
            next: &mut second,
            ..Default::default()
        };
        copy_to_array(&mut first.name, "k", "name").unwrap();
        let n = sys::notification_t {
            meta: &mut first,
            severity: 4,
            ..Default::default()
        };
        // SAFETY: the two-element list above outlives the view.
        let v = unsafe { Notification::from_raw(&n) };
        assert_eq!(
            v.meta(),
            vec![
                ("k", NotificationMetaValue::String("x")),
                ("ratio", NotificationMetaValue::Double(1.5))
            ]
        );
        assert_eq!(v.severity(), Severity::Okay);
    }
}
