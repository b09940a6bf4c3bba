//! Pure part of the processes plugin: `/proc/<pid>` files of a `/proc`
//! tree to the per-selection totals and value lists collectd reports.

use rcollectd_plugin::Value;
use rcollectd_plugin_common::{atoll, split_fields, Metric, PosixRegex};
use std::path::{Path, PathBuf};

/// collectd uses a compile-time `CONFIG_HZ` of 100 (Linux's `USER_HZ`,
/// the unit of /proc/<pid>/stat times) to turn jiffies into microseconds.
const CONFIG_HZ: i64 = 100;
/// collectd keeps process names in 256-byte buffers.
const NAME_MAX: usize = 255;
/// collectd reads at most 4096 bytes of a command line.
const CMDLINE_MAX: usize = 4096;

/// What one read learns about one process (collectd's `process_entry_t`).
#[derive(Debug, Clone, Default)]
struct Entry {
    id: u64,
    name: String,
    num_proc: u64,
    num_lwp: u64,
    num_fd: u64,
    num_maps: u64,
    vmem_size: u64,
    vmem_rss: u64,
    vmem_data: u64,
    vmem_code: u64,
    stack_size: u64,
    minflt: i64,
    majflt: i64,
    cpu_user: i64,
    cpu_system: i64,
    /// rchar, wchar, syscr, syscw, read_bytes, write_bytes; -1 = unknown.
    io: [i64; 6],
    cswitch_vol: i64,
    cswitch_invol: i64,
    has_io: bool,
    has_cswitch: bool,
    has_fd: bool,
    has_maps: bool,
}

/// Per-process counters remembered between reads, so a selection's
/// counters grow by each member's increase (collectd's `procstat_entry_t`).
#[derive(Debug, Clone)]
struct Instance {
    id: u64,
    age: u8,
    minflt: i64,
    majflt: i64,
    cpu_user: i64,
    cpu_system: i64,
    io: [i64; 6],
    cswitch_vol: i64,
    cswitch_invol: i64,
}

/// A `Process` or `ProcessMatch` selection and its running totals.
#[derive(Debug)]
pub struct Selection {
    name: String,
    re: Option<PosixRegex>,
    report_fd_num: bool,
    report_maps_num: bool,
    report_ctx_switch: bool,
    num_proc: u64,
    num_lwp: u64,
    num_fd: u64,
    num_maps: u64,
    vmem_size: u64,
    vmem_rss: u64,
    vmem_data: u64,
    vmem_code: u64,
    stack_size: u64,
    minflt: i64,
    majflt: i64,
    cpu_user: i64,
    cpu_system: i64,
    io: [i64; 6],
    cswitch_vol: i64,
    cswitch_invol: i64,
    instances: Vec<Instance>,
}

impl Selection {
    fn matches(&self, name: &str, cmdline: Option<&str>) -> bool {
        match &self.re {
            Some(re) => {
                let s = match cmdline {
                    Some(c) if !c.is_empty() => c,
                    _ => name,
                };
                re.is_match(s)
            }
            None => self.name == name,
        }
    }
}

/// The plugin: its options and the state it keeps between reads.
#[derive(Debug)]
pub struct Processes {
    selections: Vec<Selection>,
    report_ctx_switch: bool,
    report_fd_num: bool,
    report_maps_num: bool,
    want_init: bool,
    proc_root: PathBuf,
    pagesize: u64,
}

/// Per-selection switches given inside a `<Process>` block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// `CollectContextSwitch` inside the block, if given.
    pub ctx_switch: Option<bool>,
    /// `CollectFileDescriptor` inside the block, if given.
    pub fd: Option<bool>,
    /// `CollectMemoryMaps` inside the block, if given.
    pub maps: Option<bool>,
}

impl Processes {
    /// A plugin reading `proc_root` (normally `/proc`) with the given page size.
    pub fn new(proc_root: impl Into<PathBuf>, pagesize: u64) -> Self {
        Processes {
            selections: Vec::new(),
            report_ctx_switch: false,
            report_fd_num: false,
            report_maps_num: false,
            want_init: true,
            proc_root: proc_root.into(),
            pagesize,
        }
    }

    /// The global `CollectContextSwitch`, `CollectFileDescriptor` and
    /// `CollectMemoryMaps` options. As in collectd they set the default for
    /// selections configured *after* them.
    pub fn set_global(&mut self, key: &str, on: bool) -> Result<(), String> {
        match key.to_ascii_lowercase().as_str() {
            "collectcontextswitch" => self.report_ctx_switch = on,
            "collectfiledescriptor" => self.report_fd_num = on,
            "collectmemorymaps" => self.report_maps_num = on,
            _ => return Err(format!("option {key:?} is not understood")),
        }
        Ok(())
    }

    /// Adds a `Process name` (regex `None`) or `ProcessMatch name regex`
    /// selection. A duplicate name or a bad regex is an error and the
    /// selection is not added (collectd also keeps the first one).
    pub fn add_selection(
        &mut self,
        name: &str,
        regex: Option<&str>,
        tuning: Tuning,
    ) -> Result<(), String> {
        if self.selections.iter().any(|s| s.name == name) {
            return Err(format!(
                "more than one `Process' or `ProcessMatch' named {name:?}; all but the first are ignored"
            ));
        }
        let re = regex.map(PosixRegex::new).transpose()?;
        let mut name = name.to_owned();
        truncate_utf8(&mut name, NAME_MAX);
        self.selections.push(Selection {
            name,
            re,
            report_fd_num: tuning.fd.unwrap_or(self.report_fd_num),
            report_maps_num: tuning.maps.unwrap_or(self.report_maps_num),
            report_ctx_switch: tuning.ctx_switch.unwrap_or(self.report_ctx_switch),
            num_proc: 0,
            num_lwp: 0,
            num_fd: 0,
            num_maps: 0,
            vmem_size: 0,
            vmem_rss: 0,
            vmem_data: 0,
            vmem_code: 0,
            stack_size: 0,
            minflt: 0,
            majflt: 0,
            cpu_user: 0,
            cpu_system: 0,
            io: [-1; 6],
            cswitch_vol: -1,
            cswitch_invol: -1,
            instances: Vec::new(),
        });
        Ok(())
    }

    /// Whether a selection of this name exists (collectd keeps the first).
    pub fn has_selection(&self, name: &str) -> bool {
        self.selections.iter().any(|s| s.name == name)
    }

    fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.proc_root.join(rel)
    }

    /// One read: scans the process table and returns the value lists in
    /// collectd's order (states, then each selection, then fork_rate).
    pub fn read(&mut self) -> Result<Vec<Metric>, String> {
        self.reset();
        let dir = std::fs::read_dir(&self.proc_root)
            .map_err(|e| format!("Cannot open `{}': {e}", self.proc_root.display()))?;
        let mut pids: Vec<u64> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let n = e.file_name();
                let n = n.to_str()?;
                n.starts_with(|c: char| c.is_ascii_digit())
                    .then(|| atoll(n))
                    .filter(|p| *p >= 1)
                    .map(|p| p as u64)
            })
            .collect();
        pids.sort_unstable();

        let (mut sleeping, mut zombies, mut stopped, mut paging, mut blocked) = (0, 0, 0, 0, 0);
        for pid in pids {
            let Some((mut entry, state)) = self.read_process(pid) else {
                continue;
            };
            match state {
                b'S' => sleeping += 1,
                b'D' => blocked += 1,
                b'Z' => zombies += 1,
                b'T' => stopped += 1,
                b'W' => paging += 1,
                // 'R' is counted from /proc/stat below; 'I' and others not at all.
                _ => {}
            }
            let cmdline = self.cmdline(pid, &entry.name);
            let name = entry.name.clone();
            self.list_add(&name, cmdline.as_deref(), &mut entry);
        }

        let running = self.procs_running();
        let mut out = Vec::new();
        for (state, n) in [
            ("running", running),
            ("sleeping", sleeping),
            ("zombies", zombies),
            ("stopped", stopped),
            ("paging", paging),
            ("blocked", blocked),
        ] {
            out.push(Metric::gauge("", "ps_state", state, n as f64));
        }
        for s in &self.selections {
            submit_selection(s, &mut out);
        }
        if let Some(forks) = self.fork_count() {
            out.push(Metric::derive("", "fork_rate", "", forks));
        }
        self.want_init = false;
        Ok(out)
    }

    /// collectd's `ps_list_reset`: clears the gauges and forgets processes
    /// not seen in the previous read.
    fn reset(&mut self) {
        for s in &mut self.selections {
            s.num_proc = 0;
            s.num_lwp = 0;
            s.num_fd = 0;
            s.num_maps = 0;
            s.vmem_size = 0;
            s.vmem_rss = 0;
            s.vmem_data = 0;
            s.vmem_code = 0;
            s.stack_size = 0;
            s.instances.retain(|i| i.age == 0);
            for i in &mut s.instances {
                i.age = 1;
            }
        }
    }

    /// collectd's `ps_read_process`: parses `/proc/<pid>/stat` (and
    /// `status` for memory and thread counts). `None` if unreadable.
    fn read_process(&self, pid: u64) -> Option<(Entry, u8)> {
        let raw = std::fs::read(self.path(format!("{pid}/stat"))).ok()?;
        // collectd reads into a 1024-byte buffer.
        let raw = &raw[..raw.len().min(1023)];
        let (entry, state, need_status) = parse_stat(pid, raw, self.pagesize)?;
        let mut entry = entry;
        if need_status {
            match std::fs::read(self.path(format!("{pid}/status"))) {
                Ok(text) => apply_status(&mut entry, &String::from_utf8_lossy(&text)),
                Err(_) => {
                    // collectd stores -1 in these unsigned fields.
                    entry.vmem_data = u64::MAX;
                    entry.vmem_code = u64::MAX;
                }
            }
            if entry.num_lwp == 0 {
                entry.num_lwp = 1;
            }
        }
        Some((entry, state))
    }

    /// collectd's `ps_get_cmdline`: the NUL-separated arguments joined with
    /// spaces, `[name]` for processes without one (kernel threads, zombies),
    /// `None` if the file cannot be read.
    fn cmdline(&self, pid: u64, name: &str) -> Option<String> {
        use std::io::Read as _;
        let f = std::fs::File::open(self.path(format!("{pid}/cmdline"))).ok()?;
        let mut buf = Vec::with_capacity(256);
        // Like collectd, look at no more than its buffer holds.
        f.take(CMDLINE_MAX as u64).read_to_end(&mut buf).ok()?;
        Some(format_cmdline(&mut buf, name))
    }

    /// collectd's `ps_list_add`: adds a process to every selection it matches.
    fn list_add(&mut self, name: &str, cmdline: Option<&str>, entry: &mut Entry) {
        if entry.id == 0 {
            return;
        }
        let want_init = self.want_init;
        let root = self.proc_root.clone();
        for s in &mut self.selections {
            if !s.matches(name, cmdline) {
                continue;
            }
            fill_details(&root, s, entry);
            let idx = match s.instances.iter().position(|i| i.id == entry.id) {
                Some(i) => i,
                None => {
                    s.instances.push(Instance {
                        id: entry.id,
                        age: 0,
                        minflt: 0,
                        majflt: 0,
                        cpu_user: 0,
                        cpu_system: 0,
                        io: [0; 6],
                        cswitch_vol: 0,
                        cswitch_invol: 0,
                    });
                    s.instances.len() - 1
                }
            };
            let inst = &mut s.instances[idx];
            inst.age = 0;
            s.num_proc = s.num_proc.wrapping_add(entry.num_proc);
            s.num_lwp = s.num_lwp.wrapping_add(entry.num_lwp);
            s.num_fd = s.num_fd.wrapping_add(entry.num_fd);
            s.num_maps = s.num_maps.wrapping_add(entry.num_maps);
            s.vmem_size = s.vmem_size.wrapping_add(entry.vmem_size);
            s.vmem_rss = s.vmem_rss.wrapping_add(entry.vmem_rss);
            s.vmem_data = s.vmem_data.wrapping_add(entry.vmem_data);
            s.vmem_code = s.vmem_code.wrapping_add(entry.vmem_code);
            s.stack_size = s.stack_size.wrapping_add(entry.stack_size);
            for pair in [0, 2, 4] {
                if entry.io[pair] != -1 && entry.io[pair + 1] != -1 {
                    for k in [pair, pair + 1] {
                        update_counter(want_init, &mut s.io[k], &mut inst.io[k], entry.io[k]);
                    }
                }
            }
            if entry.cswitch_vol != -1 && entry.cswitch_invol != -1 {
                update_counter(
                    want_init,
                    &mut s.cswitch_vol,
                    &mut inst.cswitch_vol,
                    entry.cswitch_vol,
                );
                update_counter(
                    want_init,
                    &mut s.cswitch_invol,
                    &mut inst.cswitch_invol,
                    entry.cswitch_invol,
                );
            }
            update_counter(want_init, &mut s.minflt, &mut inst.minflt, entry.minflt);
            update_counter(want_init, &mut s.majflt, &mut inst.majflt, entry.majflt);
            update_counter(
                want_init,
                &mut s.cpu_user,
                &mut inst.cpu_user,
                entry.cpu_user,
            );
            update_counter(
                want_init,
                &mut s.cpu_system,
                &mut inst.cpu_system,
                entry.cpu_system,
            );
        }
    }

    /// `procs_running` from `/proc/stat`, or -1 (which collectd dispatches).
    fn procs_running(&self) -> i64 {
        let Ok(text) = std::fs::read(self.path("stat")) else {
            return -1;
        };
        let text = String::from_utf8_lossy(&text[..text.len().min(65535)]);
        let Some(pos) = text.find("procs_running ") else {
            return -1;
        };
        let rest = &text[pos + "procs_running ".len()..];
        let digits_end = rest
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
            .map_or(rest.len(), |(i, _)| i);
        let (num, after) = rest.split_at(digits_end);
        if num.is_empty()
            || num == "-"
            || num == "+"
            || !(after.is_empty() || after.starts_with('\n'))
        {
            return -1;
        }
        // collectd passes it through an int.
        atoll(num) as i32 as i64
    }

    /// The `processes` line of `/proc/stat`: forks since boot.
    fn fork_count(&self) -> Option<i64> {
        let text = std::fs::read_to_string(self.path("stat")).ok()?;
        for line in text.lines() {
            let f: Vec<&str> = split_fields(line).take(3).collect();
            if f.len() != 2 || f[0] != "processes" {
                continue;
            }
            return f[1].parse::<i64>().ok();
        }
        None
    }
}

/// Truncates to at most `max` bytes on a character boundary.
fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Parses `/proc/<pid>/stat`. Returns the entry, the state letter, and
/// whether `status` must be read (not for zombies).
fn parse_stat(pid: u64, raw: &[u8], pagesize: u64) -> Option<(Entry, u8, bool)> {
    let open = raw.iter().position(|&b| b == b'(')?;
    let close = raw.iter().rposition(|&b| b == b')')?;
    if open >= close {
        return None;
    }
    let name_bytes = &raw[open + 1..close];
    let name_bytes = &name_bytes[..name_bytes.len().min(NAME_MAX)];
    let name = String::from_utf8_lossy(name_bytes).into_owned();
    if raw.len() - close < 2 {
        return None;
    }
    let rest = String::from_utf8_lossy(&raw[close + 2..]);
    let fields: Vec<&str> = split_fields(&rest).take(64).collect();
    if fields.len() < 22 {
        return None;
    }
    let state = fields[0].as_bytes().first().copied().unwrap_or(0);
    let mut e = Entry {
        id: pid,
        name,
        ..Entry::default()
    };
    if state == b'Z' {
        // A zombie: everything stays 0 (its io fields too, as in collectd).
        return Some((e, state, false));
    }
    e.num_lwp = atoll(fields[17]) as u64;
    e.num_proc = 1;
    let field = |i: usize| fields.get(i).map_or(0, |f| atoll(f));
    e.cpu_user = field(11).wrapping_mul(1_000_000) / CONFIG_HZ;
    e.cpu_system = field(12).wrapping_mul(1_000_000) / CONFIG_HZ;
    e.vmem_size = field(20) as u64;
    e.vmem_rss = (field(21) as u64).wrapping_mul(pagesize);
    e.minflt = field(7);
    e.majflt = field(9);
    let (start, sp) = (field(25) as u64, field(26) as u64);
    e.stack_size = start.abs_diff(sp);
    e.io = [-1; 6];
    e.cswitch_vol = -1;
    e.cswitch_invol = -1;
    Some((e, state, true))
}

/// collectd's `ps_read_status`: `VmData`, `VmExe` + `VmLib` (kB → bytes)
/// and `Threads` from `/proc/<pid>/status`.
fn apply_status(e: &mut Entry, text: &str) {
    let (mut data, mut exe, mut lib, mut threads) = (0u64, 0u64, 0u64, 0u64);
    for line in text.lines() {
        if !line.starts_with("Vm") && !line.starts_with("Threads") {
            continue;
        }
        let f: Vec<&str> = split_fields(line).take(8).collect();
        if f.len() < 2 {
            continue;
        }
        let Some(v) = parse_leading_u64(f[1]) else {
            continue;
        };
        if line.starts_with("VmData") {
            data = v;
        } else if line.starts_with("VmLib") {
            lib = v;
        } else if line.starts_with("VmExe") {
            exe = v;
        } else if line.starts_with("Threads") {
            threads = v;
        }
    }
    e.vmem_data = data.wrapping_mul(1024);
    e.vmem_code = exe.wrapping_add(lib).wrapping_mul(1024);
    if threads != 0 {
        e.num_lwp = threads;
    }
}

/// `strtoul`/`strtoll` with an endptr check: the numeric prefix, or `None`
/// when there is none.
fn parse_leading_u64(s: &str) -> Option<u64> {
    let end = s.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    Some(s[..end].parse::<u64>().unwrap_or(u64::MAX))
}

/// collectd's command line formatting, see [`Processes::cmdline`].
fn format_cmdline(buf: &mut Vec<u8>, name: &str) -> String {
    if buf.is_empty() {
        return format!("[{name}]");
    }
    buf.truncate(CMDLINE_MAX - 1);
    while buf.len() > 1 {
        let last = *buf.last().unwrap_or(&0);
        if last == 0 || last.is_ascii_whitespace() || last == 0x0b {
            buf.pop();
        } else {
            break;
        }
    }
    for b in buf.iter_mut().skip(1) {
        if *b == 0 {
            *b = b' ';
        }
    }
    // A NUL at position 0 ends the C string there.
    if buf.first() == Some(&0) {
        return String::new();
    }
    String::from_utf8_lossy(buf).into_owned()
}

/// collectd's `ps_update_counter`: the first read only records; later reads
/// add each process's increase (wrapping as an unsigned long) to the group.
fn update_counter(want_init: bool, group: &mut i64, curr: &mut i64, new: i64) {
    if want_init {
        *curr = new;
        return;
    }
    let delta = if new < *curr {
        (new as u64).wrapping_add(u64::MAX.wrapping_sub(*curr as u64))
    } else {
        (new as u64).wrapping_sub(*curr as u64)
    };
    if *group == -1 {
        *group = 0;
    }
    *curr = new;
    *group = group.wrapping_add(delta as i64);
}

/// collectd's `ps_fill_details`: io counters always, context switches,
/// memory maps and descriptors when the selection asks for them.
fn fill_details(root: &Path, s: &Selection, e: &mut Entry) {
    let pid = e.id;
    if !e.has_io {
        if let Ok(text) = std::fs::read_to_string(root.join(format!("{pid}/io"))) {
            apply_io(e, &text);
        }
        e.has_io = true;
    }
    if s.report_ctx_switch && !e.has_cswitch {
        if let Some((vol, invol)) = read_task_switches(root, pid) {
            e.cswitch_vol = vol;
            e.cswitch_invol = invol;
        }
        e.has_cswitch = true;
    }
    if s.report_maps_num {
        if !e.has_maps {
            if let Ok(maps) = std::fs::read(root.join(format!("{pid}/maps"))) {
                let n = maps.iter().filter(|&&b| b == b'\n').count() as u64;
                if n > 0 {
                    e.num_maps = n;
                }
            }
        }
        e.has_maps = true;
    }
    if s.report_fd_num {
        if !e.has_fd {
            if let Ok(dir) = std::fs::read_dir(root.join(format!("{pid}/fd"))) {
                let n = dir
                    .filter_map(|d| d.ok())
                    .filter(|d| {
                        d.file_name()
                            .as_encoded_bytes()
                            .first()
                            .is_some_and(u8::is_ascii_digit)
                    })
                    .count() as u64;
                e.num_fd = n.max(1);
            }
        }
        e.has_fd = true;
    }
}

/// collectd's `ps_read_io`: the six counters of `/proc/<pid>/io`.
fn apply_io(e: &mut Entry, text: &str) {
    const KEYS: [&str; 6] = [
        "rchar:",
        "wchar:",
        "syscr:",
        "syscw:",
        "read_bytes:",
        "write_bytes:",
    ];
    for line in text.lines() {
        let Some(k) = KEYS.iter().position(|k| {
            line.len() >= k.len() && line.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
        }) else {
            continue;
        };
        let f: Vec<&str> = split_fields(line).take(8).collect();
        if f.len() < 2 {
            continue;
        }
        let v = f[1];
        let digits = v.trim_start_matches(['-', '+']);
        e.io[k] = if digits.starts_with(|c: char| c.is_ascii_digit()) {
            atoll(v)
        } else {
            -1
        };
    }
}

/// Sums `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches` over the
/// threads in `/proc/<pid>/task/*/status`.
fn read_task_switches(root: &Path, pid: u64) -> Option<(i64, i64)> {
    let dir = std::fs::read_dir(root.join(format!("{pid}/task"))).ok()?;
    let (mut vol, mut invol) = (0i64, 0i64);
    for t in dir.filter_map(|d| d.ok()) {
        let tid = t.file_name();
        if !tid
            .as_encoded_bytes()
            .first()
            .is_some_and(u8::is_ascii_digit)
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(t.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            let is_vol = line.starts_with("voluntary_ctxt_switches");
            if !is_vol && !line.starts_with("nonvoluntary_ctxt_switches") {
                continue;
            }
            let f: Vec<&str> = split_fields(line).take(8).collect();
            if f.len() < 2 {
                continue;
            }
            let digits = f[1].trim_start_matches(['-', '+']);
            if !digits.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            if is_vol {
                vol = vol.wrapping_add(atoll(f[1]));
            } else {
                invol = invol.wrapping_add(atoll(f[1]));
            }
        }
    }
    Some((vol, invol))
}

/// collectd's `ps_submit_proc_list`: one selection's value lists.
fn submit_selection(s: &Selection, out: &mut Vec<Metric>) {
    let n = s.name.as_str();
    let g = |v: u64| v as f64;
    out.push(Metric::gauge(n, "ps_vm", "", g(s.vmem_size)));
    out.push(Metric::gauge(n, "ps_rss", "", g(s.vmem_rss)));
    out.push(Metric::gauge(n, "ps_data", "", g(s.vmem_data)));
    out.push(Metric::gauge(n, "ps_code", "", g(s.vmem_code)));
    out.push(Metric::gauge(n, "ps_stacksize", "", g(s.stack_size)));
    out.push(Metric::derive2(
        n,
        "ps_cputime",
        "",
        s.cpu_user,
        s.cpu_system,
    ));
    out.push(Metric::new(
        n,
        "ps_count",
        "",
        vec![Value::Gauge(g(s.num_proc)), Value::Gauge(g(s.num_lwp))],
    ));
    out.push(Metric::derive2(n, "ps_pagefaults", "", s.minflt, s.majflt));
    for (ty, k) in [("io_octets", 0), ("io_ops", 2), ("disk_octets", 4)] {
        if s.io[k] != -1 && s.io[k + 1] != -1 {
            out.push(Metric::derive2(n, ty, "", s.io[k], s.io[k + 1]));
        }
    }
    if s.num_fd > 0 {
        out.push(Metric::gauge(n, "file_handles", "", g(s.num_fd)));
    }
    if s.num_maps > 0 {
        out.push(Metric::gauge(n, "file_handles", "mapped", g(s.num_maps)));
    }
    if s.cswitch_vol != -1 && s.cswitch_invol != -1 {
        out.push(Metric::derive(
            n,
            "contextswitch",
            "voluntary",
            s.cswitch_vol,
        ));
        out.push(Metric::derive(
            n,
            "contextswitch",
            "involuntary",
            s.cswitch_invol,
        ));
    }
}

#[cfg(test)]
mod tests;
