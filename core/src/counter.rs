//! collectd's `counter_diff`: the increase between two readings of a
//! COUNTER, which wraps at 32 or 64 bits.

/// The increase from `old` to `new`. A smaller `new` means the counter
/// wrapped: at 32 bits when `old` fits in 32 bits, else at 64 bits.
pub fn diff(old: u64, new: u64) -> u64 {
    if old > new {
        let max = if old <= u64::from(u32::MAX) {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        (max - old).wrapping_add(new).wrapping_add(1)
    } else {
        new - old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_like_collectd() {
        let m32 = u64::from(u32::MAX);
        for (old, new, want) in [
            (10, 15, 5),
            (7, 7, 0),
            (m32 - 1, 2, 4),
            (m32, 0, 1),
            (m32 + 1, 0, u64::MAX - m32),
            (u64::MAX - 1, 2, 4),
            (u64::MAX, 0, 1),
        ] {
            assert_eq!(diff(old, new), want, "{old} -> {new}");
        }
    }
}
