//! `cdtime_t` arithmetic: collectd's fixed-point time (2^-30 s units) and the
//! exact rounding of its conversion macros, so values computed here agree bit
//! for bit with what a C plugin computes from the same header.

use std::time::Duration;

/// collectd's `cdtime_t`: 2^-30 seconds since the epoch, in a `uint64_t`.
#[allow(non_camel_case_types)]
pub type cdtime_t = u64;

use crate::sys;

/// Sub-second mask of a `cdtime_t` (the low 30 bits).
const FRAC_MASK: u64 = 0x3fff_ffff;
/// Half of one second in `cdtime_t` units, used for round-to-nearest.
const HALF: u64 = 1 << 29;

/// Current wall-clock time as collectd's `cdtime()` reports it (CLOCK_REALTIME).
#[inline]
pub fn now() -> cdtime_t {
    match sys::clock_gettime(libc::CLOCK_REALTIME) {
        Ok(ts) => from_timespec(&ts),
        Err(e) => {
            log::error!("cdtime: clock_gettime failed: {e}");
            0
        }
    }
}

/// Current wall-clock time from the coarse clock (CLOCK_REALTIME_COARSE):
/// a few milliseconds of resolution for a fraction of the cost, for
/// bookkeeping such as cache expiry that only needs second precision.
#[inline]
pub fn now_coarse() -> cdtime_t {
    match sys::clock_gettime(libc::CLOCK_REALTIME_COARSE) {
        Ok(ts) => from_timespec(&ts),
        Err(_) => now(),
    }
}

/// Whole seconds to `cdtime_t` (`TIME_T_TO_CDTIME_T`).
pub const fn from_secs(secs: u64) -> cdtime_t {
    secs << 30
}

/// `cdtime_t` to whole seconds, rounded to nearest (`CDTIME_T_TO_TIME_T`).
pub const fn to_time_t(t: cdtime_t) -> i64 {
    (t.wrapping_add(HALF) >> 30) as i64
}

/// Seconds as a double to `cdtime_t` (`DOUBLE_TO_CDTIME_T`, truncating).
/// Negative input wraps as the C cast does on x86-64 instead of clamping to
/// 0, so parsers treat it exactly as collectd does.
pub fn from_f64(secs: f64) -> cdtime_t {
    let units = secs * 1_073_741_824.0;
    if units < 0.0 {
        units as i64 as cdtime_t
    } else {
        units as cdtime_t
    }
}

/// `cdtime_t` to seconds as a double (`CDTIME_T_TO_DOUBLE`).
pub fn to_f64(t: cdtime_t) -> f64 {
    t as f64 / 1_073_741_824.0
}

/// Converts `v` units of `1/per_sec` seconds with the macros' rounding.
const fn units_to_cdtime(v: u64, per_sec: u64) -> cdtime_t {
    ((v / per_sec) << 30) | ((((v % per_sec) << 30) + per_sec / 2) / per_sec)
}

/// Converts to units of `1/per_sec` seconds with the macros' rounding.
const fn cdtime_to_units(t: cdtime_t, per_sec: u64) -> u64 {
    (t >> 30)
        .wrapping_mul(per_sec)
        .wrapping_add(((t & FRAC_MASK) * per_sec + HALF) >> 30)
}

/// Milliseconds to `cdtime_t` (`MS_TO_CDTIME_T`).
pub const fn from_ms(ms: u64) -> cdtime_t {
    units_to_cdtime(ms, 1_000)
}

/// Microseconds to `cdtime_t` (`US_TO_CDTIME_T`).
pub const fn from_us(us: u64) -> cdtime_t {
    units_to_cdtime(us, 1_000_000)
}

/// Nanoseconds to `cdtime_t` (`NS_TO_CDTIME_T`).
pub const fn from_ns(ns: u64) -> cdtime_t {
    units_to_cdtime(ns, 1_000_000_000)
}

/// `cdtime_t` to milliseconds (`CDTIME_T_TO_MS`).
pub const fn to_ms(t: cdtime_t) -> u64 {
    cdtime_to_units(t, 1_000)
}

/// `cdtime_t` to microseconds (`CDTIME_T_TO_US`).
pub const fn to_us(t: cdtime_t) -> u64 {
    cdtime_to_units(t, 1_000_000)
}

/// `cdtime_t` to nanoseconds (`CDTIME_T_TO_NS`).
pub const fn to_ns(t: cdtime_t) -> u64 {
    cdtime_to_units(t, 1_000_000_000)
}

/// `timespec` to `cdtime_t` (`TIMESPEC_TO_CDTIME_T`).
#[inline]
pub fn from_timespec(ts: &libc::timespec) -> cdtime_t {
    from_ns(
        1_000_000_000u64
            .wrapping_mul(ts.tv_sec as u64)
            .wrapping_add(ts.tv_nsec as u64),
    )
}

/// `cdtime_t` to a normalised `timespec` (`CDTIME_T_TO_TIMESPEC`; the rounding
/// can yield 10^9 ns, which is carried into the seconds as collectd does).
pub fn to_timespec(t: cdtime_t) -> libc::timespec {
    let mut sec = (t >> 30) as i64;
    let mut nsec = (((t & FRAC_MASK) * 1_000_000_000 + HALF) >> 30) as i64;
    if nsec >= 1_000_000_000 {
        sec += 1;
        nsec -= 1_000_000_000;
    }
    libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: nsec as libc::c_long,
    }
}

/// `timeval` to `cdtime_t` (`TIMEVAL_TO_CDTIME_T`).
pub fn from_timeval(tv: &libc::timeval) -> cdtime_t {
    from_us(
        1_000_000u64
            .wrapping_mul(tv.tv_sec as u64)
            .wrapping_add(tv.tv_usec as u64),
    )
}

/// `cdtime_t` to `timeval` (`CDTIME_T_TO_TIMEVAL`).
pub fn to_timeval(t: cdtime_t) -> libc::timeval {
    libc::timeval {
        tv_sec: (t >> 30) as libc::time_t,
        tv_usec: (((t & FRAC_MASK) * 1_000_000 + HALF) >> 30) as libc::suseconds_t,
    }
}

/// `Duration` to `cdtime_t`, rounding nanoseconds as `NS_TO_CDTIME_T`.
pub fn from_duration(d: Duration) -> cdtime_t {
    from_secs(d.as_secs()) | units_to_cdtime(u64::from(d.subsec_nanos()), 1_000_000_000)
}

/// `cdtime_t` to `Duration` (nanosecond precision, rounded as `CDTIME_T_TO_NS`).
pub fn to_duration(t: cdtime_t) -> Duration {
    let ts = to_timespec(t);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Size of the buffer `rfc3339` needs, including the NUL.
pub const RFC3339_SIZE: usize = 26;
/// Size of the buffer `rfc3339nano` needs, including the NUL.
pub const RFC3339NANO_SIZE: usize = 36;

/// Formats `t` as RFC 3339, the way collectd's `rfc3339*` functions do:
/// `YYYY-MM-DDTHH:MM:SS[.nnnnnnnnn](Z|+hh:mm)`. Errors carry the errno value
/// collectd returns.
pub fn format_rfc3339(t: cdtime_t, nano: bool, local: bool) -> Result<String, i32> {
    let ts = to_timespec(t);
    let secs: libc::time_t = ts.tv_sec;
    let tm = match sys::broken_down(secs, local) {
        Ok(tm) => tm,
        Err(err) => {
            log::error!(
                "{}: {} failed: {}",
                if local {
                    "get_local_time"
                } else {
                    "get_utc_time"
                },
                if local { "localtime_r" } else { "gmtime_r" },
                err
            );
            return Err(err.raw_os_error().unwrap_or(libc::EINVAL));
        }
    };
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    );
    if nano {
        out.push_str(&format!(".{:09}", ts.tv_nsec));
    }
    if local {
        let off = tm.tm_gmtoff;
        let sign = if off < 0 { '-' } else { '+' };
        let off = off.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", off / 3600, (off % 3600) / 60));
    } else {
        out.push('Z');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_like_the_macros() {
        assert_eq!(from_secs(1), 1 << 30);
        assert_eq!(from_ms(1500), (1 << 30) | (1 << 29));
        assert_eq!(to_ms(from_ms(1234)), 1234);
        assert_eq!(to_us(from_us(987_654_321)), 987_654_321);
        assert_eq!(to_ns((1 << 30) + 1), 1_000_000_001);
        // One 2^-30 s tick is ~0.93 ns: rounds to 1 ns.
        assert_eq!(to_ns(1), 1);
        assert_eq!(to_time_t(from_secs(10) + HALF), 11);
        assert_eq!(to_time_t(from_secs(10) + HALF - 1), 10);
        assert_eq!(to_f64(from_f64(2.5)), 2.5);
        let ts = to_timespec(from_secs(5) + FRAC_MASK);
        assert_eq!((ts.tv_sec, ts.tv_nsec), (5, 999_999_999));
        let tv = to_timeval(from_ms(2250));
        assert_eq!((tv.tv_sec, tv.tv_usec), (2, 250_000));
        assert_eq!(from_timeval(&tv), from_us(2_250_000));
        assert_eq!(
            from_duration(Duration::from_millis(1500)),
            from_ns(1_500_000_000)
        );
        assert_eq!(to_duration(from_ms(1500)), Duration::from_millis(1500));
    }

    #[test]
    fn coarse_clock_tracks_the_fine_one() {
        let fine = now();
        let coarse = now_coarse();
        assert!(to_f64(fine.abs_diff(coarse)) < 1.0);
    }

    #[test]
    fn now_is_close_to_system_time() {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let diff = to_f64(now()) - sys.as_secs_f64();
        assert!(diff.abs() < 5.0, "cdtime off by {diff}");
    }

    #[test]
    fn rfc3339_utc_formats() {
        // 2009-02-13T23:31:30Z, plus half a second.
        let t = from_secs(1_234_567_890) | HALF;
        assert_eq!(
            format_rfc3339(t, false, false).unwrap(),
            "2009-02-13T23:31:30Z"
        );
        assert_eq!(
            format_rfc3339(t, true, false).unwrap(),
            "2009-02-13T23:31:30.500000000Z"
        );
        let local = format_rfc3339(t, true, true).unwrap();
        assert_eq!(local.len(), RFC3339NANO_SIZE - 1);
        assert!(local[29..].starts_with('+') || local[29..].starts_with('-'));
        assert_eq!(&local[32..33], ":");
    }
}
