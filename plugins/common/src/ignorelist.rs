//! collectd's "ignorelist": names and `/regex/` patterns selecting what a
//! plugin reports, with the libc regex engine collectd uses.

use std::ffi::CString;
use std::fmt;

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

#[cfg(test)]
mod tests {
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
}
