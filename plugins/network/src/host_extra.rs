//! Raw host functions the SDK does not wrap yet: value-list meta data
//! creation (`network:received`, `network:username`, `network:ip_address`),
//! the value cache's meta data (`network:time_sent` loop protection) and
//! notification meta data. Resolved with `dlsym` like the SDK does, so the
//! crate still links into test binaries; every call degrades to "not
//! available" outside a daemon.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use rcollectd_plugin::sys;

type MetaCreate = unsafe extern "C" fn() -> *mut sys::meta_data_t;
type MetaDestroy = unsafe extern "C" fn(*mut sys::meta_data_t);
type MetaAddBool = unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, bool) -> c_int;
type MetaAddString =
    unsafe extern "C" fn(*mut sys::meta_data_t, *const c_char, *const c_char) -> c_int;
type UcGetU64 = unsafe extern "C" fn(*const sys::value_list_t, *const c_char, *mut u64) -> c_int;
type UcAddU64 = unsafe extern "C" fn(*const sys::value_list_t, *const c_char, u64) -> c_int;
type NotifAddBool = unsafe extern "C" fn(*mut sys::notification_t, *const c_char, bool) -> c_int;
type NotifFree = unsafe extern "C" fn(*mut sys::notification_meta_t);
type DispatchNotif = unsafe extern "C" fn(*const sys::notification_t) -> c_int;

#[derive(Clone, Copy, Default)]
struct Fns {
    meta_create: Option<MetaCreate>,
    meta_destroy: Option<MetaDestroy>,
    meta_add_bool: Option<MetaAddBool>,
    meta_add_string: Option<MetaAddString>,
    uc_get_u64: Option<UcGetU64>,
    uc_add_u64: Option<UcAddU64>,
    notif_add_bool: Option<NotifAddBool>,
    notif_free: Option<NotifFree>,
    dispatch_notif: Option<DispatchNotif>,
}

fn sym(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated; RTLD_DEFAULT searches the process's
    // global scope and returns NULL when absent.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

macro_rules! get {
    ($name:literal, $ty:ty) => {{
        let p = sym($name);
        // SAFETY: the symbol has this C prototype in collectd 5.12 and in
        // rcollectd's header; function and data pointers have equal size.
        (!p.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, $ty>(p) })
    }};
}

fn fns() -> &'static Fns {
    static F: OnceLock<Fns> = OnceLock::new();
    F.get_or_init(|| Fns {
        meta_create: get!(c"meta_data_create", MetaCreate),
        meta_destroy: get!(c"meta_data_destroy", MetaDestroy),
        meta_add_bool: get!(c"meta_data_add_boolean", MetaAddBool),
        meta_add_string: get!(c"meta_data_add_string", MetaAddString),
        uc_get_u64: get!(c"uc_meta_data_get_unsigned_int", UcGetU64),
        uc_add_u64: get!(c"uc_meta_data_add_unsigned_int", UcAddU64),
        notif_add_bool: get!(c"plugin_notification_meta_add_boolean", NotifAddBool),
        notif_free: get!(c"plugin_notification_meta_free", NotifFree),
        dispatch_notif: get!(c"plugin_dispatch_notification", DispatchNotif),
    })
}

/// Owned `meta_data_t`, destroyed on drop.
pub struct Meta(*mut sys::meta_data_t);

// SAFETY: the object is owned by this value alone (created here, destroyed
// in `Drop`), and the host's meta data functions may be called from any
// thread; moving the owner to another thread moves the only access.
unsafe impl Send for Meta {}

impl Meta {
    /// Creates meta data with `network:received = true` and, when given,
    /// `network:username` and `network:ip_address` (as collectd's receiver).
    pub fn received(username: Option<&CStr>, ip: Option<&CStr>) -> Option<Meta> {
        let f = fns();
        let create = f.meta_create?;
        // SAFETY: takes no arguments; returns NULL or a new object we own.
        let m = unsafe { create() };
        if m.is_null() {
            return None;
        }
        let meta = Meta(m);
        if let Some(add) = f.meta_add_bool {
            // SAFETY: `m` is valid, the key is NUL-terminated.
            unsafe { add(m, c"network:received".as_ptr(), true) };
        }
        if let Some(add) = f.meta_add_string {
            if let Some(u) = username {
                // SAFETY: valid object and NUL-terminated strings; the host copies them.
                unsafe { add(m, c"network:username".as_ptr(), u.as_ptr()) };
            }
            if let Some(ip) = ip {
                // SAFETY: as above.
                unsafe { add(m, c"network:ip_address".as_ptr(), ip.as_ptr()) };
            }
        }
        Some(meta)
    }

    /// The raw pointer, for `value_list_t.meta`.
    pub fn as_ptr(&self) -> *mut sys::meta_data_t {
        self.0
    }
}

impl Drop for Meta {
    fn drop(&mut self) {
        if let Some(destroy) = fns().meta_destroy {
            // SAFETY: we own the object and it is not used after this.
            unsafe { destroy(self.0) };
        }
    }
}

/// `network:time_sent` of this identifier in the value cache, if set.
pub fn time_sent(vl: &sys::value_list_t) -> Option<u64> {
    let get = fns().uc_get_u64?;
    let mut v = 0u64;
    // SAFETY: `vl` is a valid value list, the key NUL-terminated, `v` a valid out-pointer.
    let r = unsafe { get(vl, c"network:time_sent".as_ptr(), &mut v) };
    (r == 0).then_some(v)
}

/// Records `network:time_sent = time` for this identifier in the value cache.
pub fn set_time_sent(vl: &sys::value_list_t, time: u64) {
    if let Some(add) = fns().uc_add_u64 {
        // SAFETY: valid value list and NUL-terminated key; the cache copies.
        unsafe { add(vl, c"network:time_sent".as_ptr(), time) };
    }
}

/// Dispatches a notification with `network:received = true` attached;
/// returns the host's status, or `None` outside a daemon.
pub fn dispatch_notification_received(n: &mut sys::notification_t) -> Option<c_int> {
    let f = fns();
    let dispatch = f.dispatch_notif?;
    if let Some(add) = f.notif_add_bool {
        // SAFETY: `n` is a valid notification; the host allocates the meta entry.
        unsafe { add(n, c"network:received".as_ptr(), true) };
    }
    // SAFETY: fully initialised notification, valid for the call.
    let r = unsafe { dispatch(n) };
    if let Some(free) = f.notif_free {
        if !n.meta.is_null() {
            // SAFETY: the list was allocated by the host above and is ours.
            unsafe { free(n.meta) };
        }
    }
    n.meta = std::ptr::null_mut();
    Some(r)
}
