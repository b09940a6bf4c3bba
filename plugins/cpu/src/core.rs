//! Pure part of the cpu plugin: parsing `/proc/stat` and turning successive
//! readings into the value lists collectd 5.12's cpu plugin dispatches.
//!
//! Nothing here touches the file system or the host daemon, so every rule is
//! unit-tested against recorded fixtures.

use rcollectd_plugin_common::{atoll, Metric};

/// State names in collectd's order; the index is the state number.
pub const STATE_NAMES: [&str; STATE_MAX] = [
    "user",
    "system",
    "wait",
    "nice",
    "swap",
    "interrupt",
    "softirq",
    "steal",
    "guest",
    "guest_nice",
    "idle",
    "active",
];

const USER: usize = 0;
const SYSTEM: usize = 1;
const WAIT: usize = 2;
const NICE: usize = 3;
const INTERRUPT: usize = 5;
const SOFTIRQ: usize = 6;
const STEAL: usize = 7;
const GUEST: usize = 8;
const GUEST_NICE: usize = 9;
const IDLE: usize = 10;
const ACTIVE: usize = 11;
/// Number of states, including the computed `active`.
pub const STATE_MAX: usize = 12;

/// Highest CPU number accepted from `/proc/stat`; bounds the state table.
pub const MAX_CPU: usize = 65_536;

/// Options of the cpu plugin, with collectd's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `ReportByCpu`: one value list per CPU instead of the sum of all CPUs.
    pub report_by_cpu: bool,
    /// `ReportByState`: one value list per state instead of `active` only.
    pub report_by_state: bool,
    /// `ValuesPercentage`: percentages (type `percent`) instead of jiffies.
    pub values_percentage: bool,
    /// `ReportNumCpu`: also dispatch the number of CPUs (type `count`).
    pub report_num_cpu: bool,
    /// `ReportGuestState`: also report `guest` and `guest_nice`.
    pub report_guest_state: bool,
    /// `SubtractGuestState`: remove guest time from user/nice (it is included).
    pub subtract_guest_state: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            report_by_cpu: true,
            report_by_state: true,
            values_percentage: false,
            report_num_cpu: false,
            report_guest_state: false,
            subtract_guest_state: true,
        }
    }
}

/// The counters of one `cpuN` line, staged per state (after the optional
/// guest subtraction). Only states the kernel reports are present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuLine {
    /// CPU number N of `cpuN`.
    pub cpu: usize,
    /// `(state index, jiffies)` in the order collectd stages them.
    pub staged: Vec<(usize, i64)>,
}

/// Parse `/proc/stat`: every `cpuN` line with at least four counters. The
/// aggregate `cpu` line is ignored, as collectd does (it sums per CPU).
pub fn parse_stat(text: &str, opts: &Options) -> Vec<CpuLine> {
    let mut out = Vec::new();
    for line in text.lines() {
        let bytes = line.as_bytes();
        if !line.starts_with("cpu") || bytes.len() < 4 || !bytes[3].is_ascii_digit() {
            continue;
        }
        // collectd splits into at most 11 fields.
        let fields: Vec<&str> = line.split_ascii_whitespace().take(11).collect();
        if fields.len() < 5 {
            continue;
        }
        let cpu = atoll(&fields[0][3..]);
        let Ok(cpu) = usize::try_from(cpu) else {
            continue;
        };
        if cpu >= MAX_CPU {
            continue;
        }
        let n = fields.len();
        let mut user = atoll(fields[1]);
        let mut nice = atoll(fields[2]);
        let mut staged = vec![(SYSTEM, atoll(fields[3])), (IDLE, atoll(fields[4]))];
        if n >= 8 {
            staged.push((WAIT, atoll(fields[5])));
            staged.push((INTERRUPT, atoll(fields[6])));
            staged.push((SOFTIRQ, atoll(fields[7])));
        }
        if n >= 9 {
            staged.push((STEAL, atoll(fields[8])));
        }
        if n >= 10 && opts.report_guest_state {
            let guest = atoll(fields[9]);
            staged.push((GUEST, guest));
            if opts.subtract_guest_state {
                user = (user - guest).max(0);
            }
        }
        if n >= 11 && opts.report_guest_state {
            let guest_nice = atoll(fields[10]);
            staged.push((GUEST_NICE, guest_nice));
            if opts.subtract_guest_state {
                nice = (nice - guest_nice).max(0);
            }
        }
        staged.push((USER, user));
        staged.push((NICE, nice));
        out.push(CpuLine { cpu, staged });
    }
    out
}

/// Per (CPU, state) rate state, mirroring collectd's `value_to_rate`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    last_value: i64,
    /// Time of `last_value` in nanoseconds; 0 means "no previous reading".
    last_time: u64,
    rate: f64,
    has_value: bool,
}

impl Slot {
    /// Feed one counter reading; `true` when a rate was computed.
    fn stage(&mut self, value: i64, now_ns: u64) -> bool {
        if now_ns <= self.last_time {
            // Time did not advance: forget everything, as collectd does.
            *self = Slot::default();
            return false;
        }
        if self.last_time == 0 {
            self.last_value = value;
            self.last_time = now_ns;
            return false;
        }
        let interval = (now_ns - self.last_time) as f64 / 1e9;
        self.rate = value.wrapping_sub(self.last_value) as f64 / interval;
        self.last_value = value;
        self.last_time = now_ns;
        self.has_value = true;
        true
    }
}

/// Adds `val` to `sum`, where NaN means "nothing yet" (collectd's RATE_ADD).
fn rate_add(sum: &mut f64, val: f64) {
    if sum.is_nan() {
        *sum = val;
    } else if !val.is_nan() {
        *sum += val;
    }
}

/// The cpu plugin's memory between reads: previous counters per CPU/state.
#[derive(Debug, Clone)]
pub struct Cpu {
    opts: Options,
    slots: Vec<[Slot; STATE_MAX]>,
}

impl Cpu {
    /// A fresh plugin state; the first read yields no rates.
    pub fn new(opts: Options) -> Self {
        Cpu {
            opts,
            slots: Vec::new(),
        }
    }

    /// Process one `/proc/stat` text read at `now_ns` (wall clock, ns since
    /// the epoch) and return the value lists to dispatch, in collectd's order.
    pub fn read(&mut self, stat: &str, now_ns: u64) -> Vec<Metric> {
        let lines = parse_stat(stat, &self.opts);
        // Number of CPUs this iteration: highest CPU number + 1.
        let mut num_cpu = 0usize;
        for line in &lines {
            if self.slots.len() <= line.cpu {
                self.slots
                    .resize(line.cpu + 1, [Slot::default(); STATE_MAX]);
            }
            num_cpu = num_cpu.max(line.cpu + 1);
            for &(state, value) in &line.staged {
                self.slots[line.cpu][state].stage(value, now_ns);
            }
        }
        let out = self.commit(num_cpu);
        for cpu in self.slots.iter_mut() {
            for slot in cpu.iter_mut() {
                slot.has_value = false;
            }
        }
        out
    }

    fn commit(&mut self, num_cpu: usize) -> Vec<Metric> {
        let mut out = Vec::new();
        let o = self.opts;
        if o.report_num_cpu {
            out.push(Metric::gauge("", "count", "", num_cpu as f64));
        }
        if o.report_by_state && o.report_by_cpu && !o.values_percentage {
            // Raw counters, state-major like collectd.
            for (state, name) in STATE_NAMES.iter().enumerate().take(ACTIVE) {
                for (cpu, slots) in self.slots.iter().enumerate().take(num_cpu) {
                    let s = &slots[state];
                    if s.has_value {
                        out.push(Metric::derive(&cpu.to_string(), "cpu", name, s.last_value));
                    }
                }
            }
            return out;
        }
        let global = self.aggregate(num_cpu);
        if !o.report_by_cpu {
            self.commit_one(None, &global, &mut out);
            return out;
        }
        for cpu in 0..num_cpu {
            let mut local = [f64::NAN; STATE_MAX];
            for (state, rate) in local.iter_mut().enumerate() {
                let s = &self.slots[cpu][state];
                if s.has_value {
                    *rate = s.rate;
                }
            }
            self.commit_one(Some(cpu), &local, &mut out);
        }
        out
    }

    /// Per-CPU `active` rates and the sums over all CPUs per state.
    fn aggregate(&mut self, num_cpu: usize) -> [f64; STATE_MAX] {
        let mut sum = [f64::NAN; STATE_MAX];
        for cpu in self.slots.iter_mut().take(num_cpu) {
            cpu[ACTIVE].rate = f64::NAN;
            for state in 0..ACTIVE {
                if !cpu[state].has_value {
                    continue;
                }
                let r = cpu[state].rate;
                rate_add(&mut sum[state], r);
                if state != IDLE {
                    rate_add(&mut cpu[ACTIVE].rate, r);
                }
            }
            if !cpu[ACTIVE].rate.is_nan() {
                cpu[ACTIVE].has_value = true;
            }
            rate_add(&mut sum[ACTIVE], cpu[ACTIVE].rate);
        }
        sum
    }

    /// Percentages of one CPU (or the aggregate) from its rates.
    fn commit_one(&self, cpu: Option<usize>, rates: &[f64; STATE_MAX], out: &mut Vec<Metric>) {
        let mut sum = rates[ACTIVE];
        rate_add(&mut sum, rates[IDLE]);
        let instance = cpu.map(|c| c.to_string()).unwrap_or_default();
        let mut push = |state: usize| {
            let percent = 100.0 * rates[state] / sum;
            if !percent.is_nan() {
                out.push(Metric::gauge(
                    &instance,
                    "percent",
                    STATE_NAMES[state],
                    percent,
                ));
            }
        };
        if !self.opts.report_by_state {
            push(ACTIVE);
            return;
        }
        for state in 0..ACTIVE {
            push(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::Value;

    const SEC: u64 = 1_000_000_000;
    const T0: u64 = 1_700_000_000 * SEC;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn derive(cpu: &str, state: &str, v: i64) -> Metric {
        Metric::derive(cpu, "cpu", state, v)
    }

    fn gauge(cpu: &str, type_: &str, state: &str, v: f64) -> Metric {
        Metric::gauge(cpu, type_, state, v)
    }

    /// Compare with a tolerance on gauges (percentages are divisions).
    fn assert_metrics(got: &[Metric], want: &[Metric]) {
        assert_eq!(got.len(), want.len(), "got {got:#?}\nwant {want:#?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(
                (&g.plugin_instance, &g.type_, &g.type_instance),
                (&w.plugin_instance, &w.type_, &w.type_instance)
            );
            match (&g.values[..], &w.values[..]) {
                ([Value::Gauge(a)], [Value::Gauge(b)]) => {
                    assert!((a - b).abs() < 1e-9, "{g:?} vs {w:?}")
                }
                (a, b) => assert_eq!(a, b, "{g:?}"),
            }
        }
    }

    #[test]
    fn parses_recorded_proc_stat() {
        let lines = parse_stat(&fixture("stat_2cpu.txt"), &Options::default());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].cpu, 0);
        assert_eq!(
            lines[0].staged,
            vec![
                (SYSTEM, 2156),
                (IDLE, 256380),
                (WAIT, 64),
                (INTERRUPT, 0),
                (SOFTIRQ, 49),
                (STEAL, 27),
                (USER, 7253),
                (NICE, 0)
            ]
        );
        assert_eq!(lines[1].cpu, 1);
        assert_eq!(lines[1].staged[0], (SYSTEM, 2933));
    }

    #[test]
    fn first_read_dispatches_nothing_then_raw_counters() {
        let mut cpu = Cpu::new(Options::default());
        assert!(cpu.read(&fixture("stat_2cpu.txt"), T0).is_empty());
        let got = cpu.read(&fixture("stat_2cpu_next.txt"), T0 + SEC);
        let want = vec![
            derive("0", "user", 7259),
            derive("1", "user", 8481),
            derive("0", "system", 2158),
            derive("1", "system", 2935),
            derive("0", "wait", 64),
            derive("1", "wait", 504),
            derive("0", "nice", 0),
            derive("1", "nice", 3),
            derive("0", "interrupt", 0),
            derive("1", "interrupt", 0),
            derive("0", "softirq", 49),
            derive("1", "softirq", 99),
            derive("0", "steal", 27),
            derive("1", "steal", 32),
            derive("0", "idle", 256472),
            derive("1", "idle", 253860),
        ];
        assert_metrics(&got, &want);
    }

    #[test]
    fn percentages_per_cpu_from_rates() {
        let opts = Options {
            values_percentage: true,
            report_num_cpu: true,
            ..Options::default()
        };
        let mut cpu = Cpu::new(opts);
        let first = cpu.read(&fixture("stat_2cpu.txt"), T0);
        assert_metrics(&first, &[gauge("", "count", "", 2.0)]);
        // Two seconds later: cpu0 moved user +6, system +2, idle +92 (sum 100).
        let got = cpu.read(&fixture("stat_2cpu_next.txt"), T0 + 2 * SEC);
        let want = vec![
            gauge("", "count", "", 2.0),
            gauge("0", "percent", "user", 6.0),
            gauge("0", "percent", "system", 2.0),
            gauge("0", "percent", "wait", 0.0),
            gauge("0", "percent", "nice", 0.0),
            gauge("0", "percent", "interrupt", 0.0),
            gauge("0", "percent", "softirq", 0.0),
            gauge("0", "percent", "steal", 0.0),
            gauge("0", "percent", "idle", 92.0),
            // cpu1: user +5, system +2, wait +1, nice +3, idle +90 (sum 101).
            gauge("1", "percent", "user", 500.0 / 101.0),
            gauge("1", "percent", "system", 200.0 / 101.0),
            gauge("1", "percent", "wait", 100.0 / 101.0),
            gauge("1", "percent", "nice", 300.0 / 101.0),
            gauge("1", "percent", "interrupt", 0.0),
            gauge("1", "percent", "softirq", 0.0),
            gauge("1", "percent", "steal", 0.0),
            gauge("1", "percent", "idle", 9000.0 / 101.0),
        ];
        assert_metrics(&got, &want);
    }

    #[test]
    fn aggregate_active_only() {
        let opts = Options {
            report_by_cpu: false,
            report_by_state: false,
            ..Options::default()
        };
        let mut cpu = Cpu::new(opts);
        assert!(cpu.read(&fixture("stat_2cpu.txt"), T0).is_empty());
        let got = cpu.read(&fixture("stat_2cpu_next.txt"), T0 + SEC);
        // active = (8 + 11) jiffies, total = 201.
        assert_metrics(&got, &[gauge("", "percent", "active", 1900.0 / 201.0)]);
    }

    #[test]
    fn aggregate_by_state_without_report_by_cpu() {
        let opts = Options {
            report_by_cpu: false,
            ..Options::default()
        };
        let mut cpu = Cpu::new(opts);
        cpu.read(&fixture("stat_2cpu.txt"), T0);
        let got = cpu.read(&fixture("stat_2cpu_next.txt"), T0 + SEC);
        let names: Vec<_> = got.iter().map(|m| m.type_instance.as_str()).collect();
        assert_eq!(
            names,
            [
                "user",
                "system",
                "wait",
                "nice",
                "interrupt",
                "softirq",
                "steal",
                "idle"
            ]
        );
        assert!(got
            .iter()
            .all(|m| m.plugin_instance.is_empty() && m.type_ == "percent"));
        assert_metrics(&got[..1], &[gauge("", "percent", "user", 1100.0 / 201.0)]);
        assert_metrics(&got[7..], &[gauge("", "percent", "idle", 18200.0 / 201.0)]);
    }

    #[test]
    fn guest_states_subtracted_and_reported() {
        let opts = Options {
            report_guest_state: true,
            ..Options::default()
        };
        let text = "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 100 50 3 4 5 6 7 8 30 60\n";
        let lines = parse_stat(text, &opts);
        assert_eq!(lines.len(), 1);
        let staged = &lines[0].staged;
        assert!(staged.contains(&(GUEST, 30)));
        assert!(staged.contains(&(GUEST_NICE, 60)));
        assert!(staged.contains(&(USER, 70)));
        // nice 50 - guest_nice 60 clamps at 0.
        assert!(staged.contains(&(NICE, 0)));
        let no_sub = Options {
            subtract_guest_state: false,
            ..opts
        };
        let staged = &parse_stat(text, &no_sub)[0].staged;
        assert!(staged.contains(&(USER, 100)) && staged.contains(&(NICE, 50)));
        // Without ReportGuestState the guest columns are neither staged nor
        // subtracted.
        let staged = &parse_stat(text, &Options::default())[0].staged;
        assert!(staged.contains(&(USER, 100)));
        assert!(!staged.iter().any(|&(s, _)| s == GUEST || s == GUEST_NICE));
    }

    #[test]
    fn edge_cases_short_long_and_gapped_lines() {
        let text = fixture("stat_edge.txt");
        let lines = parse_stat(&text, &Options::default());
        let cpus: Vec<_> = lines.iter().map(|l| (l.cpu, l.staged.len())).collect();
        // cpu0: old kernel, 4 counters; cpu2: 12 counters (extra ignored);
        // "cpu3 1 2" is too short; "cpuX" and "cpu99999999" are rejected.
        assert_eq!(cpus, vec![(0, 4), (2, 8)]);
        let mut cpu = Cpu::new(Options {
            values_percentage: true,
            report_num_cpu: true,
            ..Options::default()
        });
        cpu.read(&text, T0);
        let next = text.replace("cpu0 10 20 30 40", "cpu0 20 20 30 130");
        let got = cpu.read(&next, T0 + SEC);
        // cpu1 is offline: counted in `count` but no values of its own.
        assert_eq!(got[0], gauge("", "count", "", 3.0));
        assert!(got.iter().all(|m| m.plugin_instance != "1"));
        assert_metrics(
            &got[1..5],
            &[
                gauge("0", "percent", "user", 10.0),
                gauge("0", "percent", "system", 0.0),
                gauge("0", "percent", "nice", 0.0),
                gauge("0", "percent", "idle", 90.0),
            ],
        );
        // cpu2 did not move: 0/0 gives NaN percentages, which are skipped.
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn clock_going_backwards_resets_rates() {
        let mut cpu = Cpu::new(Options::default());
        cpu.read(&fixture("stat_2cpu.txt"), T0);
        assert!(cpu
            .read(&fixture("stat_2cpu_next.txt"), T0 - SEC)
            .is_empty());
        assert!(cpu.read(&fixture("stat_2cpu_next.txt"), T0).is_empty());
        assert_eq!(cpu.read(&fixture("stat_2cpu_next.txt"), T0 + SEC).len(), 16);
    }
}
