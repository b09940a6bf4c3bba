//! Side-by-side runs of our cpu, memory, load, swap, uptime, entropy,
//! contextswitch and vmem plugins against Debian's builds of collectd 5.12's
//! plugins of the same names, all writing CSV at Interval 1 on this machine.
//!
//! The runs are concurrent (same seconds, same machine), so identifiers and
//! CSV headers must be identical and values may differ only by what changes
//! on the machine between two readings a fraction of a second apart.
//!
//! Legs:
//! * "ours/collectd": our `.so`s loaded by the real collectd 5.12 (proves they
//!   load and dispatch under collectd's own daemon), with Debian's `csv.so`;
//! * "debian": Debian's plugins under collectd 5.12, the reference;
//! * "ours/rcollectd": our `.so`s under rcollectd with our `csv.so`, when
//!   `make build` has produced both (rcollectd's own tests cover the daemon).
//!
//! Replay tests (root only: they need a private mount namespace) bind-mount
//! recorded and hand-made `/proc` files over the kernel's for both plugin
//! sets, so values must be identical, including cases this machine cannot
//! produce (swap devices, old kernel formats, guest time).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcollectd_tests::{files_below, plugin_dir, rcollectd_bin, wait_for, Daemon};

/// Our plugins under test, by collectd name.
const PLUGINS: [&str; 8] = [
    "cpu",
    "memory",
    "load",
    "swap",
    "uptime",
    "entropy",
    "contextswitch",
    "vmem",
];

/// Where Debian installs collectd 5.12's plugins.
const DEBIAN_PLUGIN_DIR: &str = "/usr/lib/collectd";
/// collectd 5.12's own types.db, used by every leg so only plugins differ.
const DEBIAN_TYPES_DB: &str = "/usr/share/collectd/types.db";
/// Readings every leg must have written before the daemons are stopped
/// (the cpu plugin reports from its second reading on).
const READINGS: usize = 3;
/// Upper bound on the wait for those readings on a loaded machine.
const MAX_RUN_TIME: Duration = Duration::from_secs(30);

/// Rows written so far to the uptime CSV below `data_dir` (uptime reports on
/// every reading in every variant, so it counts the leg's read cycles).
fn readings(data_dir: &Path) -> usize {
    readings_of(data_dir, "uptime", "uptime-")
}

/// Rows written so far to `<plugin dir>/<file prefix>*` below `data_dir`.
fn readings_of(data_dir: &Path, plugin_dir: &str, file_prefix: &str) -> usize {
    let dir = data_dir.join("sysplugins").join(plugin_dir);
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(file_prefix))
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .map(|text| text.lines().count().saturating_sub(1))
        .sum()
}

/// Plugin blocks with collectd's defaults (empty) and with every option
/// changed from its default, so both code paths are compared.
fn plugin_blocks(variant: Variant) -> String {
    match variant {
        Variant::Defaults => String::new(),
        Variant::Options => r#"
<Plugin cpu>
  ReportByCpu false
  ReportByState true
  ValuesPercentage true
  ReportNumCpu true
  ReportGuestState true
  SubtractGuestState false
</Plugin>
<Plugin memory>
  ValuesAbsolute true
  ValuesPercentage true
</Plugin>
<Plugin load>
  ReportRelative true
</Plugin>
<Plugin swap>
  ReportByDevice false
  ReportBytes true
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>
<Plugin vmem>
  Verbose true
</Plugin>
"#
        .to_string(),
        Variant::Alternate => r#"
<Plugin cpu>
  ReportByCpu true
  ReportByState false
  ReportGuestState true
</Plugin>
<Plugin memory>
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>
<Plugin swap>
  ReportByDevice true
  ReportIO false
</Plugin>
<Plugin vmem>
  Verbose false
</Plugin>
"#
        .to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// No `<Plugin>` blocks.
    Defaults,
    /// Every option away from its default.
    Options,
    /// The remaining branches: per-CPU "active", percent-only memory,
    /// swap by device without I/O.
    Alternate,
}

/// A collectd.conf for one leg: `plugin_dir` holds the plugins and csv.so;
/// CSV files go to `data_dir`, which outlives the daemon's own temp dir.
fn config(plugin_dir: &Path, data_dir: &Path, variant: Variant) -> String {
    let mut c = format!(
        "Hostname \"sysplugins\"\nFQDNLookup false\nInterval 1\nBaseDir \"{{dir}}\"\n\
         PIDFile \"{{dir}}/collectd.pid\"\nPluginDir \"{}\"\nTypesDB \"{DEBIAN_TYPES_DB}\"\n\
         LoadPlugin csv\n",
        plugin_dir.display()
    );
    for p in PLUGINS {
        c.push_str(&format!("LoadPlugin {p}\n"));
    }
    c.push_str(&format!(
        "<Plugin csv>\n  DataDir \"{}\"\n  StoreRates false\n</Plugin>\n",
        data_dir.display()
    ));
    c.push_str(&plugin_blocks(variant));
    c
}

/// A private plugin dir holding regular-file copies (collectd refuses
/// symlinks) of our plugins and the given csv.so.
fn stage_plugins(dest: &Path, csv_so: &Path) {
    fs::create_dir_all(dest).unwrap();
    let ours = plugin_dir();
    for p in PLUGINS {
        let src = ours.join(format!("{p}.so"));
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

/// All CSV files of a run, keyed by identifier (path below the host dir
/// with the `-YYYY-MM-DD` suffix stripped).
fn read_csv_tree(data_dir: &Path) -> BTreeMap<String, Csv> {
    let host = data_dir.join("sysplugins");
    let mut out = BTreeMap::new();
    for rel in files_below(&host) {
        let name = rel.to_string_lossy().to_string();
        // Strip the date suffix "-2026-11-24" (11 characters).
        assert!(name.len() > 11, "unexpected CSV file {name}");
        let (id, date) = name.split_at(name.len() - 11);
        assert!(
            date.starts_with('-') && date[1..].chars().filter(|c| *c == '-').count() == 2,
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

/// The plugin name of an identifier `plugin[-instance]/type[-instance]`.
fn plugin_of(id: &str) -> &str {
    let dir = id.split('/').next().unwrap_or("");
    dir.split('-').next().unwrap_or(dir)
}

/// The type of an identifier (the file part up to its first '-').
fn type_of(id: &str) -> &str {
    let file = id.rsplit('/').next().unwrap_or("");
    file.split('-').next().unwrap_or(file)
}

/// How far two readings of the same metric, taken at most ~1 s apart on a
/// busy machine, may differ.
fn tolerance(id: &str, a: f64, b: f64) -> f64 {
    let big = a.abs().max(b.abs());
    match (plugin_of(id), type_of(id)) {
        // Bytes of memory/swap in a state: 5 %, at least 64 MiB of churn.
        (_, "memory") | (_, "swap") => (0.05 * big).max(64.0 * 1024.0 * 1024.0),
        // Shares of memory/swap: 5 percentage points.
        ("memory", "percent") | ("swap", "percent") => 5.0,
        // CPU shares over one-second windows that do not coincide exactly.
        ("cpu", "percent") => 35.0,
        ("cpu", "count") => 0.0,
        // Jiffies: 2 CPUs x 100 Hz x ~1.5 s between readings.
        ("cpu", "cpu") => 300.0,
        ("load", _) => 1.0,
        ("uptime", _) => 3.0,
        ("entropy", _) => (0.1 * big).max(8.0),
        // Counters: busy builds run next to the test; 10 % or a floor.
        ("contextswitch", _) => (0.1 * big).max(50_000.0),
        ("swap", "swap_io") => (0.1 * big).max(4096.0 * 1000.0),
        ("vmem", "vmpage_number") => (0.25 * big).max(50_000.0),
        ("vmem", _) => (0.1 * big).max(200_000.0),
        (p, t) => panic!("no tolerance defined for {p}/{t} ({id})"),
    }
}

/// Types whose values are DERIVE counters and so never decrease in a run.
fn is_counter(id: &str) -> bool {
    matches!(
        type_of(id),
        "cpu" | "contextswitch" | "swap_io" | "vmpage_action" | "vmpage_faults" | "vmpage_io"
    )
}

/// Assert that `ours` reproduces `reference` (both from the same variant).
/// `silent` lists plugins allowed to write nothing in this variant.
fn compare(
    leg: &str,
    ours: &BTreeMap<String, Csv>,
    reference: &BTreeMap<String, Csv>,
    silent: &[&str],
) {
    let ours_ids: BTreeSet<_> = ours.keys().collect();
    let ref_ids: BTreeSet<_> = reference.keys().collect();
    assert_eq!(
        ours_ids,
        ref_ids,
        "{leg}: identifier sets differ\nonly ours: {:?}\nonly collectd: {:?}",
        ours_ids.difference(&ref_ids).collect::<Vec<_>>(),
        ref_ids.difference(&ours_ids).collect::<Vec<_>>()
    );
    eprintln!("{leg}: {} identifiers compared", ours.len());
    for p in PLUGINS {
        assert!(
            ours.keys().any(|id| plugin_of(id) == p) || silent.contains(&p),
            "{leg}: plugin {p} wrote nothing"
        );
    }
    for (id, o) in ours {
        let r = &reference[id];
        assert_eq!(o.header, r.header, "{leg}: header of {id}");
        assert!(!o.rows.is_empty(), "{leg}: {id} has no rows");
        for row in &o.rows {
            assert_eq!(
                row.len(),
                o.header.split(',').count(),
                "{leg}: {id} row {row:?}"
            );
            // NaN only where collectd writes it too (e.g. percent of no swap).
            assert!(
                row.iter().all(|v| v.is_finite())
                    || r.rows.iter().any(|rr| rr.iter().any(|v| v.is_nan())),
                "{leg}: {id} row {row:?}"
            );
        }
        if is_counter(id) {
            for w in o.rows.windows(2) {
                for c in 1..w[0].len() {
                    assert!(w[1][c] >= w[0][c], "{leg}: counter {id} decreased: {w:?}");
                }
            }
        }
        if type_of(id) == "percent" {
            for row in &o.rows {
                assert!(
                    row[1].is_nan() || (0.0..=100.1).contains(&row[1]),
                    "{leg}: {id} percent {row:?}"
                );
            }
        }
        // Compare the last readings: both daemons ran during the same seconds.
        let (lo, lr) = (o.rows.last().unwrap(), r.rows.last().unwrap());
        assert!(
            (lo[0] - lr[0]).abs() < 2.5,
            "{leg}: {id} last readings too far apart in time: {lo:?} vs {lr:?}"
        );
        for c in 1..lo.len() {
            if lo[c].is_nan() || lr[c].is_nan() {
                assert!(
                    lo[c].is_nan() && lr[c].is_nan(),
                    "{leg}: {id} column {c}: ours {} vs collectd {}",
                    lo[c],
                    lr[c]
                );
                continue;
            }
            let tol = tolerance(id, lo[c], lr[c]);
            assert!(
                (lo[c] - lr[c]).abs() <= tol,
                "{leg}: {id} column {c}: ours {} vs collectd {} (tolerance {tol})",
                lo[c],
                lr[c]
            );
        }
    }
    // Percentages of one CPU, memory or swap add up to 100.
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for (id, o) in ours {
        if type_of(id) == "percent" && !id.ends_with("percent-active") {
            let dir = id.split('/').next().unwrap().to_string();
            *sums.entry(dir).or_default() += o.rows.last().unwrap()[1];
        }
    }
    for (dir, sum) in sums {
        if sum.is_nan() {
            continue; // e.g. swap percentages on a machine without swap
        }
        assert!(
            (sum - 100.0).abs() < 0.5,
            "{leg}: percentages of {dir} sum to {sum}"
        );
    }
}

/// Runs the daemons of one variant concurrently and returns their CSV trees:
/// (ours under collectd, debian under collectd, ours under rcollectd).
type Trees = (
    BTreeMap<String, Csv>,
    BTreeMap<String, Csv>,
    BTreeMap<String, Csv>,
);

fn run_variant(variant: Variant) -> Trees {
    // No leading dot: collectd's csv plugin refuses such directories.
    let staging = tempfile::Builder::new()
        .prefix("sysplugins-sys1-")
        .tempdir()
        .unwrap();
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

    let dirs: Vec<PathBuf> = ["csv-ours-collectd", "csv-debian", "csv-ours-rcollectd"]
        .iter()
        .map(|d| staging.path().join(d))
        .collect();
    let a = Daemon::start_collectd(&config(&ours_c, &dirs[0], variant));
    let b = Daemon::start_collectd(&config(Path::new(DEBIAN_PLUGIN_DIR), &dirs[1], variant));
    let c = Daemon::start(&rcollectd, &config(&ours_r, &dirs[2], variant), &[]);
    let ready = wait_for(MAX_RUN_TIME, || {
        dirs.iter().all(|d| readings(d) >= READINGS)
    });
    // One more interval so that every plugin finished the last cycle.
    std::thread::sleep(Duration::from_millis(500));

    let out_a = a.stop();
    let out_b = b.stop();
    let out_c = c.stop();
    for (name, out) in [
        ("ours/collectd", &out_a),
        ("debian", &out_b),
        ("ours/rcollectd", &out_c),
    ] {
        for p in PLUGINS {
            assert!(
                !out.log.contains(&format!(
                    "Found a configuration for the `{p}' plugin, but the plugin isn't loaded"
                )),
                "{name}: {p} not loaded:\n{}",
                out.log
            );
            // Neither collectd's plugins nor ours log anything when healthy.
            assert!(
                !out.log.contains(&format!("{p} plugin:")),
                "{name} ({variant:?}): {p} complained:\n{}",
                out.log
            );
        }
        assert!(
            !out.log.contains("ERROR") && !out.log.to_lowercase().contains("panic"),
            "{name} ({variant:?}) logged an error:\n{}",
            out.log
        );
    }
    assert!(
        ready,
        "not every leg wrote {READINGS} readings within {MAX_RUN_TIME:?}:\n\
         ours/collectd:\n{}\ndebian:\n{}\nours/rcollectd:\n{}",
        out_a.log, out_b.log, out_c.log
    );
    let ours_tree = read_csv_tree(&dirs[0]);
    assert!(
        !ours_tree.is_empty(),
        "our plugins wrote nothing under collectd 5.12:\n{}",
        out_a.log
    );
    for p in PLUGINS {
        assert!(
            out_a
                .log
                .contains(&format!("plugin_load: plugin \"{p}\" successfully loaded.")),
            "collectd 5.12 did not load our {p}.so:\n{}",
            out_a.log
        );
    }
    (ours_tree, read_csv_tree(&dirs[1]), read_csv_tree(&dirs[2]))
}

#[test]
fn sys1_plugins_match_collectd_with_default_options() {
    let (ours, debian, rc) = run_variant(Variant::Defaults);
    compare("ours under collectd 5.12, defaults", &ours, &debian, &[]);
    // The legacy cpu mode reports raw jiffies per CPU and state.
    assert!(ours.keys().any(|id| id.starts_with("cpu-0/cpu-idle")));
    assert!(ours.contains_key("memory/memory-used"));
    assert!(ours.contains_key("load/load"));
    compare("ours under rcollectd, defaults", &rc, &debian, &[]);
}

#[test]
fn sys1_plugins_match_collectd_with_all_options() {
    let (ours, debian, rc) = run_variant(Variant::Options);
    compare("ours under collectd 5.12, options", &ours, &debian, &[]);
    assert!(ours.contains_key("cpu/percent-idle"));
    assert!(ours.contains_key("cpu/count"));
    assert!(ours.contains_key("memory/percent-used"));
    assert!(ours.contains_key("load/load-relative"));
    assert!(ours.contains_key("swap/percent-used") || ours.contains_key("swap/swap_io-in"));
    compare("ours under rcollectd, options", &rc, &debian, &[]);
}

#[test]
fn sys1_plugins_match_collectd_with_alternate_options() {
    let (ours, debian, rc) = run_variant(Variant::Alternate);
    // Swap by device writes nothing on a machine without swap devices.
    compare(
        "ours under collectd 5.12, alternate",
        &ours,
        &debian,
        &["swap"],
    );
    assert!(ours.contains_key("cpu-0/percent-active"));
    assert!(ours.contains_key("memory/percent-used"));
    assert!(!ours.contains_key("memory/memory-used"));
    assert!(!ours.keys().any(|id| id.contains("swap_io")));
    compare("ours under rcollectd, alternate", &rc, &debian, &["swap"]);
}

// ---------------------------------------------------------------------------
// Replay: the same recorded /proc files, bind-mounted in a private mount
// namespace, read by our plugins and by Debian's under collectd 5.12. Inputs
// are identical, so every value must be identical too, including the edge
// cases this machine cannot produce (swap devices, old kernels' lines).
// ---------------------------------------------------------------------------

/// Plugins whose sources can be replayed (load and uptime use sysinfo(2)).
const REPLAYED: [&str; 6] = ["cpu", "memory", "swap", "vmem", "contextswitch", "entropy"];

/// A replay scenario: which fixture replaces which kernel file, and options.
struct Scenario {
    name: &'static str,
    /// (fixture below plugins/, kernel file it replaces)
    mounts: &'static [(&'static str, &'static str)],
    blocks: &'static str,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "recorded",
        mounts: &[
            ("cpu/tests/fixtures/stat_2cpu.txt", "/proc/stat"),
            ("memory/tests/fixtures/meminfo.txt", "/proc/meminfo"),
            ("swap/tests/fixtures/swaps_empty.txt", "/proc/swaps"),
            ("vmem/tests/fixtures/vmstat.txt", "/proc/vmstat"),
            (
                "entropy/tests/fixtures/entropy_avail.txt",
                "/proc/sys/kernel/random/entropy_avail",
            ),
        ],
        blocks: "<Plugin memory>\n ValuesPercentage true\n</Plugin>\n\
                 <Plugin swap>\n ValuesPercentage true\n ReportBytes true\n</Plugin>\n\
                 <Plugin vmem>\n Verbose true\n</Plugin>\n\
                 <Plugin cpu>\n ReportNumCpu true\n</Plugin>\n",
    },
    Scenario {
        name: "edge",
        mounts: &[
            ("cpu/tests/fixtures/stat_edge.txt", "/proc/stat"),
            ("swap/tests/fixtures/meminfo_swap.txt", "/proc/meminfo"),
            ("swap/tests/fixtures/swaps_devices.txt", "/proc/swaps"),
            ("vmem/tests/fixtures/vmstat_edge.txt", "/proc/vmstat"),
        ],
        blocks: "<Plugin memory>\n ValuesPercentage true\n</Plugin>\n\
                 <Plugin swap>\n ReportByDevice true\n ValuesPercentage true\n</Plugin>\n\
                 <Plugin vmem>\n Verbose true\n</Plugin>\n\
                 <Plugin cpu>\n ReportNumCpu true\n ReportGuestState true\n</Plugin>\n",
    },
];

/// Whether this process may create a mount namespace and bind-mount (root).
fn can_bind_mount() -> bool {
    std::process::Command::new("unshare")
        .args(["-m", "mount", "--bind", "/proc/version", "/proc/version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A launcher that runs collectd 5.12 in a private mount namespace with the
/// scenario's fixtures over the kernel files (private propagation: the host
/// never sees the mounts).
fn write_launcher(dir: &Path, mounts: &[(PathBuf, &str)]) -> PathBuf {
    let mut inner = String::from("#!/bin/sh\nset -e\n");
    for (src, target) in mounts {
        assert!(src.is_file(), "{} missing", src.display());
        inner.push_str(&format!("mount --bind '{}' '{target}'\n", src.display()));
    }
    inner.push_str("exec /usr/sbin/collectd \"$@\"\n");
    let inner_path = dir.join("inner.sh");
    fs::write(&inner_path, inner).unwrap();
    let outer_path = dir.join("collectd-replay.sh");
    fs::write(
        &outer_path,
        format!(
            "#!/bin/sh\nexec unshare -m --propagation private '{}' \"$@\"\n",
            inner_path.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [&inner_path, &outer_path] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    outer_path
}

fn replay_config(plugin_dir: &Path, data_dir: &Path, blocks: &str) -> String {
    let mut c = format!(
        "Hostname \"sysplugins\"\nFQDNLookup false\nInterval 1\nBaseDir \"{{dir}}\"\n\
         PIDFile \"{{dir}}/collectd.pid\"\nPluginDir \"{}\"\nTypesDB \"{DEBIAN_TYPES_DB}\"\n\
         LoadPlugin csv\n",
        plugin_dir.display()
    );
    for p in REPLAYED {
        c.push_str(&format!("LoadPlugin {p}\n"));
    }
    c.push_str(&format!(
        "<Plugin csv>\n  DataDir \"{}\"\n  StoreRates false\n</Plugin>\n{blocks}",
        data_dir.display()
    ));
    c
}

#[test]
fn sys1_plugins_equal_collectd_on_replayed_proc_files() {
    if !can_bind_mount() {
        eprintln!(
            "note: cannot bind-mount in a private mount namespace (not root?); replay skipped"
        );
        return;
    }
    for scenario in &SCENARIOS {
        let staging = tempfile::Builder::new()
            .prefix("sysplugins-sys1-replay-")
            .tempdir()
            .unwrap();
        let ours_dir = staging.path().join("ours");
        stage_plugins(&ours_dir, &Path::new(DEBIAN_PLUGIN_DIR).join("csv.so"));
        let root = rcollectd_tests::workspace_root().join("plugins");
        let mounts: Vec<(PathBuf, &str)> = scenario
            .mounts
            .iter()
            .map(|(fixture, target)| (root.join(fixture), *target))
            .collect();
        let launcher = write_launcher(staging.path(), &mounts);
        let data = [
            staging.path().join("csv-ours"),
            staging.path().join("csv-debian"),
        ];
        let a = Daemon::start(
            &launcher,
            &replay_config(&ours_dir, &data[0], scenario.blocks),
            &[],
        );
        let b = Daemon::start(
            &launcher,
            &replay_config(Path::new(DEBIAN_PLUGIN_DIR), &data[1], scenario.blocks),
            &[],
        );
        // vmpage_number-dirty exists in both vmstat fixtures.
        let ready = wait_for(MAX_RUN_TIME, || {
            data.iter()
                .all(|d| readings_of(d, "vmem", "vmpage_number-dirty-") >= READINGS)
        });
        std::thread::sleep(Duration::from_millis(500));
        let (out_a, out_b) = (a.stop(), b.stop());
        assert!(
            ready,
            "{}: no {READINGS} readings\nours:\n{}\ndebian:\n{}",
            scenario.name, out_a.log, out_b.log
        );
        let ours = read_csv_tree(&data[0]);
        let debian = read_csv_tree(&data[1]);
        let ids = |t: &BTreeMap<String, Csv>| t.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            ids(&ours),
            ids(&debian),
            "{}: identifiers differ",
            scenario.name
        );
        for (id, o) in &ours {
            let d = &debian[id];
            assert_eq!(o.header, d.header, "{}: header of {id}", scenario.name);
            // Unchanging inputs: every row of ours equals collectd's first
            // row, bit for bit as printed, apart from the time column.
            let want: Vec<String> = d.rows[0][1..].iter().map(|v| format!("{v:?}")).collect();
            for row in &o.rows {
                let got: Vec<String> = row[1..].iter().map(|v| format!("{v:?}")).collect();
                assert_eq!(got, want, "{}: values of {id}", scenario.name);
            }
        }
        for p in ["memory", "vmem", "cpu", "swap"] {
            assert!(
                ours.keys().any(|id| plugin_of(id) == p),
                "{}: {p} wrote nothing\n{}",
                scenario.name,
                out_a.log
            );
        }
        eprintln!(
            "replay {}: {} identifiers identical: {:?}",
            scenario.name,
            ours.len(),
            ours.keys()
                .filter(|id| !id.starts_with("vmem/vmpage_number"))
                .collect::<Vec<_>>()
        );
    }
}

/// cpu options whose output is a ratio of counter deltas (percentages),
/// which does not depend on when exactly each daemon reads.
const CPU_PERCENT_BLOCKS: [&str; 3] = [
    "<Plugin cpu>\n ValuesPercentage true\n ReportNumCpu true\n</Plugin>\n",
    "<Plugin cpu>\n ReportByCpu false\n ReportGuestState true\n SubtractGuestState false\n</Plugin>\n",
    "<Plugin cpu>\n ReportByState false\n ReportGuestState true\n</Plugin>\n",
];

/// /proc/stat is replaced once while both daemons run: the reading that
/// straddles the change sees the same deltas in both, so the percentages
/// (computed from rates, i.e. the cpu plugin's own rate logic) must be
/// identical; readings without change give 0/0 and dispatch nothing.
#[test]
fn sys1_cpu_percentages_equal_collectd_on_replayed_change() {
    if !can_bind_mount() {
        eprintln!(
            "note: cannot bind-mount in a private mount namespace (not root?); replay skipped"
        );
        return;
    }
    let fixtures = rcollectd_tests::workspace_root().join("plugins/cpu/tests/fixtures");
    let before = fs::read_to_string(fixtures.join("stat_guest.txt")).unwrap();
    let after = fs::read_to_string(fixtures.join("stat_guest_next.txt")).unwrap();
    for blocks in CPU_PERCENT_BLOCKS {
        let staging = tempfile::Builder::new()
            .prefix("sysplugins-sys1-cpu-")
            .tempdir()
            .unwrap();
        let stat = staging.path().join("stat");
        fs::write(&stat, &before).unwrap();
        let vmstat =
            rcollectd_tests::workspace_root().join("plugins/vmem/tests/fixtures/vmstat.txt");
        let launcher = write_launcher(
            staging.path(),
            &[(stat.clone(), "/proc/stat"), (vmstat, "/proc/vmstat")],
        );
        let ours_dir = staging.path().join("ours");
        stage_plugins(&ours_dir, &Path::new(DEBIAN_PLUGIN_DIR).join("csv.so"));
        let data = [
            staging.path().join("csv-ours"),
            staging.path().join("csv-debian"),
        ];
        let a = Daemon::start(&launcher, &replay_config(&ours_dir, &data[0], blocks), &[]);
        let b = Daemon::start(
            &launcher,
            &replay_config(Path::new(DEBIAN_PLUGIN_DIR), &data[1], blocks),
            &[],
        );
        let n = |d: &Path| readings_of(d, "vmem", "vmpage_number-dirty-");
        let primed = wait_for(MAX_RUN_TIME, || data.iter().all(|d| n(d) >= 2));
        let counts: Vec<usize> = data.iter().map(|d| n(d)).collect();
        // Same inode (the bind mount follows it): rewrite in place.
        fs::write(&stat, &after).unwrap();
        let done = wait_for(MAX_RUN_TIME, || {
            data.iter().zip(&counts).all(|(d, c)| n(d) >= c + 2)
        });
        let (out_a, out_b) = (a.stop(), b.stop());
        assert!(
            primed && done,
            "{blocks}: too few readings\nours:\n{}\ndebian:\n{}",
            out_a.log,
            out_b.log
        );
        let ours = read_csv_tree(&data[0]);
        let debian = read_csv_tree(&data[1]);
        let cpu = |t: &BTreeMap<String, Csv>| -> BTreeMap<String, (String, Vec<String>)> {
            t.iter()
                .filter(|(id, _)| plugin_of(id) == "cpu")
                .map(|(id, c)| {
                    let rows = c
                        .rows
                        .iter()
                        .map(|r| {
                            r[1..]
                                .iter()
                                .map(|v| format!("{v:?}"))
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .collect();
                    (id.clone(), (c.header.clone(), rows))
                })
                .collect()
        };
        let (o, d) = (cpu(&ours), cpu(&debian));
        assert!(
            o.keys().any(|id| type_of(id) == "percent"),
            "{blocks}: no percentages:\n{o:?}\n{}",
            out_a.log
        );
        assert_eq!(o, d, "{blocks}: cpu values differ");
        eprintln!(
            "cpu replay: {} identifiers identical for {blocks:?}",
            o.len()
        );
    }
}
