//! `uc_*` exports: the C view of [`crate::cache`]. Arrays and strings handed
//! to C are `malloc`ed/`calloc`ed so plugins release them with `free`.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_ulong};
use std::sync::Arc;

use rcollectd_plugin::sys::{data_set_t, meta_data_t, value_list_t, value_t};

use crate::abi::ffi::{ffi_guard, malloc_c_str};
use crate::abi::meta_data as md;
use crate::cache::{self, Entry, NameBuf};
use crate::meta::{self, MetaData, MetaValue};
use crate::time::cdtime_t;

/// `CE_VALUE_NEW`.
const CE_VALUE_NEW: u32 = rcollectd_plugin::sys::cache_event_type_e_CE_VALUE_NEW;
/// `CE_VALUE_UPDATE`.
const CE_VALUE_UPDATE: u32 = rcollectd_plugin::sys::cache_event_type_e_CE_VALUE_UPDATE;

/// Copies `src` into a new `malloc`ed array (null for an empty slice or on
/// allocation failure).
fn malloc_slice<T: Copy>(src: &[T]) -> *mut T {
    if src.is_empty() {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc with non-zero count and element size; checked for null.
    let p = unsafe { libc::calloc(src.len(), std::mem::size_of::<T>()) }.cast::<T>();
    if !p.is_null() {
        // SAFETY: p has room for src.len() elements; distinct allocations.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) };
    }
    p
}

/// Borrows a C string argument as bytes; `None` for null.
///
/// # Safety
/// `s` must be null or NUL-terminated.
unsafe fn name_arg<'a>(s: *const c_char) -> Option<&'a [u8]> {
    if s.is_null() {
        None
    } else {
        // SAFETY: non-null NUL-terminated per the contract.
        Some(unsafe { CStr::from_ptr(s) }.to_bytes())
    }
}

/// Borrows a value list argument; `None` for null.
///
/// # Safety
/// `vl` must be null or valid for reads.
unsafe fn vl_arg<'a>(vl: *const value_list_t) -> Option<&'a value_list_t> {
    // SAFETY: per the contract.
    unsafe { vl.as_ref() }
}

/// Initialises the cache (it is the runtime's, there from the start; kept
/// for the ABI).
#[no_mangle]
pub extern "C" fn uc_init() -> c_int {
    ffi_guard(-1, || {
        let _ = &crate::runtime::runtime().cache;
        0
    })
}

/// Expires entries older than `Timeout * interval`, handing each to the
/// missing callbacks and the cache-event callbacks subscribed to it before
/// removing it. Always 0, as collectd.
#[no_mangle]
pub extern "C" fn uc_check_timeout() -> c_int {
    ffi_guard(-1, || {
        crate::runtime::runtime().dispatch.check_missing();
        0
    })
}

/// Feeds a value list into the cache; 0, or -1 (too old, mismatch, ...).
///
/// # Safety
/// `ds` and `vl` must be null or valid, with `ds_num`/`values_len` elements.
#[no_mangle]
pub unsafe extern "C" fn uc_update(ds: *const data_set_t, vl: *const value_list_t) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl_arg(vl) }) else {
            return -1;
        };
        // SAFETY: per the contract.
        match unsafe { cache::update(crate::runtime::runtime().cache, ds, vl, None) } {
            Ok(u) => {
                if !crate::runtime::runtime()
                    .registry
                    .has_cache_event_callbacks()
                {
                    return 0;
                }
                let name = NameBuf::from_vl(vl);
                if u.is_new {
                    crate::runtime::runtime().dispatch.dispatch_cache_event(
                        CE_VALUE_NEW,
                        0,
                        name.as_c_str(),
                        vl,
                    );
                } else if u.callbacks_mask != 0 {
                    crate::runtime::runtime().dispatch.dispatch_cache_event(
                        CE_VALUE_UPDATE,
                        u.callbacks_mask,
                        name.as_c_str(),
                        vl,
                    );
                }
                0
            }
            Err(e @ cache::CacheError::TooOld { .. }) => {
                crate::plugins::log::notice(&e.to_string());
                -1
            }
            Err(e) => {
                log::error!("{e}");
                -1
            }
        }
    })
}

/// Rates of `name` in a malloc'ed array; 0, or -1 if unknown or missing.
///
/// # Safety
/// `name` null or a C string; the out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_get_rate_by_name(
    name: *const c_char,
    ret_values: *mut *mut f64,
    ret_values_num: *mut usize,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(name) = (unsafe { name_arg(name) }) else {
            return -1;
        };
        if ret_values.is_null() || ret_values_num.is_null() {
            return -1;
        }
        let Some(rates) = crate::runtime::runtime().cache.rates_by_name(name) else {
            return -1;
        };
        let p = malloc_slice(&rates);
        if p.is_null() && !rates.is_empty() {
            return -1;
        }
        // SAFETY: both out pointers are non-null and writable.
        unsafe {
            *ret_values = p;
            *ret_values_num = rates.len();
        }
        0
    })
}

/// Rates of `vl`'s identifier (malloc'ed, `ds->ds_num` long) or null.
///
/// # Safety
/// `ds` and `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_get_rate(ds: *const data_set_t, vl: *const value_list_t) -> *mut f64 {
    ffi_guard(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl_arg(vl) }) else {
            return std::ptr::null_mut();
        };
        // From a write callback, the rates of the value list being written.
        let rates = match crate::dispatch::with_written_rates(vl, |r| r.map(<[f64]>::to_vec)) {
            Some(written) => written,
            None => crate::runtime::runtime().cache.rates(cache::vl_fields(vl)),
        };
        let Some(rates) = rates else {
            return std::ptr::null_mut();
        };
        if rates.len() != ds.ds_num {
            log::error!(
                "utils_cache: uc_get_rate: ds[{}] has {} values, but uc_get_rate_by_name returned {}.",
                String::from_utf8_lossy(crate::abi::ffi::field_bytes(&ds.type_)),
                ds.ds_num,
                rates.len()
            );
            return std::ptr::null_mut();
        }
        malloc_slice(&rates)
    })
}

/// Last raw values of `name` in a malloc'ed array; 0 or -1.
///
/// # Safety
/// `name` null or a C string; the out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_get_value_by_name(
    name: *const c_char,
    ret_values: *mut *mut value_t,
    ret_values_num: *mut usize,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(name) = (unsafe { name_arg(name) }) else {
            return -1;
        };
        if ret_values.is_null() || ret_values_num.is_null() {
            return -1;
        }
        let Some(values) = crate::runtime::runtime().cache.values_by_name(name) else {
            return -1;
        };
        let values = cache::to_value_t(&values);
        let p = malloc_slice(&values);
        if p.is_null() && !values.is_empty() {
            return -1;
        }
        // SAFETY: both out pointers are non-null and writable.
        unsafe {
            *ret_values = p;
            *ret_values_num = values.len();
        }
        0
    })
}

/// Last raw values of `vl`'s identifier (malloc'ed, `ds->ds_num` long) or null.
///
/// # Safety
/// `ds` and `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_get_value(
    ds: *const data_set_t,
    vl: *const value_list_t,
) -> *mut value_t {
    ffi_guard(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl_arg(vl) }) else {
            return std::ptr::null_mut();
        };
        let name = NameBuf::from_vl(vl);
        match crate::runtime::runtime()
            .cache
            .values_by_name(name.as_bytes())
        {
            Some(v) if v.len() == ds.ds_num => malloc_slice(&cache::to_value_t(&v)),
            Some(v) => {
                log::error!(
                    "utils_cache: uc_get_value: ds[{}] has {} values, but uc_get_value_by_name returned {}.",
                    String::from_utf8_lossy(crate::abi::ffi::field_bytes(&ds.type_)),
                    ds.ds_num,
                    v.len()
                );
                std::ptr::null_mut()
            }
            None => std::ptr::null_mut(),
        }
    })
}

/// Number of cached identifiers.
#[no_mangle]
pub extern "C" fn uc_get_size() -> usize {
    ffi_guard(0, || crate::runtime::runtime().cache.len())
}

/// All visible names (malloc'ed array of malloc'ed strings, sorted) and,
/// if `ret_times` is non-null, their times. 0 (outputs untouched when the
/// cache is empty), -1 on bad arguments, ENOMEM on allocation failure.
///
/// # Safety
/// Out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_get_names(
    ret_names: *mut *mut *mut c_char,
    ret_times: *mut *mut cdtime_t,
    ret_number: *mut usize,
) -> c_int {
    ffi_guard(-1, || {
        if ret_names.is_null() || ret_number.is_null() {
            return -1;
        }
        let all = crate::runtime::runtime().cache.names();
        if all.is_empty() {
            return 0;
        }
        let ptrs: Vec<*mut c_char> = all
            .iter()
            .map(|(e, _)| malloc_c_str(e.name().to_bytes()))
            .collect();
        let times: Vec<cdtime_t> = all.iter().map(|(_, t)| *t).collect();
        let names_arr = malloc_slice(&ptrs);
        let times_arr = if ret_times.is_null() {
            std::ptr::null_mut()
        } else {
            malloc_slice(&times)
        };
        if names_arr.is_null()
            || ptrs.iter().any(|p| p.is_null())
            || (!ret_times.is_null() && times_arr.is_null())
        {
            // SAFETY: every pointer here is null or from malloc/calloc.
            unsafe {
                for p in ptrs {
                    libc::free(p.cast());
                }
                libc::free(names_arr.cast());
                libc::free(times_arr.cast());
            }
            return libc::ENOMEM;
        }
        // SAFETY: out pointers are non-null (checked) and writable.
        unsafe {
            *ret_names = names_arr;
            if !ret_times.is_null() {
                *ret_times = times_arr;
            }
            *ret_number = all.len();
        }
        0
    })
}

/// State of `vl`'s identifier, `STATE_ERROR` if unknown.
///
/// # Safety
/// `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_get_state(_ds: *const data_set_t, vl: *const value_list_t) -> c_int {
    ffi_guard(cache::STATE_ERROR, || {
        // SAFETY: per the contract.
        unsafe { vl_arg(vl) }.map_or(cache::STATE_ERROR, |vl| {
            crate::runtime::runtime().cache.state(cache::vl_fields(vl))
        })
    })
}

/// Sets the state; returns the previous one, or -1 if unknown.
///
/// # Safety
/// `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_set_state(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    state: c_int,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        unsafe { vl_arg(vl) }.map_or(-1, |vl| {
            crate::runtime::runtime()
                .cache
                .set_state(cache::vl_fields(vl), state)
        })
    })
}

/// Hits counter, `STATE_ERROR` if unknown (as collectd).
///
/// # Safety
/// `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_get_hits(_ds: *const data_set_t, vl: *const value_list_t) -> c_int {
    ffi_guard(cache::STATE_ERROR, || {
        // SAFETY: per the contract.
        unsafe { vl_arg(vl) }.map_or(cache::STATE_ERROR, |vl| {
            crate::runtime::runtime().cache.hits(cache::vl_fields(vl))
        })
    })
}

/// Sets the hits counter; returns the previous value, or -1 if unknown.
///
/// # Safety
/// `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_set_hits(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    hits: c_int,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        unsafe { vl_arg(vl) }.map_or(-1, |vl| {
            crate::runtime::runtime()
                .cache
                .set_hits(cache::vl_fields(vl), hits)
        })
    })
}

/// Adds `step` to the hits counter; returns the previous value, or -1.
///
/// # Safety
/// `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_inc_hits(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    step: c_int,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        unsafe { vl_arg(vl) }.map_or(-1, |vl| {
            crate::runtime::runtime()
                .cache
                .inc_hits(cache::vl_fields(vl), step)
        })
    })
}

/// Sets which cache-event callbacks want updates of `name`; 0 or -1.
///
/// # Safety
/// `name` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_set_callbacks_mask(
    name: *const c_char,
    callbacks_mask: c_ulong,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        unsafe { name_arg(name) }.map_or(-1, |n| {
            crate::runtime::runtime()
                .cache
                .set_callbacks_mask(n, callbacks_mask)
        })
    })
}

/// The last `num_steps` rate rows of `name`, newest first. 0, -ENOENT,
/// -EINVAL (wrong `num_ds` or null buffer).
///
/// # Safety
/// `ret_history` null or writable for `num_steps * num_ds` doubles.
#[no_mangle]
pub unsafe extern "C" fn uc_get_history_by_name(
    name: *const c_char,
    ret_history: *mut f64,
    num_steps: usize,
    num_ds: usize,
) -> c_int {
    ffi_guard(-libc::EINVAL, || {
        // SAFETY: per the contract.
        let Some(name) = (unsafe { name_arg(name) }) else {
            return -libc::EINVAL;
        };
        let Some(len) = num_steps.checked_mul(num_ds) else {
            return -libc::EINVAL;
        };
        if ret_history.is_null() && len > 0 {
            return -libc::EINVAL;
        }
        let out: &mut [f64] = if len == 0 {
            &mut []
        } else {
            // SAFETY: non-null and writable for len doubles per the contract.
            unsafe { std::slice::from_raw_parts_mut(ret_history, len) }
        };
        crate::runtime::runtime()
            .cache
            .history_by_name(name, out, num_steps, num_ds)
    })
}

/// `uc_get_history_by_name` for `vl`'s identifier.
///
/// # Safety
/// As `uc_get_history_by_name`; `vl` null or valid.
#[no_mangle]
pub unsafe extern "C" fn uc_get_history(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    ret_history: *mut f64,
    num_steps: usize,
    num_ds: usize,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(vl) = (unsafe { vl_arg(vl) }) else {
            return -1;
        };
        let name = NameBuf::from_vl(vl);
        // SAFETY: forwarded caller contract; the name is a valid C string.
        unsafe { uc_get_history_by_name(name.as_c_str().as_ptr(), ret_history, num_steps, num_ds) }
    })
}

/// State behind a `uc_iter_t *`: a sorted snapshot of the entries taken at
/// creation (collectd holds the cache lock instead; a snapshot lets other
/// threads keep dispatching while a plugin iterates).
struct UcIter {
    entries: Vec<Arc<Entry>>,
    pos: usize,
    current: Option<Arc<Entry>>,
}

/// Borrows the iterator behind a C pointer.
///
/// # Safety
/// `iter` null or from `uc_get_iterator`, not destroyed.
unsafe fn iter_arg<'a>(iter: *mut rcollectd_plugin::sys::uc_iter_t) -> Option<&'a mut UcIter> {
    // SAFETY: per the contract, a live Box<UcIter>.
    unsafe { iter.cast::<UcIter>().as_mut() }
}

/// A new iterator over the cache (free with `uc_iterator_destroy`).
#[no_mangle]
pub extern "C" fn uc_get_iterator() -> *mut rcollectd_plugin::sys::uc_iter_t {
    ffi_guard(std::ptr::null_mut(), || {
        let it = UcIter {
            entries: crate::runtime::runtime().cache.snapshot(),
            pos: 0,
            current: None,
        };
        Box::into_raw(Box::new(it)).cast()
    })
}

/// Advances to the next visible entry; `*ret_name` (if non-null) points to its
/// name, owned by the iterator. 0, or -1 at the end.
///
/// # Safety
/// `iter` null or live; `ret_name` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_next(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    ret_name: *mut *mut c_char,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(it) = (unsafe { iter_arg(iter) }) else {
            return -1;
        };
        while it.pos < it.entries.len() {
            let e = Arc::clone(&it.entries[it.pos]);
            it.pos += 1;
            if e.is_visible() {
                if !ret_name.is_null() {
                    // SAFETY: writable per the contract; the name lives as
                    // long as the iterator keeps `current`.
                    unsafe { *ret_name = e.name().as_ptr().cast_mut() };
                }
                it.current = Some(e);
                return 0;
            }
        }
        it.current = None;
        -1
    })
}

/// Frees an iterator; null is ignored.
///
/// # Safety
/// `iter` null or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_destroy(iter: *mut rcollectd_plugin::sys::uc_iter_t) {
    ffi_guard((), || {
        if !iter.is_null() {
            // SAFETY: iter came from Box::into_raw in uc_get_iterator.
            drop(unsafe { Box::from_raw(iter.cast::<UcIter>()) });
        }
    })
}

/// Runs `f` on the iterator's current entry; -1 if there is none.
///
/// # Safety
/// `iter` null or live.
unsafe fn with_current(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    f: impl FnOnce(&Entry) -> c_int,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        match unsafe { iter_arg(iter) }.and_then(|it| it.current.as_deref()) {
            Some(e) => f(e),
            None => -1,
        }
    })
}

/// Time of the current entry's last value list.
///
/// # Safety
/// `iter` null or live; `ret_time` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_get_time(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    ret_time: *mut cdtime_t,
) -> c_int {
    if ret_time.is_null() {
        return -1;
    }
    // SAFETY: per the contract; ret_time is non-null and writable.
    unsafe {
        with_current(iter, |e| {
            *ret_time = e.last_time();
            0
        })
    }
}

/// Current entry's raw values in a calloc'ed array.
///
/// # Safety
/// `iter` null or live; out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_get_values(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    ret_values: *mut *mut value_t,
    ret_num: *mut usize,
) -> c_int {
    if ret_values.is_null() || ret_num.is_null() {
        return -1;
    }
    // SAFETY: per the contract; out pointers are non-null and writable.
    unsafe {
        with_current(iter, |e| {
            let v = cache::to_value_t(&e.values());
            let p = malloc_slice(&v);
            if p.is_null() {
                return -1;
            }
            *ret_values = p;
            *ret_num = v.len();
            0
        })
    }
}

/// Current entry's interval.
///
/// # Safety
/// `iter` null or live; `ret_interval` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_get_interval(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    ret_interval: *mut cdtime_t,
) -> c_int {
    if ret_interval.is_null() {
        return -1;
    }
    // SAFETY: per the contract; ret_interval is non-null and writable.
    unsafe {
        with_current(iter, |e| {
            *ret_interval = e.interval();
            0
        })
    }
}

/// A copy of the current entry's meta data (null if it has none); the caller
/// frees it with `meta_data_destroy`.
///
/// # Safety
/// `iter` null or live; `ret_meta` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_iterator_get_meta(
    iter: *mut rcollectd_plugin::sys::uc_iter_t,
    ret_meta: *mut *mut meta_data_t,
) -> c_int {
    if ret_meta.is_null() {
        return -1;
    }
    // SAFETY: per the contract; ret_meta is non-null and writable.
    unsafe {
        with_current(iter, |e| {
            *ret_meta = e.meta().map_or(std::ptr::null_mut(), meta::into_raw);
            0
        })
    }
}

/// Runs a meta data operation on the cache entry of `vl` (-1 if unknown).
///
/// # Safety
/// `vl` null or valid.
unsafe fn on_uc_meta(vl: *const value_list_t, op: impl FnOnce(&mut MetaData) -> c_int) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(vl) = (unsafe { vl_arg(vl) }) else {
            return -1;
        };
        crate::runtime::runtime()
            .cache
            .with_meta(cache::vl_fields(vl), op)
            .unwrap_or(-1)
    })
}

/// `meta_data_exists` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_exists(vl: *const value_list_t, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_exists(m, key)) }
}

/// `meta_data_delete` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_delete(vl: *const value_list_t, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_delete(m, key)) }
}

/// `meta_data_toc` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `toc` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_toc(
    vl: *const value_list_t,
    toc: *mut *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_toc(m, toc)) }
}

/// `meta_data_add_string` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key`, `value` null or C strings.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_add_string(
    vl: *const value_list_t,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_add_string(m, key, value)) }
}

/// `meta_data_add_signed_int` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_add_signed_int(
    vl: *const value_list_t,
    key: *const c_char,
    value: i64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_add(m, key, MetaValue::SignedInt(value))) }
}

/// `meta_data_add_unsigned_int` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_add_unsigned_int(
    vl: *const value_list_t,
    key: *const c_char,
    value: u64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_add(m, key, MetaValue::UnsignedInt(value))) }
}

/// `meta_data_add_double` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_add_double(
    vl: *const value_list_t,
    key: *const c_char,
    value: f64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_add(m, key, MetaValue::Double(value))) }
}

/// `meta_data_add_boolean` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_add_boolean(
    vl: *const value_list_t,
    key: *const c_char,
    value: bool,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_add(m, key, MetaValue::Boolean(value))) }
}

/// `meta_data_get_string` on the cache entry's meta data (malloc'ed result).
///
/// # Safety
/// `vl` null or valid; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_get_string(
    vl: *const value_list_t,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_get_string(m, key, value)) }
}

/// `meta_data_get_signed_int` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_get_signed_int(
    vl: *const value_list_t,
    key: *const c_char,
    value: *mut i64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_get_signed_int(m, key, value)) }
}

/// `meta_data_get_unsigned_int` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_get_unsigned_int(
    vl: *const value_list_t,
    key: *const c_char,
    value: *mut u64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_get_unsigned_int(m, key, value)) }
}

/// `meta_data_get_double` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_get_double(
    vl: *const value_list_t,
    key: *const c_char,
    value: *mut f64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_get_double(m, key, value)) }
}

/// `meta_data_get_boolean` on the cache entry's meta data.
///
/// # Safety
/// `vl` null or valid; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn uc_meta_data_get_boolean(
    vl: *const value_list_t,
    key: *const c_char,
    value: *mut bool,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_uc_meta(vl, |m| md::op_get_boolean(m, key, value)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::meta_data::take_c_string;
    use crate::cache::testutil::*;
    use crate::time::from_secs;
    use std::ptr::{null, null_mut};

    /// The exports use the global cache: give every test its own hosts.
    fn feed(host: &str, n: usize) {
        let (ds, _keep) = data_set("g", &[(1, f64::NAN, f64::NAN)]);
        for i in 0..n {
            let mut v = [gauge(i as f64)];
            let vl = value_list(
                [host, "p", "", "t", &format!("{i}")],
                from_secs(100),
                from_secs(10),
                &mut v,
            );
            // SAFETY: ds and vl point to live arrays.
            assert_eq!(unsafe { uc_update(&ds, &vl) }, 0);
        }
    }

    #[test]
    fn names_and_rates_by_name() {
        feed("abi-names", 3);
        let mut names: *mut *mut c_char = null_mut();
        let mut times: *mut cdtime_t = null_mut();
        let mut n = 0usize;
        // SAFETY: out pointers are valid; results are freed below.
        unsafe {
            assert_eq!(uc_get_names(&mut names, &mut times, &mut n), 0);
            let all: Vec<_> = (0..n)
                .map(|i| (take_c_string(*names.add(i)), *times.add(i)))
                .collect();
            libc::free(names.cast());
            libc::free(times.cast());
            let mine: Vec<_> = all
                .iter()
                .filter(|(s, _)| s.as_bytes().starts_with(b"abi-names/"))
                .map(|(s, t)| (s.to_str().unwrap().to_owned(), *t))
                .collect();
            assert_eq!(
                mine,
                [
                    ("abi-names/p/t-0".to_owned(), from_secs(100)),
                    ("abi-names/p/t-1".to_owned(), from_secs(100)),
                    ("abi-names/p/t-2".to_owned(), from_secs(100)),
                ]
            );
            let mut rates: *mut f64 = null_mut();
            let mut rn = 0usize;
            assert_eq!(
                uc_get_rate_by_name(c"abi-names/p/t-2".as_ptr(), &mut rates, &mut rn),
                0
            );
            assert_eq!((rn, *rates), (1, 2.0));
            libc::free(rates.cast());
            assert_eq!(
                uc_get_rate_by_name(c"abi-names/p/t-9".as_ptr(), &mut rates, &mut rn),
                -1
            );
            assert_eq!(uc_get_rate_by_name(null(), &mut rates, &mut rn), -1);
            let mut vals: *mut value_t = null_mut();
            assert_eq!(
                uc_get_value_by_name(c"abi-names/p/t-1".as_ptr(), &mut vals, &mut rn),
                0
            );
            assert_eq!((*vals).gauge, 1.0);
            libc::free(vals.cast());
            assert_eq!(uc_get_names(null_mut(), null_mut(), &mut n), -1);
        }
        assert!(uc_get_size() >= 3);
    }

    #[test]
    fn iterator_walks_in_order() {
        feed("abi-iter", 3);
        let it = uc_get_iterator();
        assert!(!it.is_null());
        let mut seen = Vec::new();
        // SAFETY: it is live until destroyed; names are owned by the iterator.
        unsafe {
            let mut name: *mut c_char = null_mut();
            let mut t: cdtime_t = 0;
            assert_eq!(uc_iterator_get_time(it, &mut t), -1, "no current entry yet");
            for _ in 0..100_000 {
                if uc_iterator_next(it, &mut name) != 0 {
                    break;
                }
                let s = CStr::from_ptr(name).to_str().unwrap().to_owned();
                if s.starts_with("abi-iter/") {
                    assert_eq!(uc_iterator_get_time(it, &mut t), 0);
                    assert_eq!(t, from_secs(100));
                    let mut iv = 0;
                    assert_eq!(uc_iterator_get_interval(it, &mut iv), 0);
                    assert_eq!(iv, from_secs(10));
                    let mut vals: *mut value_t = null_mut();
                    let mut n = 0;
                    assert_eq!(uc_iterator_get_values(it, &mut vals, &mut n), 0);
                    assert_eq!(n, 1);
                    seen.push((s, (*vals).gauge));
                    libc::free(vals.cast());
                    let mut m: *mut meta_data_t = null_mut();
                    assert_eq!(uc_iterator_get_meta(it, &mut m), 0);
                    assert!(m.is_null());
                }
            }
            assert_eq!(uc_iterator_next(it, &mut name), -1);
            uc_iterator_destroy(it);
            uc_iterator_destroy(null_mut());
            assert_eq!(uc_iterator_next(null_mut(), &mut name), -1);
        }
        assert_eq!(
            seen,
            [
                ("abi-iter/p/t-0".to_owned(), 0.0),
                ("abi-iter/p/t-1".to_owned(), 1.0),
                ("abi-iter/p/t-2".to_owned(), 2.0)
            ]
        );
    }

    #[test]
    fn uc_meta_round_trip() {
        feed("abi-meta", 1);
        let mut v = [gauge(0.0)];
        let vl = value_list(["abi-meta", "p", "", "t", "0"], 0, 0, &mut v);
        let unknown = value_list(["abi-meta-none", "p", "", "t", "0"], 0, 0, &mut v);
        // SAFETY: vl is valid; returned strings are freed.
        unsafe {
            assert_eq!(uc_meta_data_exists(&vl, c"k".as_ptr()), 0);
            assert_eq!(
                uc_meta_data_add_string(&vl, c"k".as_ptr(), c"v".as_ptr()),
                0
            );
            assert_eq!(uc_meta_data_add_signed_int(&vl, c"i".as_ptr(), -1), 0);
            assert_eq!(uc_meta_data_add_unsigned_int(&vl, c"u".as_ptr(), 1), 0);
            assert_eq!(uc_meta_data_add_double(&vl, c"d".as_ptr(), 0.5), 0);
            assert_eq!(uc_meta_data_add_boolean(&vl, c"b".as_ptr(), true), 0);
            assert_eq!(uc_meta_data_exists(&vl, c"K".as_ptr()), 1);
            let mut s = null_mut();
            assert_eq!(uc_meta_data_get_string(&vl, c"k".as_ptr(), &mut s), 0);
            assert_eq!(take_c_string(s).as_bytes(), b"v");
            let (mut i, mut u, mut d, mut b) = (0i64, 0u64, 0f64, false);
            assert_eq!(uc_meta_data_get_signed_int(&vl, c"i".as_ptr(), &mut i), 0);
            assert_eq!(uc_meta_data_get_unsigned_int(&vl, c"u".as_ptr(), &mut u), 0);
            assert_eq!(uc_meta_data_get_double(&vl, c"d".as_ptr(), &mut d), 0);
            assert_eq!(uc_meta_data_get_boolean(&vl, c"b".as_ptr(), &mut b), 0);
            assert_eq!((i, u, d, b), (-1, 1, 0.5, true));
            let mut toc: *mut *mut c_char = null_mut();
            assert_eq!(uc_meta_data_toc(&vl, &mut toc), 5);
            for n in 0..5 {
                take_c_string(*toc.add(n));
            }
            libc::free(toc.cast());
            assert_eq!(uc_meta_data_delete(&vl, c"k".as_ptr()), 0);
            assert_eq!(uc_meta_data_delete(&vl, c"k".as_ptr()), -libc::ENOENT);
            assert_eq!(uc_meta_data_exists(&unknown, c"k".as_ptr()), -1);
            assert_eq!(uc_meta_data_exists(null(), c"k".as_ptr()), -1);
        }
    }

    #[test]
    fn state_hits_history_and_mask_exports() {
        feed("abi-state", 1);
        let (ds, _keep) = data_set("g", &[(1, f64::NAN, f64::NAN)]);
        let mut v = [gauge(0.0)];
        let vl = value_list(["abi-state", "p", "", "t", "0"], 0, 0, &mut v);
        // SAFETY: all pointers are valid for the calls.
        unsafe {
            assert_eq!(uc_get_state(&ds, &vl), cache::STATE_UNKNOWN);
            assert_eq!(uc_set_state(&ds, &vl, 1), cache::STATE_UNKNOWN);
            assert_eq!(uc_get_state(&ds, &vl), 1);
            assert_eq!(uc_inc_hits(&ds, &vl, 2), 0);
            assert_eq!(uc_set_hits(&ds, &vl, 5), 2);
            assert_eq!(uc_get_hits(&ds, &vl), 5);
            assert_eq!(uc_set_callbacks_mask(c"abi-state/p/t-0".as_ptr(), 3), 0);
            assert_eq!(uc_set_callbacks_mask(c"abi-state/none".as_ptr(), 3), -1);
            let mut hist = [1.0f64; 2];
            assert_eq!(uc_get_history(&ds, &vl, hist.as_mut_ptr(), 2, 1), 0);
            assert!(hist.iter().all(|h| h.is_nan()));
            assert_eq!(
                uc_get_history_by_name(c"abi-state/p/t-0".as_ptr(), null_mut(), 2, 1),
                -libc::EINVAL
            );
            let rates = uc_get_rate(&ds, &vl);
            assert!(!rates.is_null());
            libc::free(rates.cast());
            let vals = uc_get_value(&ds, &vl);
            assert!(!vals.is_null());
            libc::free(vals.cast());
            assert!(uc_get_rate(null(), &vl).is_null());
            assert_eq!(uc_update(null(), &vl), -1);
        }
        assert_eq!(uc_init(), 0);
    }
}
