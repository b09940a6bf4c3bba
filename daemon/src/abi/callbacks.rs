//! The adapters: every call rcollectd makes through a plugin's C function
//! pointer is in this module, and nowhere else.
//!
//! Each adapter holds the pointer a plugin registered (with its user data)
//! and offers a safe method, or implements a core trait such as
//! [`rcollectd_core::schedule::Read`]. A panic that unwinds out of a
//! callback (the SDK catches its own; a C plugin cannot panic) is contained
//! here and reported as status -1. Setting the plugin context around a call
//! stays with the caller, because collectd sets it differently per kind
//! (a targeted write keeps the caller's context, `write_all` switches only
//! the name).
//!
//! Invariant of the whole facade: a `&data_set_t`, `&value_list_t`,
//! `&notification_t` or `&cache_event_t` it holds refers to a complete
//! object whose inner pointers (`ds`, `values`, `meta`) are valid for the
//! reference's lifetime, as the collectd ABI promises plugins.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rcollectd_core::registry::{Call, Flush, Log, Missing, Notify};
use rcollectd_core::schedule::Read;
use rcollectd_plugin::sys::{
    cache_event_t, cdtime_t, data_set_t, match_proc_t, notification_t, oconfig_item_t,
    target_proc_t, user_data_t, value_list_t,
};

use crate::plugins::ctx::{self, Ctx};

/// `int (*)(void)`: init, shutdown and simple read callbacks.
pub type VoidFn = unsafe extern "C" fn() -> c_int;
/// `plugin_write_cb` without the `Option`.
pub type WriteFn =
    unsafe extern "C" fn(*const data_set_t, *const value_list_t, *mut user_data_t) -> c_int;
/// `plugin_flush_cb` without the `Option`.
pub type FlushFn = unsafe extern "C" fn(u64, *const c_char, *mut user_data_t) -> c_int;
/// `plugin_missing_cb` without the `Option`.
pub type MissingFn = unsafe extern "C" fn(*const value_list_t, *mut user_data_t) -> c_int;
/// `plugin_log_cb` without the `Option`.
pub type LogFn = unsafe extern "C" fn(c_int, *const c_char, *mut user_data_t);
/// `plugin_notification_cb` without the `Option`.
pub type NotificationFn = unsafe extern "C" fn(*const notification_t, *mut user_data_t) -> c_int;
/// `plugin_cache_event_cb` without the `Option`.
pub type CacheEventFn = unsafe extern "C" fn(*mut cache_event_t, *mut user_data_t) -> c_int;
/// `plugin_read_cb` without the `Option`.
pub type ComplexReadFn = unsafe extern "C" fn(*mut user_data_t) -> c_int;
/// Simple config callback `int (*)(const char *key, const char *value)`.
pub type ConfigFn = unsafe extern "C" fn(*const c_char, *const c_char) -> c_int;
/// Complex config callback `int (*)(oconfig_item_t *)`.
pub type ComplexConfigFn = unsafe extern "C" fn(*mut oconfig_item_t) -> c_int;

/// One registered callback.
pub struct Callback<F> {
    /// Registration name (usually the plugin name).
    pub name: String,
    /// The C function.
    pub func: F,
    /// The plugin's user data.
    pub ud: UserData,
    /// The context captured at registration time.
    pub ctx: Ctx,
}

impl<F> rcollectd_core::registry::Named for Callback<F>
where
    Callback<F>: Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
}

/// A simple (key/value) config callback.
pub struct SimpleConfig {
    /// Plugin name (matched case-insensitively, as collectd does).
    pub plugin: String,
    /// The callback.
    pub func: ConfigFn,
    /// Keys the plugin accepts (case-insensitive).
    pub keys: Vec<String>,
    /// Context at registration.
    pub ctx: Ctx,
}

/// A complex (oconfig tree) config callback.
pub struct ComplexConfig {
    /// Plugin name (matched case-insensitively).
    pub plugin: String,
    /// The callback.
    pub func: ComplexConfigFn,
    /// Context at registration.
    pub ctx: Ctx,
}

/// A cache-event callback; slots keep their index because the value cache
/// stores subscriptions as a bit mask over them (at most 32, as collectd).
pub struct CacheEventSlot {
    /// Registration name.
    pub name: String,
    /// The callback.
    pub func: CacheEventFn,
    /// The plugin's user data.
    pub ud: UserData,
    /// Context at registration.
    pub ctx: Ctx,
}

/// A plugin's `user_data_t`, whose `free_func` runs exactly once, when the
/// owning registration is dropped (unregister or shutdown), as in collectd.
pub struct UserData(UnsafeCell<user_data_t>);

// SAFETY: collectd hands the same user_data_t pointer to concurrent callbacks
// (several write threads); plugins are written for that. We never touch the
// contents ourselves except in Drop, when no other reference exists.
unsafe impl Send for UserData {}
// SAFETY: see above.
unsafe impl Sync for UserData {}

impl UserData {
    /// Copies the plugin's user data (NULL means none).
    ///
    /// # Safety
    /// `ud` must be NULL or point to a valid `user_data_t`.
    pub unsafe fn from_ptr(ud: *const user_data_t) -> Self {
        let value = if ud.is_null() {
            user_data_t {
                data: std::ptr::null_mut(),
                free_func: None,
            }
        } else {
            // SAFETY: caller guarantees `ud` is valid when non-null.
            unsafe { *ud }
        };
        UserData(UnsafeCell::new(value))
    }

    /// No user data.
    pub fn none() -> Self {
        // SAFETY: NULL is allowed.
        unsafe { Self::from_ptr(std::ptr::null()) }
    }

    /// The pointer callbacks receive.
    pub fn as_ptr(&self) -> *mut user_data_t {
        self.0.get()
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        let ud = self.0.get_mut();
        if let (false, Some(free)) = (ud.data.is_null(), ud.free_func) {
            let data = std::mem::replace(&mut ud.data, std::ptr::null_mut());
            // SAFETY: the plugin registered `free` to release `data`; it runs
            // once because we null the pointer and this is the only owner.
            unsafe { free(data) };
        }
    }
}

/// Runs one callback; a panic becomes status -1.
fn contained(call: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or(-1)
}

/// `plugin_register_read`'s `int (*)(void)`.
pub struct CSimpleRead(pub VoidFn);

impl Read for CSimpleRead {
    fn read(&self) -> i32 {
        // SAFETY: the plugin's registered read callback, which takes no
        // arguments, called as collectd calls it.
        contained(|| unsafe { (self.0)() })
    }
}

/// `plugin_register_complex_read`'s `int (*)(user_data_t *)` with the user
/// data it registered (freed when the read is dropped).
pub struct CComplexRead(pub ComplexReadFn, pub UserData);

impl Read for CComplexRead {
    fn read(&self) -> i32 {
        // SAFETY: the plugin's read callback with the user data it
        // registered, which lives as long as `self`.
        contained(|| unsafe { (self.0)(self.1.as_ptr()) })
    }
}

/// A read run with the plugin context it was registered under (its name
/// and interval), as collectd sets it around every read.
pub struct InCtx<R> {
    /// The context to set.
    pub ctx: Ctx,
    /// The read itself.
    pub read: R,
}

impl<R: Read> Read for InCtx<R> {
    fn read(&self) -> i32 {
        let _g = ctx::enter(self.ctx.0);
        self.read.read()
    }
}

impl Call for Callback<VoidFn> {
    /// An init or shutdown callback, in the plugin's context.
    fn call(&self) -> c_int {
        let _g = ctx::enter(self.ctx.0);
        // SAFETY: the plugin's `int (*)(void)` callback.
        contained(|| unsafe { (self.func)() })
    }
}

impl SimpleConfig {
    /// A simple config callback for one `key value` line, in the plugin's
    /// context.
    pub fn config(&self, key: &CStr, value: &CStr) -> c_int {
        let _g = ctx::enter(self.ctx.0);
        // SAFETY: the plugin's config callback with two valid C strings that
        // outlive the call.
        contained(|| unsafe { (self.func)(key.as_ptr(), value.as_ptr()) })
    }
}

impl ComplexConfig {
    /// A complex config callback for one `<Plugin>` block, in the plugin's
    /// context.
    ///
    /// # Safety
    /// `ci` must be a valid config tree for the duration of the call.
    pub unsafe fn config(&self, ci: *mut oconfig_item_t) -> c_int {
        let _g = ctx::enter(self.ctx.0);
        // SAFETY: the plugin's config callback with a valid tree (caller).
        contained(|| unsafe { (self.func)(ci) })
    }
}

impl Callback<WriteFn> {
    /// The write callback for one value list (in the caller's context).
    pub fn write(&self, ds: &data_set_t, vl: &value_list_t) -> c_int {
        // SAFETY: the plugin's write callback with a data set and value list
        // valid for the call (the facade's invariant) and its own user data.
        contained(|| unsafe { (self.func)(ds, vl, self.ud.as_ptr()) })
    }
}

impl Flush for Callback<FlushFn> {
    /// The flush callback, in the plugin's context.
    fn flush(&self, timeout: cdtime_t, identifier: Option<&CStr>) -> c_int {
        let _g = ctx::enter(self.ctx.0);
        let ident = identifier.map_or(std::ptr::null(), CStr::as_ptr);
        // SAFETY: the plugin's flush callback with a NULL or valid identifier
        // string and its own user data.
        contained(|| unsafe { (self.func)(timeout, ident, self.ud.as_ptr()) })
    }
}

impl Missing<value_list_t> for Callback<MissingFn> {
    /// The missing callback for one value list, in the plugin's context.
    fn missing(&self, vl: &value_list_t) -> c_int {
        let _g = ctx::enter(self.ctx.0);
        // SAFETY: the plugin's missing callback with a valid value list and
        // its own user data.
        contained(|| unsafe { (self.func)(vl, self.ud.as_ptr()) })
    }
}

impl Notify<notification_t> for Callback<NotificationFn> {
    /// The notification callback (in the caller's context, as collectd).
    fn notify(&self, n: &notification_t) -> c_int {
        // SAFETY: the plugin's notification callback with a valid
        // notification and its own user data.
        contained(|| unsafe { (self.func)(n, self.ud.as_ptr()) })
    }
}

impl CacheEventSlot {
    /// The cache-event callback; it answers through `ev.ret`.
    pub fn cache_event(&self, ev: &mut cache_event_t) -> c_int {
        // SAFETY: the plugin's callback with a valid, writable event and its
        // own user data.
        contained(|| unsafe { (self.func)(ev, self.ud.as_ptr()) })
    }
}

impl Log for Callback<LogFn> {
    /// The log callback for one line (collectd does not switch the context
    /// for log callbacks).
    fn log(&self, level: c_int, msg: &CStr) {
        let _ = contained(|| {
            // SAFETY: the plugin's log callback with a valid message and its
            // own user data.
            unsafe { (self.func)(level, msg.as_ptr(), self.ud.as_ptr()) };
            0
        });
    }
}

/// Calls a plugin's `module_register`; false if it panicked.
///
/// # Safety
/// `register` must be the `module_register` of a library that stays loaded
/// for the call.
pub unsafe fn module_register(register: unsafe extern "C" fn()) -> bool {
    // SAFETY: the plugin's registration entry point (caller's contract).
    catch_unwind(|| unsafe { register() }).is_ok()
}

/// A plugin's opaque per-instance state for a match or target, handed back
/// on every call, and the plugin's `destroy` for it, called once when the
/// state is dropped.
pub struct FilterState {
    ptr: *mut c_void,
    destroy: Option<DestroyFn>,
}

// SAFETY: collectd calls a match's or target's callbacks from any write
// thread with the same state; plugins written for it are built for that.
unsafe impl Send for FilterState {}
// SAFETY: as above: shared use across threads is the plugin's contract.
unsafe impl Sync for FilterState {}

/// The `create` callback matches and targets share.
type CreateFn = unsafe extern "C" fn(*const oconfig_item_t, *mut *mut c_void) -> c_int;
/// The `destroy` callback matches and targets share.
type DestroyFn = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

impl FilterState {
    /// Runs a match's or target's `create` on its config block; the state
    /// (destroyed with `destroy`), or the callback's status.
    ///
    /// # Safety
    /// `ci` must be a valid config tree for the duration of the call.
    unsafe fn create(
        create: Option<CreateFn>,
        destroy: Option<DestroyFn>,
        ci: *const oconfig_item_t,
    ) -> Result<FilterState, c_int> {
        let mut ptr: *mut c_void = std::ptr::null_mut();
        if let Some(create) = create {
            // SAFETY: the plugin's create callback with a valid tree (caller)
            // and a place for its state.
            let status = contained(|| unsafe { create(ci, &mut ptr) });
            if status != 0 {
                return Err(status);
            }
        }
        Ok(FilterState { ptr, destroy })
    }
}

impl Drop for FilterState {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            let mut ptr = self.ptr;
            let _ = contained(|| {
                // SAFETY: the plugin's own destroy callback with the state
                // its create returned, called once (this value drops once).
                unsafe { destroy(&mut ptr) };
                0
            });
        }
    }
}

/// A configured `<Match>` of a plugin: its callbacks and instance state
/// (destroyed once when dropped).
pub struct CMatch {
    proc_: match_proc_t,
    state: FilterState,
}

impl CMatch {
    /// Instantiates the match on its config block.
    ///
    /// # Safety
    /// `ci` must be a valid config tree for the duration of the call.
    pub unsafe fn create(proc_: match_proc_t, ci: *const oconfig_item_t) -> Result<Self, c_int> {
        // SAFETY: forwarded contract.
        let state = unsafe { FilterState::create(proc_.create, proc_.destroy, ci) }?;
        Ok(CMatch { proc_, state })
    }

    /// The match callback: `FC_MATCH_MATCHES`, `FC_MATCH_NO_MATCH`, or a
    /// negative error (also when the plugin registered none).
    pub fn matches(&self, ds: &data_set_t, vl: &value_list_t) -> c_int {
        let Some(f) = self.proc_.match_ else {
            return -1;
        };
        let mut state = self.state.ptr;
        // SAFETY: the match callback with a valid data set and value list
        // and the state its create callback returned (collectd passes the
        // address of its stored pointer the same way).
        contained(|| unsafe { f(ds, vl, std::ptr::null_mut(), &mut state) })
    }
}

/// A configured `<Target>` of a plugin, destroyed once when dropped.
pub struct CTarget {
    proc_: target_proc_t,
    state: FilterState,
}

impl CTarget {
    /// Instantiates the target on its config block.
    ///
    /// # Safety
    /// `ci` must be a valid config tree for the duration of the call.
    pub unsafe fn create(proc_: target_proc_t, ci: *const oconfig_item_t) -> Result<Self, c_int> {
        // SAFETY: forwarded contract.
        let state = unsafe { FilterState::create(proc_.create, proc_.destroy, ci) }?;
        Ok(CTarget { proc_, state })
    }

    /// The target's invoke callback, which may change `vl`; -1 when the
    /// plugin registered none.
    pub fn invoke(&self, ds: &data_set_t, vl: &mut value_list_t) -> c_int {
        let Some(f) = self.proc_.invoke else {
            return -1;
        };
        let mut state = self.state.ptr;
        // SAFETY: the target's invoke callback with a valid data set, a
        // writable value list and its own state.
        contained(|| unsafe { f(ds, vl, std::ptr::null_mut(), &mut state) })
    }
}
