//! Tokenizer for collectd.conf, matching the token rules of collectd 5.12's
//! liboconfig scanner (flex: longest match wins, ties go to the earlier rule).
//!
//! A character no rule matches (for example `;` after a value, `-` in
//! `my-host` or `.` in `1.`) is skipped, as collectd's scanner does (it
//! prints it to stdout and drops it, so `my-host` is the two values `my`
//! and `host`); rcollectd reports each as a warning with its line so the
//! surprise is visible. A lone `\r` counts as white space.

use std::fmt;

/// One token, with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    pub line: u32,
}

/// Token kinds of collectd.conf.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Eol,
    Slash,
    Open,
    Close,
    Bool(bool),
    Number(f64),
    /// A double-quoted string, already unquoted.
    Quoted(String),
    /// A bare word, an IPv4 or an IPv6 address.
    Unquoted(String),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Eol => f.write_str("end of line"),
            Tok::Slash => f.write_str("`/`"),
            Tok::Open => f.write_str("`<`"),
            Tok::Close => f.write_str("`>`"),
            Tok::Bool(b) => write!(f, "boolean `{b}`"),
            Tok::Number(n) => write!(f, "number `{n}`"),
            Tok::Quoted(s) => write!(f, "string \"{s}\""),
            Tok::Unquoted(s) => write!(f, "`{s}`"),
        }
    }
}

/// A lexing failure: line and plain-words message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LexError {
    pub line: u32,
    pub message: String,
}

/// Splits `text` into tokens; the token list ends with a final `Eol` so the
/// last line needs no trailing newline. Skipped characters come back as
/// warnings.
pub(crate) fn tokenize(text: &str) -> Result<(Vec<Token>, Vec<LexError>), LexError> {
    let mut warnings = Vec::new();
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0usize;
    let mut line = 1u32;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | 0x08 => i += 1,
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                toks.push(Token {
                    kind: Tok::Eol,
                    line,
                });
                line += 1;
                i += 2;
            }
            b'\r' => i += 1,
            b'\n' => {
                toks.push(Token {
                    kind: Tok::Eol,
                    line,
                });
                line += 1;
                i += 1;
            }
            b'#' => {
                while i < b.len()
                    && b[i] != b'\n'
                    && !(b[i] == b'\r' && b.get(i + 1) == Some(&b'\n'))
                {
                    i += 1;
                }
            }
            b'\\' if eol_len(b, i + 1).is_some() => {
                line += 1;
                i += 1 + eol_len(b, i + 1).unwrap_or(1);
            }
            b'/' => {
                toks.push(Token {
                    kind: Tok::Slash,
                    line,
                });
                i += 1;
            }
            b'<' => {
                toks.push(Token {
                    kind: Tok::Open,
                    line,
                });
                i += 1;
            }
            b'>' => {
                toks.push(Token {
                    kind: Tok::Close,
                    line,
                });
                i += 1;
            }
            b'"' => {
                let start_line = line;
                let (s, next, lines) = quoted(b, i).ok_or_else(|| LexError {
                    line: start_line,
                    message: "unterminated string (a closing \" is missing)".into(),
                })?;
                toks.push(Token {
                    kind: Tok::Quoted(s),
                    line: start_line,
                });
                line += lines;
                i = next;
            }
            _ => match word(b, i) {
                Some((kind, len)) => {
                    toks.push(Token { kind, line });
                    i += len;
                }
                None => {
                    let c = char_at(text, i);
                    warnings.push(LexError {
                        line,
                        message: format!(
                            "ignoring unexpected character `{c}` (as collectd does; put values containing it in double quotes)"
                        ),
                    });
                    i += c.len_utf8().max(1);
                }
            },
        }
    }
    toks.push(Token {
        kind: Tok::Eol,
        line,
    });
    Ok((toks, warnings))
}

/// The (possibly multi-byte) character starting at byte `i`, for messages.
fn char_at(text: &str, i: usize) -> char {
    text.get(i..)
        .and_then(|s| s.chars().next())
        .unwrap_or('\u{fffd}')
}

/// Length of an end of line (`\n` or `\r\n`) at `i`, if there is one.
fn eol_len(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'\n'), _) => Some(1),
        (Some(b'\r'), Some(b'\n')) => Some(2),
        _ => None,
    }
}

/// Scans a quoted string starting at the `"` at `start`. Returns the unquoted
/// content, the index after the closing quote and the number of newlines
/// consumed, or `None` when the closing quote is missing.
///
/// As in collectd: a backslash keeps the next character literally (`\"` is a
/// quote, `\\` a backslash, `\n` the letter n); a backslash at the end of a
/// line joins the next line with its leading white space removed (and the
/// first character of that line is content even if it is a `"`); a raw
/// newline inside the quotes is kept.
fn quoted(b: &[u8], start: usize) -> Option<(String, usize, u32)> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = start + 1;
    let mut lines = 0u32;
    loop {
        let c = *b.get(i)?;
        match c {
            b'"' => {
                let s = String::from_utf8(out)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                return Some((s, i + 1, lines));
            }
            b'\\' => {
                if let Some(n) = eol_len(b, i + 1) {
                    lines += 1;
                    i += 1 + n;
                    while matches!(b.get(i), Some(b' ' | b'\t' | 0x08)) {
                        i += 1;
                    }
                    // collectd takes the first character of a continued
                    // line as content, even a `"`.
                    if b.get(i) == Some(&b'"') {
                        out.push(b'"');
                        i += 1;
                    }
                } else {
                    let next = *b.get(i + 1)?;
                    out.push(next);
                    i += 2;
                }
            }
            b'\n' => {
                lines += 1;
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Recognises a bare token at `i` (boolean, number, IPv4/IPv6 address or bare
/// word) by longest match; ties go to the rule collectd's scanner lists first
/// (booleans, IPv4, IPv6, numbers, bare words).
fn word(b: &[u8], i: usize) -> Option<(Tok, usize)> {
    let uq = run(b, i, |c| c.is_ascii_alphanumeric() || c == b'_');
    let ip4 = ipv4(b, i);
    let ip6 = ipv6(b, i);
    let num = number(b, i);
    let boolean = match &b[i..i + uq] {
        b"true" | b"yes" | b"on" => Some(true),
        b"false" | b"no" | b"off" => Some(false),
        _ => None,
    };
    // (length, rule order) candidates; the best is the longest, then earliest.
    let mut best: Option<(usize, u8)> = None;
    let mut consider = |len: usize, rule: u8| {
        if len > 0 && best.map_or(true, |(l, _)| len > l) {
            best = Some((len, rule));
        }
    };
    if boolean.is_some() {
        consider(uq, 0);
    }
    consider(ip4, 1);
    consider(ip6, 2);
    consider(num, 3);
    consider(uq, 4);
    let (len, rule) = best?;
    let text = std::str::from_utf8(&b[i..i + len]).ok()?;
    let kind = match rule {
        0 => Tok::Bool(boolean?),
        1 | 2 | 4 => Tok::Unquoted(text.to_string()),
        _ => Tok::Number(parse_number(text)),
    };
    Some((kind, len))
}

/// Length of the run of bytes matching `f` starting at `i`.
fn run(b: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    b[i.min(b.len())..].iter().take_while(|&&c| f(c)).count()
}

/// strtod of a matched number: hex via integer digits, the rest as decimal
/// (collectd's octal-looking `0755` is read by strtod as decimal 755).
fn parse_number(text: &str) -> f64 {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return hex.bytes().fold(0.0f64, |acc, c| {
            acc * 16.0 + f64::from((c as char).to_digit(16).unwrap_or(0))
        });
    }
    text.parse::<f64>().unwrap_or(0.0)
}

/// Longest match of collectd's NUMBER (float, hex, octal or decimal) at `i`.
fn number(b: &[u8], i: usize) -> usize {
    let mut best = 0;
    // HEX_NUMBER 0[xX][0-9a-fA-F]+
    if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        let h = run(b, i + 2, |c| c.is_ascii_hexdigit());
        if h > 0 {
            best = best.max(2 + h);
        }
    }
    // DEC_NUMBER [+-]?[0-9]+ (OCT_NUMBER is a subset of these lengths)
    let sign = usize::from(matches!(b.get(i), Some(b'+' | b'-')));
    let int = run(b, i + sign, |c| c.is_ascii_digit());
    if int > 0 {
        best = best.max(sign + int);
    }
    // FLOAT_NUMBER [+-]?[0-9]*\.[0-9]+([eE][+-][0-9]+)?
    let dot = i + sign + int;
    if b.get(dot) == Some(&b'.') {
        let frac = run(b, dot + 1, |c| c.is_ascii_digit());
        if frac > 0 {
            let mut end = dot + 1 + frac;
            if matches!(b.get(end), Some(b'e' | b'E'))
                && matches!(b.get(end + 1), Some(b'+' | b'-'))
            {
                let exp = run(b, end + 2, |c| c.is_ascii_digit());
                if exp > 0 {
                    end += 2 + exp;
                }
            }
            best = best.max(end - i);
        }
    }
    best
}

/// Length of the longest valid IP_BYTE (0-255, no leading zero) at `i`.
fn ip_byte(b: &[u8], i: usize) -> usize {
    let digits = run(b, i, |c| c.is_ascii_digit()).min(3);
    (1..=digits)
        .rev()
        .find(|&n| {
            let s = &b[i..i + n];
            (n == 1 || s[0] != b'0')
                && std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse::<u16>().ok())
                    .is_some_and(|v| v <= 255)
        })
        .unwrap_or(0)
}

/// Length of the longest valid PORT (1-65535, no leading zero) at `i`.
fn port(b: &[u8], i: usize) -> usize {
    let digits = run(b, i, |c| c.is_ascii_digit()).min(5);
    (1..=digits)
        .rev()
        .find(|&n| {
            b[i] != b'0'
                && std::str::from_utf8(&b[i..i + n])
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok())
                    .is_some_and(|v| (1..=65535).contains(&v))
        })
        .unwrap_or(0)
}

/// Length of an IPv4 address (with optional `:port`) at `i`, or 0.
fn ipv4(b: &[u8], i: usize) -> usize {
    let mut p = i;
    for k in 0..4 {
        let n = ip_byte(b, p);
        if n == 0 {
            return 0;
        }
        p += n;
        if k < 3 {
            if b.get(p) != Some(&b'.') {
                return 0;
            }
            p += 1;
        }
    }
    if b.get(p) == Some(&b':') {
        p += 1 + port(b, p + 1);
        if b[p - 1] == b':' {
            p -= 1;
        }
    }
    p - i
}

/// Length of an IPv6 address at `i` (bare, or `[addr]` with optional `:port`),
/// or 0. Validity is checked with the standard library's parser, which
/// accepts the same textual forms as collectd's RFC 2373 pattern.
fn ipv6(b: &[u8], i: usize) -> usize {
    let is_v6 = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .is_some_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
    };
    if b.get(i) == Some(&b'[') {
        let span = run(b, i + 1, |c| {
            c.is_ascii_hexdigit() || c == b':' || c == b'.'
        })
        .min(45);
        if b.get(i + 1 + span) == Some(&b']') && is_v6(&b[i + 1..i + 1 + span]) {
            let mut p = i + 2 + span;
            if b.get(p) == Some(&b':') {
                let n = port(b, p + 1);
                if n > 0 {
                    p += 1 + n;
                }
            }
            return p - i;
        }
        return 0;
    }
    let span = run(b, i, |c| c.is_ascii_hexdigit() || c == b':' || c == b'.').min(45);
    if !b[i..i + span].contains(&b':') {
        return 0;
    }
    let Some(n) = (2..=span).rev().find(|&n| is_v6(&b[i..i + n])) else {
        return 0;
    };
    // collectd's pattern lets an embedded IPv4 part carry a `:port` too.
    if b[i..i + n].contains(&b'.') && b.get(i + n) == Some(&b':') {
        let p = port(b, i + n + 1);
        if p > 0 {
            return n + 1 + p;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text)
            .unwrap()
            .0
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn s(v: &str) -> Tok {
        Tok::Unquoted(v.into())
    }

    #[test]
    fn numbers_follow_collectd_longest_match() {
        assert_eq!(
            kinds("1 -5 +7 .5 1.25 0x1F 0755 08 1.5e+3"),
            vec![
                Tok::Number(1.0),
                Tok::Number(-5.0),
                Tok::Number(7.0),
                Tok::Number(0.5),
                Tok::Number(1.25),
                Tok::Number(31.0),
                Tok::Number(755.0),
                Tok::Number(8.0),
                Tok::Number(1500.0),
                Tok::Eol
            ]
        );
        // `1e3` is longer as a bare word than as the number `1`.
        assert_eq!(kinds("1e3"), vec![s("1e3"), Tok::Eol]);
        // `1.5e3` is the float `1.5` followed by the word `e3`.
        assert_eq!(kinds("1.5e3"), vec![Tok::Number(1.5), s("e3"), Tok::Eol]);
        assert_eq!(kinds("0x1G"), vec![s("0x1G"), Tok::Eol]);
        assert_eq!(kinds("123abc"), vec![s("123abc"), Tok::Eol]);
    }

    #[test]
    fn booleans_are_lower_case_words_only() {
        assert_eq!(
            kinds("true yes on false no off True ON truex"),
            vec![
                Tok::Bool(true),
                Tok::Bool(true),
                Tok::Bool(true),
                Tok::Bool(false),
                Tok::Bool(false),
                Tok::Bool(false),
                s("True"),
                s("ON"),
                s("truex"),
                Tok::Eol
            ]
        );
    }

    #[test]
    fn addresses_are_bare_words() {
        assert_eq!(
            kinds("127.0.0.1 10.0.0.1:25826 ::1 fe80::1 [::1]:25826 ff18::efc0:4a42"),
            vec![
                s("127.0.0.1"),
                s("10.0.0.1:25826"),
                s("::1"),
                s("fe80::1"),
                s("[::1]:25826"),
                s("ff18::efc0:4a42"),
                Tok::Eol
            ]
        );
        // An embedded IPv4 part may carry a port, as in collectd's pattern.
        assert_eq!(
            kinds("::1.1.1.1:65536"),
            vec![s("::1.1.1.1:6553"), Tok::Number(6.0), Tok::Eol]
        );
        // The last byte takes the longest valid prefix: 45, then the number 6.
        assert_eq!(
            kinds("1.2.3.456"),
            vec![s("1.2.3.45"), Tok::Number(6.0), Tok::Eol]
        );
    }

    #[test]
    fn strings_unquote_like_collectd() {
        assert_eq!(
            kinds(r#""a\"b" "c\\d" "e\nf" "#),
            vec![
                Tok::Quoted("a\"b".into()),
                Tok::Quoted("c\\d".into()),
                Tok::Quoted("enf".into()),
                Tok::Eol
            ]
        );
        // Backslash-newline inside a string joins lines, dropping indentation.
        let t = tokenize("\"abc \\\n    def\" x\n").unwrap().0;
        assert_eq!(t[0].kind, Tok::Quoted("abc def".into()));
        assert_eq!(t[1].kind, s("x"));
        assert_eq!(t[1].line, 2);
        // The first character of a continued line is content, even a quote.
        let t = tokenize("\"a\\\n  \"b\" c\n").unwrap().0;
        assert_eq!(t[0].kind, Tok::Quoted("a\"b".into()));
        assert_eq!(t[1].kind, s("c"));
        // A raw newline inside quotes is kept and counted.
        let t = tokenize("\"a\nb\"\nz").unwrap().0;
        assert_eq!(t[0].kind, Tok::Quoted("a\nb".into()));
        assert_eq!(t.last().unwrap().line, 3);
    }

    #[test]
    fn comments_continuations_and_punctuation() {
        assert_eq!(
            kinds("A 1 # c \"x\nB \\\n 2\r\n</P>"),
            vec![
                s("A"),
                Tok::Number(1.0),
                Tok::Eol,
                s("B"),
                Tok::Number(2.0),
                Tok::Eol,
                Tok::Open,
                Tok::Slash,
                s("P"),
                Tok::Close,
                Tok::Eol
            ]
        );
        assert_eq!(kinds("\"a#b\""), vec![Tok::Quoted("a#b".into()), Tok::Eol]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = tokenize("A 1\nB \"abc\n\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.message, "unterminated string (a closing \" is missing)");
    }

    #[test]
    fn unmatched_characters_are_skipped_with_a_warning() {
        let (t, w) = tokenize("\nHostname my-host;\nA \\ b caf\u{e9}\n").unwrap();
        let k: Vec<Tok> = t.into_iter().map(|t| t.kind).collect();
        assert_eq!(
            k,
            vec![
                Tok::Eol,
                s("Hostname"),
                s("my"),
                s("host"),
                Tok::Eol,
                s("A"),
                s("b"),
                s("caf"),
                Tok::Eol,
                Tok::Eol
            ]
        );
        let lines: Vec<u32> = w.iter().map(|w| w.line).collect();
        assert_eq!(lines, [2, 2, 3, 3]);
        assert_eq!(
            w[0].message,
            "ignoring unexpected character `-` (as collectd does; put values containing it in double quotes)"
        );
        assert!(w[3].message.contains("`\u{e9}`"));
    }
}
