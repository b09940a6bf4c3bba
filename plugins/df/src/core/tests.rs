//! df against recorded fixtures: this machine's mount table and statvfs
//! numbers, plus a hand-made table with escapes, duplicates and failures.
//! Expected values were computed independently (Python, float32 emulation
//! for percentages) into `tests/fixtures/expected_*`.

use super::*;
use rcollectd_plugin::Value;
use std::collections::HashMap;
use std::io;

const MOUNTS: &str = include_str!("../../tests/fixtures/mounts");
const STATVFS: &str = include_str!("../../tests/fixtures/statvfs");
const EDGE: &str = include_str!("../../tests/fixtures/mounts_edge");

fn recorded_stats() -> HashMap<String, FsStats> {
    STATVFS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            let n: Vec<u64> = p[1..].iter().map(|x| x.parse().unwrap()).collect();
            (
                p[0].to_owned(),
                FsStats {
                    bsize: n[0],
                    frsize: n[1],
                    blocks: n[2],
                    bfree: n[3],
                    bavail: n[4],
                    files: n[5],
                    ffree: n[6],
                    favail: n[7],
                },
            )
        })
        .collect()
}

fn run(cfg: &Config, mounts: &str, stats: &HashMap<String, FsStats>) -> (Vec<Metric>, Vec<String>) {
    let mut errors = Vec::new();
    let out = collect(
        cfg,
        &mut State::default(),
        &parse_mounts(mounts),
        |dir| {
            stats
                .get(dir)
                .copied()
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
        },
        |e| errors.push(e),
    );
    (out, errors)
}

/// `instance/type-ti = value` lines (one value each) parsed from a golden file.
fn golden(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .map(|l| {
            let (id, v) = l.split_once(" = ").unwrap();
            (id.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn flatten(ms: &[Metric]) -> Vec<(String, f64)> {
    ms.iter()
        .map(|m| {
            assert_eq!(m.values.len(), 1, "{m}");
            let Value::Gauge(v) = m.values[0] else {
                panic!("df dispatches gauges only: {m}")
            };
            (
                format!("{}/{}-{}", m.plugin_instance, m.type_, m.type_instance),
                v,
            )
        })
        .collect()
}

#[test]
fn recorded_machine_default_options() {
    let (out, errors) = run(&Config::default(), MOUNTS, &recorded_stats());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        flatten(&out),
        golden(include_str!("../../tests/fixtures/expected_default"))
    );
}

#[test]
fn recorded_machine_all_values() {
    let mut cfg = Config::default();
    cfg.set("ReportInodes", "true").unwrap();
    cfg.set("ValuesPercentage", "yes").unwrap();
    let (out, _) = run(&cfg, MOUNTS, &recorded_stats());
    assert_eq!(
        flatten(&out),
        golden(include_str!("../../tests/fixtures/expected_all"))
    );
}

#[test]
fn mount_table_escapes_and_short_lines() {
    let m = parse_mounts(EDGE);
    assert_eq!(m.len(), 8, "comment and blank lines are skipped");
    assert_eq!(m[1].dir, "/mnt/my disk");
    assert_eq!(
        m[5],
        MountEntry {
            fsname: "odd".into(),
            dir: "/tabbed\tdir\\x".into(),
            fstype: "fuse".into(),
            options: String::new(),
        }
    );
}

fn edge_stats() -> HashMap<String, FsStats> {
    let fs = |blocks, bfree, bavail| FsStats {
        bsize: 4096,
        frsize: 1024,
        blocks,
        bfree,
        bavail,
        files: 100,
        ffree: 40,
        favail: 30,
    };
    let mut m = HashMap::new();
    m.insert("/".to_owned(), fs(1000, 600, 500));
    m.insert("/mnt/my disk".to_owned(), fs(10, 10, 10));
    m.insert("/srv/bind".to_owned(), fs(1000, 600, 500));
    // Negative f_bavail (UFS-style) and f_bfree > f_blocks are clamped.
    m.insert("/run".to_owned(), fs(5, 7, u64::MAX - 2));
    m.insert(
        "/tabbed\tdir\\x".to_owned(),
        FsStats {
            frsize: 0,
            bsize: 512,
            ..fs(4, 2, 1)
        },
    );
    m.insert("/proc".to_owned(), fs(0, 0, 0));
    m
}

#[test]
fn edge_cases_by_mount_point() {
    let (out, errors) = run(&Config::default(), EDGE, &edge_stats());
    assert_eq!(
        errors,
        ["statvfs(/broken) failed: No such file or directory (os error 2)"]
    );
    let got: Vec<String> = out.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        got,
        [
            "root/df_complex-free = 512000",
            "root/df_complex-reserved = 102400",
            "root/df_complex-used = 409600",
            "mnt-my disk/df_complex-free = 10240",
            "mnt-my disk/df_complex-reserved = 0",
            "mnt-my disk/df_complex-used = 0",
            "srv-bind/df_complex-free = 512000",
            "srv-bind/df_complex-reserved = 102400",
            "srv-bind/df_complex-used = 409600",
            // bavail < 0 -> 0; bfree 7 > blocks 5 -> blocks 7.
            "run/df_complex-free = 0",
            "run/df_complex-reserved = 7168",
            "run/df_complex-used = 0",
            // f_frsize 0 -> f_bsize.
            "tabbed\tdir\\x/df_complex-free = 512",
            "tabbed\tdir\\x/df_complex-reserved = 512",
            "tabbed\tdir\\x/df_complex-used = 1024",
        ]
    );
}

#[test]
fn report_by_device_dedups_devices_and_strips_dev() {
    let mut cfg = Config::default();
    cfg.set("ReportByDevice", "true").unwrap();
    cfg.set("ValuesAbsolute", "false").unwrap();
    cfg.set("ValuesPercentage", "true").unwrap();
    cfg.set("ReportInodes", "true").unwrap();
    cfg.set("Device", "/^\\/dev\\/sd/").unwrap();
    let (out, _) = run(&cfg, EDGE, &edge_stats());
    let got: Vec<String> = out.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        got,
        [
            "sda1/percent_bytes-free = 50",
            "sda1/percent_bytes-reserved = 10",
            "sda1/percent_bytes-used = 40",
            "sda1/percent_inodes-free = 30.000001907348633",
            "sda1/percent_inodes-reserved = 10",
            "sda1/percent_inodes-used = 60.000003814697266",
            "sdb1/percent_bytes-free = 100",
            "sdb1/percent_bytes-reserved = 0",
            "sdb1/percent_bytes-used = 0",
            "sdb1/percent_inodes-free = 30.000001907348633",
            "sdb1/percent_inodes-reserved = 10",
            "sdb1/percent_inodes-used = 60.000003814697266",
        ]
    );
}

#[test]
fn selections_and_ignore_selected() {
    let mut cfg = Config::default();
    cfg.set("FSType", "tmpfs").unwrap();
    cfg.set("MountPoint", "/^\\/(srv|mnt)/").unwrap();
    cfg.set("IgnoreSelected", "true").unwrap();
    let (out, _) = run(&cfg, EDGE, &edge_stats());
    let instances: Vec<&str> = out.iter().map(|m| m.plugin_instance.as_str()).collect();
    assert_eq!(
        instances,
        [
            "root",
            "root",
            "root",
            "tabbed\tdir\\x",
            "tabbed\tdir\\x",
            "tabbed\tdir\\x"
        ]
    );

    let mut cfg = Config::default();
    cfg.set("MountPoint", "/").unwrap();
    let (out, _) = run(&cfg, EDGE, &edge_stats());
    assert!(out.iter().all(|m| m.plugin_instance == "root") && out.len() == 3);
}

#[test]
fn log_once_logs_each_failure_once() {
    let mut cfg = Config::default();
    cfg.set("LogOnce", "true").unwrap();
    let mounts = parse_mounts("/dev/x /gone ext4 rw 0 0\n");
    let mut state = State::default();
    let mut errors = Vec::new();
    for _ in 0..3 {
        collect(
            &cfg,
            &mut state,
            &mounts,
            |_| Err(io::Error::from_raw_os_error(libc::EACCES)),
            |e| errors.push(e),
        );
    }
    assert_eq!(errors.len(), 1);
    collect(
        &cfg,
        &mut state,
        &mounts,
        |_| Ok(FsStats::default()),
        |e| errors.push(e),
    );
    collect(
        &cfg,
        &mut state,
        &mounts,
        |_| Err(io::Error::from_raw_os_error(libc::EACCES)),
        |e| errors.push(e),
    );
    assert_eq!(errors.len(), 2, "a success re-arms the log");
}

#[test]
fn config_rejects_unknown_and_bad_regex() {
    let mut cfg = Config::default();
    assert!(cfg.set("Bogus", "1").is_err());
    assert!(cfg.set("Device", "/(/").is_err());
    assert!(
        cfg.set("device", "sda").is_ok(),
        "keys are case-insensitive"
    );
}

#[test]
fn file_systems_without_blocks_are_not_even_statted() {
    let mut statted = Vec::new();
    let table = "proc /proc proc rw 0 0\n\
                 sysfs /sys sysfs rw 0 0\n\
                 cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n\
                 /dev/vda / ext4 rw 0 0\n";
    let out = collect(
        &Config::default(),
        &mut State::default(),
        &parse_mounts(table),
        |dir| {
            statted.push(dir.to_owned());
            Ok(FsStats {
                bsize: 4096,
                frsize: 4096,
                blocks: 100,
                bfree: 50,
                bavail: 40,
                files: 10,
                ffree: 5,
                favail: 5,
            })
        },
        |e| panic!("{e}"),
    );
    assert_eq!(statted, ["/"]);
    assert!(!out.is_empty());
}
