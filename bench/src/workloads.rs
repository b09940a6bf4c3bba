//! The workloads: footprint of the default plugin set, network receive at a
//! fixed rate and at full speed, the dispatch pipeline, cache scale, and the
//! soak test. Each round runs every daemon once, alternating which goes
//! first; a daemon that fails to start or dies fails its side of the rows
//! with the reason, and the other side is still measured.

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::daemon::{mono_ns, read_counts, read_flood, Counts, Flavor, Paths, Running, Scratch};
use crate::procfs;
use crate::report::{Goal, Report, Row, Side};
use crate::sender::{Load, Security, Sent, PASSWORD, PLUGIN, USER};

/// Knobs read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// BENCH_ROUNDS (default 3).
    pub rounds: usize,
    /// BENCH_SECONDS: fixed-rate network phase (default 10).
    pub seconds: u64,
    /// BENCH_FOOTPRINT_SECONDS (default 60).
    pub footprint_seconds: u64,
    /// BENCH_FULL_SECONDS: full-speed network phase (default 10).
    pub full_seconds: u64,
    /// BENCH_DRAIN_CAP: longest wait for a receiver to drain (default 20).
    pub drain_cap: u64,
    /// BENCH_RATE: fixed rate in packets/s (default 2000).
    pub rate: u64,
    /// BENCH_DISPATCH_COUNT (default 2,000,000).
    pub dispatch_count: u64,
    /// BENCH_CACHE_SERIES (default 1,000,000).
    pub cache_series: u64,
    /// BENCH_CACHE_RATE: dispatch pace while filling the cache (default 200,000/s).
    pub cache_rate: u64,
    /// BENCH_SCRAPE_SERIES: series write_prometheus serves in `scrape`.
    pub scrape_series: u64,
    /// SOAK_MINUTES (default 10).
    pub soak_minutes: u64,
    /// SOAK_DAEMON: `rcollectd` (default) or `collectd`.
    pub soak_flavor: Flavor,
}

/// Parses a whole-number knob; `None` (unset) gives the default.
fn parse_u64(name: &str, value: Option<&str>, default: u64) -> Result<u64, String> {
    match value {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a whole number")),
        None => Ok(default),
    }
}

fn env_u64(name: &str, default: u64) -> Result<u64, String> {
    parse_u64(name, std::env::var(name).ok().as_deref(), default)
}

impl Settings {
    /// Reads every knob, rejecting malformed values.
    pub fn from_env() -> Result<Settings, String> {
        let soak_flavor = match std::env::var("SOAK_DAEMON").as_deref() {
            Ok("collectd") => Flavor::Collectd,
            Ok("rcollectd") | Err(_) => Flavor::Rcollectd,
            Ok(other) => return Err(format!("SOAK_DAEMON={other:?}: use rcollectd or collectd")),
        };
        let s = Settings {
            rounds: env_u64("BENCH_ROUNDS", 3)? as usize,
            seconds: env_u64("BENCH_SECONDS", 10)?,
            footprint_seconds: env_u64("BENCH_FOOTPRINT_SECONDS", 60)?,
            full_seconds: env_u64("BENCH_FULL_SECONDS", 10)?,
            drain_cap: env_u64("BENCH_DRAIN_CAP", 20)?,
            rate: env_u64("BENCH_RATE", 2000)?,
            dispatch_count: env_u64("BENCH_DISPATCH_COUNT", 2_000_000)?,
            cache_series: env_u64("BENCH_CACHE_SERIES", 1_000_000)?,
            cache_rate: env_u64("BENCH_CACHE_RATE", 200_000)?,
            scrape_series: env_u64("BENCH_SCRAPE_SERIES", 100_000)?,
            soak_minutes: env_u64("SOAK_MINUTES", 10)?,
            soak_flavor,
        };
        if s.rounds == 0 || s.seconds == 0 || s.full_seconds == 0 || s.rate == 0 {
            return Err(
                "BENCH_ROUNDS, BENCH_SECONDS, BENCH_FULL_SECONDS and BENCH_RATE must be > 0".into(),
            );
        }
        if s.dispatch_count == 0 || s.cache_series == 0 {
            return Err("BENCH_DISPATCH_COUNT and BENCH_CACHE_SERIES must be > 0".into());
        }
        Ok(s)
    }
}

/// Which side of a row a daemon fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Rc,
    Cd,
}

#[derive(Default)]
struct SideAcc {
    samples: Vec<f64>,
    errors: Vec<String>,
}

struct Entry {
    workload: String,
    metric: &'static str,
    unit: &'static str,
    goal: Option<Goal>,
    notes: Vec<String>,
    rc: SideAcc,
    cd: SideAcc,
}

/// Samples gathered round by round, turned into report rows at the end.
#[derive(Default)]
struct Acc {
    entries: Vec<Entry>,
}

/// A metric: name, unit and goal.
type Metric = (&'static str, &'static str, Option<Goal>);

impl Acc {
    fn entry(&mut self, workload: &str, m: &Metric) -> &mut Entry {
        let pos = self
            .entries
            .iter()
            .position(|e| e.workload == workload && e.metric == m.0);
        let i = match pos {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    workload: workload.to_string(),
                    metric: m.0,
                    unit: m.1,
                    goal: m.2.clone(),
                    notes: Vec::new(),
                    rc: SideAcc::default(),
                    cd: SideAcc::default(),
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    fn declare(&mut self, workload: &str, metrics: &[Metric]) {
        for m in metrics {
            self.entry(workload, m);
        }
    }

    fn add(&mut self, workload: &str, m: &Metric, who: Who, v: f64) {
        let e = self.entry(workload, m);
        match who {
            Who::Rc => e.rc.samples.push(v),
            Who::Cd => e.cd.samples.push(v),
        }
    }

    fn note(&mut self, workload: &str, m: &Metric, text: String) {
        let e = self.entry(workload, m);
        if !e.notes.contains(&text) {
            e.notes.push(text);
        }
    }

    fn fail(&mut self, workload: &str, metrics: &[Metric], who: Who, err: &str) {
        eprintln!(
            "  !! {workload}: {} FAILED: {err}",
            if who == Who::Rc {
                "rcollectd"
            } else {
                "collectd"
            }
        );
        for m in metrics {
            let e = self.entry(workload, m);
            let side = match who {
                Who::Rc => &mut e.rc,
                Who::Cd => &mut e.cd,
            };
            side.errors.push(err.to_string());
        }
    }

    fn into_report(self, report: &mut Report) {
        for e in self.entries {
            let mut notes = e.notes;
            let side = |acc: SideAcc, who: &str, notes: &mut Vec<String>| {
                if acc.samples.is_empty() {
                    match acc.errors.into_iter().next() {
                        Some(err) => Side::Failed(err),
                        None => Side::NotApplicable,
                    }
                } else {
                    if !acc.errors.is_empty() {
                        notes.push(format!(
                            "{who}: {} round(s) failed, first: {}",
                            acc.errors.len(),
                            acc.errors[0].lines().next().unwrap_or("")
                        ));
                    }
                    Side::Samples(acc.samples)
                }
            };
            let rc = side(e.rc, "rcollectd", &mut notes);
            let cd = side(e.cd, "collectd", &mut notes);
            report.push(Row {
                workload: e.workload,
                metric: e.metric.to_string(),
                unit: e.unit.to_string(),
                rc,
                cd,
                goal: e.goal,
                note: notes.join("; "),
            });
        }
    }
}

/// Order of the two daemons in round `r`: alternating who goes first.
fn order(r: usize) -> [(Flavor, Who); 2] {
    if r & 1 == 0 {
        [(Flavor::Rcollectd, Who::Rc), (Flavor::Collectd, Who::Cd)]
    } else {
        [(Flavor::Collectd, Who::Cd), (Flavor::Rcollectd, Who::Rc)]
    }
}

const MIB: f64 = 1024.0;

/// Waits until the count_writer total reaches `target` or stops changing
/// for `quiet`, bounded by `cap`. Returns the last counts and whether the
/// wait hit the cap.
fn wait_drained(
    d: &mut Running,
    count_file: &Path,
    target: u64,
    quiet: Duration,
    cap: Duration,
    mut on_tick: impl FnMut(&Running),
) -> Result<(Counts, bool), String> {
    let deadline = Instant::now() + cap;
    let mut last = read_counts(count_file).unwrap_or_default();
    let mut changed_at = Instant::now();
    loop {
        d.check_alive()?;
        on_tick(d);
        let c = read_counts(count_file).unwrap_or(last);
        if c.count != last.count {
            changed_at = Instant::now();
        }
        last = c;
        if c.count >= target {
            return Ok((c, false));
        }
        if changed_at.elapsed() >= quiet {
            return Ok((c, false));
        }
        if Instant::now() >= deadline {
            return Ok((c, true));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count_writer_block(dir: &Path, plugin: &str, walk: bool) -> String {
    format!(
        "LoadPlugin count_writer\n<Plugin count_writer>\n  File \"{}\"\n  Plugin \"{plugin}\"\n  FlushWalksCache \"{walk}\"\n</Plugin>\n",
        dir.join("count").display()
    )
}

fn count_ready(d: &Running) -> bool {
    read_counts(&d.dir.join("count")).is_some()
}

// ---------------------------------------------------------------- footprint

const DEFAULT_SET: [&str; 9] = [
    "cpu",
    "memory",
    "load",
    "interface",
    "disk",
    "df",
    "swap",
    "uptime",
    "fhcount",
];

struct Sink {
    port: u16,
    stop: Arc<AtomicBool>,
    packets: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    fn start(max_life: Duration) -> Result<Sink, String> {
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind sink: {e}"))?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| format!("sink timeout: {e}"))?;
        let port = sock
            .local_addr()
            .map_err(|e| format!("sink addr: {e}"))?
            .port();
        let stop = Arc::new(AtomicBool::new(false));
        let packets = Arc::new(AtomicU64::new(0));
        let (s2, p2) = (stop.clone(), packets.clone());
        let handle = std::thread::spawn(move || {
            let end = Instant::now() + max_life;
            let mut buf = [0u8; 65536];
            while !s2.load(Ordering::Relaxed) && Instant::now() < end {
                if sock.recv(&mut buf).is_ok() {
                    p2.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(Sink {
            port,
            stop,
            packets,
            handle: Some(handle),
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Footprint of the default plugin set at Interval 1: the three daemons run
/// side by side for the same window in each round.
pub fn footprint(paths: &Paths, s: &Settings, report: &mut Report) {
    const PEAK: Metric = ("peak_rss_vmhwm", "MiB", None);
    const RSS: Metric = ("rss_vmrss", "MiB", Some(Goal::RatioAtMost(1.0)));
    const USS: Metric = ("private_uss", "MiB", Some(Goal::RatioAtMost(0.8)));
    const PSS: Metric = ("proportional_pss", "MiB", None);
    const CPU: Metric = ("cpu_seconds_in_window", "s", None);
    const CPU_H: Metric = ("cpu_seconds_per_hour", "s/h", Some(Goal::RatioAtMost(0.5)));
    const THREADS: Metric = ("threads", "count", None);
    const SENT: Metric = ("network_packets_to_sink", "packets", None);
    let metrics = [PEAK, RSS, USS, PSS, CPU, CPU_H, THREADS, SENT];
    let no_goal: Vec<Metric> = metrics.iter().map(|m| (m.0, m.1, None)).collect();
    let mut acc = Acc::default();
    acc.declare("footprint", &metrics);
    acc.declare("footprint-debian-plugins", &no_goal);
    let window = Duration::from_secs(s.footprint_seconds.max(1));
    let mut tick_fallbacks: Vec<&str> = Vec::new();
    // Daemons that map the same files share those pages, and USS counts
    // shared pages for neither: rcollectd running Debian's plugins beside
    // collectd would hide part of both one's and the other's private memory.
    // So rcollectd with its own plugins runs beside collectd, and rcollectd
    // with Debian's plugins in a window of its own, compared with the
    // collectd of the first window.
    /// Five rounds of the footprint config's `Interval 1`.
    const FOOTPRINT_SETTLE: Duration = Duration::from_secs(5);
    const GROUPS: [&[Flavor]; 2] = [
        &[Flavor::Rcollectd, Flavor::Collectd],
        &[Flavor::RcollectdDebianPlugins],
    ];
    for (r, flavors) in (0..s.rounds).flat_map(|r| GROUPS.iter().map(move |g| (r, *g))) {
        let labels: Vec<&str> = flavors.iter().map(|f| f.label()).collect();
        eprintln!(
            "footprint round {}/{}: {} for {} s",
            r + 1,
            s.rounds,
            labels.join(" beside "),
            window.as_secs()
        );
        let mut runs = Vec::new();
        for i in 0..flavors.len() {
            // Alternate start order between rounds.
            let flavor = flavors[(i + r) % flavors.len()];
            runs.push((flavor, start_footprint(paths, flavor, window)));
        }
        // Measure the steady state, over the same window for both: the
        // window opens after the startup work (config, init, the first
        // rounds, and rcollectd's one-time trim 3.5 intervals in, about 2 ms
        // of CPU) that per-hour figures must not extrapolate.
        std::thread::sleep(FOOTPRINT_SETTLE);
        // Both readings: the per-thread nanoseconds resolve what 10 ms ticks
        // cannot (an idle daemon earns a handful of ticks a minute); the
        // ticks stand in if a thread exits during the window.
        let cpu0: Vec<Option<(f64, CpuNs)>> = runs
            .iter()
            .map(|(_, r)| {
                let d = &r.as_ref().ok()?.daemon;
                Some((d.cpu_seconds().ok()?, d.thread_cpu_ns().ok()?))
            })
            .collect();
        std::thread::sleep(window);
        for ((flavor, run), c0) in runs.iter_mut().zip(cpu0) {
            let targets: Vec<(&str, Who)> = match flavor {
                Flavor::Rcollectd => vec![("footprint", Who::Rc)],
                Flavor::RcollectdDebianPlugins => vec![("footprint-debian-plugins", Who::Rc)],
                Flavor::Collectd => {
                    vec![
                        ("footprint", Who::Cd),
                        ("footprint-debian-plugins", Who::Cd),
                    ]
                }
            };
            let result = (|| -> Result<Vec<f64>, String> {
                let run = run.as_mut().map_err(|e| e.clone())?;
                run.daemon.check_alive()?;
                let (t0, ns0) = c0.ok_or("no CPU reading at the window start")?;
                let t1 = run.daemon.cpu_seconds()?;
                let ns1 = run.daemon.thread_cpu_ns()?;
                let st = run.daemon.status()?;
                let mem = run.daemon.rollup()?;
                let cpu = match procfs::thread_cpu_delta(&ns0, &ns1) {
                    Some(s) => s,
                    None => {
                        tick_fallbacks.push(flavor.label());
                        t1 - t0
                    }
                };
                Ok(vec![
                    st.vm_hwm_kib as f64 / MIB,
                    st.vm_rss_kib as f64 / MIB,
                    mem.uss_kib as f64 / MIB,
                    mem.pss_kib as f64 / MIB,
                    cpu,
                    cpu / window.as_secs_f64() * 3600.0,
                    st.threads as f64,
                    run.sink.packets.load(Ordering::Relaxed) as f64,
                ])
            })();
            for (w, who) in targets {
                match &result {
                    Ok(values) => {
                        let ms = if w == "footprint" {
                            &metrics[..]
                        } else {
                            &no_goal[..]
                        };
                        for (m, v) in ms.iter().zip(values) {
                            acc.add(w, m, who, *v);
                        }
                        if let Ok(run) = run {
                            if !run.daemon.borrowed.is_empty() {
                                acc.note(
                                    w,
                                    &ms[0],
                                    format!(
                                        "rcollectd has no plugin of its own for {}: Debian's was loaded",
                                        run.daemon.borrowed.join(", ")
                                    ),
                                );
                            }
                            if values[7] == 0.0 {
                                acc.note(
                                    w,
                                    &ms[7],
                                    format!("{} sent nothing to the network sink", flavor.label()),
                                );
                            }
                        }
                    }
                    Err(e) => {
                        let ms = if w == "footprint" {
                            &metrics[..]
                        } else {
                            &no_goal[..]
                        };
                        acc.fail(w, ms, who, e);
                    }
                }
            }
        }
        // Runs (daemons, sinks, scratch dirs) drop here: every daemon stops.
    }
    acc.note(
        "footprint",
        &CPU_H,
        "CPU time summed over the threads' /proc/<pid>/task/*/schedstat (ns)".into(),
    );
    for label in tick_fallbacks {
        acc.note(
            "footprint",
            &CPU_H,
            format!(
                "{label}: a thread exited mid-window; its CPU time is from /proc/<pid>/stat ticks"
            ),
        );
    }
    acc.into_report(report);
}

/// Nanoseconds on the CPU per thread id.
type CpuNs = std::collections::BTreeMap<u32, u64>;

struct FootprintRun {
    daemon: Running,
    sink: Sink,
    _scratch: Scratch,
}

fn start_footprint(
    paths: &Paths,
    flavor: Flavor,
    window: Duration,
) -> Result<FootprintRun, String> {
    let scratch = Scratch::new(paths, &format!("footprint-{}", flavor.label()))?;
    let sink = Sink::start(window + Duration::from_secs(60))?;
    let mut plugins: Vec<&str> = DEFAULT_SET.to_vec();
    plugins.extend(["csv", "network"]);
    let mut body = String::new();
    for p in &plugins {
        body.push_str(&format!("LoadPlugin {p}\n"));
    }
    body.push_str(&format!(
        "<Plugin df>\n  FSType tmpfs\n  FSType devtmpfs\n  FSType overlay\n  IgnoreSelected true\n</Plugin>\n\
         <Plugin csv>\n  DataDir \"{}\"\n  StoreRates false\n</Plugin>\n\
         <Plugin network>\n  Server \"127.0.0.1\" \"{}\"\n</Plugin>\n",
        scratch.path.join("csv").display(),
        sink.port
    ));
    let started = Instant::now();
    let daemon = Running::start(
        paths,
        flavor,
        &scratch.path,
        &plugins,
        "Interval 1",
        &body,
        |_| started.elapsed() >= Duration::from_millis(500),
    )?;
    Ok(FootprintRun {
        daemon,
        sink,
        _scratch: scratch,
    })
}

// ------------------------------------------------------------------ network

fn receiver_body(dir: &Path, port: u16, security: Security) -> String {
    let listen = match security {
        Security::None => format!("  Listen \"127.0.0.1\" \"{port}\"\n"),
        Security::Encrypt => format!(
            "  <Listen \"127.0.0.1\" \"{port}\">\n    SecurityLevel Encrypt\n    AuthFile \"{}\"\n  </Listen>\n",
            dir.join("auth").display()
        ),
    };
    format!(
        "LoadPlugin network\n<Plugin network>\n{listen}</Plugin>\n{}",
        count_writer_block(dir, PLUGIN, false)
    )
}

struct Receiver {
    daemon: Running,
    port: u16,
    count_file: std::path::PathBuf,
    _scratch: Scratch,
}

fn start_receiver(
    paths: &Paths,
    flavor: Flavor,
    security: Security,
    extra_plugins: &[&str],
    extra_body: &str,
    interval: u64,
) -> Result<Receiver, String> {
    let scratch = Scratch::new(paths, &format!("net-{}", flavor.label()))?;
    std::fs::write(scratch.path.join("auth"), format!("{USER}: {PASSWORD}\n"))
        .map_err(|e| format!("write auth file: {e}"))?;
    let port = free_udp_port()?;
    let mut plugins = vec!["network", "count_writer"];
    plugins.extend_from_slice(extra_plugins);
    let body = format!(
        "{extra_body}{}",
        receiver_body(&scratch.path, port, security)
    );
    let daemon = Running::start(
        paths,
        flavor,
        &scratch.path,
        &plugins,
        &format!("Interval {interval}"),
        &body,
        |d| count_ready(d) && procfs::udp_socket_of(d.pid(), port).is_some(),
    )?;
    if daemon.borrowed.iter().any(|p| p == "network") {
        return Err(format!(
            "rcollectd has no network plugin of its own in {} (run `make build`); refusing to measure Debian's",
            paths.own_plugins.display()
        ));
    }
    Ok(Receiver {
        daemon,
        port,
        count_file: scratch.path.join("count"),
        _scratch: scratch,
    })
}

fn free_udp_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("find a free port: {e}"))?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

fn sender_socket() -> Result<UdpSocket, String> {
    UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind sender: {e}"))
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Network receive at a fixed rate and at full speed, plain and encrypted.
pub fn network(paths: &Paths, s: &Settings, report: &mut Report) {
    for security in [Security::None, Security::Encrypt] {
        network_fixed(paths, s, security, report);
        network_full(paths, s, security, report);
    }
}

fn sec_name(security: Security) -> &'static str {
    match security {
        Security::None => "none",
        Security::Encrypt => "encrypt",
    }
}

fn network_fixed(paths: &Paths, s: &Settings, security: Security, report: &mut Report) {
    const CPU: Metric = ("cpu_us_per_value_list", "us", Some(Goal::RatioAtMost(0.15)));
    const RSS: Metric = ("rss_after", "MiB", None);
    const LOST: Metric = ("lost_value_lists", "count", Some(Goal::AbsAtMost(0.0)));
    const DROPS: Metric = ("kernel_drops", "packets", None);
    const RATE: Metric = ("value_lists_received", "count", None);
    let metrics = [CPU, RSS, LOST, DROPS, RATE];
    let w = format!("network-{}-{}pps", sec_name(security), s.rate);
    let mut acc = Acc::default();
    acc.declare(&w, &metrics);
    let mut load = match Load::new(200, security) {
        Ok(l) => l,
        Err(e) => {
            for who in [Who::Rc, Who::Cd] {
                acc.fail(&w, &metrics, who, &e);
            }
            acc.into_report(report);
            return;
        }
    };
    acc.note(
        &w,
        &RATE,
        format!(
            "{:.1} value lists per packet, {} distinct series",
            load.per_packet(),
            load.series()
        ),
    );
    for r in 0..s.rounds {
        for (flavor, who) in order(r) {
            eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
            let result = (|| -> Result<Vec<f64>, String> {
                let mut rx = start_receiver(paths, flavor, security, &[], "", 10)?;
                let sock = sender_socket()?;
                let cpu0 = rx.daemon.cpu_seconds()?;
                let sent = load.send(
                    &sock,
                    addr(rx.port),
                    Some(s.rate),
                    Duration::from_secs(s.seconds),
                    u64::MAX,
                );
                let (c, _) = wait_drained(
                    &mut rx.daemon,
                    &rx.count_file,
                    sent.value_lists,
                    Duration::from_secs(2),
                    Duration::from_secs(s.drain_cap),
                    |_| {},
                )?;
                let cpu1 = rx.daemon.cpu_seconds()?;
                let st = rx.daemon.status()?;
                let drops = procfs::udp_socket_of(rx.daemon.pid(), rx.port)
                    .map(|u| u.drops)
                    .unwrap_or(0);
                if c.count == 0 {
                    return Err(format!(
                        "received nothing of {} value lists sent; log ends:\n{}",
                        sent.value_lists,
                        rx.daemon.log_tail(10)
                    ));
                }
                Ok(vec![
                    (cpu1 - cpu0) * 1e6 / c.count as f64,
                    st.vm_rss_kib as f64 / MIB,
                    sent.value_lists.saturating_sub(c.count) as f64,
                    drops as f64,
                    c.count as f64,
                ])
            })();
            match result {
                Ok(v) => {
                    for (m, x) in metrics.iter().zip(v) {
                        acc.add(&w, m, who, x);
                    }
                }
                Err(e) => acc.fail(&w, &metrics, who, &e),
            }
        }
    }
    acc.into_report(report);
}

/// Outcome of one full-speed receive run.
pub struct FullRun {
    /// What the sender did.
    pub sent: Sent,
    /// Value lists written.
    pub counted: u64,
    /// Value lists written per second, from first send to last write.
    pub rate: f64,
    /// Kernel drops on the receive socket.
    pub drops: u64,
    /// Peak RSS, KiB.
    pub peak_kib: u64,
    /// Seconds from the last send to the last write.
    pub drain_s: f64,
    /// Whether the drain wait hit its cap.
    pub capped: bool,
}

/// One full-speed receive run against a started receiver.
fn full_speed(
    rx: &mut Receiver,
    load: &mut Load,
    seconds: u64,
    cap: u64,
) -> Result<FullRun, String> {
    let sock = sender_socket()?;
    let sent = load.send(
        &sock,
        addr(rx.port),
        None,
        Duration::from_secs(seconds),
        u64::MAX,
    );
    let mut drops = 0;
    let (pid, port) = (rx.daemon.pid(), rx.port);
    let (c, capped) = wait_drained(
        &mut rx.daemon,
        &rx.count_file,
        sent.value_lists,
        Duration::from_secs(1),
        Duration::from_secs(cap),
        |_| {
            if let Some(u) = procfs::udp_socket_of(pid, port) {
                drops = u.drops;
            }
        },
    )?;
    if let Some(u) = procfs::udp_socket_of(pid, port) {
        drops = u.drops;
    }
    let st = rx.daemon.status()?;
    if c.count == 0 {
        return Err(format!(
            "received nothing of {} value lists sent; log ends:\n{}",
            sent.value_lists,
            rx.daemon.log_tail(10)
        ));
    }
    let end = if capped { mono_ns() } else { c.last_write_ns };
    let elapsed = end.saturating_sub(sent.start_ns) as f64 / 1e9;
    Ok(FullRun {
        sent,
        counted: c.count,
        rate: c.count as f64 / elapsed.max(1e-9),
        drops,
        peak_kib: st.vm_hwm_kib,
        drain_s: end.saturating_sub(sent.end_ns) as f64 / 1e9,
        capped,
    })
}

fn network_full(paths: &Paths, s: &Settings, security: Security, report: &mut Report) {
    const RATE: Metric = ("value_lists_per_s", "vl/s", Some(Goal::RatioAtLeast(10.0)));
    const LOST: Metric = ("lost_share", "%", None);
    const DROPS: Metric = ("kernel_drops", "packets", None);
    const PEAK: Metric = ("peak_rss_vmhwm", "MiB", Some(Goal::AbsBelow(64.0)));
    const DRAIN: Metric = ("drain_time", "s", Some(Goal::AbsBelow(1.0)));
    const SENT: Metric = ("value_lists_sent", "count", None);
    let metrics = [RATE, LOST, DROPS, PEAK, DRAIN, SENT];
    let w = format!("network-{}-fullspeed", sec_name(security));
    let mut acc = Acc::default();
    acc.declare(&w, &metrics);
    let mut load = match Load::new(200, security) {
        Ok(l) => l,
        Err(e) => {
            for who in [Who::Rc, Who::Cd] {
                acc.fail(&w, &metrics, who, &e);
            }
            acc.into_report(report);
            return;
        }
    };
    for r in 0..s.rounds {
        for (flavor, who) in order(r) {
            eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
            let result = (|| -> Result<FullRun, String> {
                let mut rx = start_receiver(paths, flavor, security, &[], "", 10)?;
                let run = full_speed(&mut rx, &mut load, s.full_seconds, s.drain_cap)?;
                // A receiver with a long backlog may take long to exit.
                rx.daemon.stop(Duration::from_secs(3));
                Ok(run)
            })();
            match result {
                Ok(run) => {
                    let lost = run.sent.value_lists.saturating_sub(run.counted) as f64;
                    let v = [
                        run.rate,
                        lost * 100.0 / run.sent.value_lists.max(1) as f64,
                        run.drops as f64,
                        run.peak_kib as f64 / MIB,
                        run.drain_s,
                        run.sent.value_lists as f64,
                    ];
                    for (m, x) in metrics.iter().zip(v) {
                        acc.add(&w, m, who, x);
                    }
                    if run.capped {
                        acc.note(
                            &w,
                            &DRAIN,
                            format!(
                                "{} had not drained at the {} s cap: its drain_time is the cap (a lower bound) and value lists still queued count as lost",
                                flavor.label(),
                                s.drain_cap
                            ),
                        );
                    }
                }
                Err(e) => acc.fail(&w, &metrics, who, &e),
            }
        }
    }
    acc.note(
        &w,
        &RATE,
        format!(
            "sender ran {} s at full speed; rate = value lists written / (last write - first send)",
            s.full_seconds
        ),
    );
    acc.into_report(report);
}

// ----------------------------------------------------------------- dispatch

struct FloodRun {
    daemon: Running,
    count_file: std::path::PathBuf,
    flood_file: std::path::PathBuf,
    start_file: std::path::PathBuf,
    _scratch: Scratch,
}

fn start_flood(
    paths: &Paths,
    flavor: Flavor,
    globals: &str,
    count: u64,
    series: u64,
    rate: u64,
    walk: bool,
) -> Result<FloodRun, String> {
    start_flood_with(paths, flavor, globals, count, series, rate, walk, &[], "")
}

/// [`start_flood`] with more plugins loaded (after the flood and counter).
#[allow(clippy::too_many_arguments)]
fn start_flood_with(
    paths: &Paths,
    flavor: Flavor,
    globals: &str,
    count: u64,
    series: u64,
    rate: u64,
    walk: bool,
    more: &[&str],
    more_body: &str,
) -> Result<FloodRun, String> {
    let scratch = Scratch::new(paths, &format!("flood-{}", flavor.label()))?;
    let dir = &scratch.path;
    let body = format!(
        "LoadPlugin dispatch_flood\n<Plugin dispatch_flood>\n  File \"{}\"\n  StartFile \"{}\"\n  Count \"{count}\"\n  Series \"{series}\"\n  Rate \"{rate}\"\n</Plugin>\n{}{more_body}",
        dir.join("flood").display(),
        dir.join("start").display(),
        count_writer_block(dir, "flood", walk)
    );
    let mut plugins = vec!["count_writer", "dispatch_flood"];
    plugins.extend_from_slice(more);
    let daemon = Running::start(paths, flavor, dir, &plugins, globals, &body, count_ready)?;
    Ok(FloodRun {
        daemon,
        count_file: dir.join("count"),
        flood_file: dir.join("flood"),
        start_file: dir.join("start"),
        _scratch: scratch,
    })
}

impl FloodRun {
    /// Starts the flood and waits until it is over and written (or `cap`).
    fn run(
        &mut self,
        count: u64,
        cap: Duration,
    ) -> Result<(crate::daemon::Flood, Counts, bool), String> {
        std::fs::write(&self.start_file, b"go").map_err(|e| format!("write start file: {e}"))?;
        let deadline = Instant::now() + cap;
        let flood = loop {
            self.daemon.check_alive()?;
            if let Some(f) = read_flood(&self.flood_file) {
                break f;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the flood did not finish within {} s",
                    cap.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let (c, capped) = wait_drained(
            &mut self.daemon,
            &self.count_file,
            count,
            Duration::from_secs(2),
            left,
            |_| {},
        )?;
        Ok((flood, c, capped))
    }
}

/// Dispatch pipeline: plugin_dispatch_values to the write callback, with
/// WriteThreads 1 and 5.
pub fn dispatch(paths: &Paths, s: &Settings, report: &mut Report) {
    const RATE: Metric = ("value_lists_per_s", "vl/s", Some(Goal::RatioAtLeast(5.0)));
    const LOST: Metric = ("lost_value_lists", "count", None);
    const PEAK: Metric = ("peak_rss_vmhwm", "MiB", None);
    let metrics = [RATE, LOST, PEAK];
    for wt in [1, 5] {
        let w = format!("dispatch-writethreads{wt}");
        let mut acc = Acc::default();
        acc.declare(&w, &metrics);
        for r in 0..s.rounds {
            for (flavor, who) in order(r) {
                eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
                let result = (|| -> Result<Vec<f64>, String> {
                    let globals = format!("Interval 1\nWriteThreads {wt}");
                    let mut run =
                        start_flood(paths, flavor, &globals, s.dispatch_count, 1000, 0, false)?;
                    let (flood, c, _) = run.run(s.dispatch_count, Duration::from_secs(120))?;
                    if c.count == 0 {
                        return Err("the writer counted nothing".into());
                    }
                    let st = run.daemon.status()?;
                    let secs = c.last_write_ns.saturating_sub(flood.start_ns) as f64 / 1e9;
                    Ok(vec![
                        c.count as f64 / secs.max(1e-9),
                        flood.dispatched.saturating_sub(c.count) as f64,
                        st.vm_hwm_kib as f64 / MIB,
                    ])
                })();
                match result {
                    Ok(v) => {
                        for (m, x) in metrics.iter().zip(v) {
                            acc.add(&w, m, who, x);
                        }
                    }
                    Err(e) => acc.fail(&w, &metrics, who, &e),
                }
            }
        }
        acc.note(
            &w,
            &RATE,
            format!(
                "{} value lists over 1000 series; rate = written / (last write - flood start)",
                s.dispatch_count
            ),
        );
        acc.into_report(report);
    }
}

// ------------------------------------------------------------------- reload

/// Reload of the default plugin set: rcollectd's SIGHUP (config test in a
/// child, orderly shutdown, re-exec, rate state restored) until the new
/// process is collecting again, against what collectd offers instead, a
/// restart (SIGTERM, exit, start until it is collecting again).
pub fn reload(paths: &Paths, s: &Settings, report: &mut Report) {
    const TIME: Metric = ("reload_or_restart", "ms", Some(Goal::AbsBelow(1000.0)));
    let w = "reload-default-config";
    let metrics = [TIME];
    let mut acc = Acc::default();
    acc.declare(w, &metrics);
    for r in 0..s.rounds {
        for (flavor, who) in order(r) {
            eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
            let result = (|| -> Result<f64, String> {
                let scratch = Scratch::new(paths, &format!("reload-{}", flavor.label()))?;
                let mut plugins: Vec<&str> = DEFAULT_SET.to_vec();
                plugins.push("csv");
                let mut body = String::new();
                for p in &plugins {
                    body.push_str(&format!("LoadPlugin {p}\n"));
                }
                body.push_str(&format!(
                    "<Plugin csv>\n  DataDir \"{}\"\n</Plugin>\n",
                    scratch.path.join("csv").display()
                ));
                let ready = "Initialization complete";
                let count = |d: &Running| {
                    fs::read_to_string(d.dir.join("daemon.log"))
                        .unwrap_or_default()
                        .matches(ready)
                        .count()
                };
                let start = |dir: &Path| {
                    Running::start(paths, flavor, dir, &plugins, "Interval 10", &body, |d| {
                        count(d) >= 1
                    })
                };
                let mut daemon = start(&scratch.path)?;
                let t0 = Instant::now();
                match flavor {
                    Flavor::Collectd => {
                        daemon.stop(Duration::from_secs(20));
                        let again = Scratch::new(paths, "reload-collectd-again")?;
                        let restarted = start(&again.path)?;
                        let took = t0.elapsed();
                        drop(restarted);
                        Ok(took.as_secs_f64() * 1000.0)
                    }
                    _ => {
                        daemon.signal(libc::SIGHUP);
                        let deadline = t0 + Duration::from_secs(30);
                        while count(&daemon) < 2 {
                            daemon.check_alive()?;
                            if Instant::now() > deadline {
                                return Err(format!(
                                    "no second start within 30 s; log ends:\n{}",
                                    daemon.log_tail(15)
                                ));
                            }
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Ok(t0.elapsed().as_secs_f64() * 1000.0)
                    }
                }
            })();
            match result {
                Ok(v) => acc.add(w, &TIME, who, v),
                Err(e) => acc.fail(w, &metrics, who, &e),
            }
        }
    }
    acc.note(
        w,
        &TIME,
        "rcollectd: SIGHUP until the re-executed daemon logs `Initialization complete`; \
         collectd 5.12 cannot reload: SIGTERM, exit and a new start until it logs the same"
            .into(),
    );
    acc.into_report(report);
}

// -------------------------------------------------------------------- cache

/// Cache scale: RSS per cached series for BENCH_CACHE_SERIES distinct
/// series, and the time a flush of every writer takes with them cached.
pub fn cache(paths: &Paths, s: &Settings, report: &mut Report) {
    const BYTES: Metric = ("bytes_per_series", "B", Some(Goal::RatioAtMost(0.5)));
    const FLUSH: Metric = ("flush_sigusr1_to_done", "ms", None);
    const WALK: Metric = ("flush_cache_walk", "ms", None);
    const NAMES: Metric = ("series_listed_by_uc_get_names", "count", None);
    let metrics = [BYTES, FLUSH, WALK, NAMES];
    let w = format!("cache-{}series", s.cache_series);
    let mut acc = Acc::default();
    acc.declare(&w, &metrics);
    for r in 0..s.rounds {
        for (flavor, who) in order(r) {
            eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
            let result = (|| -> Result<Vec<f64>, String> {
                let n = s.cache_series;
                let mut run = start_flood(paths, flavor, "Interval 1", n, n, s.cache_rate, true)?;
                std::thread::sleep(Duration::from_secs(1));
                let before = run.daemon.status()?.vm_rss_kib;
                let (_, c, capped) = run.run(n, Duration::from_secs(180))?;
                if capped || c.count < n {
                    return Err(format!("only {} of {n} series were written", c.count));
                }
                std::thread::sleep(Duration::from_secs(1));
                let after = run.daemon.status()?.vm_rss_kib;
                let t0 = mono_ns();
                run.daemon.signal(libc::SIGUSR1);
                let deadline = Instant::now() + Duration::from_secs(60);
                let flushed = loop {
                    run.daemon.check_alive()?;
                    if let Some(c) = read_counts(&run.count_file) {
                        if c.flushes >= 1 && c.flush_end_ns >= t0 {
                            break c;
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(
                            "SIGUSR1 did not reach the writer's flush callback within 60 s".into(),
                        );
                    }
                    std::thread::sleep(Duration::from_millis(5));
                };
                Ok(vec![
                    after.saturating_sub(before) as f64 * 1024.0 / n as f64,
                    flushed.flush_end_ns.saturating_sub(t0) as f64 / 1e6,
                    flushed.flush_end_ns.saturating_sub(flushed.flush_start_ns) as f64 / 1e6,
                    flushed.flush_names as f64,
                ])
            })();
            match result {
                Ok(v) => {
                    for (m, x) in metrics.iter().zip(v) {
                        acc.add(&w, m, who, x);
                    }
                }
                Err(e) => acc.fail(&w, &metrics, who, &e),
            }
        }
    }
    acc.note(
        &w,
        &BYTES,
        format!(
            "(VmRSS after all are written - VmRSS before) / series; dispatched at {}/s by dispatch_flood",
            s.cache_rate
        ),
    );
    acc.note(
        &w,
        &WALK,
        "count_writer's flush callback lists the whole cache with uc_get_names()".into(),
    );
    acc.into_report(report);
}

// ------------------------------------------------------------------- scrape

/// One GET of `path` on 127.0.0.1:`port` with `accept`; the body's length.
fn http_get_len(port: u16, accept: &str) -> Result<usize, String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: {accept}\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let head = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header in the reply")?;
    if !raw.starts_with(b"HTTP/1.1 200") && !raw.starts_with(b"HTTP/1.0 200") {
        return Err(String::from_utf8_lossy(&raw[..head]).into_owned());
    }
    Ok(raw.len() - head - 4)
}

/// write_prometheus serving many series: how long a scrape takes (text and
/// protobuf), its size, and the daemon's RSS growth for them. Side by side
/// at 10,000 series; rcollectd alone at BENCH_SCRAPE_SERIES (default
/// 100,000), where collectd's plugin cannot keep up: it sorts a family's
/// whole metric array (qsort) for every new series, O(n² log n) to fill.
pub fn scrape(paths: &Paths, s: &Settings, report: &mut Report) {
    scrape_at(paths, s, 10_000, true, report);
    let n = s.scrape_series.max(1);
    if n != 10_000 {
        scrape_at(paths, s, n, false, report);
    }
}

fn scrape_at(paths: &Paths, s: &Settings, n: u64, compare: bool, report: &mut Report) {
    let goal = |ratio: f64, abs: f64| {
        Some(if compare {
            Goal::RatioAtMost(ratio)
        } else {
            Goal::AbsBelow(abs)
        })
    };
    let text: Metric = ("scrape_text", "ms", goal(1.0, 250.0));
    let proto: Metric = ("scrape_protobuf", "ms", goal(1.0, 250.0));
    let bytes: Metric = ("scrape_text_size", "KiB", None);
    let rss: Metric = ("rss_growth", "MiB", None);
    let metrics = [text.clone(), proto, bytes, rss];
    let w = format!("write_prometheus-{n}series");
    let mut acc = Acc::default();
    acc.declare(&w, &metrics);
    for r in 0..s.rounds {
        for (flavor, who) in order(r) {
            if !compare && flavor == Flavor::Collectd {
                continue;
            }
            eprintln!("{w} round {}/{}: {}", r + 1, s.rounds, flavor.label());
            let result = (|| -> Result<Vec<f64>, String> {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(|e| e.to_string())?
                    .port();
                let body = format!(
                    "LoadPlugin write_prometheus\n<Plugin write_prometheus>\n  Host \"127.0.0.1\"\n  Port \"{port}\"\n</Plugin>\n"
                );
                let mut run = start_flood_with(
                    paths,
                    flavor,
                    "Interval 10\nTimeout 1000",
                    n,
                    n,
                    s.cache_rate,
                    false,
                    &["write_prometheus"],
                    &body,
                )?;
                let before = run.daemon.status()?.vm_rss_kib;
                let (_, c, capped) = run.run(n, Duration::from_secs(180))?;
                if capped || c.count < n {
                    return Err(format!("only {} of {n} series were written", c.count));
                }
                let time = |accept: &str| -> Result<(f64, usize), String> {
                    let mut best = f64::MAX;
                    let mut size = 0;
                    for _ in 0..5 {
                        let t = Instant::now();
                        size = http_get_len(port, accept)?;
                        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok((best, size))
                };
                let (text_ms, text_size) = time("text/plain")?;
                let (proto_ms, _) = time(
                    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                )?;
                let after = run.daemon.status()?.vm_rss_kib;
                Ok(vec![
                    text_ms,
                    proto_ms,
                    text_size as f64 / 1024.0,
                    after.saturating_sub(before) as f64 / MIB,
                ])
            })();
            match result {
                Ok(v) => {
                    for (m, x) in metrics.iter().zip(v) {
                        acc.add(&w, m, who, x);
                    }
                }
                Err(e) => acc.fail(&w, &metrics, who, &e),
            }
        }
    }
    let who = if compare {
        "rcollectd: its own write_prometheus; collectd: Debian's write_prometheus.so"
    } else {
        "rcollectd alone: collectd's write_prometheus needs minutes to take this many series"
    };
    acc.note(
        &w,
        &text,
        format!(
            "{n} distinct gauges dispatched by dispatch_flood, then the best of 5 GETs of /metrics ({who})"
        ),
    );
    acc.into_report(report);
}

// --------------------------------------------------------------------- soak

/// Soak: the default read plugins plus a receiver at half its measured
/// capacity (measured first with the same config) for SOAK_MINUTES. Fails
/// if RSS grows by 5 % or more after the first minute, or if any value list
/// is lost between sender and writer. The csv writer is left out: writing
/// every received series to disk would make this a disk benchmark.
pub fn soak(paths: &Paths, s: &Settings) -> Result<(), String> {
    let flavor = s.soak_flavor;
    let mut load = Load::new(200, Security::None)?;
    let plugins: Vec<&str> = DEFAULT_SET.to_vec();
    let mut extra = String::new();
    for p in &plugins {
        extra.push_str(&format!("LoadPlugin {p}\n"));
    }
    extra.push_str(
        "<Plugin df>\n  FSType tmpfs\n  FSType devtmpfs\n  FSType overlay\n  IgnoreSelected true\n</Plugin>\n",
    );
    eprintln!(
        "soak: measuring {}'s receive capacity (5 s at full speed, same config)",
        flavor.label()
    );
    let capacity = {
        let mut rx = start_receiver(paths, flavor, Security::None, &plugins, &extra, 1)?;
        let run = full_speed(&mut rx, &mut load, 5, s.drain_cap)?;
        rx.daemon.stop(Duration::from_secs(3));
        run.rate
    };
    let pps = ((capacity * 0.5) / load.per_packet()).floor().max(1.0) as u64;
    eprintln!(
        "soak: capacity {:.0} value lists/s; sending {} packets/s ({:.0} value lists/s) for {} min",
        capacity,
        pps,
        pps as f64 * load.per_packet(),
        s.soak_minutes
    );
    let mut rx = start_receiver(paths, flavor, Security::None, &plugins, &extra, 1)?;
    let sock = sender_socket()?;
    let total = Duration::from_secs(s.soak_minutes.max(1) * 60);
    let started = Instant::now();
    let mut sent_vls = 0u64;
    let mut baseline: Option<u64> = None;
    loop {
        let left = total.saturating_sub(started.elapsed());
        if left < Duration::from_secs(1) {
            break;
        }
        let sent = load.send(
            &sock,
            addr(rx.port),
            Some(pps),
            left.min(Duration::from_secs(10)),
            u64::MAX,
        );
        sent_vls += sent.value_lists;
        rx.daemon.check_alive()?;
        let rss = rx.daemon.status()?.vm_rss_kib;
        if baseline.is_none() && started.elapsed() >= Duration::from_secs(60) {
            baseline = Some(rss);
        }
        eprintln!(
            "soak: t={:>4} s  RSS {:.1} MiB  sent {} value lists",
            started.elapsed().as_secs(),
            rss as f64 / MIB,
            sent_vls
        );
    }
    let (c, _) = wait_drained(
        &mut rx.daemon,
        &rx.count_file,
        sent_vls,
        Duration::from_secs(3),
        Duration::from_secs(s.drain_cap),
        |_| {},
    )?;
    let drops = procfs::udp_socket_of(rx.daemon.pid(), rx.port)
        .map(|u| u.drops)
        .unwrap_or(0);
    let end_rss = rx.daemon.status()?.vm_rss_kib;
    let mut violations = Vec::new();
    match baseline {
        Some(b) => {
            let growth = (end_rss as f64 - b as f64) / b as f64 * 100.0;
            eprintln!(
                "soak: RSS after the first minute {:.1} MiB, at the end {:.1} MiB ({growth:+.2} %)",
                b as f64 / MIB,
                end_rss as f64 / MIB
            );
            if growth >= 5.0 {
                violations.push(format!(
                    "RSS grew {growth:.2} % after the first minute (limit 5 %)"
                ));
            }
        }
        None => violations
            .push("no RSS reading after the first minute (SOAK_MINUTES must be >= 2)".into()),
    }
    eprintln!(
        "soak: sent {sent_vls} value lists, writer counted {}, kernel drops {drops}",
        c.count
    );
    if c.count != sent_vls {
        violations.push(format!(
            "sent {sent_vls} value lists but the writer counted {} (kernel drops: {drops})",
            c.count
        ));
    }
    rx.daemon.stop(Duration::from_secs(5));
    if violations.is_empty() {
        eprintln!("soak: PASS ({} for {} min)", flavor.label(), s.soak_minutes);
        Ok(())
    } else {
        Err(format!("soak FAILED: {}", violations.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    //! The harness against the real collectd 5.12 only (speed is never
    //! asserted): the C plugins load and count exactly, and collectd accepts
    //! the load generator's plain and encrypted packets.
    use super::*;

    fn test_paths(tmp: &Path) -> Paths {
        let mut p = Paths::from_env();
        p.target = tmp.to_path_buf();
        p.c_plugins = tmp.join("c-plugins");
        assert!(
            p.collectd.is_file(),
            "{} is missing: install collectd 5.12 (scripts/install-deps.sh)",
            p.collectd.display()
        );
        p.build_c_plugins()
            .expect("compile the benchmark C plugins");
        p
    }

    #[test]
    fn flood_and_counter_agree_in_collectd() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = test_paths(tmp.path());
        let mut run = start_flood(&paths, Flavor::Collectd, "Interval 1", 20_000, 500, 0, true)
            .expect("collectd starts with the benchmark plugins");
        let (flood, c, capped) = run.run(20_000, Duration::from_secs(30)).unwrap();
        assert!(!capped);
        assert_eq!((flood.dispatched, flood.failed), (20_000, 0));
        assert_eq!(c.count, 20_000);
        assert!(c.last_write_ns >= flood.start_ns);
        // SIGUSR1 reaches the flush callback, which lists the 500 series.
        run.daemon.signal(libc::SIGUSR1);
        let flushed = (0..200).find_map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            read_counts(&run.count_file).filter(|c| c.flushes >= 1)
        });
        assert_eq!(flushed.expect("flush seen").flush_names, 500);
    }

    #[test]
    fn collectd_receives_every_packet_plain_and_encrypted() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = test_paths(tmp.path());
        for security in [Security::None, Security::Encrypt] {
            let mut rx = start_receiver(&paths, Flavor::Collectd, security, &[], "", 10)
                .expect("collectd receiver starts");
            let mut load = Load::new(4, security).unwrap();
            let sock = sender_socket().unwrap();
            let sent = load.send(&sock, addr(rx.port), Some(500), Duration::from_secs(5), 40);
            assert_eq!(sent.packets, 40);
            let (c, capped) = wait_drained(
                &mut rx.daemon,
                &rx.count_file,
                sent.value_lists,
                Duration::from_secs(3),
                Duration::from_secs(15),
                |_| {},
            )
            .unwrap();
            assert!(!capped);
            assert_eq!(c.count, sent.value_lists, "{security:?}");
            let sock_info = procfs::udp_socket_of(rx.daemon.pid(), rx.port).expect("socket found");
            assert_eq!(sock_info.drops, 0);
        }
    }

    #[test]
    fn missing_daemon_fails_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        let mut paths = test_paths(tmp.path());
        paths.rcollectd = tmp.path().join("no-such-rcollectd");
        let err = start_flood(&paths, Flavor::Rcollectd, "Interval 1", 10, 10, 0, false)
            .err()
            .expect("a missing binary is an error");
        assert!(err.contains("is missing"), "{err}");
    }

    #[test]
    fn daemon_that_exits_at_startup_fails_with_its_log() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = test_paths(tmp.path());
        let scratch = Scratch::new(&paths, "bad-config").unwrap();
        let err = Running::start(
            &paths,
            Flavor::Collectd,
            &scratch.path,
            &[],
            "Interval 1",
            "LoadPlugin no_such_plugin_here\n<Plugin\n",
            |_| false,
        )
        .err()
        .expect("a broken config is an error");
        assert!(err.contains("exited during startup"), "{err}");
    }

    #[test]
    fn knobs_parse_or_fail_clearly() {
        assert_eq!(parse_u64("BENCH_ROUNDS", None, 3), Ok(3));
        assert_eq!(parse_u64("BENCH_ROUNDS", Some(" 5 "), 3), Ok(5));
        let err = parse_u64("BENCH_ROUNDS", Some("five"), 3).unwrap_err();
        assert!(
            err.contains("BENCH_ROUNDS") && err.contains("five"),
            "{err}"
        );
        assert!(parse_u64("BENCH_SECONDS", Some("-1"), 3).is_err());
    }
}
