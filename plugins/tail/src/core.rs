//! The tail plugin's rules, without I/O: what a `DSType` does with each
//! matching line and at each read (collectd 5.12's `utils_match`), and how
//! a followed file is read across rotation (collectd's `utils_tail`) over
//! the abstract [`FileView`].

use std::ffi::{c_char, CString};
use std::io;

use rcollectd_plugin::{CdTime, Value};
use rcollectd_plugin_common::cmds::{c_format, double_to_cdtime};
use rcollectd_plugin_common::latency::LatencyCounter;
use rcollectd_plugin_common::lines::Lines;
use rcollectd_plugin_common::regex_groups::GroupRegex;

/// The longest line processed: collectd reads lines with `fgets` into a
/// 4096-byte buffer. Longer lines are cut here and the rest up to the
/// newline is skipped (collectd would process the rest as further lines).
pub const LINE_MAX: usize = 4095;

/// How a gauge combines the values matched within one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaugeCf {
    /// Running mean, as collectd computes it.
    Average,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// Last value.
    Last,
    /// Number of matching lines.
    Inc,
    /// Sum of the values.
    Add,
    /// Last value, kept across intervals (never reset).
    Persist,
}

/// How a counter or derive changes with each matching line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntCf {
    /// Becomes the value.
    Set,
    /// Adds the value.
    Add,
    /// Counts the line.
    Inc,
}

/// A `Match` block's `DSType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsType {
    /// `Gauge*`: reset at every read (except `GaugePersist`).
    Gauge(GaugeCf),
    /// `Counter*`: kept across reads.
    Counter(IntCf),
    /// `Derive*`: kept across reads.
    Derive(IntCf),
    /// `AbsoluteSet`, the only absolute kind collectd 5.12 accepts.
    AbsoluteSet,
    /// `Distribution`: values in a latency histogram, dispatched as
    /// percentiles and bucket rates ([`Distribution`]), reset at every read.
    Distribution,
}

impl DsType {
    /// Parses a `DSType` value as collectd 5.12 does (case-insensitive);
    /// unknown names are errors. `Distribution` needs its block's options
    /// ([`LatencyConfig`]) besides.
    pub fn parse(s: &str) -> Result<DsType, String> {
        let l = s.to_ascii_lowercase();
        let int_cf = |rest: &str| match rest {
            "set" => Some(IntCf::Set),
            "add" => Some(IntCf::Add),
            "inc" => Some(IntCf::Inc),
            _ => None,
        };
        let parsed = if let Some(rest) = l.strip_prefix("gauge") {
            let cf = match rest {
                "average" => GaugeCf::Average,
                "min" => GaugeCf::Min,
                "max" => GaugeCf::Max,
                "last" => GaugeCf::Last,
                "inc" => GaugeCf::Inc,
                "add" => GaugeCf::Add,
                "persist" => GaugeCf::Persist,
                _ => return Err(invalid(s)),
            };
            Some(DsType::Gauge(cf))
        } else if l == "distribution" {
            Some(DsType::Distribution)
        } else if let Some(rest) = l.strip_prefix("counter") {
            int_cf(rest).map(DsType::Counter)
        } else if let Some(rest) = l.strip_prefix("derive") {
            int_cf(rest).map(DsType::Derive)
        } else if l == "absoluteset" {
            Some(DsType::AbsoluteSet)
        } else {
            None
        };
        parsed.ok_or_else(|| invalid(s))
    }
}

fn invalid(s: &str) -> String {
    format!("`{s}' is not a valid argument to `DSType'.")
}

/// `strtod`/`strtoull`/`strtoll` (base 0) of a captured group, as
/// collectd reads it: `None` if no character was used.
fn c_number<T>(text: &[u8], f: impl FnOnce(*const c_char, *mut *mut c_char) -> T) -> Option<T> {
    let c = CString::new(text).ok()?;
    let start = c.as_ptr();
    let mut end: *mut c_char = start.cast_mut();
    let v = f(start, &mut end);
    (end.cast_const() != start).then_some(v)
}

fn strtod(text: &[u8]) -> Option<f64> {
    // SAFETY: `s` is NUL-terminated (a live CString) and `e` a valid out
    // pointer; strtod only reads the string and sets `e` inside it.
    c_number(text, |s, e| unsafe { libc::strtod(s, e) })
}

fn strtoull(text: &[u8]) -> Option<u64> {
    // SAFETY: as in strtod.
    c_number(text, |s, e| unsafe { libc::strtoull(s, e, 0) })
}

fn strtoll(text: &[u8]) -> Option<i64> {
    // SAFETY: as in strtod.
    c_number(text, |s, e| unsafe { libc::strtoll(s, e, 0) })
}

/// The number in `capture`, or why there is none.
fn need<T>(capture: Option<&[u8]>, parse: fn(&[u8]) -> Option<T>) -> Result<T, String> {
    match capture {
        None => Err("the regex has no capture group for the value".to_owned()),
        Some(c) => parse(c)
            .ok_or_else(|| format!("cannot parse {:?} as a number", String::from_utf8_lossy(c))),
    }
}

/// One `Match`'s value between reads (collectd's `cu_match_value_t`).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    ds: DsType,
    gauge: f64,
    unsigned: u64,
    signed: i64,
    count: u64,
    /// The histogram of a `Distribution`.
    latency: Option<Box<LatencyCounter>>,
}

impl Aggregate {
    /// A fresh value: no match yet.
    pub fn new(ds: DsType) -> Self {
        Aggregate {
            ds,
            gauge: 0.0,
            unsigned: 0,
            signed: 0,
            count: 0,
            latency: (ds == DsType::Distribution)
                .then(|| Box::new(LatencyCounter::new(CdTime::now().0))),
        }
    }

    /// Takes in one matching line whose first capture group is `capture`;
    /// an error if the kind needs a number and there is none.
    pub fn add(&mut self, capture: Option<&[u8]>) -> Result<(), String> {
        match self.ds {
            DsType::Gauge(GaugeCf::Inc) => {
                self.gauge = if self.gauge.is_nan() {
                    1.0
                } else {
                    self.gauge + 1.0
                };
            }
            DsType::Distribution => {
                let v = need(capture, strtod)?;
                if let Some(l) = self.latency.as_mut() {
                    l.add(double_to_cdtime(v));
                }
            }
            DsType::Gauge(cf) => {
                let v = need(capture, strtod)?;
                self.gauge = match cf {
                    _ if self.count == 0 => v,
                    GaugeCf::Last | GaugeCf::Persist => v,
                    GaugeCf::Average => {
                        let f = self.count as f64 / (self.count + 1) as f64;
                        self.gauge * f + v * (1.0 - f)
                    }
                    GaugeCf::Min if self.gauge > v => v,
                    GaugeCf::Max if self.gauge < v => v,
                    GaugeCf::Add => self.gauge + v,
                    _ => self.gauge,
                };
            }
            DsType::Counter(IntCf::Inc) => self.unsigned = self.unsigned.wrapping_add(1),
            DsType::Counter(cf) => {
                let v = need(capture, strtoull)?;
                self.unsigned = if cf == IntCf::Set {
                    v
                } else {
                    self.unsigned.wrapping_add(v)
                };
            }
            DsType::Derive(IntCf::Inc) => self.signed = self.signed.wrapping_add(1),
            DsType::Derive(cf) => {
                let v = need(capture, strtoll)?;
                self.signed = if cf == IntCf::Set {
                    v
                } else {
                    self.signed.wrapping_add(v)
                };
            }
            DsType::AbsoluteSet => self.unsigned = need(capture, strtoull)?,
        }
        self.count += 1;
        Ok(())
    }

    /// The value to dispatch at a read (a gauge without matches is NaN),
    /// then the reset: gauges start over, except `GaugePersist`; counters,
    /// derives and absolutes keep their value.
    pub fn take(&mut self) -> Value {
        match self.ds {
            DsType::Gauge(cf) => {
                let v = if self.count == 0 {
                    f64::NAN
                } else {
                    self.gauge
                };
                if cf != GaugeCf::Persist {
                    self.gauge = if cf == GaugeCf::Inc { 0.0 } else { f64::NAN };
                    self.count = 0;
                }
                Value::Gauge(v)
            }
            DsType::Counter(_) => Value::Counter(self.unsigned),
            DsType::Derive(_) => Value::Derive(self.signed),
            DsType::AbsoluteSet => Value::Absolute(self.unsigned),
            DsType::Distribution => Value::Gauge(f64::NAN),
        }
    }

    /// A `Distribution`'s values at a read (`now`): one gauge per
    /// percentile (NaN without matches), one bucket rate per bucket, as
    /// (type, type instance, value); then the histogram starts over.
    pub fn take_distribution(
        &mut self,
        config: &LatencyConfig,
        type_: &str,
        type_instance: &str,
        now: u64,
    ) -> Vec<(String, String, f64)> {
        let Some(lc) = self.latency.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let cut50 = |s: &str| cut_bytes(s, 50);
        for &p in &config.percentiles {
            let pct = c_format(c"%.5g", p);
            let ti = if type_instance.is_empty() {
                pct
            } else {
                format!("{}-{pct}", cut50(type_instance))
            };
            let v = if self.count == 0 {
                f64::NAN
            } else {
                cdtime_to_double(lc.percentile(p))
            };
            out.push((type_.to_owned(), cut_bytes(&ti, 127), v));
        }
        let bucket_type = config.bucket_type.as_deref().unwrap_or("bucket");
        for &(lower, upper) in &config.buckets {
            let lo = c_format(c"%g", cdtime_to_double(lower));
            let hi = if upper == 0 {
                c_format(c"%g", f64::INFINITY)
            } else {
                c_format(c"%g", cdtime_to_double(upper))
            };
            let ti = if type_instance.is_empty() {
                format!("{}-{lo}_{hi}", cut50(type_))
            } else {
                format!("{}-{}-{lo}_{hi}", cut50(type_), cut50(type_instance))
            };
            let v = lc.rate(lower, upper, now);
            out.push((cut_bytes(bucket_type, 127), cut_bytes(&ti, 127), v));
        }
        self.gauge = f64::NAN;
        self.count = 0;
        lc.reset(now);
        out
    }
}

/// At most `max` bytes of `s` (at a character boundary), as `%.50s` and
/// `sstrncpy` cut.
fn cut_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// `CDTIME_T_TO_DOUBLE`.
fn cdtime_to_double(t: u64) -> f64 {
    t as f64 / 1_073_741_824.0
}

/// The options of a `<DSType "Distribution">` block (collectd's
/// `latency_config`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LatencyConfig {
    /// `Percentile` values, in order.
    pub percentiles: Vec<f64>,
    /// `Bucket` bounds as `cdtime_t` (upper 0: no upper bound).
    pub buckets: Vec<(u64, u64)>,
    /// `BucketType` (default `bucket`).
    pub bucket_type: Option<String>,
}

impl LatencyConfig {
    /// Reads the block's options with collectd's checks; an error is the
    /// message collectd logs (the `Match` is then skipped), `warnings` get
    /// the options it ignores.
    pub fn parse(
        block: &rcollectd_plugin::ConfigItem,
        warnings: &mut Vec<String>,
    ) -> Result<LatencyConfig, String> {
        use rcollectd_plugin::ConfigValue;
        let mut c = LatencyConfig::default();
        for child in &block.children {
            let key = child.key.as_str();
            if key.eq_ignore_ascii_case("Percentile") {
                let [ConfigValue::Number(p)] = child.values.as_slice() else {
                    return Err(format!(
                        "The \"{key}\" option requires exactly one numeric argument."
                    ));
                };
                if *p <= 0.0 || *p >= 100.0 {
                    return Err(format!(
                        "The value for \"{key}\" must be between 0 and 100, exclusively."
                    ));
                }
                c.percentiles.push(*p);
            } else if key.eq_ignore_ascii_case("Bucket") {
                let [ConfigValue::Number(lo), ConfigValue::Number(hi)] = child.values.as_slice()
                else {
                    return Err(format!("\"{key}\" requires exactly two numeric arguments."));
                };
                if *hi != 0.0 && hi <= lo {
                    return Err(format!("MIN must be less than MAX in \"{key}\"."));
                }
                if *lo < 0.0 {
                    return Err(format!(
                        "MIN must be greater then or equal to zero in \"{key}\"."
                    ));
                }
                c.buckets
                    .push((double_to_cdtime(*lo), double_to_cdtime(*hi)));
            } else if key.eq_ignore_ascii_case("BucketType") {
                let [ConfigValue::String(t)] = child.values.as_slice() else {
                    return Err(format!(
                        "The \"{key}\" option requires exactly one string argument."
                    ));
                };
                c.bucket_type = Some(t.clone());
            } else {
                warnings.push(format!(
                    "\"{key}\" is not a valid option within a \"{}\" block.",
                    block.key
                ));
            }
        }
        if c.percentiles.is_empty() && c.buckets.is_empty() {
            return Err(format!(
                "The \"{}\" block must contain at least one \"Percentile\" or \"Bucket\" option.",
                block.key
            ));
        }
        Ok(c)
    }
}

/// One `Match` block: its regexes and its value.
#[derive(Debug)]
pub struct Matcher {
    regex: GroupRegex,
    exclude: Option<GroupRegex>,
    /// The value matching lines feed.
    pub value: Aggregate,
}

impl Matcher {
    /// Compiles `Regex` (with `REG_NEWLINE`, as collectd) and the optional
    /// `ExcludeRegex` (empty means none).
    pub fn new(regex: &str, exclude: Option<&str>, ds: DsType) -> Result<Matcher, String> {
        let compile = |p: &str, nl| {
            GroupRegex::new(p, nl)
                .map_err(|e| format!("Compiling the regular expression \"{p}\" failed: {e}"))
        };
        Ok(Matcher {
            regex: compile(regex, true)?,
            exclude: match exclude {
                Some(p) if !p.is_empty() => Some(compile(p, false)?),
                _ => None,
            },
            value: Aggregate::new(ds),
        })
    }

    /// Applies one line: `Ok(true)` if it counted, `Ok(false)` if it was
    /// excluded or did not match, an error as collectd's "callback failed"
    /// (a group matched the empty string, or no number where one is needed).
    pub fn apply(&mut self, line: &[u8]) -> Result<bool, String> {
        if self
            .exclude
            .as_ref()
            .is_some_and(|x| x.groups(line).is_some())
        {
            return Ok(false);
        }
        let Some(groups) = self.regex.groups(line) else {
            return Ok(false);
        };
        if groups.iter().any(|&(so, eo)| so >= eo) {
            return Err("a group of the regex matched the empty string".into());
        }
        let capture = groups.get(1).map(|&(so, eo)| &line[so..eo]);
        self.value.add(capture).map(|()| true)
    }
}

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// The file system as the follower sees it: the path's current file, and
/// positional reads from a file opened earlier.
pub trait FileView {
    /// An open file.
    type Handle;
    /// `stat` of the path: identity and size.
    fn stat(&mut self) -> io::Result<(FileId, u64)>;
    /// Opens the path: the handle, its identity and size (`fstat`).
    fn open(&mut self) -> io::Result<(Self::Handle, FileId, u64)>;
    /// Reads from `pos` into `buf`; 0 at the end of the file.
    fn read_at(&mut self, h: &mut Self::Handle, pos: u64, buf: &mut [u8]) -> io::Result<usize>;
}

struct Open<H> {
    handle: H,
    id: FileId,
    pos: u64,
}

/// How many times one poll switches files (rotation, truncation) at most.
const MAX_SWITCHES: usize = 4;

/// Follows one path as collectd's `utils_tail` does: the first file is
/// read from its end; at the end of the file, a file of another identity
/// at the path (rename and create) is read from its start once the old one
/// is finished, and a file shorter than the position reached (copytruncate)
/// is read again from its start. Lines are handed over whole, without the
/// `'\n'`; a last line without its newline waits for it.
pub struct Follower<H> {
    open: Option<Open<H>>,
    last_id: Option<FileId>,
    lines: Lines,
    buf: Vec<u8>,
}

impl<H> Default for Follower<H> {
    fn default() -> Self {
        Follower {
            open: None,
            last_id: None,
            lines: lines(),
            buf: vec![0; 64 * 1024],
        }
    }
}

impl<H> Follower<H> {
    /// A follower that has not opened the file yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads every complete line added since the last poll and passes each
    /// to `line`. An error if the file cannot be opened or read (the next
    /// poll opens it again).
    pub fn poll<V: FileView<Handle = H>>(
        &mut self,
        view: &mut V,
        line: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        if self.open.is_none() {
            self.open_path(view)?;
        }
        for _ in 0..MAX_SWITCHES {
            self.drain(view, line)?;
            let Some(cur) = self.open.as_mut() else {
                return Ok(());
            };
            match view.stat() {
                // Renamed away, nothing new yet: keep the open file.
                Err(_) => return Ok(()),
                Ok((id, size)) if id == cur.id => {
                    if size >= cur.pos {
                        return Ok(());
                    }
                    // Truncated: what is left of a partial line is gone.
                    cur.pos = 0;
                    self.lines.clear();
                }
                Ok(_) => {
                    // The old file is finished: its last line ends here.
                    self.lines.finish(line);
                    self.open_path(view)?;
                }
            }
        }
        Ok(())
    }

    /// Opens the path: at its end the first time (and when it is the file
    /// seen last), else at its start.
    fn open_path<V: FileView<Handle = H>>(&mut self, view: &mut V) -> io::Result<()> {
        let (handle, id, size) = view.open()?;
        let at_end = !matches!(self.last_id, Some(last) if last != id);
        self.last_id = Some(id);
        self.open = Some(Open {
            handle,
            id,
            pos: if at_end { size } else { 0 },
        });
        Ok(())
    }

    /// Reads the open file to its end.
    fn drain<V: FileView<Handle = H>>(
        &mut self,
        view: &mut V,
        line: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        let Some(cur) = self.open.as_mut() else {
            return Ok(());
        };
        loop {
            let n = match view.read_at(&mut cur.handle, cur.pos, &mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.open = None;
                    return Err(e);
                }
            };
            cur.pos += n as u64;
            self.lines.feed(&self.buf[..n], &mut |l, _| line(l));
        }
    }
}

/// The splitter of a followed file: lines of at most [`LINE_MAX`] bytes,
/// handed over as soon as they are that long (collectd's `fgets`), the rest
/// up to the newline skipped.
fn lines() -> Lines {
    Lines::new(LINE_MAX).eager()
}

#[cfg(test)]
mod tests;
