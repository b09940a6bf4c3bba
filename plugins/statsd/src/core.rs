//! The statsd rules without I/O: the line parser of collectd 5.12's statsd
//! plugin and the per-interval aggregation it dispatches at each read.
//!
//! Lines are `name:value|type[|@rate]`, several per datagram separated by
//! `\n`; types `c` (counter), `g` (gauge; a value starting with `+` or `-`
//! changes it), `ms` (timer) and `s` (set). Only counters and timers take a
//! sample rate (`0 < rate <= 1`), which divides the value. Numbers are read
//! as C's `strtod` reads them (leading white space, `inf`, `nan`, hex).
//!
//! Memory is bounded where collectd's is not: at most [`MAX_METRICS`]
//! metrics (of which at most [`MAX_TIMERS`] timers, whose histograms take
//! 4 kB each) and [`MAX_SET_MEMBERS`] set members in all sets (kept as
//! 64-bit hashes, not strings). A value for a new metric beyond the cap is
//! dropped and counted in [`Stats::dropped_metrics`], a new set member in
//! [`Stats::dropped_set_members`].

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;

use rcollectd_plugin_common::latency::LatencyCounter;

/// Most metrics (counters, gauges, timers and sets together) kept at once.
pub const MAX_METRICS: usize = 100_000;
/// Most timers kept at once (each holds a 1000-bin histogram).
pub const MAX_TIMERS: usize = 10_000;
/// Most set members kept at once, over all sets.
pub const MAX_SET_MEMBERS: usize = 1_000_000;
/// Bytes of a datagram that are parsed (collectd's 4096-byte buffer and NUL).
pub const DATAGRAM_MAX: usize = 4095;
/// Longest metric name; longer ones are cut (collectd's key buffer).
pub const NAME_MAX: usize = 127;
/// Longest type instance (`DATA_MAX_NAME_LEN` - 1).
const TYPE_INSTANCE_MAX: usize = 127;
/// Bytes of a bad line quoted in its log message (collectd's `orig[64]`).
const QUOTE_MAX: usize = 63;

const CDTIME_PER_SEC: f64 = 1_073_741_824.0;

/// The four statsd metric types, ordered as collectd's key prefixes sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `c`: a DERIVE that sums the increments.
    Counter,
    /// `g`: a GAUGE set or changed by `+`/`-` values.
    Gauge,
    /// `s`: the number of distinct members seen in the interval.
    Set,
    /// `ms`: latency statistics over the interval.
    Timer,
}

impl Kind {
    fn prefix(self) -> u8 {
        match self {
            Kind::Counter => b'c',
            Kind::Gauge => b'g',
            Kind::Set => b's',
            Kind::Timer => b't',
        }
    }

    fn from_prefix(b: u8) -> Kind {
        match b {
            b'c' => Kind::Counter,
            b'g' => Kind::Gauge,
            b's' => Kind::Set,
            _ => Kind::Timer,
        }
    }
}

/// The `<Plugin statsd>` options that shape aggregation and output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Forget counters that got no value in the interval (`DeleteCounters`).
    pub delete_counters: bool,
    /// Forget timers that got no value in the interval (`DeleteTimers`).
    pub delete_timers: bool,
    /// Forget gauges that got no value in the interval (`DeleteGauges`).
    pub delete_gauges: bool,
    /// Forget sets that got no value in the interval (`DeleteSets`).
    pub delete_sets: bool,
    /// Also dispatch each counter's change as `count` (`CounterSum`).
    pub counter_sum: bool,
    /// Percentiles dispatched per timer, in order (`TimerPercentile`).
    pub timer_percentiles: Vec<f64>,
    /// Dispatch `<name>-lower` (`TimerLower`).
    pub timer_lower: bool,
    /// Dispatch `<name>-upper` (`TimerUpper`).
    pub timer_upper: bool,
    /// Dispatch `<name>-sum` (`TimerSum`).
    pub timer_sum: bool,
    /// Dispatch `<name>-count` (`TimerCount`).
    pub timer_count: bool,
}

/// A line collectd 5.12 rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine;

/// Counters of what the plugin refused; dispatched as
/// `statsd-internal/derive-<field>` once they are not zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lines that did not parse.
    pub bad_lines: u64,
    /// Values for new metrics dropped at [`MAX_METRICS`] or [`MAX_TIMERS`].
    pub dropped_metrics: u64,
    /// New set members dropped at [`MAX_SET_MEMBERS`].
    pub dropped_set_members: u64,
}

/// One value to dispatch (plugin `statsd`).
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Plugin instance: empty, or `internal` for [`Stats`].
    pub plugin_instance: &'static str,
    /// `derive`, `gauge`, `latency`, `objects` or `count`.
    pub type_: &'static str,
    /// The metric name with a suffix, at most 127 bytes.
    pub type_instance: Vec<u8>,
    /// The value.
    pub value: OutValue,
    /// Timer values carry the read's time (collectd stamps them itself).
    pub stamped: bool,
}

/// A dispatched value: the data source type follows from the type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OutValue {
    /// A GAUGE.
    Gauge(f64),
    /// A DERIVE.
    Derive(i64),
}

fn cdtime_to_double(t: u64) -> f64 {
    t as f64 / CDTIME_PER_SEC
}

/// C's `(int64_t)d` as x86-64 computes it (`cvttsd2si`): out of range and
/// NaN give `INT64_MIN`.
fn c_f64_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO63..TWO63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(uint64_t)d` as gcc compiles it for x86-64 (negative values wrap).
fn c_f64_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO63 {
        (c_f64_to_i64(d - TWO63) as u64) ^ (1 << 63)
    } else {
        c_f64_to_i64(d) as u64
    }
}

/// collectd's `MS_TO_CDTIME_T` on a double: the milliseconds are cut to an
/// integer first.
fn ms_to_cdtime(ms: f64) -> u64 {
    let ms = c_f64_to_u64(ms);
    ((ms / 1000) << 30) | ((((ms % 1000) << 30) + 500) / 1000)
}

/// C's `strtod` over the whole string (`statsd_parse_value`): leading white
/// space, an optional sign, decimal or hex digits with exponent, `inf`,
/// `infinity`, `nan`, `nan(...)`; nothing may follow.
pub fn parse_number(s: &[u8]) -> Option<f64> {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let s = &s[start..];
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(&body[2..])?
    } else if body.len() >= 3 && body[..3].eq_ignore_ascii_case(b"nan") {
        let rest = &body[3..];
        let ok = rest.is_empty()
            || (rest.len() >= 2
                && rest[0] == b'('
                && rest[rest.len() - 1] == b')'
                && rest[1..rest.len() - 1]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'_'));
        if !ok {
            return None;
        }
        f64::NAN
    } else {
        if !body
            .first()
            .is_some_and(|b| b.is_ascii_digit() || *b == b'.' || (*b | 0x20) == b'i')
        {
            return None;
        }
        let text = std::str::from_utf8(body).ok()?;
        let lower = text.to_ascii_lowercase();
        if lower.starts_with('i') && lower != "inf" && lower != "infinity" {
            return None;
        }
        text.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// The digits of a C hex float after `0x`: `h[.h][p[+-]d]`.
fn parse_hex(s: &[u8]) -> Option<f64> {
    let (mant, exp) = match s.iter().position(|b| (*b | 0x20) == b'p') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mant.iter().position(|b| *b == b'.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for &b in int {
        v = v * 16.0 + f64::from((b as char).to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for &b in frac {
        v += f64::from((b as char).to_digit(16)?) * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let (eneg, digits) = match e.first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: i32 = std::str::from_utf8(digits)
            .ok()?
            .parse::<i32>()
            .unwrap_or(i32::MAX)
            .min(100_000);
        v *= 2f64.powi(if eneg { -n } else { n });
    }
    Some(v)
}

/// A sample rate `@r` with `0 < r <= 1` (none: 1).
fn parse_rate(extra: Option<&[u8]>) -> Result<f64, BadLine> {
    let Some(extra) = extra else {
        return Ok(1.0);
    };
    let rest = extra.strip_prefix(b"@").ok_or(BadLine)?;
    let r = parse_number(rest).ok_or(BadLine)?;
    if !r.is_finite() || r <= 0.0 || r > 1.0 {
        return Err(BadLine);
    }
    Ok(r)
}

/// One statsd line, as collectd splits it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Parsed<'a> {
    /// Add `delta` (value / rate) to the counter `name`.
    Counter {
        /// The name (at most [`NAME_MAX`] bytes).
        name: &'a [u8],
        /// Value divided by the sample rate.
        delta: f64,
    },
    /// Set (or with `relative`, change) the gauge `name`.
    Gauge {
        /// The name.
        name: &'a [u8],
        /// The number.
        value: f64,
        /// The value started with `+` or `-`.
        relative: bool,
    },
    /// Add one latency (cdtime units) to the timer `name`.
    Timer {
        /// The name.
        name: &'a [u8],
        /// Milliseconds / rate, cut to whole milliseconds, as cdtime.
        latency: u64,
    },
    /// Add `member` to the set `name`.
    Set {
        /// The name.
        name: &'a [u8],
        /// Any bytes.
        member: &'a [u8],
    },
}

/// Parses one line (without its `\n`) as collectd 5.12 does.
pub fn parse_line(line: &[u8]) -> Result<Parsed<'_>, BadLine> {
    let bar = line.iter().position(|b| *b == b'|').ok_or(BadLine)?;
    let (head, tail) = (&line[..bar], &line[bar + 1..]);
    let colon = head.iter().rposition(|b| *b == b':').ok_or(BadLine)?;
    let name = &head[..colon.min(NAME_MAX)];
    let value = &head[colon + 1..];
    let (type_, extra) = match tail.iter().position(|b| *b == b'|') {
        Some(i) => (&tail[..i], Some(&tail[i + 1..])),
        None => (tail, None),
    };
    match type_ {
        b"c" => {
            let rate = parse_rate(extra)?;
            let v = parse_number(value).ok_or(BadLine)?;
            Ok(Parsed::Counter {
                name,
                delta: v / rate,
            })
        }
        b"ms" => {
            let rate = parse_rate(extra)?;
            let v = parse_number(value).ok_or(BadLine)?;
            Ok(Parsed::Timer {
                name,
                latency: ms_to_cdtime(v / rate),
            })
        }
        _ if extra.is_some() => Err(BadLine),
        b"g" => {
            let v = parse_number(value).ok_or(BadLine)?;
            Ok(Parsed::Gauge {
                name,
                value: v,
                relative: matches!(value.first(), Some(b'+' | b'-')),
            })
        }
        b"s" => Ok(Parsed::Set {
            name,
            member: value,
        }),
        _ => Err(BadLine),
    }
}

#[derive(Debug)]
struct Metric {
    value: f64,
    counter: i64,
    latency: Option<LatencyCounter>,
    set: HashSet<u64>,
    updates: u64,
}

impl Metric {
    fn new() -> Metric {
        Metric {
            value: 0.0,
            counter: 0,
            latency: None,
            set: HashSet::new(),
            updates: 0,
        }
    }
}

/// All metrics between two reads, keyed as collectd keys them (`c:name`,
/// so reads dispatch in collectd's order).
#[derive(Debug)]
pub struct Aggregator {
    opts: Options,
    metrics: BTreeMap<Vec<u8>, Metric>,
    timers: usize,
    set_members: usize,
    hasher: RandomState,
    key: Vec<u8>,
    /// What was refused so far.
    pub stats: Stats,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(opts: Options) -> Aggregator {
        Aggregator {
            opts,
            metrics: BTreeMap::new(),
            timers: 0,
            set_members: 0,
            hasher: RandomState::new(),
            key: Vec::with_capacity(NAME_MAX + 2),
            stats: Stats::default(),
        }
    }

    /// How many metrics are kept.
    pub fn len(&self) -> usize {
        self.metrics.len()
    }

    /// Whether no metric is kept.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// Handles one datagram: cut at 4095 bytes and at a NUL byte as
    /// collectd's C string is, split at `\n`, empty lines skipped. Returns
    /// the log message of each bad line.
    pub fn handle_datagram(&mut self, data: &[u8]) -> Vec<String> {
        let data = &data[..data.len().min(DATAGRAM_MAX)];
        let data = match data.iter().position(|b| *b == 0) {
            Some(i) => &data[..i],
            None => data,
        };
        let mut errors = Vec::new();
        for line in data.split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            if self.handle_line(line).is_err() {
                errors.push(bad_line_message(line));
            }
        }
        errors
    }

    /// Parses and applies one line; a bad line is counted.
    pub fn handle_line(&mut self, line: &[u8]) -> Result<(), BadLine> {
        match parse_line(line) {
            Ok(p) => {
                self.apply(p);
                Ok(())
            }
            Err(e) => {
                self.stats.bad_lines += 1;
                Err(e)
            }
        }
    }

    /// The metric for `kind` and `name`, created if the caps allow.
    fn lookup(&mut self, kind: Kind, name: &[u8]) -> Option<&mut Metric> {
        self.key.clear();
        self.key.push(kind.prefix());
        self.key.push(b':');
        self.key
            .extend_from_slice(&name[..name.len().min(NAME_MAX)]);
        if !self.metrics.contains_key(self.key.as_slice()) {
            if self.metrics.len() >= MAX_METRICS
                || (kind == Kind::Timer && self.timers >= MAX_TIMERS)
            {
                self.stats.dropped_metrics += 1;
                return None;
            }
            if kind == Kind::Timer {
                self.timers += 1;
            }
            self.metrics.insert(self.key.clone(), Metric::new());
        }
        self.metrics.get_mut(self.key.as_slice())
    }

    /// Applies a parsed line.
    pub fn apply(&mut self, p: Parsed<'_>) {
        match p {
            Parsed::Counter { name, delta } => {
                if let Some(m) = self.lookup(Kind::Counter, name) {
                    m.value += delta;
                    m.updates += 1;
                }
            }
            Parsed::Gauge {
                name,
                value,
                relative,
            } => {
                if let Some(m) = self.lookup(Kind::Gauge, name) {
                    if relative {
                        m.value += value;
                    } else {
                        m.value = value;
                    }
                    m.updates += 1;
                }
            }
            Parsed::Timer { name, latency } => {
                if let Some(m) = self.lookup(Kind::Timer, name) {
                    m.latency
                        .get_or_insert_with(|| LatencyCounter::new(0))
                        .add(latency);
                    m.updates += 1;
                }
            }
            Parsed::Set { name, member } => {
                let h = self.hasher.hash_one(member);
                let full = self.set_members >= MAX_SET_MEMBERS;
                let Some(m) = self.lookup(Kind::Set, name) else {
                    return;
                };
                let added = if m.set.contains(&h) {
                    false
                } else if full {
                    self.stats.dropped_set_members += 1;
                    return;
                } else {
                    m.set.insert(h)
                };
                m.updates += 1;
                self.set_members += usize::from(added);
            }
        }
    }

    /// What a read dispatches, in collectd's order, and the interval's
    /// reset: metrics without updates are deleted where configured, timers
    /// and sets start over, counters keep their total.
    pub fn read(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        let opts = &self.opts;
        let mut removed_timers = 0;
        let mut removed_members = 0;
        self.metrics.retain(|key, m| {
            let kind = Kind::from_prefix(key[0]);
            let name = &key[2..];
            let delete = match kind {
                Kind::Counter => opts.delete_counters,
                Kind::Gauge => opts.delete_gauges,
                Kind::Set => opts.delete_sets,
                Kind::Timer => opts.delete_timers,
            };
            if m.updates == 0 && delete {
                removed_timers += usize::from(kind == Kind::Timer);
                removed_members += m.set.len();
                return false;
            }
            submit(opts, kind, name, m, &mut out);
            m.updates = 0;
            removed_members += m.set.len();
            m.set.clear();
            true
        });
        self.timers -= removed_timers;
        self.set_members -= removed_members;
        let s = self.stats;
        for (n, ti) in [
            (s.bad_lines, "bad_lines"),
            (s.dropped_metrics, "dropped_metrics"),
            (s.dropped_set_members, "dropped_set_members"),
        ] {
            if n > 0 {
                out.push(Output {
                    plugin_instance: "internal",
                    type_: "derive",
                    type_instance: ti.as_bytes().to_vec(),
                    value: OutValue::Derive(n as i64),
                    stamped: false,
                });
            }
        }
        out
    }
}

/// `name` + `suffix`, cut at 127 bytes as `snprintf` into 128 bytes cuts.
fn instance(name: &[u8], suffix: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + suffix.len());
    v.extend_from_slice(name);
    v.extend_from_slice(suffix.as_bytes());
    v.truncate(TYPE_INSTANCE_MAX);
    v
}

/// The label of a percentile: C's `%.0f` (ties to even).
pub fn percentile_label(p: f64) -> String {
    format!("-percentile-{:.0}", p)
}

fn submit(opts: &Options, kind: Kind, name: &[u8], m: &mut Metric, out: &mut Vec<Output>) {
    let mut push = |type_, ti: Vec<u8>, value, stamped| {
        out.push(Output {
            plugin_instance: "",
            type_,
            type_instance: ti,
            value,
            stamped,
        })
    };
    match kind {
        Kind::Gauge => push("gauge", name.to_vec(), OutValue::Gauge(m.value), false),
        Kind::Set => push(
            "objects",
            name.to_vec(),
            OutValue::Gauge(m.set.len() as f64),
            false,
        ),
        Kind::Counter => {
            let delta = m.value.round_ties_even();
            if opts.counter_sum {
                push("count", name.to_vec(), OutValue::Gauge(delta), false);
            }
            m.value -= delta;
            m.counter = m.counter.wrapping_add(c_f64_to_i64(delta));
            push("derive", name.to_vec(), OutValue::Derive(m.counter), false);
        }
        Kind::Timer => {
            let lc = m.latency.get_or_insert_with(|| LatencyCounter::new(0));
            let events = m.updates > 0;
            let secs = |t: u64| {
                OutValue::Gauge(if events {
                    cdtime_to_double(t)
                } else {
                    f64::NAN
                })
            };
            push(
                "latency",
                instance(name, "-average"),
                secs(lc.average()),
                true,
            );
            if opts.timer_lower {
                push("latency", instance(name, "-lower"), secs(lc.min()), true);
            }
            if opts.timer_upper {
                push("latency", instance(name, "-upper"), secs(lc.max()), true);
            }
            if opts.timer_sum {
                push("latency", instance(name, "-sum"), secs(lc.sum()), true);
            }
            for &p in &opts.timer_percentiles {
                let label = percentile_label(p);
                push(
                    "latency",
                    instance(name, &label),
                    secs(lc.percentile(p)),
                    true,
                );
            }
            if opts.timer_count {
                push(
                    "gauge",
                    instance(name, "-count"),
                    OutValue::Gauge(lc.count() as f64),
                    true,
                );
            }
            lc.reset(0);
        }
    }
}

/// collectd's message for a bad line (the line cut at 63 bytes).
pub fn bad_line_message(line: &[u8]) -> String {
    format!(
        "Unable to parse line: \"{}\"",
        String::from_utf8_lossy(&line[..line.len().min(QUOTE_MAX)])
    )
}

#[cfg(test)]
mod tests;
