//! Meta data the daemon's value cache keeps per identifier
//! (`uc_meta_data_*`): it outlives single value lists, e.g. the network
//! plugin's `network:time_sent` loop protection.

use std::ffi::CStr;

use crate::host::{host, need};
use crate::sys;
use crate::value::DispatchError;

/// Whether every identifier field of `vl` is NUL-terminated, as the host
/// expects when it formats the identifier.
fn identifier_terminated(vl: &sys::value_list_t) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::HostError;

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
    }
}
