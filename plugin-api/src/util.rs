//! Small conversions between Rust strings and the C ABI's character arrays.

use std::ffi::{c_char, CStr, CString};

/// A `CString` from arbitrary text; interior NULs become U+FFFD so logging
/// never fails.
pub(crate) fn to_cstring_lossy(s: &str) -> CString {
    match CString::new(s) {
        Ok(c) => c,
        Err(_) => CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default(),
    }
}

/// Reads a NUL-terminated fixed-size `char` array as `&str`, stopping at the
/// first NUL (or the end of the array) and at the first invalid UTF-8 byte.
pub(crate) fn str_from_array(buf: &[c_char]) -> &str {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), buf.len()) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let bytes = &bytes[..end];
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        // The prefix up to `valid_up_to` is valid UTF-8 by definition.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Reads a C string pointer as `&str` (empty for NULL; cut at invalid UTF-8).
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn str_from_ptr<'a>(p: *const c_char) -> &'a str {
    if p.is_null() {
        return "";
    }
    // SAFETY: guaranteed by the caller.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Why a name could not be stored in a fixed-size identifier field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Longer than the field allows (DATA_MAX_NAME_LEN - 1 bytes).
    TooLong {
        /// Which field (e.g. "plugin_instance").
        field: &'static str,
        /// The offending value.
        value: String,
        /// Maximum length in bytes.
        max: usize,
    },
    /// Contains a NUL byte.
    Nul {
        /// Which field.
        field: &'static str,
    },
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::TooLong { field, value, max } => write!(
                f,
                "{field} \"{value}\" is {} bytes long, the limit is {max}",
                value.len()
            ),
            NameError::Nul { field } => write!(f, "{field} contains a NUL byte"),
        }
    }
}

impl std::error::Error for NameError {}

/// Copies `s` into a fixed-size, NUL-terminated `char` array.
pub(crate) fn copy_to_array(
    dst: &mut [c_char],
    s: &str,
    field: &'static str,
) -> Result<(), NameError> {
    let max = dst.len() - 1;
    if s.len() > max {
        return Err(NameError::TooLong {
            field,
            value: s.to_owned(),
            max,
        });
    }
    if s.as_bytes().contains(&0) {
        return Err(NameError::Nul { field });
    }
    for (d, &b) in dst.iter_mut().zip(s.as_bytes()) {
        *d = b as c_char;
    }
    dst[s.len()] = 0;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_round_trip() {
        let mut buf = [0 as c_char; 8];
        copy_to_array(&mut buf, "cpu", "plugin").unwrap();
        assert_eq!(str_from_array(&buf), "cpu");
        copy_to_array(&mut buf, "1234567", "plugin").unwrap();
        assert_eq!(str_from_array(&buf), "1234567");
        let err = copy_to_array(&mut buf, "12345678", "plugin").unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin \"12345678\" is 8 bytes long, the limit is 7"
        );
        let err = copy_to_array(&mut buf, "a\0b", "type").unwrap_err();
        assert_eq!(err.to_string(), "type contains a NUL byte");
    }

    #[test]
    fn unterminated_and_invalid_utf8() {
        let buf = [b'a' as c_char, b'b' as c_char];
        assert_eq!(str_from_array(&buf), "ab");
        let buf = [b'a' as c_char, 0xff_u8 as c_char, b'c' as c_char, 0];
        assert_eq!(str_from_array(&buf), "a");
    }

    #[test]
    fn lossy_cstring() {
        assert_eq!(to_cstring_lossy("a\0b").to_str().unwrap(), "a\u{fffd}b");
    }
}
