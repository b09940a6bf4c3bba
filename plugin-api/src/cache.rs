//! Meta data the daemon's value cache keeps per identifier
//! (`uc_meta_data_*`): it outlives single value lists, e.g. the network
//! plugin's `network:time_sent` loop protection.

use std::ffi::{CStr, CString};

use crate::host::{host, need, HostError};
use crate::sys;
use crate::value::{CdTime, DispatchError};

/// Whether every identifier field of `vl` is NUL-terminated, as the host
/// expects when it formats the identifier.
pub(crate) fn identifier_terminated(vl: &sys::value_list_t) -> bool {
    [
        &vl.host[..],
        &vl.plugin[..],
        &vl.plugin_instance[..],
        &vl.type_[..],
        &vl.type_instance[..],
    ]
    .iter()
    .all(|f| f.contains(&0))
}

/// The unsigned integer stored under `key` for the identifier of `vl`
/// (`uc_meta_data_get_unsigned_int`); `None` when the cache has no entry
/// or no such key, the identifier is malformed, or there is no host.
pub fn cache_meta_unsigned_int(vl: &sys::value_list_t, key: &CStr) -> Option<u64> {
    let get = host().cache_meta_get_unsigned_int?;
    if !identifier_terminated(vl) {
        return None;
    }
    let mut v = 0u64;
    // SAFETY: the host reads only the NUL-terminated identifier fields of
    // `vl` (checked above) and the NUL-terminated `key`, and writes one u64
    // to the valid local `v`.
    let r = unsafe { get(vl, key.as_ptr(), &mut v) };
    (r == 0).then_some(v)
}

/// Stores `value` under `key` for the identifier of `vl` in the value cache
/// (`uc_meta_data_add_unsigned_int`; the cache copies the key).
pub fn set_cache_meta_unsigned_int(
    vl: &sys::value_list_t,
    key: &CStr,
    value: u64,
) -> Result<(), DispatchError> {
    let add = need(
        host().cache_meta_add_unsigned_int,
        "uc_meta_data_add_unsigned_int",
    )?;
    if !identifier_terminated(vl) {
        return Err(DispatchError::Rejected(-1));
    }
    // SAFETY: as in `cache_meta_unsigned_int`; the host copies `key`.
    match unsafe { add(vl, key.as_ptr(), value) } {
        0 => Ok(()),
        r => Err(DispatchError::Rejected(r)),
    }
}

/// The rates the value cache holds for the identifier `name`
/// (`host/plugin[-pi]/type[-ti]`, `uc_get_rate_by_name`): one per data
/// source; `Ok(None)` when the cache has no such entry.
pub fn cache_rates_by_name(name: &CStr) -> Result<Option<Vec<f64>>, HostError> {
    let get = need(host().get_rate_by_name, "uc_get_rate_by_name")?;
    let mut values: *mut f64 = std::ptr::null_mut();
    let mut num = 0usize;
    // SAFETY: `name` is NUL-terminated; the host writes a malloc'ed array of
    // `num` gauges (or nothing) to the two valid locals.
    let status = unsafe { get(name.as_ptr(), &mut values, &mut num) };
    if status != 0 {
        if !values.is_null() {
            // SAFETY: allocated by the host with malloc and handed over.
            unsafe { libc::free(values.cast()) };
        }
        return Ok(None);
    }
    let rates = if values.is_null() || num == 0 {
        Vec::new()
    } else {
        // SAFETY: on success `values` points to `num` initialised gauges.
        unsafe { std::slice::from_raw_parts(values, num) }.to_vec()
    };
    // SAFETY: as above (free(NULL) is a no-op).
    unsafe { libc::free(values.cast()) };
    Ok(Some(rates))
}

/// Every identifier in the value cache with the time of its last value
/// (`uc_get_names`), in the cache's order; `Err(status)` when the host
/// fails (`-1` when there is no host).
pub fn cache_names() -> Result<Vec<(CString, CdTime)>, i32> {
    let get = host().get_names.ok_or(-1)?;
    let mut names: *mut *mut std::ffi::c_char = std::ptr::null_mut();
    let mut times: *mut sys::cdtime_t = std::ptr::null_mut();
    let mut num = 0usize;
    // SAFETY: the host writes malloc'ed arrays (names strdup'ed) and their
    // length to the valid locals.
    let status = unsafe { get(&mut names, &mut times, &mut num) };
    let mut out = Vec::new();
    if status == 0 && !names.is_null() && !times.is_null() {
        out.reserve(num);
        for i in 0..num {
            // SAFETY: on success both arrays hold `num` entries.
            let (name, time) = unsafe { (*names.add(i), *times.add(i)) };
            if !name.is_null() {
                // SAFETY: each name is a NUL-terminated malloc'ed string.
                out.push((unsafe { CStr::from_ptr(name) }.to_owned(), CdTime(time)));
            }
        }
    }
    if !names.is_null() {
        for i in 0..num {
            // SAFETY: each entry is NULL or malloc'ed, and owned by us now.
            unsafe { libc::free((*names.add(i)).cast()) };
        }
    }
    // SAFETY: both arrays are NULL or malloc'ed by the host and ours now.
    unsafe {
        libc::free(names.cast());
        libc::free(times.cast());
    }
    if status == 0 {
        Ok(out)
    } else {
        Err(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_a_host_and_a_terminated_identifier() {
        let mut vl = sys::value_list_t::default();
        assert!(identifier_terminated(&vl));
        assert_eq!(cache_meta_unsigned_int(&vl, c"k"), None);
        assert_eq!(
            set_cache_meta_unsigned_int(&vl, c"k", 1),
            Err(DispatchError::Host(HostError {
                symbol: "uc_meta_data_add_unsigned_int"
            }))
        );
        vl.type_ = [b'x' as std::ffi::c_char; 128];
        assert!(!identifier_terminated(&vl));
        assert_eq!(
            cache_rates_by_name(c"h/p/gauge"),
            Err(HostError {
                symbol: "uc_get_rate_by_name"
            })
        );
        assert_eq!(cache_names(), Err(-1));
    }
}
