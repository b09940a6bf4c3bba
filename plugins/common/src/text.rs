//! collectd's text conventions: reading `/proc` fields (`atoll`,
//! `strsplit`), booleans (`IS_TRUE`) and "simple config" option strings.

use rcollectd_plugin::{Config, ConfigItem, ConfigValue};

/// collectd's `IS_TRUE`: "true", "yes" and "on", case-insensitively.
pub fn is_true(s: &str) -> bool {
    ["true", "yes", "on"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
}

/// collectd's `strsplit`: fields separated by blanks, tabs, CR and LF,
/// empty fields dropped.
pub fn split_fields(line: &str) -> impl Iterator<Item = &str> {
    line.split([' ', '\t', '\r', '\n'])
        .filter(|f| !f.is_empty())
}

/// glibc's `atoll` (`strtoll` base 10): leading blanks, optional sign, then
/// digits; anything else stops the parse, no digits gives 0 and overflow
/// saturates. collectd parses /proc with it, so a malformed field reads as 0
/// (or its numeric prefix), never as an error.
pub fn atoll(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i128 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = (v * 10 + i128::from(b - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The string a collectd "simple config" plugin receives for an option:
/// strings as written, numbers as `%lf`, booleans as `true`/`false`,
/// several values joined by spaces.
pub fn legacy_value(item: &ConfigItem) -> String {
    item.values
        .iter()
        .map(|v| match v {
            ConfigValue::String(s) => s.clone(),
            ConfigValue::Number(n) => format!("{n:.6}"),
            ConfigValue::Boolean(b) => b.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Feeds a plugin's options to its `Key Value` setter (collectd's simple
/// config). The first bad option is an error naming it.
pub fn apply_simple(
    config: &Config,
    mut set: impl FnMut(&str, &str) -> Result<(), String>,
) -> Result<(), String> {
    for item in &config.items {
        if !item.children.is_empty() {
            return Err(format!(
                "<Plugin {}>: option {:?} cannot be a block",
                config.plugin, item.key
            ));
        }
        let value = legacy_value(item);
        set(&item.key, &value)
            .map_err(|e| format!("<Plugin {}> / {} {value:?}: {e}", config.plugin, item.key))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoll_like_c() {
        assert_eq!(atoll("123"), 123);
        assert_eq!(atoll("123abc"), 123);
        assert_eq!(atoll("-7"), -7);
        assert_eq!(atoll("  -42x"), -42);
        assert_eq!(atoll("x"), 0);
        assert_eq!(atoll(""), 0);
        assert_eq!(
            atoll("18446744073709551615"),
            i64::MAX,
            "saturates like strtoll"
        );
        assert_eq!(atoll("-99999999999999999999"), i64::MIN);
    }

    #[test]
    fn legacy_values_and_simple_config() {
        let item = ConfigItem::new(
            "X",
            vec![
                ConfigValue::String("a b".into()),
                ConfigValue::Number(2.0),
                ConfigValue::Boolean(true),
            ],
        );
        assert_eq!(legacy_value(&item), "a b 2.000000 true");
        let mut cfg = Config::new("t");
        cfg.items
            .push(ConfigItem::new("Good", vec![ConfigValue::Boolean(false)]));
        cfg.items.push(ConfigItem::new("Bad", vec![]));
        let mut seen = Vec::new();
        let err = apply_simple(&cfg, |k, v| {
            seen.push(format!("{k}={v}"));
            if k == "Bad" {
                Err("no".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(seen, ["Good=false", "Bad="]);
        assert!(err.contains("Bad") && err.contains("no"), "{err}");
    }

    #[test]
    fn booleans_and_fields() {
        assert!(is_true("Yes") && is_true("on") && is_true("TRUE"));
        assert!(!is_true("1") && !is_true("false"));
        let f: Vec<_> = split_fields("  a\tb  c\n").collect();
        assert_eq!(f, ["a", "b", "c"]);
    }
}
