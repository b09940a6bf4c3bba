//! Readers for the few /proc files the benchmarks measure with: memory and
//! threads (`/proc/<pid>/status`), CPU time (`/proc/<pid>/stat` in clock
//! ticks, `/proc/<pid>/task/*/schedstat` in nanoseconds) and UDP receive
//! drops (`/proc/net/udp`). Parsing is separate from reading so it
//! can be tested against fixtures.

use std::collections::{BTreeMap, HashSet};
use std::fs;

/// Memory and thread figures of one process, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// Resident set size now (`VmRSS`), KiB.
    pub vm_rss_kib: u64,
    /// Peak resident set size (`VmHWM`), KiB.
    pub vm_hwm_kib: u64,
    /// Number of threads (`Threads`).
    pub threads: u64,
}

/// Private and proportional memory of one process, from
/// `/proc/<pid>/smaps_rollup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rollup {
    /// Unique set size: `Private_Clean` + `Private_Dirty`, KiB.
    pub uss_kib: u64,
    /// Proportional set size (`Pss`), KiB.
    pub pss_kib: u64,
}

/// Parses the text of `/proc/<pid>/smaps_rollup`.
pub fn parse_rollup(text: &str) -> Result<Rollup, String> {
    let mut r = Rollup::default();
    let mut seen = 0;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let n = || value.split_whitespace().next().unwrap_or("").parse::<u64>();
        match key {
            "Pss" => {
                r.pss_kib = n().map_err(|_| format!("bad line {line:?}"))?;
                seen += 1;
            }
            "Private_Clean" | "Private_Dirty" => {
                r.uss_kib += n().map_err(|_| format!("bad line {line:?}"))?;
                seen += 1;
            }
            _ => {}
        }
    }
    if seen < 3 {
        return Err("smaps_rollup lacks Pss or Private_* lines".into());
    }
    Ok(r)
}

/// Reads `/proc/<pid>/smaps_rollup`.
pub fn rollup(pid: u32) -> Result<Rollup, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .map_err(|e| format!("read /proc/{pid}/smaps_rollup: {e}"))?;
    parse_rollup(&text)
}

/// Parses the text of `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> Result<Status, String> {
    let mut rss = None;
    let mut hwm = None;
    let mut threads = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || -> Result<u64, String> {
            let first = value.split_whitespace().next().unwrap_or("");
            first
                .parse::<u64>()
                .map_err(|_| format!("bad number in status line {line:?}"))
        };
        match key {
            "VmRSS" => rss = Some(number()?),
            "VmHWM" => hwm = Some(number()?),
            "Threads" => threads = Some(number()?),
            _ => {}
        }
    }
    match (rss, hwm, threads) {
        (Some(vm_rss_kib), Some(vm_hwm_kib), Some(threads)) => Ok(Status {
            vm_rss_kib,
            vm_hwm_kib,
            threads,
        }),
        _ => Err("status lacks VmRSS, VmHWM or Threads (process gone?)".into()),
    }
}

/// CPU time and thread count of one process, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// User CPU time, clock ticks (field 14).
    pub utime_ticks: u64,
    /// System CPU time, clock ticks (field 15).
    pub stime_ticks: u64,
    /// Threads (field 20).
    pub num_threads: u64,
}

impl Stat {
    /// User plus system time in seconds, given the clock tick rate.
    pub fn cpu_seconds(&self, ticks_per_second: u64) -> f64 {
        (self.utime_ticks + self.stime_ticks) as f64 / ticks_per_second.max(1) as f64
    }
}

/// Parses the text of `/proc/<pid>/stat`; the command name may hold spaces
/// and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<Stat, String> {
    let close = text
        .rfind(')')
        .ok_or_else(|| "stat has no ')' after the command name".to_string())?;
    // Fields after the command: index 0 is field 3 (state).
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Result<u64, String> {
        rest.get(n - 3)
            .ok_or_else(|| format!("stat has no field {n}"))?
            .parse::<u64>()
            .map_err(|_| format!("stat field {n} is not a number"))
    };
    Ok(Stat {
        utime_ticks: field(14)?,
        stime_ticks: field(15)?,
        num_threads: field(20)?,
    })
}

/// One socket line of `/proc/net/udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpSocket {
    /// Local port.
    pub local_port: u16,
    /// Bytes waiting in the receive queue.
    pub rx_queue: u64,
    /// Socket inode, as in `/proc/<pid>/fd/* -> socket:[inode]`.
    pub inode: u64,
    /// Datagrams the kernel dropped for this socket (full receive buffer).
    pub drops: u64,
}

/// Parses `/proc/net/udp` (or `udp6`); lines that do not parse are skipped.
pub fn parse_net_udp(text: &str) -> Vec<UdpSocket> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 13 {
            continue;
        }
        let Some((_, port_hex)) = f[1].rsplit_once(':') else {
            continue;
        };
        let Some((_, rx_hex)) = f[4].split_once(':') else {
            continue;
        };
        let (Ok(local_port), Ok(rx_queue), Ok(inode), Ok(drops)) = (
            u16::from_str_radix(port_hex, 16),
            u64::from_str_radix(rx_hex, 16),
            f[9].parse::<u64>(),
            f[12].parse::<u64>(),
        ) else {
            continue;
        };
        out.push(UdpSocket {
            local_port,
            rx_queue,
            inode,
            drops,
        });
    }
    out
}

/// Extracts the inode from a `/proc/<pid>/fd` link target `socket:[N]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Reads and parses `/proc/<pid>/status`.
pub fn status(pid: u32) -> Result<Status, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("read /proc/{pid}/status: {e}"))?;
    parse_status(&text)
}

/// Reads and parses `/proc/<pid>/stat`.
pub fn stat(pid: u32) -> Result<Stat, String> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("read /proc/{pid}/stat: {e}"))?;
    parse_stat(&text)
}

/// Parses a `schedstat` line: nanoseconds on the CPU (its first field).
pub fn parse_schedstat(text: &str) -> Result<u64, String> {
    text.split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("schedstat without a run time: {text:?}"))
}

/// Nanoseconds each live thread of `pid` has spent on a CPU, by thread id.
/// Exact where `/proc/<pid>/stat` counts 10 ms ticks, which an idle daemon
/// collects only a few of per minute.
pub fn thread_cpu_ns(pid: u32) -> Result<BTreeMap<u32, u64>, String> {
    let dir = format!("/proc/{pid}/task");
    let entries = fs::read_dir(&dir).map_err(|e| format!("read {dir}: {e}"))?;
    let mut out = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A thread that exits meanwhile is simply not counted.
        if let Ok(text) = fs::read_to_string(entry.path().join("schedstat")) {
            out.insert(tid, parse_schedstat(&text)?);
        }
    }
    if out.is_empty() {
        return Err(format!("no thread of {pid} has a schedstat"));
    }
    Ok(out)
}

/// CPU seconds the threads spent between two [`thread_cpu_ns`] readings;
/// `None` if a thread of the first reading is gone (its time would be lost).
pub fn thread_cpu_delta(before: &BTreeMap<u32, u64>, after: &BTreeMap<u32, u64>) -> Option<f64> {
    if before.keys().any(|tid| !after.contains_key(tid)) {
        return None;
    }
    let ns: u64 = after
        .iter()
        .map(|(tid, t)| t.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum();
    Some(ns as f64 / 1e9)
}

/// Clock ticks per second for `/proc/<pid>/stat` times.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions and only reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Inodes of every socket the process holds open.
pub fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut out = HashSet::new();
    if let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in entries.flatten() {
            if let Ok(target) = fs::read_link(entry.path()) {
                if let Some(inode) = socket_inode(&target.to_string_lossy()) {
                    out.insert(inode);
                }
            }
        }
    }
    out
}

/// The UDP socket bound to `port` that belongs to process `pid` (matched by
/// inode), or any socket on that port if the process's fds cannot be read.
pub fn udp_socket_of(pid: u32, port: u16) -> Option<UdpSocket> {
    let mut all = Vec::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = fs::read_to_string(file) {
            all.extend(parse_net_udp(&text));
        }
    }
    let inodes = socket_inodes(pid);
    let on_port = all.iter().filter(|s| s.local_port == port);
    if inodes.is_empty() {
        return on_port.copied().next();
    }
    on_port
        .filter(|s| inodes.contains(&s.inode))
        .copied()
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_and_thread_deltas() {
        assert_eq!(parse_schedstat("470225 0 1\n"), Ok(470225));
        assert!(parse_schedstat("").is_err());
        let before = BTreeMap::from([(1, 1_000_000_000), (2, 500)]);
        let mut after = BTreeMap::from([(1, 1_250_000_000), (2, 500), (3, 250_000_000)]);
        assert_eq!(thread_cpu_delta(&before, &after), Some(0.5));
        after.remove(&2);
        assert_eq!(thread_cpu_delta(&before, &after), None);
        let own = thread_cpu_ns(std::process::id()).unwrap();
        assert!(own.contains_key(&std::process::id()));
    }

    #[test]
    fn status_fixture() {
        let s = parse_status(include_str!("../fixtures/proc_status_daemon.txt")).unwrap();
        assert_eq!(
            s,
            Status {
                vm_rss_kib: 18132,
                vm_hwm_kib: 19284,
                threads: 12
            }
        );
    }

    #[test]
    fn status_of_a_zombie_is_an_error() {
        let err = parse_status("Name:\tcollectd\nState:\tZ (zombie)\nThreads:\t1\n").unwrap_err();
        assert!(err.contains("VmRSS"), "{err}");
        assert!(parse_status("VmRSS:\tlots kB\nVmHWM:\t1 kB\nThreads:\t1\n").is_err());
    }

    #[test]
    fn stat_fixture_with_parentheses_in_name() {
        let s = parse_stat(include_str!("../fixtures/proc_stat.txt")).unwrap();
        assert_eq!(
            s,
            Stat {
                utime_ticks: 1234,
                stime_ticks: 567,
                num_threads: 12
            }
        );
        assert!((s.cpu_seconds(100) - 18.01).abs() < 1e-9);
    }

    #[test]
    fn stat_truncated_is_an_error() {
        assert!(parse_stat("1 (x) S 1 2 3").is_err());
        assert!(parse_stat("no parenthesis").is_err());
    }

    #[test]
    fn net_udp_fixture() {
        let socks = parse_net_udp(include_str!("../fixtures/net_udp.txt"));
        assert_eq!(socks.len(), 3);
        assert_eq!(
            socks[0],
            UdpSocket {
                local_port: 25826,
                rx_queue: 0x34200,
                inode: 4711,
                drops: 1234
            }
        );
        assert_eq!(socks[1].local_port, 68);
        assert_eq!(socks[2].drops, 7);
        assert_eq!(socks[2].inode, 9999);
    }

    #[test]
    fn net_udp_skips_garbage() {
        assert!(parse_net_udp("header\n garbage line\n1: x y\n").is_empty());
    }

    #[test]
    fn socket_link_targets() {
        assert_eq!(socket_inode("socket:[4711]"), Some(4711));
        assert_eq!(socket_inode("pipe:[4711]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn own_process_is_readable() {
        let me = std::process::id();
        let s = status(me).unwrap();
        assert!(s.vm_rss_kib > 0 && s.vm_hwm_kib >= s.vm_rss_kib && s.threads >= 1);
        assert!(stat(me).unwrap().num_threads >= 1);
    }

    #[test]
    fn rollup_sums_private_pages() {
        let text = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 3000 kB\nPss: 1500 kB\nPss_Anon: 900 kB\nPrivate_Clean: 200 kB\nPrivate_Dirty: 1100 kB\n";
        assert_eq!(
            parse_rollup(text).unwrap(),
            Rollup {
                uss_kib: 1300,
                pss_kib: 1500
            }
        );
        assert!(parse_rollup("Rss: 1 kB\n").is_err());
    }
}
