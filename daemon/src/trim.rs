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

/// The read-only file mappings of this process that hold no anonymous
/// pages: (start, length). A read-only mapping with anonymous pages is
/// relocated data (RELRO); paging it out would only send it to swap.
fn file_mappings() -> Vec<(usize, usize)> {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return Vec::new();
    };
    parse_smaps(&smaps)
}

/// [`file_mappings`] from the text of an smaps file.
fn parse_smaps(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(rest) = line.strip_prefix("Anonymous:") {
            let anon = rest.trim().trim_end_matches("kB").trim();
            if anon != "0" {
                current = None;
            }
            continue;
        }
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        else {
            continue;
        };
        // A new mapping starts: the previous one qualified if it got here.
        out.extend(current.take());
        let path = f.nth(3).unwrap_or("");
        if path.starts_with('/') && !perms.contains('w') && perms.len() == 4 {
            current = end.checked_sub(start).map(|len| (start, len));
        }
    }
    out.extend(current);
    out
}

/// Pages out the read-only file mappings; returns the bytes advised (0
/// where the kernel does not support it).
fn file_pages() -> usize {
    let mut advised = 0;
    for (start, len) in file_mappings() {
        // SAFETY: the range is a whole read-only file mapping of this
        // process from /proc/self/smaps; MADV_RANDOM and MADV_PAGEOUT only
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

/// Gives back the pages `stage` (startup, the first rounds) used once: the
/// read-only file mappings' and the free heap's.
pub fn after(stage: &str) {
    heap();
    let n = file_pages();
    log::debug!("gave {n} bytes of {stage} pages of the executable and libraries back");
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
    fn smaps_yield_read_only_file_mappings_without_anonymous_pages() {
        let smaps = "\
55d1000-55d2000 r--p 00000000 08:01 12 /usr/sbin/rcollectd
Rss:                   4 kB
Anonymous:             0 kB
55d2000-55d4000 r-xp 00001000 08:01 12 /usr/sbin/rcollectd
Anonymous:             0 kB
55d4000-55d5000 r--p 00003000 08:01 12 /usr/sbin/rcollectd
Anonymous:             4 kB
55d5000-55d6000 rw-p 00004000 08:01 12 /usr/sbin/rcollectd
Anonymous:             4 kB
55d6000-55d7000 rw-p 00000000 00:00 0 [heap]
Anonymous:             4 kB
7f00000-7f01000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
7f01000-7f03000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
";
        assert_eq!(
            super::parse_smaps(smaps),
            vec![
                (0x55d1000, 0x1000),
                (0x55d2000, 0x2000),
                (0x7f01000, 0x2000)
            ]
        );
    }

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
