//! Registering a C plugin's callback in one of the registry's lists, as
//! the exported `plugin_register_*` functions and the isolation proxies do:
//! the arguments checked as collectd checks them, the plugin context kept,
//! a replaced name warned about. Above the registry, because the warning
//! goes to the log callbacks the registry holds.

use std::ffi::{c_char, c_int};

use rcollectd_plugin::sys::user_data_t;

use crate::plugins::registry::{Callback, List, UserData};

/// A plugin's name argument (`None` for NULL).
pub(crate) fn name_arg(name: *const c_char) -> Option<String> {
    // SAFETY: plugin-supplied C string or NULL.
    unsafe { crate::abi::ffi::opt_str(name) }.map(|s| s.into_owned())
}

/// Registers into one of the generic lists; EINVAL for NULL name/callback.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `ud` NULL or valid.
pub(crate) unsafe fn register_in<F>(
    list: &List<Callback<F>>,
    name: *const c_char,
    func: Option<F>,
    ud: *const user_data_t,
) -> c_int
where
    Callback<F>: rcollectd_core::registry::Named,
{
    let (Some(name), Some(func)) = (name_arg(name), func) else {
        return libc::EINVAL;
    };
    let cb = Callback {
        name: name.clone(),
        func,
        // SAFETY: forwarded contract.
        ud: unsafe { UserData::from_ptr(ud) },
        ctx: crate::plugins::ctx::Ctx(crate::plugins::ctx::get()),
    };
    if list.register(cb) {
        crate::p_warning!(
            "register_callback: a callback named `{name}' already exists - overwriting the old entry!"
        );
    }
    0
}

/// Unregisters by name from one of the generic lists; -1 if there was none.
pub(crate) fn unregister_in<F>(list: &List<Callback<F>>, name: *const c_char) -> c_int
where
    Callback<F>: rcollectd_core::registry::Named,
{
    match name_arg(name) {
        Some(n) if list.unregister(&n) => 0,
        _ => -1,
    }
}
