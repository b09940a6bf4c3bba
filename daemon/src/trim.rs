//! Gives the startup-only pages of the executable and the libraries back
//! once the daemon runs.
//!
//! One binary holds every plugin of ours, the config parser, the types.db
//! reader and the ABI; configuring, initializing and the first read rounds
//! touch much of it once, and libraries (the unwinder, libm) once too. The
//! kernel maps file pages around each fault (fault-around, readahead), so
//! those pages would stay resident for the daemon's life. After init, and
//! again once the reads are steady, the read-only file mappings are marked
//! `MADV_RANDOM` (no readahead on later faults) and paged out
//! (`MADV_PAGEOUT`, Linux 5.4+): what the read loop needs faults back in,
//! the rest stays on disk. Pages other processes also map stay where they
//! are.

/// The read-only file mappings of this process: (start, length).
fn file_mappings() -> Vec<(usize, usize)> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let path = f.nth(3)?;
            if !path.starts_with('/') || perms.contains('w') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let start = usize::from_str_radix(a, 16).ok()?;
            let end = usize::from_str_radix(b, 16).ok()?;
            Some((start, end.checked_sub(start)?))
        })
        .collect()
}

/// Pages out the read-only file mappings; returns the bytes advised (0
/// where the kernel does not support it).
pub fn file_pages() -> usize {
    let mut advised = 0;
    for (start, len) in file_mappings() {
        // SAFETY: the range is a whole read-only file mapping of this
        // process from /proc/self/maps; MADV_RANDOM and MADV_PAGEOUT only
        // change paging, never the contents a later access reads.
        let ok = unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_RANDOM) == 0
                && libc::madvise(start as *mut libc::c_void, len, libc::MADV_PAGEOUT) == 0
        };
        if ok {
            advised += len;
        }
    }
    advised
}

/// Returns the free pages of every malloc arena to the system: startup and
/// the first rounds free much of what they allocated (config tree, types.db
/// text, growing tables), and a drained queue backlog frees its batches.
pub fn heap() {
    // SAFETY: glibc's malloc_trim only releases free pages of its own
    // arenas and is safe to call from any thread at any time.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_text_mapping_and_survives_paging_out() {
        let maps = super::file_mappings();
        assert!(!maps.is_empty());
        let here = finds_the_text_mapping_and_survives_paging_out as fn() as usize;
        assert!(maps.iter().any(|(s, l)| (*s..s + l).contains(&here)));
        let libc_fn = libc::getpid as unsafe extern "C" fn() -> libc::pid_t as usize;
        assert!(maps.iter().any(|(s, l)| (*s..s + l).contains(&libc_fn)));
        super::file_pages();
        // The code still runs after its pages were given back.
        assert_eq!(super::file_mappings().len(), maps.len());
        assert!(std::process::id() > 0);
    }
}
