//! The host daemon's exported functions, looked up at run time.
//!
//! A plugin `.so` calls back into the daemon that loaded it (rcollectd or
//! collectd 5.12). Instead of leaving undefined symbols for the dynamic
//! linker, the functions are resolved once with `dlsym(RTLD_DEFAULT, ..)`:
//! the plugin then also links into ordinary test binaries (where no daemon
//! exists and every host call fails with [`HostError`]), and the `testing`
//! feature can stand in for the daemon.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt;
use std::sync::OnceLock;

use crate::sys;

/// A host function the plugin needs is not exported by the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostError {
    /// The missing symbol.
    pub symbol: &'static str,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the host process does not export `{}` (not running inside collectd/rcollectd?)",
            self.symbol
        )
    }
}

impl std::error::Error for HostError {}

type ComplexConfigFn = unsafe extern "C" fn(
    *const c_char,
    Option<unsafe extern "C" fn(*mut sys::oconfig_item_t) -> c_int>,
) -> c_int;
type SimpleFn =
    unsafe extern "C" fn(*const c_char, Option<unsafe extern "C" fn() -> c_int>) -> c_int;
type ComplexReadFn = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    sys::plugin_read_cb,
    sys::cdtime_t,
    *const sys::user_data_t,
) -> c_int;
type RegisterWriteFn =
    unsafe extern "C" fn(*const c_char, sys::plugin_write_cb, *const sys::user_data_t) -> c_int;
type RegisterFlushFn =
    unsafe extern "C" fn(*const c_char, sys::plugin_flush_cb, *const sys::user_data_t) -> c_int;
type RegisterMissingFn =
    unsafe extern "C" fn(*const c_char, sys::plugin_missing_cb, *const sys::user_data_t) -> c_int;
type RegisterLogFn =
    unsafe extern "C" fn(*const c_char, sys::plugin_log_cb, *const sys::user_data_t) -> c_int;
type RegisterNotificationFn = unsafe extern "C" fn(
    *const c_char,
    sys::plugin_notification_cb,
    *const sys::user_data_t,
) -> c_int;
type DispatchValuesFn = unsafe extern "C" fn(*const sys::value_list_t) -> c_int;
type DispatchNotificationFn = unsafe extern "C" fn(*const sys::notification_t) -> c_int;
type LogFn = unsafe extern "C" fn(c_int, *const c_char, ...);
type BatchFn = unsafe extern "C" fn();
type KeepFdFn = unsafe extern "C" fn(*const c_char, c_int) -> c_int;
type TakeFdFn = unsafe extern "C" fn(*const c_char) -> c_int;
type PendingFn = unsafe extern "C" fn() -> c_int;
type GetIntervalFn = unsafe extern "C" fn() -> sys::cdtime_t;
type GetRateFn = unsafe extern "C" fn(*const sys::data_set_t, *const sys::value_list_t) -> *mut f64;
type GetDsFn = unsafe extern "C" fn(*const c_char) -> *const sys::data_set_t;
type MetaGetStringFn =
    unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *mut *mut c_char) -> c_int;
type MetaGetI64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *mut i64) -> c_int;
type MetaGetU64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *mut u64) -> c_int;
type MetaGetF64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *mut f64) -> c_int;
type MetaGetBoolFn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *mut bool) -> c_int;
type MetaTypeFn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char) -> c_int;
type MetaTocFn = unsafe extern "C" fn(*mut sys::meta_data_t, *mut *mut *mut c_char) -> c_int;
type MetaCreateFn = unsafe extern "C" fn() -> *mut sys::meta_data_t;
type MetaDestroyFn = unsafe extern "C" fn(*mut sys::meta_data_t);
type MetaAddStringFn =
    unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *const c_char) -> c_int;
type MetaAddI64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, i64) -> c_int;
type MetaAddU64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, u64) -> c_int;
type MetaAddF64Fn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, f64) -> c_int;
type MetaAddBoolFn = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, bool) -> c_int;
type CacheMetaGetU64Fn =
    unsafe extern "C" fn(*const sys::value_list_t, *const c_char, *mut u64) -> c_int;
type CacheMetaAddU64Fn =
    unsafe extern "C" fn(*const sys::value_list_t, *const c_char, u64) -> c_int;
type NotifMetaAddBoolFn =
    unsafe extern "C" fn(*mut sys::notification_t, *const c_char, bool) -> c_int;
type NotifMetaFreeFn = unsafe extern "C" fn(*mut sys::notification_meta_t) -> c_int;
type NotifMetaAddStringFn =
    unsafe extern "C" fn(*mut sys::notification_t, *const c_char, *const c_char) -> c_int;
type GetRateByNameFn = unsafe extern "C" fn(*const c_char, *mut *mut f64, *mut usize) -> c_int;
type GetNamesFn =
    unsafe extern "C" fn(*mut *mut *mut c_char, *mut *mut sys::cdtime_t, *mut usize) -> c_int;
type FlushFn = unsafe extern "C" fn(*const c_char, sys::cdtime_t, *const c_char) -> c_int;
type SearchThresholdFn =
    unsafe extern "C" fn(*const sys::value_list_t, *mut sys::threshold_t) -> c_int;

/// Function table of the host daemon; `None` where the symbol is absent.
#[derive(Default, Clone, Copy)]
pub(crate) struct Host {
    pub register_complex_config: Option<ComplexConfigFn>,
    pub register_init: Option<SimpleFn>,
    pub register_shutdown: Option<SimpleFn>,
    pub register_complex_read: Option<ComplexReadFn>,
    pub register_write: Option<RegisterWriteFn>,
    pub register_flush: Option<RegisterFlushFn>,
    pub register_missing: Option<RegisterMissingFn>,
    pub register_log: Option<RegisterLogFn>,
    pub register_notification: Option<RegisterNotificationFn>,
    pub dispatch_values: Option<DispatchValuesFn>,
    pub dispatch_notification: Option<DispatchNotificationFn>,
    pub log: Option<LogFn>,
    pub get_interval: Option<GetIntervalFn>,
    pub get_rate: Option<GetRateFn>,
    pub get_ds: Option<GetDsFn>,
    pub hostname_g: Option<*mut *mut c_char>,
    pub meta_get_string: Option<MetaGetStringFn>,
    pub meta_get_signed_int: Option<MetaGetI64Fn>,
    pub meta_get_unsigned_int: Option<MetaGetU64Fn>,
    pub meta_get_double: Option<MetaGetF64Fn>,
    pub meta_get_boolean: Option<MetaGetBoolFn>,
    pub meta_type: Option<MetaTypeFn>,
    pub meta_toc: Option<MetaTocFn>,
    pub meta_create: Option<MetaCreateFn>,
    pub meta_destroy: Option<MetaDestroyFn>,
    pub meta_add_string: Option<MetaAddStringFn>,
    pub meta_add_signed_int: Option<MetaAddI64Fn>,
    pub meta_add_unsigned_int: Option<MetaAddU64Fn>,
    pub meta_add_double: Option<MetaAddF64Fn>,
    pub meta_add_boolean: Option<MetaAddBoolFn>,
    pub cache_meta_get_unsigned_int: Option<CacheMetaGetU64Fn>,
    pub cache_meta_add_unsigned_int: Option<CacheMetaAddU64Fn>,
    pub notification_meta_add_boolean: Option<NotifMetaAddBoolFn>,
    pub notification_meta_free: Option<NotifMetaFreeFn>,
    pub notification_meta_add_string: Option<NotifMetaAddStringFn>,
    pub get_rate_by_name: Option<GetRateByNameFn>,
    pub get_names: Option<GetNamesFn>,
    pub flush: Option<FlushFn>,
    pub search_threshold: Option<SearchThresholdFn>,
    pub batch_begin: Option<BatchFn>,
    pub batch_end: Option<BatchFn>,
    pub reload_keep_fd: Option<KeepFdFn>,
    pub reload_take_fd: Option<TakeFdFn>,
    pub reload_pending: Option<PendingFn>,
}

// SAFETY: the table holds only function pointers and addresses of the host's
// global variables, which are valid for the life of the process and may be
// used from any thread (the host synchronises its own globals).
unsafe impl Send for Host {}
// SAFETY: see `Send` above; the table itself is immutable once built.
unsafe impl Sync for Host {}

static HOST: OnceLock<Host> = OnceLock::new();

fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the global
    // scope (the daemon executable and its global libraries) and returns
    // NULL when the symbol is absent.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

macro_rules! resolve {
    ($name:literal, $ty:ty) => {{
        let p = lookup($name);
        if p.is_null() {
            None
        } else {
            // SAFETY: the symbol has this C prototype in collectd 5.12 and in
            // rcollectd (include/collectd/rcollectd.h); a function pointer
            // and a data pointer have the same size on all supported targets.
            Some(unsafe { std::mem::transmute::<*mut c_void, $ty>(p) })
        }
    }};
}

fn resolve_process() -> Host {
    Host {
        register_complex_config: resolve!(c"plugin_register_complex_config", ComplexConfigFn),
        register_init: resolve!(c"plugin_register_init", SimpleFn),
        register_shutdown: resolve!(c"plugin_register_shutdown", SimpleFn),
        register_complex_read: resolve!(c"plugin_register_complex_read", ComplexReadFn),
        register_write: resolve!(c"plugin_register_write", RegisterWriteFn),
        register_flush: resolve!(c"plugin_register_flush", RegisterFlushFn),
        register_missing: resolve!(c"plugin_register_missing", RegisterMissingFn),
        register_log: resolve!(c"plugin_register_log", RegisterLogFn),
        register_notification: resolve!(c"plugin_register_notification", RegisterNotificationFn),
        dispatch_values: resolve!(c"plugin_dispatch_values", DispatchValuesFn),
        dispatch_notification: resolve!(c"plugin_dispatch_notification", DispatchNotificationFn),
        log: resolve!(c"plugin_log", LogFn),
        get_interval: resolve!(c"plugin_get_interval", GetIntervalFn),
        get_rate: resolve!(c"uc_get_rate", GetRateFn),
        get_ds: resolve!(c"plugin_get_ds", GetDsFn),
        hostname_g: {
            let p = lookup(c"hostname_g");
            (!p.is_null()).then_some(p.cast())
        },
        meta_get_string: resolve!(c"meta_data_get_string", MetaGetStringFn),
        meta_get_signed_int: resolve!(c"meta_data_get_signed_int", MetaGetI64Fn),
        meta_get_unsigned_int: resolve!(c"meta_data_get_unsigned_int", MetaGetU64Fn),
        meta_get_double: resolve!(c"meta_data_get_double", MetaGetF64Fn),
        meta_get_boolean: resolve!(c"meta_data_get_boolean", MetaGetBoolFn),
        meta_type: resolve!(c"meta_data_type", MetaTypeFn),
        meta_toc: resolve!(c"meta_data_toc", MetaTocFn),
        meta_create: resolve!(c"meta_data_create", MetaCreateFn),
        meta_destroy: resolve!(c"meta_data_destroy", MetaDestroyFn),
        meta_add_string: resolve!(c"meta_data_add_string", MetaAddStringFn),
        meta_add_signed_int: resolve!(c"meta_data_add_signed_int", MetaAddI64Fn),
        meta_add_unsigned_int: resolve!(c"meta_data_add_unsigned_int", MetaAddU64Fn),
        meta_add_double: resolve!(c"meta_data_add_double", MetaAddF64Fn),
        meta_add_boolean: resolve!(c"meta_data_add_boolean", MetaAddBoolFn),
        cache_meta_get_unsigned_int: resolve!(c"uc_meta_data_get_unsigned_int", CacheMetaGetU64Fn),
        cache_meta_add_unsigned_int: resolve!(c"uc_meta_data_add_unsigned_int", CacheMetaAddU64Fn),
        notification_meta_add_boolean: resolve!(
            c"plugin_notification_meta_add_boolean",
            NotifMetaAddBoolFn
        ),
        notification_meta_free: resolve!(c"plugin_notification_meta_free", NotifMetaFreeFn),
        notification_meta_add_string: resolve!(
            c"plugin_notification_meta_add_string",
            NotifMetaAddStringFn
        ),
        get_rate_by_name: resolve!(c"uc_get_rate_by_name", GetRateByNameFn),
        get_names: resolve!(c"uc_get_names", GetNamesFn),
        flush: resolve!(c"plugin_flush", FlushFn),
        search_threshold: resolve!(c"ut_search_threshold", SearchThresholdFn),
        batch_begin: resolve!(c"rcollectd_dispatch_batch_begin", BatchFn),
        batch_end: resolve!(c"rcollectd_dispatch_batch_end", BatchFn),
        reload_keep_fd: resolve!(c"rcollectd_reload_keep_fd", KeepFdFn),
        reload_take_fd: resolve!(c"rcollectd_reload_take_fd", TakeFdFn),
        reload_pending: resolve!(c"rcollectd_reload_pending", PendingFn),
    }
}

/// The host's function table, resolved on first use.
pub(crate) fn host() -> &'static Host {
    HOST.get_or_init(resolve_process)
}

/// Unwraps an optional host function into a `HostError` naming it.
pub(crate) fn need<T>(f: Option<T>, symbol: &'static str) -> Result<T, HostError> {
    f.ok_or(HostError { symbol })
}

/// Sends an already formatted message to the host's `plugin_log`, or to
/// stderr when there is no host (unit tests, tools).
pub(crate) fn log_raw(level: c_int, message: &str) {
    #[cfg(any(test, feature = "testing"))]
    if crate::capture::capture_log(level, message) {
        return;
    }
    match host().log {
        Some(log) => {
            let msg = crate::util::to_cstring_lossy(message);
            // SAFETY: "%s" consumes exactly one NUL-terminated string argument.
            unsafe { log(level, c"%s".as_ptr(), msg.as_ptr()) }
        }
        None => eprintln!("{message}"),
    }
}
