//! Filter chain exports (`filter_chain.h`): what Debian's `match_*` and
//! `target_*` plugins call, over [`crate::dispatch::chains`].

use std::ffi::{c_char, c_int, CStr};

use rcollectd_plugin::sys::{
    data_set_t, fc_chain_t, match_proc_t, oconfig_item_t, target_proc_t, value_list_t,
};

use crate::dispatch::chains as filter;
use crate::runtime::runtime;

fn name_of(name: *const c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: a non-null C string from the caller.
    Some(
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// `fc_register_match`.
#[no_mangle]
pub extern "C" fn fc_register_match(name: *const c_char, proc_: match_proc_t) -> c_int {
    match name_of(name) {
        Some(n) => runtime().dispatch.register_match(&n, proc_),
        None => -1,
    }
}

/// `fc_register_target`.
#[no_mangle]
pub extern "C" fn fc_register_target(name: *const c_char, proc_: target_proc_t) -> c_int {
    match name_of(name) {
        Some(n) => runtime().dispatch.register_target(&n, proc_),
        None => -1,
    }
}

/// `fc_chain_get_by_name`: NULL for an unknown (or NULL) name.
#[no_mangle]
pub extern "C" fn fc_chain_get_by_name(chain_name: *const c_char) -> *mut fc_chain_t {
    match name_of(chain_name) {
        Some(n) => runtime().dispatch.chain_ptr(&n).cast(),
        None => std::ptr::null_mut(),
    }
}

/// `fc_process_chain`: -1 for a NULL chain, as collectd.
///
/// # Safety
/// `chain` must come from `fc_chain_get_by_name`; `ds`/`vl` must be valid.
#[no_mangle]
pub unsafe extern "C" fn fc_process_chain(
    ds: *const data_set_t,
    vl: *mut value_list_t,
    chain: *mut fc_chain_t,
) -> c_int {
    if chain.is_null() || vl.is_null() {
        return -1;
    }
    // SAFETY: chains handed out stay alive until shutdown (they are never
    // removed while the daemon runs); `vl` is the caller's valid value list.
    let (chain, vl) = unsafe { (&*(chain as *const filter::Chain), &mut *vl) };
    // SAFETY: NULL or the caller's valid data set.
    let Some(ds) = (unsafe { ds.as_ref() }) else {
        return -1;
    };
    runtime().dispatch.chains().process(chain, ds, vl, 0)
}

/// `fc_default_action`: write to every writer.
///
/// # Safety
/// `ds` and `vl` must be valid.
#[no_mangle]
pub unsafe extern "C" fn fc_default_action(ds: *const data_set_t, vl: *mut value_list_t) -> c_int {
    // SAFETY: each NULL or valid, per the caller's contract.
    let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl.as_ref() }) else {
        return -1;
    };
    crate::runtime::runtime().dispatch.write_to(None, ds, vl);
    filter::TARGET_CONTINUE
}

/// `fc_configure`: reads one `<Chain>` block.
///
/// # Safety
/// `ci` must be a valid config tree.
#[no_mangle]
pub unsafe extern "C" fn fc_configure(ci: *const oconfig_item_t) -> c_int {
    if ci.is_null() {
        return -1;
    }
    // SAFETY: valid tree per the contract.
    let item = unsafe { crate::abi::oconfig::from_oconfig(ci) };
    match runtime().dispatch.chains().configure(&item) {
        Ok(()) => 0,
        Err(e) => {
            log::warn!("Filter subsystem: {e}");
            -1
        }
    }
}
