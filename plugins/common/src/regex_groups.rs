//! A POSIX extended regex that reports its capture groups (collectd's
//! `utils_match` compiles with `regcomp` and reads up to 32 groups).

use std::ffi::CString;

/// How many groups collectd's `match_apply` asks `regexec` for.
pub const MAX_GROUPS: usize = 32;

/// A compiled `regcomp(REG_EXTENDED [| REG_NEWLINE])` pattern whose matches
/// report the byte ranges of group 0 and the capture groups.
pub struct GroupRegex {
    re: Box<libc::regex_t>,
}

// SAFETY: the compiled regex_t is owned by this value, freed only in Drop,
// and holds no thread-bound state.
unsafe impl Send for GroupRegex {}
// SAFETY: POSIX regexec is thread-safe on a shared compiled pattern (glibc
// locks inside the regex_t).
unsafe impl Sync for GroupRegex {}

impl GroupRegex {
    /// Compiles `pattern` as an extended regex (`newline`: `REG_NEWLINE`
    /// too); the error carries libc's message.
    pub fn new(pattern: &str, newline: bool) -> Result<Self, String> {
        let c = CString::new(pattern).map_err(|_| format!("{pattern:?} contains a NUL byte"))?;
        let flags = libc::REG_EXTENDED | if newline { libc::REG_NEWLINE } else { 0 };
        // SAFETY: all-zero is a valid "not compiled" regex_t; regcomp fills it.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` is writable regex_t storage, `c` NUL-terminated; both
        // outlive the call.
        let rc = unsafe { libc::regcomp(&mut *re, c.as_ptr(), flags) };
        if rc == 0 {
            return Ok(GroupRegex { re });
        }
        let mut msg = [0u8; 256];
        // SAFETY: regerror writes at most msg.len() bytes (NUL-terminated)
        // and only reads `re`.
        unsafe { libc::regerror(rc, &*re, msg.as_mut_ptr().cast(), msg.len()) };
        let text = msg.split(|&b| b == 0).next().unwrap_or_default();
        Err(String::from_utf8_lossy(text).into_owned())
    }

    /// Matches `text` (up to its first NUL, as C sees it): `None` if no
    /// match, else the ranges of group 0 and of the groups after it up to
    /// the first one that did not take part (collectd stops there too).
    pub fn groups(&self, text: &[u8]) -> Option<Vec<(usize, usize)>> {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let c = CString::new(&text[..end]).ok()?;
        let mut m = [libc::regmatch_t {
            rm_so: -1,
            rm_eo: -1,
        }; MAX_GROUPS];
        // SAFETY: `re` is compiled until Drop, `c` is NUL-terminated, and `m`
        // has room for the MAX_GROUPS entries regexec is told about.
        let rc = unsafe { libc::regexec(&*self.re, c.as_ptr(), MAX_GROUPS, m.as_mut_ptr(), 0) };
        if rc != 0 {
            return None;
        }
        let ranges = m
            .iter()
            .take_while(|g| g.rm_so >= 0 && g.rm_eo >= 0)
            .map(|g| (g.rm_so as usize, g.rm_eo as usize))
            .collect();
        Some(ranges)
    }
}

impl Drop for GroupRegex {
    fn drop(&mut self) {
        // SAFETY: `re` was compiled (construction fails otherwise) and is
        // freed exactly once, here.
        unsafe { libc::regfree(&mut *self.re) };
    }
}

impl std::fmt::Debug for GroupRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupRegex")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_stop_at_the_first_unset_one() {
        let re = GroupRegex::new("a(b)?(c)", false).unwrap();
        assert_eq!(re.groups(b"xac"), Some(vec![(1, 3)]));
        assert_eq!(re.groups(b"xabc"), Some(vec![(1, 4), (2, 3), (3, 4)]));
        assert_eq!(re.groups(b"xyz"), None);
        assert_eq!(re.groups(b"x\0abc"), None);
        assert!(GroupRegex::new("(", false).is_err());
    }
}
