//! Daemon-wide requests a plugin may make on behalf of a user, as collectd's
//! command interfaces (unixsock, exec) do: flushing writers and looking up
//! the threshold configured for an identifier.

use std::ffi::CStr;

use crate::host::{host, need, HostError};
use crate::sys;
use crate::value::CdTime;

/// Asks the write plugins to flush (`plugin_flush`): only `plugin` when
/// given, values older than `timeout`, only `identifier` when given. Returns
/// the daemon's status (0: done).
pub fn flush(
    plugin: Option<&CStr>,
    timeout: CdTime,
    identifier: Option<&CStr>,
) -> Result<i32, HostError> {
    let f = need(host().flush, "plugin_flush")?;
    let p = plugin.map_or(std::ptr::null(), CStr::as_ptr);
    let i = identifier.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: both pointers are NULL or NUL-terminated strings that outlive
    // the call; the host copies what it keeps.
    Ok(unsafe { f(p, timeout.0, i) })
}

/// The threshold that applies to the identifier of `vl`
/// (`ut_search_threshold`, with `next` cleared): `Ok(None)` when none is
/// configured, and also when the host has no threshold table at all
/// (collectd 5.12 without its threshold plugin); `Err(status)` on another
/// failure.
pub fn search_threshold(vl: &sys::value_list_t) -> Result<Option<sys::threshold_t>, i32> {
    let Some(search) = host().search_threshold else {
        return Ok(None);
    };
    if !crate::cache::identifier_terminated(vl) {
        return Err(libc::EINVAL);
    }
    let mut th = sys::threshold_t::default();
    // SAFETY: `vl`'s identifier fields are NUL-terminated (checked above);
    // the host copies one threshold into the valid local `th`.
    match unsafe { search(vl, &mut th) } {
        0 => {
            th.next = std::ptr::null_mut();
            Ok(Some(th))
        }
        libc::ENOENT => Ok(None),
        status => Err(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_host() {
        assert_eq!(
            flush(None, CdTime::ZERO, Some(c"h/p/t")),
            Err(HostError {
                symbol: "plugin_flush"
            })
        );
        assert!(matches!(
            search_threshold(&sys::value_list_t::default()),
            Ok(None)
        ));
    }
}
