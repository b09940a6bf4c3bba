//! The C side of plugin isolation: the callbacks that stand in for an
//! isolated plugin in the daemon (its write, flush and notification
//! callbacks, forwarding to its host process), the callbacks a host process
//! registers to send everything to the daemon, and the conversions between
//! `notification_t` and plain data. See `crate::isolate`.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use rcollectd_plugin::sys::{
    cdtime_t, data_set_t, notification_meta_t, notification_t, user_data_t, value_list_t,
};

use std::sync::Arc;

use crate::abi::ffi::{c_bytes, field_bytes, write_c_str};
use crate::abi::notification_meta::{
    self as nm, NM_BOOLEAN, NM_DOUBLE, NM_SIGNED, NM_STRING, NM_UNSIGNED,
};
use crate::dispatch::{Dispatch, PlainValueList};
use crate::isolate::frame::{Frame, NotifValue, PlainNotification};
use crate::isolate::Host;
use crate::plugins::ctx;
use crate::plugins::register::register_in;
use crate::plugins::registry::{
    Callback, FlushFn, List, MissingFn, NotificationFn, Registry, WriteFn,
};
use rcollectd_core::registry::Named;

/// A notification as plain data.
///
/// # Safety
/// `n` points to a valid notification with a valid meta list.
pub(crate) unsafe fn plain_of(n: *const notification_t) -> PlainNotification {
    // SAFETY: per the contract.
    let n = unsafe { &*n };
    let mut meta = Vec::new();
    let mut m = n.meta.cast_const();
    while !m.is_null() {
        // SAFETY: a valid node of the notification's list.
        let node: &notification_meta_t = unsafe { &*m };
        // SAFETY: the union member read is the one `type_` names; a string
        // member is a NUL-terminated string the node owns.
        let v = unsafe {
            match node.type_ {
                NM_STRING if !node.nm_value.nm_string.is_null() => {
                    NotifValue::String(CStr::from_ptr(node.nm_value.nm_string).to_bytes().to_vec())
                }
                NM_SIGNED => NotifValue::SignedInt(node.nm_value.nm_signed_int),
                NM_UNSIGNED => NotifValue::UnsignedInt(node.nm_value.nm_unsigned_int),
                NM_DOUBLE => NotifValue::Double(node.nm_value.nm_double),
                NM_BOOLEAN => NotifValue::Boolean(node.nm_value.nm_boolean),
                _ => NotifValue::String(Vec::new()),
            }
        };
        meta.push((field_bytes(&node.name).to_vec(), v));
        m = node.next;
    }
    PlainNotification {
        severity: n.severity,
        time: n.time,
        message: field_bytes(&n.message).to_vec(),
        fields: [
            field_bytes(&n.host).to_vec(),
            field_bytes(&n.plugin).to_vec(),
            field_bytes(&n.plugin_instance).to_vec(),
            field_bytes(&n.type_).to_vec(),
            field_bytes(&n.type_instance).to_vec(),
        ],
        meta,
    }
}

/// Calls `f` with a `notification_t` built from `n` (its meta list freed after).
pub(crate) fn with_notification<R>(
    n: &PlainNotification,
    f: impl FnOnce(*const notification_t) -> R,
) -> R {
    let mut c = notification_t {
        severity: n.severity,
        time: n.time as cdtime_t,
        ..Default::default()
    };
    // SAFETY: each destination is a fixed-size field of `c`.
    unsafe {
        write_c_str(c.message.as_mut_ptr(), c.message.len(), &n.message);
        write_c_str(c.host.as_mut_ptr(), c.host.len(), &n.fields[0]);
        write_c_str(c.plugin.as_mut_ptr(), c.plugin.len(), &n.fields[1]);
        write_c_str(
            c.plugin_instance.as_mut_ptr(),
            c.plugin_instance.len(),
            &n.fields[2],
        );
        write_c_str(c.type_.as_mut_ptr(), c.type_.len(), &n.fields[3]);
        write_c_str(
            c.type_instance.as_mut_ptr(),
            c.type_instance.len(),
            &n.fields[4],
        );
    }
    for (name, v) in &n.meta {
        let Ok(name) = CString::new(name.clone()) else {
            continue;
        };
        // SAFETY: `c` is a valid notification; name and value are valid.
        unsafe {
            match v {
                NotifValue::String(s) => {
                    if let Ok(s) = CString::new(s.clone()) {
                        nm::plugin_notification_meta_add_string(&mut c, name.as_ptr(), s.as_ptr());
                    }
                }
                NotifValue::SignedInt(x) => {
                    nm::plugin_notification_meta_add_signed_int(&mut c, name.as_ptr(), *x);
                }
                NotifValue::UnsignedInt(x) => {
                    nm::plugin_notification_meta_add_unsigned_int(&mut c, name.as_ptr(), *x);
                }
                NotifValue::Double(x) => {
                    nm::plugin_notification_meta_add_double(&mut c, name.as_ptr(), *x);
                }
                NotifValue::Boolean(b) => {
                    nm::plugin_notification_meta_add_boolean(&mut c, name.as_ptr(), *b);
                }
            }
        }
    }
    let r = f(&c);
    // SAFETY: the list built above, freed once.
    unsafe { nm::plugin_notification_meta_free(c.meta) };
    r
}

/// Daemon side: dispatches a notification an isolated plugin sent.
pub fn dispatch_notification(dispatch: &Dispatch, n: &PlainNotification) {
    // SAFETY: `with_notification` hands out a valid notification.
    with_notification(n, |c| unsafe { dispatch.dispatch_notification(c) });
}

/// The host of the isolated plugin a proxy callback stands in for, which
/// its user data holds a reference to ([`host_ud`]).
///
/// # Safety
/// `ud` is null or the user data of a proxy callback, alive for `'a`.
unsafe fn host_of<'a>(ud: *mut user_data_t) -> Option<&'a Host> {
    if ud.is_null() {
        return None;
    }
    // SAFETY: per the contract, `data` is null or from `Arc::into_raw` in
    // `host_ud`, and the reference it holds lives as long as the user data.
    unsafe { (*ud).data.cast::<Host>().cast_const().as_ref() }
}

/// Drops the reference to a host a proxy callback's user data held.
unsafe extern "C" fn release_host(data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` came from `Arc::into_raw` in `host_ud` and is
        // freed once, by the registry, when the callback goes.
        drop(unsafe { Arc::from_raw(data.cast::<Host>().cast_const()) });
    }
}

/// User data holding a reference to `host`, released with the callback.
fn host_ud(host: &Arc<Host>) -> user_data_t {
    user_data_t {
        data: Arc::into_raw(host.clone()).cast_mut().cast::<c_void>(),
        free_func: Some(release_host),
    }
}

unsafe extern "C" fn proxy_write(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    ud: *mut user_data_t,
) -> c_int {
    // SAFETY: the registry passes the user data the proxy was registered with.
    let Some(host) = (unsafe { host_of(ud) }) else {
        return -1;
    };
    // SAFETY: the daemon's write path passes a valid value list.
    host.queue_write(unsafe { PlainValueList::of(&*vl) });
    0
}

unsafe extern "C" fn proxy_flush(
    timeout: cdtime_t,
    identifier: *const c_char,
    ud: *mut user_data_t,
) -> c_int {
    // SAFETY: the registry passes the user data the proxy was registered with.
    let Some(host) = (unsafe { host_of(ud) }) else {
        return -1;
    };
    let identifier = if identifier.is_null() {
        Vec::new()
    } else {
        // SAFETY: a NUL-terminated string from the flush path.
        unsafe { c_bytes(identifier) }.to_vec()
    };
    if host.send(&Frame::Flush {
        timeout,
        identifier,
    }) {
        0
    } else {
        -1
    }
}

unsafe extern "C" fn proxy_notification(n: *const notification_t, ud: *mut user_data_t) -> c_int {
    // SAFETY: the registry passes the user data the proxy was registered with.
    let Some(host) = (unsafe { host_of(ud) }) else {
        return -1;
    };
    // SAFETY: the dispatch path passes a valid notification.
    let plain = unsafe { plain_of(n) };
    if host.send(&Frame::Notification(plain)) {
        0
    } else {
        -1
    }
}

/// Registers `func` in `list` under the isolated plugin's own name and
/// context, with user data that holds a reference to `host`.
fn register_proxy<F>(list: &List<Callback<F>>, host: &Arc<Host>, func: F)
where
    Callback<F>: Named,
{
    let plugin = host.name();
    let Ok(name) = CString::new(plugin) else {
        return;
    };
    let _g = ctx::enter(ctx::make(plugin, crate::abi::globals::interval(), 0, 0));
    // SAFETY: a valid name, a callback of the list's type, user data copied.
    unsafe { register_in(list, name.as_ptr(), Some(func), &host_ud(host)) };
}

/// Registers in `registry` an output (and a flush callback) that sends
/// what it is given to the isolated plugin.
pub(crate) fn register_write_proxy(registry: &Registry, host: &Arc<Host>) {
    register_proxy(&registry.write, host, proxy_write as WriteFn);
    register_proxy(&registry.flush, host, proxy_flush as FlushFn);
}

unsafe extern "C" fn proxy_missing(vl: *const value_list_t, ud: *mut user_data_t) -> c_int {
    // SAFETY: the registry passes the user data the proxy was registered with.
    if let Some(host) = unsafe { host_of(ud) } {
        // SAFETY: the missing path passes a valid value list.
        host.send(&Frame::Missing(unsafe { PlainValueList::of(&*vl) }));
    }
    0
}

/// Registers in `registry` a missing-value callback that tells the
/// isolated plugin.
pub(crate) fn register_missing_proxy(registry: &Registry, host: &Arc<Host>) {
    register_proxy(&registry.missing, host, proxy_missing as MissingFn);
}

/// Registers in `registry` a notification callback that sends
/// notifications to the isolated plugin.
pub(crate) fn register_notification_proxy(registry: &Registry, host: &Arc<Host>) {
    register_proxy(
        &registry.notification,
        host,
        proxy_notification as NotificationFn,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_survive_the_conversion() {
        let n = PlainNotification {
            severity: 2,
            time: 1 << 35,
            message: b"too hot".to_vec(),
            fields: [
                b"h".to_vec(),
                b"p".to_vec(),
                b"".to_vec(),
                b"t".to_vec(),
                b"ti".to_vec(),
            ],
            meta: vec![
                (b"s".to_vec(), NotifValue::String(b"v".to_vec())),
                (b"i".to_vec(), NotifValue::SignedInt(-4)),
                (b"u".to_vec(), NotifValue::UnsignedInt(4)),
                (b"d".to_vec(), NotifValue::Double(0.25)),
                (b"b".to_vec(), NotifValue::Boolean(true)),
            ],
        };
        // SAFETY: the notification is valid inside the closure.
        let back = with_notification(&n, |c| unsafe { plain_of(c) });
        assert_eq!(back, n);
    }
}
