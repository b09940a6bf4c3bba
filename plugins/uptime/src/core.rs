//! Pure part of the uptime plugin: seconds since boot as collectd 5.12's
//! uptime plugin reports them (type `uptime`, whole seconds as `sysinfo(2)`
//! gives them, i.e. rounded up).

/// Parse `/proc/uptime` into whole seconds, rounded up like `sysinfo(2)`'s
/// `uptime` field (the kernel rounds any partial second up).
pub fn parse_proc_uptime(text: &str) -> Result<i64, String> {
    let field = text
        .split_ascii_whitespace()
        .next()
        .ok_or_else(|| "empty /proc/uptime".to_string())?;
    let secs: f64 = field
        .parse()
        .map_err(|_| format!("cannot parse /proc/uptime field {field:?}"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid uptime {field:?}"));
    }
    Ok(secs.ceil() as i64)
}

/// The GAUGE value dispatched for `seconds` of uptime.
pub fn value(seconds: i64) -> f64 {
    seconds as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_uptime() {
        let path = format!("{}/tests/fixtures/uptime.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(parse_proc_uptime(&text), Ok(2664));
        assert_eq!(value(2664), 2664.0);
    }

    #[test]
    fn whole_seconds_and_errors() {
        assert_eq!(parse_proc_uptime("10.00 3.5\n"), Ok(10));
        assert_eq!(parse_proc_uptime("10.01 3.5\n"), Ok(11));
        assert!(parse_proc_uptime("").is_err());
        assert!(parse_proc_uptime("abc 1").is_err());
        assert!(parse_proc_uptime("-1 1").is_err());
    }
}
