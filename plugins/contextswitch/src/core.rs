//! Pure part of the contextswitch plugin: the `ctxt` line of `/proc/stat` as
//! collectd's DERIVE `contextswitch`.

/// Find and parse the `ctxt N` line.
pub fn parse_ctxt(stat: &str) -> Result<i64, String> {
    for line in stat.lines() {
        let mut fields = line.split_ascii_whitespace();
        let (Some(key), Some(value), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if key != "ctxt" {
            continue;
        }
        return value
            .parse()
            .map_err(|_| format!("cannot parse ctxt value {value:?}"));
    }
    Err("no ctxt line in /proc/stat".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_stat() {
        let path = format!("{}/tests/fixtures/stat.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(parse_ctxt(&text), Ok(544201));
    }

    #[test]
    fn edge_cases() {
        assert_eq!(parse_ctxt("cpu 1 2\nctxt 1 2\nctxt 42\n"), Ok(42));
        assert!(parse_ctxt("ctxt x\n").is_err());
        assert!(parse_ctxt("cpu 1 2 3\n").is_err());
        assert!(parse_ctxt("").is_err());
    }
}
