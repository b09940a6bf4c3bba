//! Pure part of the disk plugin: `/proc/diskstats` text and the counters
//! kept between reads to the value lists collectd derives, and udev's
//! device names.

use rcollectd_plugin_common::{atoll, is_true, split_fields, IgnoreList, Metric};

/// The disk plugin's options, with collectd's names.
#[derive(Debug, Default)]
pub struct Config {
    /// `Disk` / `IgnoreSelected`: which devices to report.
    pub disks: IgnoreList,
    /// `UdevNameAttr`: a udev property whose value names the device instead
    /// of its kernel name.
    pub udev_name_attr: Option<String>,
}

impl Config {
    /// Applies one `Key Value` option; unknown keys and bad values are errors.
    /// `UseBSDName` is accepted and ignored (it only means something on macOS,
    /// where collectd also warns about it elsewhere).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key.to_ascii_lowercase().as_str() {
            "disk" => self.disks.add(value),
            "ignoreselected" => {
                self.disks.set_ignore_selected(is_true(value));
                Ok(())
            }
            "usebsdname" => Ok(()),
            "udevnameattr" => {
                self.udev_name_attr = Some(value.to_owned());
                Ok(())
            }
            _ => Err(format!("unknown option {key:?}")),
        }
    }
}

/// What the plugin remembers about one device between reads.
#[derive(Debug, Default, Clone)]
struct Disk {
    name: String,
    poll_count: u32,
    read_sectors: i64,
    write_sectors: i64,
    read_bytes: i64,
    write_bytes: i64,
    read_ops: i64,
    write_ops: i64,
    read_time: i64,
    write_time: i64,
    avg_read_time: i64,
    avg_write_time: i64,
    has_merged: bool,
    has_in_progress: bool,
    has_io_time: bool,
}

/// State across reads: known devices in first-seen order and the read count.
#[derive(Debug, Default)]
pub struct State {
    disks: Vec<Disk>,
    poll_count: u32,
}

/// The difference of two readings of a kernel counter that may wrap at 32
/// bits, as collectd computes it.
fn counter_diff(new: i64, old: i64) -> i64 {
    if new < old {
        1 + new + (i64::from(u32::MAX) - old)
    } else {
        new - old
    }
}

/// collectd's `disk_calc_time_incr`: average time per operation in the last
/// interval, times the interval in seconds, rounded to an integer counter.
fn time_incr(delta_time: i64, delta_ops: i64, interval_secs: f64) -> i64 {
    let avg = delta_time as u64 as f64 / delta_ops as u64 as f64;
    (interval_secs * avg + 0.5) as u64 as i64
}

/// One read of `/proc/diskstats` text. `interval_secs` is the plugin's read
/// interval; `rename(major, minor, kernel_name)` gives the `UdevNameAttr`
/// name of a device, if any.
pub fn read(
    cfg: &Config,
    state: &mut State,
    diskstats: &str,
    interval_secs: f64,
    mut rename: impl FnMut(&str, &str, &str) -> Option<String>,
) -> Vec<Metric> {
    let mut out = Vec::new();
    state.poll_count = state.poll_count.wrapping_add(1).max(1);
    let poll_count = state.poll_count;
    // As in collectd, a partition line (7 fields) leaves the disk-only
    // values of the previous line in place; they are only used for disks.
    let (mut read_merged, mut write_merged) = (0i64, 0i64);
    let mut in_progress = f64::NAN;
    let (mut io_time, mut weighted_time) = (0i64, 0i64);

    for line in diskstats.lines() {
        let fields: Vec<&str> = split_fields(line).take(32).collect();
        let n = fields.len();
        if n != 7 && n < 14 {
            continue;
        }
        let name = fields[2];
        let idx = match state.disks.iter().position(|d| d.name == name) {
            Some(i) => i,
            None => {
                state.disks.push(Disk {
                    name: name.to_owned(),
                    ..Disk::default()
                });
                state.disks.len() - 1
            }
        };
        let ds = &mut state.disks[idx];

        let is_disk = n != 7;
        let (read_ops, read_sectors, write_ops, write_sectors);
        let (mut read_time, mut write_time) = (0i64, 0i64);
        if !is_disk {
            read_ops = atoll(fields[3]);
            read_sectors = atoll(fields[4]);
            write_ops = atoll(fields[5]);
            write_sectors = atoll(fields[6]);
        } else {
            read_ops = atoll(fields[3]);
            read_merged = atoll(fields[4]);
            read_sectors = atoll(fields[5]);
            read_time = atoll(fields[6]);
            write_ops = atoll(fields[7]);
            write_merged = atoll(fields[8]);
            write_sectors = atoll(fields[9]);
            write_time = atoll(fields[10]);
            in_progress = atoll(fields[11]) as f64;
            io_time = atoll(fields[12]);
            weighted_time = atoll(fields[13]);
        }

        ds.read_bytes = ds
            .read_bytes
            .wrapping_add(512i64.wrapping_mul(counter_diff(read_sectors, ds.read_sectors)));
        ds.write_bytes = ds
            .write_bytes
            .wrapping_add(512i64.wrapping_mul(counter_diff(write_sectors, ds.write_sectors)));
        ds.read_sectors = read_sectors;
        ds.write_sectors = write_sectors;

        if is_disk {
            let d_read_ops = counter_diff(read_ops, ds.read_ops);
            let d_write_ops = counter_diff(write_ops, ds.write_ops);
            let d_read_time = counter_diff(read_time, ds.read_time);
            let d_write_time = counter_diff(write_time, ds.write_time);
            if d_read_ops != 0 {
                ds.avg_read_time = ds.avg_read_time.wrapping_add(time_incr(
                    d_read_time,
                    d_read_ops,
                    interval_secs,
                ));
            }
            if d_write_ops != 0 {
                ds.avg_write_time = ds.avg_write_time.wrapping_add(time_incr(
                    d_write_time,
                    d_write_ops,
                    interval_secs,
                ));
            }
            ds.read_ops = read_ops;
            ds.read_time = read_time;
            ds.write_ops = write_ops;
            ds.write_time = write_time;
            if read_merged != 0 || write_merged != 0 {
                ds.has_merged = true;
            }
            if in_progress != 0.0 {
                ds.has_in_progress = true;
            }
            if io_time != 0 {
                ds.has_io_time = true;
            }
        }

        // A device's first read only primes the counters.
        let first = ds.poll_count == 0;
        ds.poll_count = poll_count;
        if first || (read_ops == 0 && write_ops == 0) {
            continue;
        }

        let alt = cfg
            .udev_name_attr
            .as_ref()
            .and_then(|_| rename(fields[0], fields[1], name));
        let output_name = alt.as_deref().unwrap_or(name);
        if cfg.disks.ignored(output_name) {
            continue;
        }
        if ds.read_bytes != 0 || ds.write_bytes != 0 {
            out.push(Metric::derive2(
                output_name,
                "disk_octets",
                "",
                ds.read_bytes,
                ds.write_bytes,
            ));
        }
        if ds.read_ops != 0 || ds.write_ops != 0 {
            out.push(Metric::derive2(
                output_name,
                "disk_ops",
                "",
                read_ops,
                write_ops,
            ));
        }
        if ds.avg_read_time != 0 || ds.avg_write_time != 0 {
            out.push(Metric::derive2(
                output_name,
                "disk_time",
                "",
                ds.avg_read_time,
                ds.avg_write_time,
            ));
        }
        if is_disk {
            if ds.has_merged {
                out.push(Metric::derive2(
                    output_name,
                    "disk_merged",
                    "",
                    read_merged,
                    write_merged,
                ));
            }
            if ds.has_in_progress {
                out.push(Metric::gauge(
                    output_name,
                    "pending_operations",
                    "",
                    in_progress,
                ));
            }
            if ds.has_io_time {
                out.push(Metric::derive2(
                    output_name,
                    "disk_io_time",
                    "",
                    io_time,
                    weighted_time,
                ));
            }
        }
    }
    // Forget devices that disappeared, so a returning one starts afresh.
    state.disks.retain(|d| d.poll_count == poll_count);
    out
}

/// Parses udev's database record of a device (`/run/udev/data/b<maj>:<min>`,
/// `E:KEY=value` lines) plus the kernel's `uevent` file (`KEY=value`), and
/// returns property `attr`, as libudev's `udev_device_get_property_value`.
pub fn udev_property(udev_db: Option<&str>, uevent: Option<&str>, attr: &str) -> Option<String> {
    if let Some(db) = udev_db {
        for line in db.lines() {
            if let Some((k, v)) = line.strip_prefix("E:").and_then(|l| l.split_once('=')) {
                if k == attr {
                    return Some(v.to_owned());
                }
            }
        }
    }
    for line in uevent.unwrap_or("").lines() {
        if let Some((k, v)) = line.split_once('=') {
            if k == attr {
                // udev reports the device node, the kernel its name.
                return Some(if k == "DEVNAME" && !v.starts_with('/') {
                    format!("/dev/{v}")
                } else {
                    v.to_owned()
                });
            }
        }
    }
    None
}

/// Looks up `attr` for block device `major:minor` in udev's run-time
/// database and sysfs (no libudev needed).
pub fn udev_name(major: &str, minor: &str, attr: &str) -> Option<String> {
    let db = std::fs::read_to_string(format!("/run/udev/data/b{major}:{minor}")).ok();
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).ok();
    udev_property(db.as_deref(), uevent.as_deref(), attr).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
