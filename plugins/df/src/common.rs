//! Pieces shared by rcollectd's system plugins (df, disk, interface, fhcount,
//! processes): the value lists a read produces, collectd's boolean parsing,
//! POSIX extended regular expressions and collectd's "ignorelist" selection.
//!
//! The other plugin crates include this file with `#[path]`, so each `.so`
//! stays self-contained (a cdylib cannot link another plugin's cdylib).

use std::ffi::CString;
use std::fmt;

use rcollectd_plugin::{Config, ConfigItem, ConfigValue, ValueListBuilder};

/// One value of a value list, typed as in types.db.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// `GAUGE`: a measurement, dispatched as a double.
    Gauge(f64),
    /// `DERIVE`: a signed counter whose rate is what matters.
    Derive(i64),
}

/// A value list as a plugin dispatches it (host, time and interval are filled
/// in by the daemon), kept as plain data so parsers are testable.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// collectd's plugin instance (e.g. the mount point or disk name).
    pub plugin_instance: String,
    /// The types.db type name.
    pub type_: String,
    /// collectd's type instance, empty when there is none.
    pub type_instance: String,
    /// The values, in the order of the type's data sources.
    pub values: Vec<Value>,
}

impl Metric {
    /// Builds a metric from borrowed names; a shorthand for the parsers.
    pub fn new(
        plugin_instance: &str,
        type_: &str,
        type_instance: &str,
        values: Vec<Value>,
    ) -> Self {
        Metric {
            plugin_instance: plugin_instance.to_owned(),
            type_: type_.to_owned(),
            type_instance: type_instance.to_owned(),
            values,
        }
    }

    /// A single-gauge metric, the most common shape.
    pub fn gauge(plugin_instance: &str, type_: &str, type_instance: &str, v: f64) -> Self {
        Self::new(plugin_instance, type_, type_instance, vec![Value::Gauge(v)])
    }

    /// A two-derive metric such as `disk_octets` or `if_packets`.
    pub fn derive2(
        plugin_instance: &str,
        type_: &str,
        type_instance: &str,
        a: i64,
        b: i64,
    ) -> Self {
        Self::new(
            plugin_instance,
            type_,
            type_instance,
            vec![Value::Derive(a), Value::Derive(b)],
        )
    }
}

impl fmt::Display for Metric {
    /// `plugin_instance/type-type_instance = v1:v2`, handy in test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.plugin_instance, self.type_)?;
        if !self.type_instance.is_empty() {
            write!(f, "-{}", self.type_instance)?;
        }
        f.write_str(" =")?;
        for (i, v) in self.values.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ":" })?;
            match v {
                Value::Gauge(g) => write!(f, "{g}")?,
                Value::Derive(d) => write!(f, "{d}")?,
            }
        }
        Ok(())
    }
}

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

/// A compiled POSIX extended regular expression (the libc `regcomp` that
/// collectd itself uses), so patterns match exactly as in collectd.
pub struct PosixRegex {
    re: Box<libc::regex_t>,
    pattern: String,
}

// SAFETY: a compiled regex_t is owned by this value and only freed in Drop;
// moving it to another thread is fine (it holds no thread-bound state).
unsafe impl Send for PosixRegex {}
// SAFETY: POSIX makes regexec thread-safe; glibc serialises concurrent
// regexec calls on one pattern with a lock inside the compiled regex_t.
unsafe impl Sync for PosixRegex {}

impl PosixRegex {
    /// Compiles `pattern` with `REG_EXTENDED | REG_NOSUB`; the error carries
    /// libc's message.
    pub fn new(pattern: &str) -> Result<Self, String> {
        let c =
            CString::new(pattern).map_err(|_| format!("regex {pattern:?} contains a NUL byte"))?;
        // SAFETY: regex_t is a plain C struct for which all-zero is a valid
        // "not yet compiled" state; regcomp initialises it.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` points to writable storage for a regex_t and `c` is a
        // NUL-terminated string that outlives the call.
        let rc =
            unsafe { libc::regcomp(&mut *re, c.as_ptr(), libc::REG_EXTENDED | libc::REG_NOSUB) };
        if rc != 0 {
            let mut buf = [0u8; 256];
            // SAFETY: regerror writes at most buf.len() bytes, NUL-terminated,
            // and only reads `re`.
            unsafe { libc::regerror(rc, &*re, buf.as_mut_ptr().cast(), buf.len()) };
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return Err(format!(
                "compiling regular expression {pattern:?} failed: {}",
                String::from_utf8_lossy(&buf[..end])
            ));
        }
        Ok(PosixRegex {
            re,
            pattern: pattern.to_owned(),
        })
    }

    /// Whether the expression matches anywhere in `s` (regexec semantics;
    /// a string with an interior NUL is matched up to that NUL, as C would).
    pub fn is_match(&self, s: &str) -> bool {
        let bytes = s.as_bytes();
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let Ok(c) = CString::new(&bytes[..end]) else {
            return false;
        };
        // SAFETY: `re` was compiled by regcomp and is not freed until Drop;
        // `c` is NUL-terminated; nmatch = 0 so pmatch may be null.
        unsafe { libc::regexec(&*self.re, c.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }

    /// The source pattern, for log messages.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: `re` was successfully compiled (construction fails
        // otherwise) and is freed exactly once here.
        unsafe { libc::regfree(&mut *self.re) };
    }
}

impl fmt::Debug for PosixRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PosixRegex({:?})", self.pattern)
    }
}

#[derive(Debug)]
enum Entry {
    Exact(String),
    Regex(PosixRegex),
}

/// collectd's ignorelist: a set of names and `/regex/` patterns that selects
/// what a plugin reports. By default only listed entries are reported (an
/// empty list reports everything); with `IgnoreSelected true` listed entries
/// are dropped instead.
#[derive(Debug, Default)]
pub struct IgnoreList {
    entries: Vec<Entry>,
    ignore_selected: bool,
}

impl IgnoreList {
    /// An empty list in collectd's default mode (select listed entries).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a name; `"/.../"` (longer than two characters) is a POSIX
    /// extended regex. An empty entry or a bad regex is an error.
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        if entry.is_empty() {
            return Err("empty entry".into());
        }
        if entry.len() > 2 && entry.starts_with('/') && entry.ends_with('/') {
            let re = PosixRegex::new(&entry[1..entry.len() - 1])?;
            self.entries.push(Entry::Regex(re));
        } else {
            self.entries.push(Entry::Exact(entry.to_owned()));
        }
        Ok(())
    }

    /// `IgnoreSelected`: true drops the listed entries, false keeps only them.
    pub fn set_ignore_selected(&mut self, ignore: bool) {
        self.ignore_selected = ignore;
    }

    /// Whether `name` is to be skipped (collectd's `ignorelist_match != 0`).
    pub fn ignored(&self, name: &str) -> bool {
        if self.entries.is_empty() || name.is_empty() {
            return false;
        }
        let listed = self.entries.iter().any(|e| match e {
            Entry::Exact(s) => s == name,
            Entry::Regex(r) => r.is_match(name),
        });
        listed == self.ignore_selected
    }
}

/// collectd's limit on identifier fields (DATA_MAX_NAME_LEN - 1 bytes).
const NAME_MAX: usize = 127;

/// Cuts a name to what fits an identifier field, as collectd's `sstrncpy`
/// does silently (on a character boundary).
fn fit(s: &str) -> &str {
    if s.len() <= NAME_MAX {
        return s;
    }
    let mut end = NAME_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Dispatches every metric under `plugin`. Like collectd's plugins, one
/// rejected value list does not stop the others; failures are logged.
pub fn dispatch_all(plugin: &str, metrics: &[Metric]) {
    let mut values = Vec::with_capacity(4);
    for m in metrics {
        values.clear();
        values.extend(m.values.iter().map(|v| match *v {
            Value::Gauge(g) => rcollectd_plugin::Value::Gauge(g),
            Value::Derive(d) => rcollectd_plugin::Value::Derive(d),
        }));
        let r = ValueListBuilder::new(plugin, &m.type_)
            .plugin_instance(fit(&m.plugin_instance))
            .type_instance(fit(&m.type_instance))
            .values(&values)
            .dispatch();
        if let Err(e) = r {
            rcollectd_plugin::log::warn!("dispatching {m} failed: {e}");
        }
    }
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
mod common_tests {
    use super::*;

    #[test]
    fn ignorelist_default_selects_listed() {
        let mut il = IgnoreList::new();
        assert!(!il.ignored("sda"), "empty list reports everything");
        il.add("sda").unwrap();
        il.add("/^nvme[0-9]+n1$/").unwrap();
        assert!(!il.ignored("sda"));
        assert!(!il.ignored("nvme0n1"));
        assert!(il.ignored("nvme0n1p1"));
        assert!(il.ignored("sdb"));
        assert!(!il.ignored(""), "empty names are never ignored");
        il.set_ignore_selected(true);
        assert!(il.ignored("sda"));
        assert!(il.ignored("nvme12n1"));
        assert!(!il.ignored("sdb"));
    }

    #[test]
    fn ignorelist_rejects_bad_input() {
        let mut il = IgnoreList::new();
        assert!(il.add("").is_err());
        assert!(il.add("/[unclosed/").is_err());
        // "//" is too short to be a regex: it is a literal name.
        il.add("//").unwrap();
        assert!(!il.ignored("//"));
        assert!(il.ignored("/"));
    }

    #[test]
    fn posix_regex_is_extended_and_unanchored() {
        let r = PosixRegex::new("a(b|c)+").unwrap();
        assert!(r.is_match("xxabcbx"));
        assert!(!r.is_match("ad"));
        let r = PosixRegex::new("^/dev/(sd|vd)[a-z]$").unwrap();
        assert!(r.is_match("/dev/vda"));
        assert!(!r.is_match("/dev/vda1"));
    }

    #[test]
    fn atoll_like_c() {
        assert_eq!(atoll("123"), 123);
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
    fn legacy_values_and_name_limits() {
        let item = ConfigItem::new(
            "X",
            vec![
                ConfigValue::String("a b".into()),
                ConfigValue::Number(2.0),
                ConfigValue::Boolean(true),
            ],
        );
        assert_eq!(legacy_value(&item), "a b 2.000000 true");
        let long = "é".repeat(100);
        assert_eq!(fit(&long).len(), 126);
        assert_eq!(fit("short"), "short");
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
