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

/// The five fields of an identifier, borrowed from wherever they live.
/// An empty or absent instance is left out when formatting, as collectd's
/// `format_name` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts<'a> {
    pub host: &'a [u8],
    pub plugin: &'a [u8],
    pub plugin_instance: Option<&'a [u8]>,
    pub type_: &'a [u8],
    pub type_instance: Option<&'a [u8]>,
}

impl<'a> Parts<'a> {
    /// Parts from the five fields as `&str` (empty instances mean none).
    pub fn of(host: &'a str, plugin: &'a str, pi: &'a str, type_: &'a str, ti: &'a str) -> Self {
        let opt = |s: &'a str| (!s.is_empty()).then_some(s.as_bytes());
        Parts {
            host: host.as_bytes(),
            plugin: plugin.as_bytes(),
            plugin_instance: opt(pi),
            type_: type_.as_bytes(),
            type_instance: opt(ti),
        }
    }

    /// The length [`Parts::format_into`] appends.
    pub fn formatted_len(&self) -> usize {
        let inst = |i: Option<&[u8]>| i.filter(|i| !i.is_empty()).map_or(0, |i| i.len() + 1);
        self.host.len()
            + self.plugin.len()
            + self.type_.len()
            + 2
            + inst(self.plugin_instance)
            + inst(self.type_instance)
    }

    /// Appends collectd's `format_name`: `host/plugin[-pi]/type[-ti]`.
    pub fn format_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.formatted_len());
        out.extend_from_slice(self.host);
        out.push(b'/');
        out.extend_from_slice(self.plugin);
        if let Some(pi) = self.plugin_instance.filter(|p| !p.is_empty()) {
            out.push(b'-');
            out.extend_from_slice(pi);
        }
        out.push(b'/');
        out.extend_from_slice(self.type_);
        if let Some(ti) = self.type_instance.filter(|t| !t.is_empty()) {
            out.push(b'-');
            out.extend_from_slice(ti);
        }
    }

    /// `format_name` as bytes.
    pub fn format(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.format_into(&mut out);
        out
    }

    /// `format_name` as text (fields that are not UTF-8 are replaced lossily).
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(&self.format()).into_owned()
    }
}

/// collectd's `parse_identifier`: `host/plugin[-pi]/type[-ti]`. The host is
/// everything before the first `/`, the plugin part runs to the second `/`
/// and the type part keeps any further `/`; each of those two splits at its
/// first `-` into name and instance. With only one `/`, `default_host` (if
/// given) is the host and the two parts are plugin and type.
pub fn parse<'a>(s: &'a [u8], default_host: Option<&'a [u8]>) -> Option<Parts<'a>> {
    let first = s.iter().position(|&b| b == b'/')?;
    let rest = &s[first + 1..];
    let (host, plugin, type_) = match rest.iter().position(|&b| b == b'/') {
        Some(second) => (&s[..first], &rest[..second], &rest[second + 1..]),
        None => (default_host?, &s[..first], rest),
    };
    let dash = |part: &'a [u8]| match part.iter().position(|&b| b == b'-') {
        Some(i) => (&part[..i], Some(&part[i + 1..])),
        None => (part, None),
    };
    let (plugin, plugin_instance) = dash(plugin);
    let (type_, type_instance) = dash(type_);
    Some(Parts {
        host,
        plugin,
        plugin_instance,
        type_,
        type_instance,
    })
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

    /// `format_name` and `parse_identifier` as collectd 5.12 answers them
    /// (`collectdctl getval`/`listval` and the unixsock replies agree).
    #[test]
    fn format_and_parse_like_collectd() {
        type Case<'a> = (&'a str, [&'a str; 5]);
        let cases: &[Case] = &[
            ("h/cpu-0/cpu-idle", ["h", "cpu", "0", "cpu", "idle"]),
            ("h/load/load", ["h", "load", "", "load", ""]),
            (
                "h/df-root/df_complex-used",
                ["h", "df", "root", "df_complex", "used"],
            ),
            ("host-a.b/p-i-j/t-k-l", ["host-a.b", "p", "i-j", "t", "k-l"]),
        ];
        for (text, [h, p, pi, t, ti]) in cases {
            let parts = Parts::of(h, p, pi, t, ti);
            assert_eq!(parts.to_text(), *text);
            assert_eq!(parts.formatted_len(), text.len());
            let back = parse(text.as_bytes(), None).unwrap();
            assert_eq!(back.format(), text.as_bytes(), "{text}");
        }
        // Further slashes stay in the type part; a trailing dash gives an
        // empty instance, which formatting leaves out.
        let p = parse(b"h/p/t/x-y", None).unwrap();
        assert_eq!((p.type_, p.type_instance), (&b"t/x"[..], Some(&b"y"[..])));
        let p = parse(b"h/p-/t", None).unwrap();
        assert_eq!(p.plugin_instance, Some(&b""[..]));
        assert_eq!(p.to_text(), "h/p/t");
        // One slash: only with a default host.
        assert_eq!(parse(b"p-i/t", None), None);
        let p = parse(b"p-i/t", Some(b"dflt")).unwrap();
        assert_eq!(p.to_text(), "dflt/p-i/t");
        assert_eq!(parse(b"no-slash", Some(b"d")), None);
        assert_eq!(parse(b"", None), None);
    }
}
