//! Every `plugin_*` export of collectd's `plugin.h` (and `cf_register*` of
//! `configfile.h`): registration and unregistration of all callback kinds,
//! dispatch, write, flush, data sets, the plugin context and plugin threads.
//!
//! Each export catches panics so none crosses `extern "C"`.

use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::sync::Arc;

use rcollectd_plugin::sys::{
    cache_event_type_e, cdtime_t, data_set_t, notification_t, plugin_ctx_t, user_data_t,
    value_list_t,
};

use crate::abi::callbacks::{CComplexRead, CSimpleRead, InCtx};
use crate::abi::ffi::ffi_guard as guard;
use crate::dispatch;
use crate::plugins::ctx::{self, Ctx};
use crate::plugins::log as plog;
use crate::plugins::register::{name_arg, register_in, unregister_in};
use crate::plugins::registry::{
    CacheEventSlot, ComplexConfig, ComplexConfigFn, ComplexReadFn, ConfigFn, OwnedDataSet,
    SimpleConfig, UserData, VoidFn,
};
use crate::runtime::runtime;
use crate::schedule::{Read, ReadFunc};

// ---- log bridge for shim.c ---------------------------------------------

/// Receives every formatted `plugin_log`/`daemon_log` line from shim.c.
///
/// # Safety
/// `message` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn rcd_log_str(level: c_int, message: *const c_char) {
    guard((), || {
        if message.is_null() {
            return;
        }
        // SAFETY: shim.c passes a NUL-terminated buffer.
        let msg = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        plog::emit(level, &msg);
    })
}

/// Drop decision for `plugin_dispatch_multivalue` (1 = drop).
#[no_mangle]
pub extern "C" fn rcd_check_drop() -> c_int {
    guard(0, || {
        c_int::from(crate::runtime::runtime().dispatch.check_drop())
    })
}

/// Queues one value list without a drop check (`plugin_dispatch_multivalue`).
///
/// # Safety
/// `vl` must be a valid value list.
#[no_mangle]
pub unsafe extern "C" fn rcd_enqueue(vl: *const value_list_t) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        crate::runtime::runtime().dispatch.enqueue(vl)
    })
}

// ---- loading ------------------------------------------------------------

/// `plugin_set_dir`.
///
/// # Safety
/// `dir` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_set_dir(dir: *const c_char) {
    guard((), || {
        runtime().plugins.set_dir(name_arg(dir).map(Into::into))
    })
}

/// `plugin_load`: loads `<dir>/<name>.so` with the current context.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_load(name: *const c_char, global: bool) -> c_int {
    guard(-1, || {
        let Some(name) = name_arg(name) else {
            return libc::EINVAL;
        };
        let mut c = ctx::get();
        if c.name.is_null() {
            c.name = ctx::intern(&name);
        }
        if c.interval == 0 {
            c.interval = crate::abi::globals::interval();
        }
        match runtime().plugins.load(&name, global, c) {
            Ok(()) => 0,
            Err(e) => {
                log::error!("plugin_load: {e}");
                1
            }
        }
    })
}

/// `plugin_is_loaded`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_is_loaded(name: *const c_char) -> bool {
    guard(false, || {
        name_arg(name).is_some_and(|n| runtime().plugins.is_loaded(&n))
    })
}

/// `plugin_init_all`: runs init callbacks and starts the threads.
#[no_mangle]
pub extern "C" fn plugin_init_all() -> c_int {
    guard(-1, || if crate::daemon::init_all() { 0 } else { -1 })
}

/// `plugin_read_all`: collectd's per-interval housekeeping (missing values).
#[no_mangle]
pub extern "C" fn plugin_read_all() {
    guard((), crate::daemon::housekeeping)
}

/// `plugin_read_all_once`: every read callback once (`-T`).
#[no_mangle]
pub extern "C" fn plugin_read_all_once() -> c_int {
    guard(-1, || {
        if runtime().scheduler.read_all_once() {
            0
        } else {
            -1
        }
    })
}

/// `plugin_shutdown_all`.
#[no_mangle]
pub extern "C" fn plugin_shutdown_all() -> c_int {
    guard(-1, || if crate::daemon::shutdown_all() { 0 } else { -1 })
}

// ---- write / flush ------------------------------------------------------

/// `plugin_write`: writes one value list via `plugin` (all if NULL).
///
/// # Safety
/// `ds` may be NULL; `vl` must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_write(
    plugin: *const c_char,
    ds: *const data_set_t,
    vl: *const value_list_t,
) -> c_int {
    guard(-1, || {
        if vl.is_null() {
            return libc::EINVAL;
        }
        if runtime().registry.write.is_empty() {
            return libc::ENOENT;
        }
        let mut owned: Option<Arc<OwnedDataSet>> = None;
        let ds = if ds.is_null() {
            // SAFETY: `vl` is valid.
            let t = crate::abi::ffi::cstr_field(unsafe { &(*vl).type_ });
            match runtime().registry.data_set(&t) {
                Some(d) => {
                    let p = d.as_ptr();
                    owned = Some(d);
                    p
                }
                None => {
                    log::error!("plugin_write: Unable to lookup type `{t}'.");
                    return libc::ENOENT;
                }
            }
        } else {
            ds
        };
        let target = name_arg(plugin);
        // SAFETY: ds is ours or the caller's valid data set, vl the
        // caller's valid value list (both checked non-NULL).
        let status = crate::runtime::runtime().dispatch.write_to(
            target.as_deref(),
            unsafe { &*ds },
            unsafe { &*vl },
        );
        drop(owned);
        status
    })
}

/// `plugin_flush`.
///
/// # Safety
/// `plugin` and `identifier` must be NULL or valid C strings.
#[no_mangle]
pub unsafe extern "C" fn plugin_flush(
    plugin: *const c_char,
    timeout: cdtime_t,
    identifier: *const c_char,
) -> c_int {
    guard(-1, || {
        crate::runtime::runtime().dispatch.flush(
            name_arg(plugin).as_deref(),
            timeout,
            name_arg(identifier).as_deref(),
        )
    })
}

// ---- registration -------------------------------------------------------

/// `plugin_register_config` (same as `cf_register`).
///
/// # Safety
/// `name` and `keys[0..keys_num]` must be valid C strings.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_config(
    name: *const c_char,
    callback: Option<ConfigFn>,
    keys: *mut *const c_char,
    keys_num: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cf_register(name, callback, keys, keys_num) };
    0
}

/// `cf_register`: a simple config callback for the keys listed.
///
/// # Safety
/// `name` and `keys[0..keys_num]` must be valid C strings.
#[no_mangle]
pub unsafe extern "C" fn cf_register(
    name: *const c_char,
    callback: Option<ConfigFn>,
    keys: *mut *const c_char,
    keys_num: c_int,
) {
    guard((), || {
        let (Some(plugin), Some(func)) = (name_arg(name), callback) else {
            return;
        };
        let mut list = Vec::new();
        if !keys.is_null() {
            for i in 0..keys_num.max(0) as usize {
                // SAFETY: the plugin passes `keys_num` entries.
                let k = unsafe { *keys.add(i) };
                if let Some(k) = name_arg(k) {
                    list.push(k);
                }
            }
        }
        let mut cfgs = runtime()
            .registry
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cfgs.retain(|c| !c.plugin.eq_ignore_ascii_case(&plugin));
        cfgs.push(Arc::new(SimpleConfig {
            plugin,
            func,
            keys: list,
            ctx: Ctx(ctx::get()),
        }));
    })
}

/// `plugin_register_complex_config` (same as `cf_register_complex`).
///
/// # Safety
/// `name` must be a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_complex_config(
    name: *const c_char,
    callback: Option<ComplexConfigFn>,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cf_register_complex(name, callback) }
}

/// `cf_register_complex`: a config callback receiving the whole block.
///
/// # Safety
/// `name` must be a valid C string.
#[no_mangle]
pub unsafe extern "C" fn cf_register_complex(
    name: *const c_char,
    callback: Option<ComplexConfigFn>,
) -> c_int {
    guard(-1, || {
        let (Some(plugin), Some(func)) = (name_arg(name), callback) else {
            return -1;
        };
        runtime()
            .registry
            .complex_config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(ComplexConfig {
                plugin,
                func,
                ctx: Ctx(ctx::get()),
            }));
        0
    })
}

/// `cf_unregister`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn cf_unregister(name: *const c_char) {
    guard((), || {
        if let Some(n) = name_arg(name) {
            let mut cfgs = runtime()
                .registry
                .config
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(pos) = cfgs.iter().position(|c| c.plugin.eq_ignore_ascii_case(&n)) {
                cfgs.remove(pos);
            }
        }
    })
}

/// `cf_unregister_complex`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn cf_unregister_complex(name: *const c_char) {
    guard((), || {
        if let Some(n) = name_arg(name) {
            let mut cfgs = runtime()
                .registry
                .complex_config
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(pos) = cfgs.iter().position(|c| c.plugin.eq_ignore_ascii_case(&n)) {
                cfgs.remove(pos);
            }
        }
    })
}

/// `plugin_unregister_config`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_config(name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cf_unregister(name) };
    0
}

/// `plugin_unregister_complex_config`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_complex_config(name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { cf_unregister_complex(name) };
    0
}

/// `plugin_register_init`.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_init(
    name: *const c_char,
    callback: Option<VoidFn>,
) -> c_int {
    // SAFETY: no user data.
    guard(-1, || unsafe {
        register_in(&runtime().registry.init, name, callback, std::ptr::null())
    })
}

/// Registers a read under the calling plugin's context, with `interval`
/// (0: the plugin's) set in that context while it runs.
fn register_read(
    name: String,
    group: String,
    read: impl Read + 'static,
    interval: cdtime_t,
) -> c_int {
    let mut c = ctx::get();
    let interval = if interval != 0 {
        interval
    } else {
        dispatch::effective_interval(&c)
    };
    c.interval = interval;
    let plugin = ctx::name_of(&c).unwrap_or_default();
    let read = Box::new(InCtx { ctx: Ctx(c), read });
    match runtime()
        .scheduler
        .register(ReadFunc::new(&name, &group, &plugin, read, interval))
    {
        Ok(()) => 0,
        Err(_) => {
            crate::p_warning!(
                "The read function \"{name}\" is already registered. Check for duplicates in your configuration!"
            );
            libc::EINVAL
        }
    }
}

/// `plugin_register_read`: a simple read callback at the plugin's interval.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_read(
    name: *const c_char,
    callback: Option<VoidFn>,
) -> c_int {
    guard(-1, || {
        let (Some(n), Some(f)) = (name_arg(name), callback) else {
            return libc::EINVAL;
        };
        register_read(n, String::new(), CSimpleRead(f), 0)
    })
}

/// `plugin_register_complex_read`: read callback with group, interval and user data.
///
/// # Safety
/// Strings must be NULL or valid; `user_data` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_complex_read(
    group: *const c_char,
    name: *const c_char,
    callback: Option<ComplexReadFn>,
    interval: cdtime_t,
    user_data: *const user_data_t,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        let ud = unsafe { UserData::from_ptr(user_data) };
        let (Some(n), Some(f)) = (name_arg(name), callback) else {
            return libc::EINVAL;
        };
        let g = name_arg(group).unwrap_or_default();
        register_read(n, g, CComplexRead(f, ud), interval)
    })
}

/// `plugin_register_write`.
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_write(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_write_cb,
    ud: *const user_data_t,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        register_in(&runtime().registry.write, name, callback, ud)
    })
}

/// `plugin_register_flush`; with the plugin's `FlushInterval` set, also a
/// periodic "flush/<name>" read in group "flush", as collectd.
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_flush(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_flush_cb,
    ud: *const user_data_t,
) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        let status = unsafe { register_in(&runtime().registry.flush, name, callback, ud) };
        if status != 0 {
            return status;
        }
        let c = ctx::get();
        if c.flush_interval != 0 {
            let Some(n) = name_arg(name) else { return -1 };
            let timeout = c.flush_timeout;
            let target = n.clone();
            let read = move || {
                crate::runtime::runtime()
                    .dispatch
                    .flush(Some(&target), timeout, None)
            };
            return register_read(format!("flush/{n}"), "flush".into(), read, c.flush_interval);
        }
        0
    })
}

/// `plugin_register_missing`.
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_missing(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_missing_cb,
    ud: *const user_data_t,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        register_in(&runtime().registry.missing, name, callback, ud)
    })
}

/// `plugin_register_cache_event` (at most 32, names unique, as collectd).
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_cache_event(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_cache_event_cb,
    ud: *const user_data_t,
) -> c_int {
    guard(-1, || {
        let (Some(n), Some(f)) = (name_arg(name), callback) else {
            return libc::EINVAL;
        };
        // SAFETY: forwarded contract.
        let ud = unsafe { UserData::from_ptr(ud) };
        runtime().registry.with_cache_event_slots(|slots| {
            if slots.len() >= 32 {
                log::error!("plugin_register_cache_event: Too much cache event callbacks tried to be registered.");
                return libc::ENOMEM;
            }
            if slots.iter().flatten().any(|s| s.name == n) {
                log::error!(
                    "plugin_register_cache_event: a callback named `{n}' already registered!"
                );
                return -1;
            }
            slots.push(Some(Arc::new(CacheEventSlot {
                name: n,
                func: f,
                ud,
                ctx: Ctx(ctx::get()),
            })));
            0
        })
    })
}

/// `plugin_register_shutdown`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_shutdown(
    name: *const c_char,
    callback: Option<VoidFn>,
) -> c_int {
    // SAFETY: no user data.
    guard(-1, || unsafe {
        register_in(
            &runtime().registry.shutdown,
            name,
            callback,
            std::ptr::null(),
        )
    })
}

/// `plugin_register_data_set`: copies the data set (replacing one of the same type).
///
/// # Safety
/// `ds` must be NULL or a valid data set.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_data_set(ds: *const data_set_t) -> c_int {
    guard(-1, || {
        // SAFETY: forwarded contract.
        let Some(owned) = (unsafe { OwnedDataSet::copy_from(ds) }) else {
            return -1;
        };
        if crate::isolate::child::is_host() {
            // SAFETY: `ds` was just read successfully as a valid data set.
            if let Ok(plain) = unsafe { crate::types_db::from_c(ds) } {
                crate::isolate::child::note_type(plain);
            }
        }
        let name = owned.type_name();
        if runtime().registry.add_data_set(owned) {
            plog::notice(&format!("Replacing DS `{name}' with another version."));
        }
        0
    })
}

/// `plugin_register_log`.
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_log(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_log_cb,
    ud: *const user_data_t,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        register_in(plog::callbacks(), name, callback, ud)
    })
}

/// `plugin_register_notification`.
///
/// # Safety
/// `name` NULL or valid; `ud` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_register_notification(
    name: *const c_char,
    callback: rcollectd_plugin::sys::plugin_notification_cb,
    ud: *const user_data_t,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        register_in(&runtime().registry.notification, name, callback, ud)
    })
}

/// `plugin_unregister_init`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_init(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(&runtime().registry.init, name))
}

/// `plugin_unregister_read`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_read(name: *const c_char) -> c_int {
    guard(-1, || {
        let Some(n) = name_arg(name) else {
            return -libc::ENOENT;
        };
        if !runtime().scheduler.has_read_list() {
            // collectd: no read list yet, or shut down already; no message.
            return -libc::ENOENT;
        }
        if runtime().scheduler.unregister(&n) {
            0
        } else {
            log::warn!("plugin_unregister_read: No such read function: {n}");
            -libc::ENOENT
        }
    })
}

/// `plugin_unregister_read_group`.
///
/// # Safety
/// `group` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_read_group(group: *const c_char) -> c_int {
    guard(-1, || {
        let Some(g) = name_arg(group) else {
            return -libc::ENOENT;
        };
        if !runtime().scheduler.has_read_list() {
            return -libc::ENOENT;
        }
        if runtime().scheduler.unregister_group(&g) > 0 {
            0
        } else {
            log::warn!("plugin_unregister_read_group: No such group of read function: {g}");
            -libc::ENOENT
        }
    })
}

/// `plugin_unregister_write`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_write(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(&runtime().registry.write, name))
}

/// `plugin_unregister_flush` (also removes its "flush/<name>" timer).
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_flush(name: *const c_char) -> c_int {
    guard(-1, || {
        if let Some(n) = name_arg(name) {
            runtime().scheduler.unregister(&format!("flush/{n}"));
        }
        unregister_in(&runtime().registry.flush, name)
    })
}

/// `plugin_unregister_missing`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_missing(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(&runtime().registry.missing, name))
}

/// `plugin_unregister_cache_event`: the slot stays (masks keep their bits).
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_cache_event(name: *const c_char) -> c_int {
    guard(-1, || {
        if let Some(n) = name_arg(name) {
            runtime().registry.with_cache_event_slots(|slots| {
                for slot in slots.iter_mut() {
                    if slot.as_ref().is_some_and(|s| s.name == n) {
                        *slot = None;
                    }
                }
            });
        }
        0
    })
}

/// `plugin_unregister_shutdown`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_shutdown(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(&runtime().registry.shutdown, name))
}

/// `plugin_unregister_data_set`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_data_set(name: *const c_char) -> c_int {
    guard(-1, || {
        let Some(n) = name_arg(name) else { return -1 };
        if runtime().registry.remove_data_set(&n) {
            0
        } else {
            -1
        }
    })
}

/// `plugin_unregister_log`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_log(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(plog::callbacks(), name))
}

/// `plugin_unregister_notification`.
///
/// # Safety
/// `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_unregister_notification(name: *const c_char) -> c_int {
    guard(-1, || unregister_in(&runtime().registry.notification, name))
}

/// `plugin_log_available_writers`.
#[no_mangle]
pub extern "C" fn plugin_log_available_writers() {
    guard((), || {
        let names = runtime().registry.write.names();
        if names.is_empty() {
            log::info!("Available write targets: [none]");
        } else {
            log::info!("Available write targets: ['{}']", names.join("', '"));
        }
    })
}

// ---- dispatch -----------------------------------------------------------

/// `plugin_dispatch_values`.
///
/// # Safety
/// `vl` must be NULL or a valid value list.
#[no_mangle]
pub unsafe extern "C" fn plugin_dispatch_values(vl: *const value_list_t) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        crate::runtime::runtime().dispatch.dispatch_values(vl)
    })
}

/// `plugin_dispatch_missing`.
///
/// # Safety
/// `vl` must be a valid value list.
#[no_mangle]
pub unsafe extern "C" fn plugin_dispatch_missing(vl: *const value_list_t) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        crate::runtime::runtime().dispatch.dispatch_missing(vl)
    })
}

/// `plugin_dispatch_cache_event`. For NEW, each callback may subscribe by
/// setting `event->ret`; the resulting mask is stored with `uc_set_callbacks_mask`.
/// Like collectd 5.12, UPDATE and EXPIRED go to every active callback.
///
/// # Safety
/// `name` and `vl` must be valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_dispatch_cache_event(
    event_type: cache_event_type_e,
    callbacks_mask: c_ulong,
    name: *const c_char,
    vl: *const value_list_t,
) {
    guard((), || {
        if name.is_null() {
            return;
        }
        // SAFETY: `name` is a valid C string per the contract.
        let name = unsafe { CStr::from_ptr(name) };
        #[allow(clippy::useless_conversion)] // c_ulong is 32 bits on some targets
        let mask = u64::from(callbacks_mask);
        crate::runtime::runtime()
            .dispatch
            .dispatch_cache_event(event_type, mask, name, vl);
    })
}

/// `plugin_dispatch_notification`.
///
/// # Safety
/// `notif` must be a valid notification.
#[no_mangle]
pub unsafe extern "C" fn plugin_dispatch_notification(notif: *const notification_t) -> c_int {
    guard(-1, || {
        if notif.is_null() {
            return -1;
        }
        // SAFETY: forwarded contract.
        unsafe {
            crate::runtime::runtime()
                .dispatch
                .dispatch_notification(notif)
        }
    })
}

// ---- misc ---------------------------------------------------------------

/// `parse_log_severity`: "emerg|alert|crit|err" -> ERR, warning, notice,
/// info; -1 otherwise (debug too, as in a non-debug collectd build).
///
/// # Safety
/// `severity` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn parse_log_severity(severity: *const c_char) -> c_int {
    guard(-1, || match name_arg(severity) {
        Some(s) => parse_log_severity_str(&s),
        None => -1,
    })
}

/// Rust form of [`parse_log_severity`].
pub fn parse_log_severity_str(s: &str) -> c_int {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "emerg" | "alert" | "crit" | "err" => plog::LOG_ERR,
        "warning" => plog::LOG_WARNING,
        "notice" => plog::LOG_NOTICE,
        "info" => plog::LOG_INFO,
        _ => -1,
    }
}

/// `parse_notif_severity`: FAILURE (any case), OKAY, WARNING/WARN (exact case).
///
/// # Safety
/// `severity` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn parse_notif_severity(severity: *const c_char) -> c_int {
    guard(-1, || match name_arg(severity) {
        Some(s) if s.eq_ignore_ascii_case("FAILURE") => 1,
        Some(s) if s == "OKAY" => 4,
        Some(s) if s == "WARNING" || s == "WARN" => 2,
        _ => -1,
    })
}

/// `plugin_get_ds`: the registered data set, or NULL.
///
/// # Safety
/// `name` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn plugin_get_ds(name: *const c_char) -> *const data_set_t {
    guard(std::ptr::null(), || {
        if runtime().registry.data_set_count() == 0 {
            crate::p_error!("plugin_get_ds: No data sets are defined yet.");
            return std::ptr::null();
        }
        let Some(n) = name_arg(name) else {
            return std::ptr::null();
        };
        // The Arc stays in the registry, so the pointer lives until the data
        // set is unregistered or replaced (collectd's rule too).
        runtime()
            .registry
            .data_set(&n)
            .map_or(std::ptr::null(), |d| d.as_ptr())
    })
}

/// `plugin_init_ctx`: nothing to do (the context is a Rust thread-local).
#[no_mangle]
pub extern "C" fn plugin_init_ctx() {}

/// `plugin_get_ctx`.
#[no_mangle]
pub extern "C" fn plugin_get_ctx() -> plugin_ctx_t {
    ctx::get()
}

/// `plugin_set_ctx`: returns the previous context.
#[no_mangle]
pub extern "C" fn plugin_set_ctx(c: plugin_ctx_t) -> plugin_ctx_t {
    ctx::set(c)
}

/// `plugin_get_interval`: the context's interval, else the global one.
#[no_mangle]
pub extern "C" fn plugin_get_interval() -> cdtime_t {
    let c = ctx::get();
    if c.interval == 0 {
        crate::p_error!("plugin_get_interval: Unable to determine Interval from context.");
    }
    dispatch::effective_interval(&c)
}

extern "C" {
    /// C trampoline in `shim.c`: sets the context, then runs `start`, so a
    /// plugin thread's `pthread_exit` or cancellation crosses only C frames.
    fn rcd_thread_spawn(
        thread: *mut libc::pthread_t,
        start: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
        ctx: plugin_ctx_t,
    ) -> c_int;
}

/// `plugin_thread_create`: a pthread that inherits the caller's context.
///
/// # Safety
/// `thread` must be valid for writing; `name` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_thread_create(
    thread: *mut libc::pthread_t,
    start_routine: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    arg: *mut c_void,
    name: *const c_char,
) -> c_int {
    guard(libc::EINVAL, || {
        let (false, Some(start)) = (thread.is_null(), start_routine) else {
            return libc::EINVAL;
        };
        // SAFETY: `thread` is writable (checked non-null); the shim copies
        // the start routine, argument and context before returning.
        let rc = unsafe { rcd_thread_spawn(thread, start, arg, ctx::get()) };
        if rc != 0 {
            return rc;
        }
        if let Some(n) = name_arg(name) {
            let short: Vec<u8> = n.bytes().filter(|&b| b != 0).take(15).collect();
            if let Ok(c) = std::ffi::CString::new(short) {
                // SAFETY: valid thread handle and name of at most 15 bytes.
                unsafe { libc::pthread_setname_np(*thread, c.as_ptr()) };
            }
        }
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_severity_names() {
        assert_eq!(parse_log_severity_str("err"), plog::LOG_ERR);
        assert_eq!(parse_log_severity_str("CRIT"), plog::LOG_ERR);
        assert_eq!(parse_log_severity_str("Warning"), plog::LOG_WARNING);
        assert_eq!(parse_log_severity_str("notice"), plog::LOG_NOTICE);
        assert_eq!(parse_log_severity_str("info"), plog::LOG_INFO);
        assert_eq!(parse_log_severity_str("debug"), -1);
        assert_eq!(parse_log_severity_str("bogus"), -1);
    }

    #[test]
    fn exported_context_functions_restore() {
        let c = ctx::make("exported", 42, 0, 0);
        let old = plugin_set_ctx(c);
        assert_eq!(plugin_get_interval(), 42);
        assert_eq!(plugin_get_ctx().name, c.name);
        plugin_set_ctx(old);
    }
}
