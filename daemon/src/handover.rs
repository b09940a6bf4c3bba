//! What crosses an exec into a process started from this binary (the
//! daemon re-executed at a reload, an isolated plugin's host process): the
//! environment names that carry descriptors, and the memfds behind them.
//! Below both the reload and the isolation, which start such processes.

use std::ffi::CString;
use std::io::{Seek, Write};
use std::os::fd::{FromRawFd, RawFd};

/// Set in the re-executed process: it is the same daemon, already detached.
pub const ENV_REEXEC: &str = "RCOLLECTD_REEXEC";
/// The descriptor holding the saved value cache state.
pub const ENV_CACHE_FD: &str = "RCOLLECTD_CACHE_FD";
/// The descriptor holding value lists dispatched after the writers stopped.
pub const ENV_LATE_FD: &str = "RCOLLECTD_LATE_FD";
/// Descriptors handed over to plugins, as `key=fd` pairs separated by `;`.
pub const ENV_FDS: &str = "RCOLLECTD_FDS";

/// A memfd (inherited across exec) holding what `fill` writes, rewound.
pub fn write_memfd(
    name: &str,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<RawFd> {
    let name = CString::new(name).unwrap_or_default();
    // SAFETY: memfd_create with a valid name; no MFD_CLOEXEC on purpose.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just created and is owned here; it is leaked into the
    // new process image on purpose.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    fill(&mut file)?;
    file.flush()?;
    file.rewind()?;
    Ok(fd)
}
