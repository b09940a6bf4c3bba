//! Bounded line assembly from a byte stream (exec's program output, tail's
//! files): lines are handed over without their `\n`, at most `max` bytes
//! each; a longer line is handed over cut and the rest up to its newline is
//! skipped, so memory stays bounded by `max`.

/// Cuts a stream into lines of at most `max` bytes, fed in chunks of any
/// size. By default a line is cut (and flagged) once a byte past `max`
/// arrives, so a line of exactly `max` bytes waits for its newline;
/// [`Lines::eager`] and [`Lines::strip_cr`] adjust that.
#[derive(Debug, Clone)]
pub struct Lines {
    max: usize,
    partial: Vec<u8>,
    skipping: bool,
    eager: bool,
    strip_cr: bool,
}

impl Lines {
    /// A splitter for lines of at most `max` bytes.
    pub fn new(max: usize) -> Lines {
        Lines {
            max,
            partial: Vec::new(),
            skipping: false,
            eager: false,
            strip_cr: false,
        }
    }

    /// Hands a line over (flagged as cut) as soon as it has `max` bytes, as
    /// C's `fgets` into a buffer of `max + 1` does, rather than waiting to
    /// see whether its newline follows.
    pub fn eager(mut self) -> Lines {
        self.eager = true;
        self
    }

    /// Removes one `\r` at the end of each line handed over.
    pub fn strip_cr(mut self) -> Lines {
        self.strip_cr = true;
        self
    }

    /// Takes in a chunk; `line(text, cut)` gets every line it completes
    /// (`cut`: the line was cut at `max` bytes and its rest is skipped).
    pub fn feed(&mut self, chunk: &[u8], line: &mut dyn FnMut(&[u8], bool)) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let nl = rest.iter().position(|&b| b == b'\n');
            let (piece, ended) = match nl {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            rest = nl.map_or(&[][..], |i| &rest[i + 1..]);
            if self.skipping {
                self.skipping = !ended;
                continue;
            }
            if self.partial.is_empty() && ended && piece.len() <= self.max {
                line(self.cr(piece), false);
                continue;
            }
            let room = self.max - self.partial.len();
            if piece.len() > room || (self.eager && !ended && piece.len() == room) {
                self.partial.extend_from_slice(&piece[..room]);
                line(self.cr(&self.partial), true);
                self.partial.clear();
                self.skipping = !ended;
                continue;
            }
            self.partial.extend_from_slice(piece);
            if ended {
                line(self.cr(&self.partial), false);
                self.partial.clear();
            }
        }
    }

    /// Hands over the line waiting for its newline, if any, and starts
    /// afresh (the stream ended there).
    pub fn finish(&mut self, line: &mut dyn FnMut(&[u8])) {
        if !self.partial.is_empty() {
            line(self.cr(&self.partial));
        }
        self.clear();
    }

    /// Forgets the line waiting for its newline and any rest being skipped.
    pub fn clear(&mut self) {
        self.partial.clear();
        self.skipping = false;
    }

    /// `text` without one trailing `\r` when so configured.
    fn cr<'a>(&self, text: &'a [u8]) -> &'a [u8] {
        if self.strip_cr {
            text.strip_suffix(b"\r").unwrap_or(text)
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines (text, cut) of `chunks` fed one after another.
    fn run(mut lines: Lines, chunks: &[&str]) -> Vec<(String, bool)> {
        let mut got = Vec::new();
        for c in chunks {
            lines.feed(c.as_bytes(), &mut |l, cut| {
                got.push((String::from_utf8_lossy(l).into_owned(), cut));
            });
        }
        lines.finish(&mut |l| got.push((String::from_utf8_lossy(l).into_owned(), false)));
        got
    }

    #[test]
    fn lines_are_cut_at_max_and_the_rest_skipped() {
        // (eager, strip_cr, max, chunks, lines as (text, cut))
        type Case = (
            bool,
            bool,
            usize,
            &'static [&'static str],
            &'static [(&'static str, bool)],
        );
        let cases: &[Case] = &[
            (
                false,
                true,
                10,
                &["a\nb\r\n", "c"],
                &[("a", false), ("b", false), ("c", false)],
            ),
            (
                false,
                false,
                10,
                &["a\nb\r\n"],
                &[("a", false), ("b\r", false)],
            ),
            (
                false,
                false,
                10,
                &["ab", "c\n", "\n"],
                &[("abc", false), ("", false)],
            ),
            (false, false, 3, &["abc", "\n"], &[("abc", false)]),
            (
                false,
                false,
                3,
                &["abcd\nx\n"],
                &[("abc", true), ("x", false)],
            ),
            (
                false,
                false,
                3,
                &["ab", "cd", "ef\ny\n"],
                &[("abc", true), ("y", false)],
            ),
            // Eager: a full line goes at once, its newline is skipped.
            (
                true,
                false,
                3,
                &["abc", "\nx\n"],
                &[("abc", true), ("x", false)],
            ),
            (
                true,
                false,
                3,
                &["abc\n", "x\n"],
                &[("abc", false), ("x", false)],
            ),
            (
                true,
                false,
                3,
                &["a", "bcde", "f\ny"],
                &[("abc", true), ("y", false)],
            ),
        ];
        for &(eager, cr, max, chunks, want) in cases {
            let mut lines = Lines::new(max);
            if eager {
                lines = lines.eager();
            }
            if cr {
                lines = lines.strip_cr();
            }
            let want: Vec<(String, bool)> = want.iter().map(|(t, c)| ((*t).into(), *c)).collect();
            assert_eq!(run(lines, chunks), want, "{eager} {chunks:?}");
        }
    }

    #[test]
    fn clear_forgets_the_partial_line_and_the_skip() {
        let mut lines = Lines::new(3);
        let mut got = Vec::new();
        lines.feed(b"abcdef", &mut |l, _| got.push(l.to_vec()));
        lines.clear();
        lines.feed(b"xy", &mut |l, _| got.push(l.to_vec()));
        lines.clear();
        lines.feed(b"z\n", &mut |l, _| got.push(l.to_vec()));
        assert_eq!(got, [&b"abc"[..], b"z"]);
    }
}
