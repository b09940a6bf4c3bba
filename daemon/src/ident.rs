//! collectd's rules for the fields of an identifier, in one place.

/// collectd's `escape_slashes` on a NUL-terminated field: a leading `/` is
/// removed, every other `/` becomes `_`, and a lone `/` becomes `root`
/// (left alone, and `false` returned, when the field has no room for it).
/// `plugin_dispatch_values` applies it to all five identifier fields.
pub fn escape_slashes(field: &mut [u8]) -> bool {
    let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    if len <= 1 {
        if &field[..len] == b"/" {
            if field.len() < 5 {
                return false;
            }
            field[..5].copy_from_slice(b"root\0");
        }
        return true;
    }
    let mut len = len;
    if field[0] == b'/' {
        field.copy_within(1..len, 0);
        len -= 1;
        field[len] = 0;
    }
    for c in &mut field[..len] {
        if *c == b'/' {
            *c = b'_';
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases collectd 5.12's `escape_slashes` decides, one per line.
    #[test]
    fn escape_slashes_like_collectd() {
        for (input, size, want, ok) in [
            ("a/b", 16, "a_b", true),
            ("/a/b", 16, "a_b", true),
            ("//", 16, "_", true),
            ("/", 16, "root", true),
            ("/", 4, "/", false),
            ("a/", 16, "a_", true),
            ("plain", 16, "plain", true),
            ("", 16, "", true),
        ] {
            let mut f = vec![0u8; size];
            f[..input.len()].copy_from_slice(input.as_bytes());
            assert_eq!(escape_slashes(&mut f), ok, "{input}");
            let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
            assert_eq!(std::str::from_utf8(&f[..end]).unwrap(), want, "{input}");
        }
    }
}
