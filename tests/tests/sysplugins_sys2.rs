//! Side-by-side runs of our df, disk, interface, fhcount and processes
//! plugins against Debian's builds of collectd 5.12's plugins of the same
//! names, all writing CSV at Interval 1 on this machine.
//!
//! The daemons run concurrently (same seconds, same machine), so identifier
//! sets and CSV headers must be identical and values may differ only by what
//! the machine did between two readings taken up to about a second apart.
//!
//! Legs:
//! * "ours/collectd": our `.so`s loaded by the real collectd 5.12 with
//!   Debian's `csv.so` (proves they load and dispatch under collectd itself);
//! * "debian": Debian's plugins under collectd 5.12, the reference;
//! * "ours/rcollectd": our `.so`s under rcollectd with our `csv.so`, when
//!   `make build` has produced both.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::Signal;
use rcollectd_tests::{files_below, plugin_dir, rcollectd_bin, wait_for, Daemon};

/// Our plugins under test, by collectd name.
const PLUGINS: [&str; 5] = ["df", "disk", "interface", "fhcount", "processes"];
/// Where Debian installs collectd 5.12's plugins.
const DEBIAN_PLUGIN_DIR: &str = "/usr/lib/collectd";
/// collectd 5.12's own types.db, used by every leg so only plugins differ.
const DEBIAN_TYPES_DB: &str = "/usr/share/collectd/types.db";
/// How long each daemon collects (Interval 1: three or four readings).
const RUN_TIME: Duration = Duration::from_millis(3500);
/// The host name every leg writes under.
const HOST: &str = "sysplugins2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// No `<Plugin>` blocks except the process selections.
    Defaults,
    /// Options changed from their defaults. `UdevNameAttr "DISKSEQ"` names
    /// disks by a property every recent kernel's uevent has, so our udev
    /// lookup is compared with libudev's (Debian's disk.so links it); the
    /// `Disk` selection then applies to those names, as in collectd.
    Options,
}

/// The process selections: the daemons of this very test (comm `collectd`,
/// and every daemon by command line), and a name that matches nothing (it
/// still reports zeros). All legs see the same processes at the same time.
/// `CollectMemoryMaps` comes between selections: as in collectd, a global
/// switch applies to the selections configured after it.
const PROCESSES_BLOCK: &str = r#"
<Plugin processes>
  CollectFileDescriptor true
  CollectContextSwitch true
  Process "collectd"
  CollectMemoryMaps true
  ProcessMatch "daemons" "collectd -f -C .*rcollectd-test-"
  Process "no-such-proc-x"
</Plugin>
"#;

fn plugin_blocks(variant: Variant) -> String {
    let mut s = PROCESSES_BLOCK.to_string();
    if variant == Variant::Options {
        s.push_str(
            r#"
<Plugin df>
  FSType "/^(proc|sysfs|devpts|cgroup2?)$/"
  IgnoreSelected true
  ReportByDevice true
  ReportInodes true
  ValuesAbsolute true
  ValuesPercentage true
</Plugin>
<Plugin disk>
  Disk "/^(loop|ram)/"
  IgnoreSelected true
  UseBSDName false
  UdevNameAttr "DISKSEQ"
</Plugin>
<Plugin interface>
  Interface "lo"
  Interface "/^(eth|ens|enp|ifb|wl)/"
  ReportInactive false
</Plugin>
<Plugin fhcount>
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>
"#,
        );
    }
    s
}

/// A collectd.conf for one leg: `plugin_dir` holds the plugins and csv.so.
fn config(plugin_dir: &Path, variant: Variant) -> String {
    let mut c = format!(
        "Hostname \"{HOST}\"\nFQDNLookup false\nInterval 1\nBaseDir \"{{dir}}\"\n\
         PIDFile \"{{dir}}/collectd.pid\"\nPluginDir \"{}\"\nTypesDB \"{DEBIAN_TYPES_DB}\"\n\
         LoadPlugin csv\n",
        plugin_dir.display()
    );
    for p in PLUGINS {
        c.push_str(&format!("LoadPlugin {p}\n"));
    }
    c.push_str("<Plugin csv>\n  DataDir \"{dir}/csv\"\n  StoreRates false\n</Plugin>\n");
    c.push_str(&plugin_blocks(variant));
    c
}

/// A private plugin dir holding regular-file copies of our plugins (collectd
/// refuses symlinks) and the given csv.so.
fn stage_plugins(dest: &Path, csv_so: &Path) {
    fs::create_dir_all(dest).unwrap();
    for p in PLUGINS {
        let src = plugin_dir().join(format!("{p}.so"));
        assert!(src.is_file(), "{} missing: run `make build`", src.display());
        fs::copy(&src, dest.join(format!("{p}.so"))).unwrap();
    }
    fs::copy(csv_so, dest.join("csv.so")).unwrap();
}

/// One CSV file: header and rows of numbers (epoch first).
#[derive(Debug, Clone)]
struct Csv {
    header: String,
    rows: Vec<Vec<f64>>,
}

type Tree = BTreeMap<String, Csv>;

/// All CSV files of a run, keyed by identifier (path below the host dir,
/// `-YYYY-MM-DD` suffix stripped).
fn read_csv_tree(data_dir: &Path) -> Tree {
    let host = data_dir.join(HOST);
    let mut out = BTreeMap::new();
    for rel in files_below(&host) {
        let name = rel.to_string_lossy().to_string();
        assert!(name.len() > 11, "unexpected CSV file {name}");
        let (id, date) = name.split_at(name.len() - 11);
        assert!(
            date.starts_with('-') && date[1..].split('-').count() == 3,
            "no date suffix on {name}"
        );
        let text = fs::read_to_string(host.join(&rel)).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().to_string();
        let rows = lines
            .map(|l| {
                l.split(',')
                    .map(|f| f.parse::<f64>().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        out.insert(id.to_string(), Csv { header, rows });
    }
    out
}

/// `plugin[-instance]` of an identifier.
fn dir_of(id: &str) -> &str {
    id.split('/').next().unwrap_or("")
}

/// The plugin name of an identifier.
fn plugin_of(id: &str) -> &str {
    let d = dir_of(id);
    d.split('-').next().unwrap_or(d)
}

/// The type of an identifier (file part up to its first '-').
fn type_of(id: &str) -> &str {
    let file = id.rsplit('/').next().unwrap_or("");
    file.split('-').next().unwrap_or(file)
}

/// Identifiers whose presence legitimately depends on when a daemon's reads
/// fall: collectd's disk plugin reports `disk_time` once the rounded average
/// time per operation of some interval is non-zero, and
/// `pending_operations` once it has seen an operation in flight; both hinge
/// on I/O in the exact second each daemon reads.
fn timing_dependent(id: &str) -> bool {
    plugin_of(id) == "disk" && matches!(type_of(id), "disk_time" | "pending_operations")
}

/// Columns of types that are DERIVE counters and never decrease in a run.
fn is_counter(id: &str) -> bool {
    matches!(
        (plugin_of(id), type_of(id)),
        (
            "disk",
            "disk_octets" | "disk_ops" | "disk_time" | "disk_merged" | "disk_io_time"
        ) | ("interface", _)
            | (
                "processes",
                "fork_rate" | "ps_cputime" | "ps_pagefaults" | "io_octets" | "io_ops"
            )
            | ("processes", "disk_octets" | "contextswitch")
    )
}

/// How far the last readings of the two daemons may differ, for column `c`
/// (values `a`, `b`) of identifier `id`, or `None` to skip the comparison
/// (with the reason in the arm).
fn tolerance(id: &str, total: Option<f64>, a: f64, b: f64) -> Option<f64> {
    let big = a.abs().max(b.abs());
    Some(match (plugin_of(id), type_of(id)) {
        // Space and inodes change with the builds running beside the test;
        // each part within 1 % of the file system, and see the total check.
        ("df", "df_complex" | "df_inodes") => 0.01 * total.unwrap_or(big),
        ("df", "percent_bytes" | "percent_inodes") => 1.0,
        ("disk", "disk_octets") => (0.05 * big).max(512.0 * 1024.0 * 1024.0),
        ("disk", "disk_ops" | "disk_merged") => (0.05 * big).max(50_000.0),
        ("disk", "disk_io_time") => (0.05 * big).max(20_000.0),
        // Averages accumulated from different read instants: only checked
        // to be counters above.
        ("disk", "disk_time" | "pending_operations") => return None,
        ("interface", "if_octets") => (0.1 * big).max(50.0 * 1024.0 * 1024.0),
        ("interface", "if_packets") => (0.1 * big).max(50_000.0),
        ("interface", _) => (0.01 * big).max(100.0),
        ("fhcount", "file_handles") => (0.2 * big).max(2000.0),
        ("fhcount", "percent") => 1.0,
        // Process states flip between readings; checked for plausibility.
        ("processes", "ps_state") => (0.5 * big).max(20.0),
        ("processes", "fork_rate") => 5000.0,
        // The daemons' own sizes grow while they start; same processes.
        ("processes", "ps_count") => (0.5 * big).max(8.0),
        ("processes", "ps_vm" | "ps_rss" | "ps_data" | "ps_code" | "ps_stacksize") => {
            (0.5 * big).max(64.0 * 1024.0 * 1024.0)
        }
        ("processes", "file_handles") => (0.5 * big).max(64.0),
        // Counters summed from the first reading each daemon took.
        ("processes", _) => return None,
        (p, t) => panic!("no tolerance defined for {p}/{t} ({id})"),
    })
}

/// Asserts that `ours` reproduces `reference` (same variant, same seconds).
fn compare(leg: &str, ours: &Tree, reference: &Tree) {
    let stable = |t: &Tree| -> BTreeSet<String> {
        t.keys()
            .filter(|id| !timing_dependent(id))
            .cloned()
            .collect()
    };
    let (o_ids, r_ids) = (stable(ours), stable(reference));
    assert_eq!(
        o_ids,
        r_ids,
        "{leg}: identifier sets differ\nonly ours: {:?}\nonly collectd: {:?}",
        o_ids.difference(&r_ids).collect::<Vec<_>>(),
        r_ids.difference(&o_ids).collect::<Vec<_>>()
    );
    for p in PLUGINS {
        assert!(
            ours.keys().any(|id| plugin_of(id) == p),
            "{leg}: plugin {p} wrote nothing"
        );
    }
    eprintln!("{leg}: comparing {} identifiers", ours.len());
    // df totals per file system: used + free + reserved.
    let mut totals: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for (id, o) in ours {
        let ty = type_of(id);
        if ty == "df_complex" || ty == "df_inodes" {
            let t = totals
                .entry((dir_of(id).to_string(), ty.to_string()))
                .or_default();
            t.0 += o.rows.last().unwrap()[1];
            t.1 += reference[id].rows.last().unwrap()[1];
        }
    }
    for ((dir, ty), (o, r)) in &totals {
        assert!(
            (o - r).abs() <= 0.01 * o.max(*r),
            "{leg}: {dir}/{ty} total ours {o} vs collectd {r}"
        );
    }

    for (id, o) in ours {
        assert!(!o.rows.is_empty(), "{leg}: {id} has no rows");
        for row in &o.rows {
            assert_eq!(
                row.len(),
                o.header.split(',').count(),
                "{leg}: {id} row {row:?}"
            );
            assert!(row.iter().all(|v| v.is_finite()), "{leg}: {id} row {row:?}");
        }
        if is_counter(id) {
            for w in o.rows.windows(2) {
                for c in 1..w[0].len() {
                    assert!(w[1][c] >= w[0][c], "{leg}: counter {id} decreased: {w:?}");
                }
            }
        }
        let Some(r) = reference.get(id) else {
            assert!(timing_dependent(id), "{leg}: {id} only in ours");
            continue;
        };
        assert_eq!(o.header, r.header, "{leg}: header of {id}");
        let (lo, lr) = (o.rows.last().unwrap(), r.rows.last().unwrap());
        assert!(
            (lo[0] - lr[0]).abs() < 2.5,
            "{leg}: {id} last readings too far apart in time: {lo:?} vs {lr:?}"
        );
        let total = totals
            .get(&(dir_of(id).to_string(), type_of(id).to_string()))
            .map(|t| t.1);
        for c in 1..lo.len() {
            let Some(tol) = tolerance(id, total, lo[c], lr[c]) else {
                continue;
            };
            assert!(
                (lo[c] - lr[c]).abs() <= tol,
                "{leg}: {id} column {c}: ours {} vs collectd {} (tolerance {tol})",
                lo[c],
                lr[c]
            );
        }
    }
}

/// Our plugins' complaints in a leg's log. collectd logs to stderr without
/// a level, so look for what our plugins and the daemons say on failure:
/// the SDK's `"<name> plugin: "` prefix, collectd's "read-function of plugin
/// `<name>' failed", and panics. The only accepted complaint is a failing
/// statvfs that collectd's own df reports as well (an unreadable mount).
fn check_log(leg: &str, variant: Variant, log: &str, debian_log: &str) {
    for line in log.lines() {
        let ours = PLUGINS.iter().any(|p| {
            line.contains(&format!("{p} plugin: "))
                || line.contains(&format!("plugin `{p}' failed"))
        });
        if !ours && !line.to_lowercase().contains("panic") {
            continue;
        }
        let shared_statvfs = line.find("statvfs(").and_then(|i| {
            let rest = &line[i..];
            rest.find(") failed")
                .map(|j| debian_log.contains(&rest[..j + 8]))
        });
        assert!(
            shared_statvfs == Some(true),
            "{leg} ({variant:?}) complained: {line}\nfull log:\n{log}"
        );
    }
}

/// Runs the daemons of one variant concurrently and returns their CSV trees:
/// (ours under collectd, Debian's under collectd, ours under rcollectd).
fn run_variant(variant: Variant) -> (Tree, Tree, Tree) {
    // One variant at a time: the process selections count this run's daemons.
    static SERIAL: Mutex<()> = Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let staging = tempfile::tempdir().unwrap();
    let ours_c = staging.path().join("ours-collectd");
    stage_plugins(&ours_c, &Path::new(DEBIAN_PLUGIN_DIR).join("csv.so"));

    let our_csv = plugin_dir().join("csv.so");
    // The rcollectd leg is the point of this test; `make build` provides both.
    let rcollectd = rcollectd_bin();
    assert!(
        our_csv.is_file(),
        "{} missing: run `make build`",
        our_csv.display()
    );
    let ours_r = staging.path().join("ours-rcollectd");
    stage_plugins(&ours_r, &our_csv);

    let a = Daemon::start_collectd(&config(&ours_c, variant));
    let b = Daemon::start_collectd(&config(Path::new(DEBIAN_PLUGIN_DIR), variant));
    let c = Daemon::start(&rcollectd, &config(&ours_r, variant), &[]);
    std::thread::sleep(RUN_TIME);

    // Stop every daemon (SIGTERM, bounded wait) before reading: the CSV
    // files live in the daemons' temp dirs, which `stop` removes.
    let (mut a, mut b, mut c) = (a, b, c);
    for d in [&mut a, &mut b, &mut c] {
        d.signal(Signal::SIGTERM);
    }
    for d in [&mut a, &mut b, &mut c] {
        assert!(
            wait_for(Duration::from_secs(20), || !d.is_running()),
            "a daemon ignored SIGTERM"
        );
    }
    let trees: Vec<Tree> = [&a, &b, &c]
        .into_iter()
        .map(|d| read_csv_tree(&d.dir().join("csv")))
        .collect();
    let out_a = a.stop();
    let out_b = b.stop();
    let out_c = c.stop();
    for (name, out) in [("ours/collectd", &out_a), ("ours/rcollectd", &out_c)] {
        check_log(name, variant, &out.log, &out_b.log);
    }
    for p in PLUGINS {
        assert!(
            out_a
                .log
                .contains(&format!("plugin_load: plugin \"{p}\" successfully loaded.")),
            "collectd 5.12 did not load our {p}.so:\n{}",
            out_a.log
        );
    }
    let [ours_tree, debian_tree, rcollectd_tree]: [Tree; 3] = trees.try_into().expect("three legs");
    assert!(
        !ours_tree.is_empty(),
        "our plugins wrote nothing under collectd 5.12:\n{}",
        out_a.log
    );
    (ours_tree, debian_tree, rcollectd_tree)
}

/// Checks that hold for every run: the process table totals and the
/// selections that must exist whatever the machine.
fn common_expectations(ours: &Tree) {
    for s in [
        "running", "sleeping", "zombies", "stopped", "paging", "blocked",
    ] {
        assert!(
            ours.contains_key(&format!("processes/ps_state-{s}")),
            "ps_state-{s}"
        );
    }
    assert!(ours.contains_key("processes/fork_rate"));
    // The two or three daemons of this run (more if other test binaries run
    // daemons at the same moment) match the command line regex.
    let count = ours["processes-daemons/ps_count"].rows.last().unwrap()[1];
    assert!(count >= 2.0, "daemons counted: {count}");
    assert!(ours["processes-collectd/ps_count"].rows.last().unwrap()[1] >= 2.0);
    assert!(ours.contains_key("processes-daemons/file_handles"));
    assert!(ours.contains_key("processes-daemons/file_handles-mapped"));
    assert!(ours.contains_key("processes-daemons/contextswitch-voluntary"));
    assert!(ours.contains_key("processes-collectd/file_handles"));
    assert!(
        !ours.contains_key("processes-collectd/file_handles-mapped"),
        "maps enabled after it"
    );
    // A selection matching nothing still reports zeros.
    assert_eq!(
        ours["processes-no-such-proc-x/ps_count"]
            .rows
            .last()
            .unwrap()[1..],
        [0.0, 0.0]
    );
}

#[test]
fn sys2_plugins_match_collectd_with_default_options() {
    let (ours, debian, rc) = run_variant(Variant::Defaults);
    compare("ours under collectd 5.12, defaults", &ours, &debian);
    common_expectations(&ours);
    assert!(ours.contains_key("df-root/df_complex-free"));
    assert!(ours.contains_key("interface-lo/if_octets"));
    assert!(ours.contains_key("fhcount/file_handles-max"));
    compare("ours under rcollectd, defaults", &rc, &debian);
    common_expectations(&rc);
}

#[test]
fn sys2_plugins_match_collectd_with_options() {
    let (ours, debian, rc) = run_variant(Variant::Options);
    compare("ours under collectd 5.12, options", &ours, &debian);
    common_expectations(&ours);
    assert!(ours
        .keys()
        .any(|k| k.starts_with("df-") && k.ends_with("/percent_inodes-used")));
    assert!(
        !ours.contains_key("df-root/df_complex-free"),
        "ReportByDevice names by device"
    );
    assert!(ours.contains_key("fhcount/percent-used"));
    assert!(!ours.contains_key("fhcount/file_handles-max"));
    assert!(!ours.keys().any(|k| k.starts_with("disk-loop")));
    compare("ours under rcollectd, options", &rc, &debian);
    common_expectations(&rc);
}

#[test]
fn log_check_accepts_only_shared_statvfs_failures() {
    let ok = "plugin_load: plugin \"df\" successfully loaded.\ndf plugin: statvfs(/mnt/x) failed: Permission denied (os error 13)\n";
    check_log(
        "t",
        Variant::Defaults,
        ok,
        "statvfs(/mnt/x) failed: Permission denied\n",
    );
    for bad in [
        "df plugin: statvfs(/mnt/x) failed: Permission denied\n",
        "read-function of plugin `disk' failed. Will suspend it for 2.000 seconds.\n",
        "processes: panic in read: boom\n",
    ] {
        let r = std::panic::catch_unwind(|| check_log("t", Variant::Defaults, bad, "nothing\n"));
        assert!(r.is_err(), "accepted {bad:?}");
    }
}
