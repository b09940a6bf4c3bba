//! Pure part of the df plugin: the mount table, selection, de-duplication
//! and the value lists computed from `statvfs` numbers.

use rcollectd_plugin::ProcFile;
use rcollectd_plugin_common::{is_true, IgnoreList, Metric};
use std::collections::HashSet;

/// One line of the mount table, decoded like glibc's getmntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The mounted device or pseudo file system name (`mnt_fsname`).
    pub fsname: String,
    /// The mount point (`mnt_dir`).
    pub dir: String,
    /// The file system type (`mnt_type`).
    pub fstype: String,
    /// The mount options (`mnt_opts`).
    pub options: String,
}

/// glibc's decoding of mount table fields: `\040` space, `\011` tab,
/// `\012` newline, `\134` and `\\` backslash; other backslashes stay.
fn decode_mount_field(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let (ch, skip) = if tail.starts_with("\\040") {
            (' ', 4)
        } else if tail.starts_with("\\011") {
            ('\t', 4)
        } else if tail.starts_with("\\012") {
            ('\n', 4)
        } else if tail.starts_with("\\134") {
            ('\\', 4)
        } else if tail.starts_with("\\\\") {
            ('\\', 2)
        } else {
            ('\\', 1)
        };
        out.push(ch);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

/// Parses a mount table (`/proc/self/mounts` or `/etc/mtab` format) the way
/// getmntent does: blank and `#` lines skipped, fields split on blanks and
/// tabs, missing trailing fields empty.
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start_matches([' ', '\t']);
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut f = line.split([' ', '\t']).filter(|s| !s.is_empty());
            let mut next = || f.next().map(decode_mount_field).unwrap_or_default();
            Some(MountEntry {
                fsname: next(),
                dir: next(),
                fstype: next(),
                options: next(),
            })
        })
        .collect()
}

/// The `statvfs(3)` fields df uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsStats {
    /// `f_bsize`: used when `f_frsize` is zero.
    pub bsize: u64,
    /// `f_frsize`: the unit of the block counts.
    pub frsize: u64,
    /// `f_blocks`: total blocks.
    pub blocks: u64,
    /// `f_bfree`: free blocks including those reserved for root.
    pub bfree: u64,
    /// `f_bavail`: blocks available to unprivileged users.
    pub bavail: u64,
    /// `f_files`: total inodes.
    pub files: u64,
    /// `f_ffree`: free inodes.
    pub ffree: u64,
    /// `f_favail`: inodes available to unprivileged users.
    pub favail: u64,
}

/// The df plugin's options, with collectd's names and defaults.
#[derive(Debug)]
pub struct Config {
    /// `Device`: selection by device (`mnt_fsname`).
    pub devices: IgnoreList,
    /// `MountPoint`: selection by mount point.
    pub mountpoints: IgnoreList,
    /// `FSType`: selection by file system type.
    pub fstypes: IgnoreList,
    /// `ReportByDevice`: name instances after the device, not the mount point.
    pub by_device: bool,
    /// `ReportInodes`: also report inode counts.
    pub report_inodes: bool,
    /// `ValuesAbsolute` (default true): report bytes / inode counts.
    pub values_absolute: bool,
    /// `ValuesPercentage`: report percentages.
    pub values_percentage: bool,
    /// `LogOnce`: log a failing statvfs only once per mount point.
    pub log_once: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            devices: IgnoreList::new(),
            mountpoints: IgnoreList::new(),
            fstypes: IgnoreList::new(),
            by_device: false,
            report_inodes: false,
            values_absolute: true,
            values_percentage: false,
            log_once: false,
        }
    }
}

impl Config {
    /// Applies one `Key Value` option (collectd's simple-config callback);
    /// unknown keys and bad values are errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "device" => self.devices.add(value),
            "mountpoint" => self.mountpoints.add(value),
            "fstype" => self.fstypes.add(value),
            "ignoreselected" => {
                let ignore = is_true(value);
                self.devices.set_ignore_selected(ignore);
                self.mountpoints.set_ignore_selected(ignore);
                self.fstypes.set_ignore_selected(ignore);
                Ok(())
            }
            // collectd only ever switches this on.
            "reportbydevice" => {
                if is_true(value) {
                    self.by_device = true;
                }
                Ok(())
            }
            "reportinodes" => {
                self.report_inodes = is_true(value);
                Ok(())
            }
            "valuesabsolute" => {
                self.values_absolute = is_true(value);
                Ok(())
            }
            "valuespercentage" => {
                self.values_percentage = is_true(value);
                Ok(())
            }
            "logonce" => {
                self.log_once = is_true(value);
                Ok(())
            }
            _ => Err(format!("unknown option {key:?}")),
        }
    }
}

/// Mutable state across reads: the mount points whose statvfs failure was
/// already logged (for `LogOnce`).
#[derive(Debug, Default)]
pub struct State {
    logged_errors: HashSet<String>,
}

/// The plugin instance collectd derives: the device without `/dev/` with
/// `ReportByDevice`, else the mount point with `/` → `root` and `/` → `-`.
fn instance_name(cfg: &Config, m: &MountEntry) -> Option<String> {
    if cfg.by_device {
        let dev = m.fsname.strip_prefix("/dev/").unwrap_or(&m.fsname);
        (!dev.is_empty()).then(|| dev.to_owned())
    } else if m.dir == "/" {
        Some("root".to_owned())
    } else {
        Some(m.dir.get(1..).unwrap_or("").replace('/', "-"))
    }
}

/// collectd computes percentages in C's `float_t` (single precision on
/// x86-64) and widens the result; do the same so values are identical.
fn percent(part: u64, total: u64) -> f64 {
    f64::from(part as f32 / total as f32 * 100.0)
}

/// File system types whose `statfs` always reports zero blocks on Linux
/// (`simple_statfs`, kernfs): they would be skipped after the call, so they
/// are skipped before it, saving a dozen system calls per interval.
const NO_BLOCKS_FSTYPES: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "tracefs",
    "debugfs",
    "securityfs",
    "pstore",
    "bpf",
    "mqueue",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "rpc_pipefs",
    "nsfs",
];

/// One read: selects mounts, drops duplicates (same mount point, or same
/// device with `ReportByDevice`), stats each and returns the value lists in
/// collectd's order. `stat` is `statvfs`; its failures go to `log_error`.
pub fn collect(
    cfg: &Config,
    state: &mut State,
    mounts: &[MountEntry],
    mut stat: impl FnMut(&str) -> std::io::Result<FsStats>,
    mut log_error: impl FnMut(String),
) -> Vec<Metric> {
    let mut out = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        if cfg.devices.ignored(&m.fsname)
            || cfg.mountpoints.ignored(&m.dir)
            || cfg.fstypes.ignored(&m.fstype)
            || NO_BLOCKS_FSTYPES.contains(&m.fstype.as_str())
        {
            continue;
        }
        let duplicate = mounts[..i].iter().any(|d| {
            if cfg.by_device {
                d.fsname == m.fsname
            } else {
                d.dir == m.dir
            }
        });
        if duplicate {
            continue;
        }
        let mut st = match stat(&m.dir) {
            Ok(st) => {
                if cfg.log_once {
                    state.logged_errors.remove(&m.dir);
                }
                st
            }
            Err(e) => {
                if !cfg.log_once || state.logged_errors.insert(m.dir.clone()) {
                    log_error(format!("statvfs({}) failed: {e}", m.dir));
                }
                continue;
            }
        };
        if st.blocks == 0 {
            continue;
        }
        let Some(name) = instance_name(cfg, m) else {
            continue;
        };
        let blocksize = if st.frsize != 0 { st.frsize } else { st.bsize };
        // f_bavail is unsigned but some file systems report it negative.
        if (st.bavail as i64) < 0 {
            st.bavail = 0;
        }
        st.bfree = st.bfree.max(st.bavail);
        st.blocks = st.blocks.max(st.bfree);
        let free = st.bavail;
        let reserved = st.bfree - st.bavail;
        let used = st.blocks - st.bfree;
        if cfg.values_absolute {
            for (ti, v) in [("free", free), ("reserved", reserved), ("used", used)] {
                out.push(Metric::gauge(
                    &name,
                    "df_complex",
                    ti,
                    v.wrapping_mul(blocksize) as f64,
                ));
            }
        }
        if cfg.values_percentage {
            for (ti, v) in [("free", free), ("reserved", reserved), ("used", used)] {
                out.push(Metric::gauge(
                    &name,
                    "percent_bytes",
                    ti,
                    percent(v, st.blocks),
                ));
            }
        }
        if cfg.report_inodes && st.files != 0 && st.ffree != 0 {
            st.ffree = st.ffree.max(st.favail);
            st.files = st.files.max(st.ffree);
            let ifree = st.favail;
            let ireserved = st.ffree - st.favail;
            let iused = st.files - st.ffree;
            let parts = [("free", ifree), ("reserved", ireserved), ("used", iused)];
            if cfg.values_percentage {
                for (ti, v) in parts {
                    out.push(Metric::gauge(
                        &name,
                        "percent_inodes",
                        ti,
                        percent(v, st.files),
                    ));
                }
            }
            if cfg.values_absolute {
                for (ti, v) in parts {
                    out.push(Metric::gauge(&name, "df_inodes", ti, v as f64));
                }
            }
        }
    }
    out
}

/// Reads the mount table the way collectd does: `/etc/mtab` (glibc's
/// `_PATH_MOUNTED`), or `/proc/self/mounts` where there is no mtab.
pub fn read_mount_table() -> std::io::Result<Vec<MountEntry>> {
    MountTable::default().read().map(<[MountEntry]>::to_vec)
}

/// The mount table files, kept open between reads (see [`ProcFile`]), and
/// the table last parsed: the kernel signals a change of its mount table,
/// so an unchanged one is neither regenerated nor parsed again.
#[derive(Debug)]
pub struct MountTable {
    mtab: ProcFile,
    mounts: ProcFile,
    parsed: Vec<MountEntry>,
}

impl Default for MountTable {
    fn default() -> Self {
        MountTable {
            mtab: ProcFile::new("/etc/mtab"),
            mounts: ProcFile::new("/proc/self/mounts"),
            parsed: Vec::new(),
        }
    }
}

/// Decodes a freshly read table (`None`: unchanged since the last read).
fn reparse(
    parsed: &mut Vec<MountEntry>,
    read: std::io::Result<Option<&str>>,
) -> std::io::Result<()> {
    if let Some(text) = read? {
        *parsed = parse_mounts(text);
    }
    Ok(())
}

impl MountTable {
    /// [`read_mount_table`], without reopening the files, and without
    /// reading them again while the kernel reports no change.
    pub fn read(&mut self) -> std::io::Result<&[MountEntry]> {
        if reparse(&mut self.parsed, self.mtab.read_str_if_changed()).is_err() {
            reparse(&mut self.parsed, self.mounts.read_str_if_changed())?;
        }
        Ok(&self.parsed)
    }
}

#[cfg(test)]
mod tests;
