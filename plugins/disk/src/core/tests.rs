//! disk against recorded `/proc/diskstats` snapshots of this machine (one
//! second apart) and hand-made sequences covering partitions, short and
//! over-long lines, 32-bit wraps, disappearing devices and the time averages.
//! Expected values are worked out by hand in the comments.

use super::*;

fn lines(out: &[Metric]) -> Vec<String> {
    out.iter().map(|m| m.to_string()).collect()
}

fn no_rename(_: &str, _: &str, _: &str) -> Option<String> {
    None
}

#[test]
fn recorded_machine() {
    let cfg = Config::default();
    let mut st = State::default();
    let first = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/diskstats.1"),
        1.0,
        no_rename,
    );
    assert!(first.is_empty(), "the first read only primes: {first:?}");
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/diskstats.2"),
        1.0,
        no_rename,
    );
    // vda: sectors 7078250/4927600 * 512; ops 40600/31510; average times
    // round to 0 (19112 ms / 40598 ops), so no disk_time; in-flight is 0, so
    // no pending_operations; loop* and zram0 did no I/O.
    assert_eq!(
        lines(&out),
        [
            "vda/disk_octets = 3624064000:2522931200",
            "vda/disk_ops = 40600:31510",
            "vda/disk_merged = 8891:17036",
            "vda/disk_io_time = 8440:35529",
        ]
    );
}

#[test]
fn edge_sequence() {
    let cfg = Config::default();
    let mut st = State::default();
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.1"),
        10.0,
        no_rename,
    );
    assert!(out.is_empty());
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.2"),
        10.0,
        no_rename,
    );
    assert_eq!(
        lines(&out),
        [
            // bytes 512*2100, 512*4000. disk_time: read 1: 10*50/100+.5 -> 5,
            // 10*100/200+.5 -> 5; read 2: 10*20/10+.5 -> 20, no new writes.
            "sda/disk_octets = 1075200:2048000",
            "sda/disk_ops = 110:200",
            "sda/disk_time = 25:5",
            "sda/disk_merged = 12:20",
            "sda/pending_operations = 1",
            "sda/disk_io_time = 310:170",
            // A 7-field partition line: octets only (collectd keeps no op
            // counts for those), sda2 did nothing.
            "sda1/disk_octets = 563200:1945600",
            // Over-long line: first 32 fields used; 10*1/5+.5 -> 2.
            "sdb/disk_octets = 20480:0",
            "sdb/disk_ops = 5:0",
            "sdb/disk_time = 2:0",
            "sdb/pending_operations = 2",
            "sdb/disk_io_time = 7:9",
            // 32-bit sector wrap: 512*4294967290 + 512*(1+5+5).
            "sdd/disk_octets = 2199023258112:0",
            "sdd/disk_ops = 2:1",
        ]
    );
    // sdc vanished in read 2, so its return in read 3 starts afresh.
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.3"),
        10.0,
        no_rename,
    );
    assert_eq!(
        out.iter()
            .map(|m| m.plugin_instance.as_str())
            .collect::<Vec<_>>(),
        ["sda"; 6]
    );
}

#[test]
fn selection_and_udev_names() {
    let mut cfg = Config::default();
    cfg.set("Disk", "/^sd[ab]$/").unwrap();
    cfg.set("Disk", "data").unwrap();
    cfg.set("UseBSDName", "true").unwrap();
    cfg.set("UdevNameAttr", "ID_FS_LABEL").unwrap();
    let mut st = State::default();
    let rename =
        |maj: &str, min: &str, _: &str| (maj == "8" && min == "48").then(|| "data".to_owned());
    read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.1"),
        10.0,
        rename,
    );
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.2"),
        10.0,
        rename,
    );
    let mut names: Vec<&str> = out.iter().map(|m| m.plugin_instance.as_str()).collect();
    names.dedup();
    assert_eq!(names, ["sda", "sdb", "data"]);

    cfg.set("IgnoreSelected", "true").unwrap();
    let out = read(
        &cfg,
        &mut st,
        include_str!("../../tests/fixtures/edge.2"),
        10.0,
        rename,
    );
    let mut names: Vec<&str> = out.iter().map(|m| m.plugin_instance.as_str()).collect();
    names.dedup();
    assert_eq!(names, ["sda1"]);
}

#[test]
fn udev_property_lookup() {
    let db = include_str!("../../tests/fixtures/udev_db");
    assert_eq!(
        udev_property(Some(db), None, "ID_FS_LABEL").as_deref(),
        Some("data")
    );
    assert_eq!(udev_property(Some(db), None, "S"), None);
    let uevent = "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n";
    assert_eq!(
        udev_property(None, Some(uevent), "DEVNAME").as_deref(),
        Some("/dev/vda")
    );
    assert_eq!(
        udev_property(Some(db), Some(uevent), "DEVTYPE").as_deref(),
        Some("disk")
    );
    assert_eq!(udev_property(None, None, "DEVTYPE"), None);
}

#[test]
fn counters_and_time_rounding() {
    assert_eq!(counter_diff(5, 4294967290), 11);
    assert_eq!(counter_diff(7, 3), 4);
    assert_eq!(time_incr(3, 2, 1.0), 2, "1.5 + .5 truncates to 2");
    assert_eq!(time_incr(1, 3, 1.0), 0);
    assert_eq!(time_incr(1, 3, 10.0), 3);
}

#[test]
fn config_errors() {
    let mut cfg = Config::default();
    assert!(cfg.set("Nope", "x").is_err());
    assert!(cfg.set("Disk", "/[/").is_err());
    assert!(cfg.set("Disk", "").is_err());
}
