//! Gives the executable's startup-only pages back once the daemon runs.
//!
//! One binary holds every plugin of ours, the config parser, the types.db
//! reader and the ABI; configuring and initializing touch much of it once.
//! The kernel maps file pages around each fault (fault-around, readahead),
//! so those pages would stay resident for the daemon's life. After init the
//! read-only mappings of the executable are marked `MADV_RANDOM` (no
//! readahead on later faults) and paged out (`MADV_PAGEOUT`, Linux 5.4+):
//! what the read loop needs faults back in, page by page, the rest stays on
//! disk. Pages other processes also map stay where they are.

/// The read-only mappings of the running executable: (start, length).
fn executable_mappings() -> Vec<(usize, usize)> {
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else {
        return Vec::new();
    };
    let exe = exe.to_string_lossy().into_owned();
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let path = f.nth(3)?;
            if path != exe || perms.contains('w') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let start = usize::from_str_radix(a, 16).ok()?;
            let end = usize::from_str_radix(b, 16).ok()?;
            Some((start, end.checked_sub(start)?))
        })
        .collect()
}

/// Pages out the executable's read-only mappings; returns the bytes advised
/// (0 where the kernel does not support it).
pub fn executable_pages() -> usize {
    let mut advised = 0;
    for (start, len) in executable_mappings() {
        // SAFETY: the range is a whole mapping of this process's executable
        // from /proc/self/maps, read-only; MADV_RANDOM and MADV_PAGEOUT only
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

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_text_mapping_and_survives_paging_out() {
        let maps = super::executable_mappings();
        assert!(!maps.is_empty());
        let here = finds_the_text_mapping_and_survives_paging_out as fn() as usize;
        assert!(maps.iter().any(|(s, l)| (*s..s + l).contains(&here)));
        super::executable_pages();
        // The code still runs after its pages were given back.
        assert_eq!(super::executable_mappings().len(), maps.len());
    }
}
