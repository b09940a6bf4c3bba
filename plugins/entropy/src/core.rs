//! Pure part of the entropy plugin: the content of
//! `/proc/sys/kernel/random/entropy_avail` as collectd's GAUGE `entropy`.

/// Parse the file's number (surrounding white space allowed).
pub fn parse_entropy(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v: f64 = t
        .parse()
        .map_err(|_| format!("cannot parse entropy_avail content {t:?}"))?;
    if v.is_nan() {
        return Err(format!("cannot parse entropy_avail content {t:?}"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_value() {
        let path = format!(
            "{}/tests/fixtures/entropy_avail.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(parse_entropy(&text), Ok(256.0));
    }

    #[test]
    fn edge_cases() {
        assert_eq!(parse_entropy("  3754 \n"), Ok(3754.0));
        assert!(parse_entropy("").is_err());
        assert!(parse_entropy("12 34").is_err());
        assert!(parse_entropy("nan").is_err());
    }
}
