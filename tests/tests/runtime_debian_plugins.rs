//! Debian's collectd 5.12 plugins (compiled against collectd's own headers)
//! run under rcollectd exactly as under collectd: with Debian's csv plugin as
//! the writer, both daemons produce the same set of CSV files (identifiers)
//! with the same header lines.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rcollectd_tests::{collectd_bin, files_below, rcollectd_bin, wait_for, Daemon};

const READ_PLUGINS: &[&str] = &[
    "cpu",
    "memory",
    "load",
    "df",
    "disk",
    "interface",
    "swap",
    "uptime",
    "fhcount",
    "processes",
    "entropy",
    "contextswitch",
    "vmem",
    "irq",
    "users",
    "tcpconns",
    "protocols",
];

fn config(data_dir: &Path) -> String {
    let mut c = r#"
Hostname "testhost"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
"#
    .to_string();
    for p in READ_PLUGINS {
        c.push_str(&format!("LoadPlugin {p}\n"));
    }
    c.push_str(&format!(
        r#"LoadPlugin csv
<Plugin csv>
  DataDir "{}"
  StoreRates false
</Plugin>
# Listening ports change while other tests run: watch one fixed port only.
<Plugin tcpconns>
  ListeningPorts false
  AllPortsSummary false
  LocalPort "65011"
</Plugin>
"#,
        data_dir.display()
    ));
    c
}

/// Identifiers whose presence depends on what the machine did during the
/// run, not on the daemon: the disk plugin reports `pending_operations` only
/// after it once saw I/O in flight (disk.c's `has_in_progress`).
fn timing_dependent(ident: &str) -> bool {
    ident.starts_with("disk-") && ident.ends_with("/pending_operations")
}

/// Identifier (CSV path without the date suffix) -> header line.
fn csv_headers(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for rel in files_below(root) {
        let name = rel.display().to_string();
        // ".../type-instance-YYYY-MM-DD"
        let ident = match name.len().checked_sub(11) {
            Some(cut) if name.as_bytes()[cut] == b'-' => name[..cut].to_owned(),
            _ => name.clone(),
        };
        let text = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
        let header = text.lines().next().unwrap_or_default().to_owned();
        out.insert(ident, header);
    }
    out
}

fn run(bin: &Path, data_dir: &Path) -> (String, Option<bool>) {
    let d = Daemon::start(bin, &config(data_dir), &[]);
    // ~10 s of collection; stop early only if the daemon died.
    let mut d = d;
    let died = wait_for(Duration::from_secs(10), || !d.is_running());
    let log = d.log();
    let out = d.stop();
    let ok = if died {
        Some(false)
    } else {
        out.status.map(|s| s.success())
    };
    (log, ok)
}

#[test]
fn debian_plugins_write_the_same_csv_files() {
    // collectd's csv plugin refuses directories whose name starts with a dot.
    let tmp = tempfile::Builder::new()
        .prefix("rcd-debian-")
        .tempdir()
        .unwrap();
    let ours = tmp.path().join("rcollectd");
    let theirs = tmp.path().join("collectd");
    let (ours_dir, theirs_dir) = (ours.clone(), theirs.clone());
    let t = std::thread::spawn(move || run(&collectd_bin(), &theirs_dir));
    let (our_log, our_ok) = run(&rcollectd_bin(), &ours_dir);
    let (their_log, their_ok) = t.join().unwrap();
    assert_eq!(their_ok, Some(true), "collectd failed:\n{their_log}");
    assert_eq!(our_ok, Some(true), "rcollectd failed:\n{our_log}");

    let ours = csv_headers(&ours.join("testhost"));
    let theirs = csv_headers(&theirs.join("testhost"));
    assert!(theirs.len() > 50, "collectd wrote too little: {theirs:#?}");
    for p in [
        "cpu-0/",
        "memory/",
        "load/",
        "df-root/",
        "interface-lo/",
        "uptime/",
        "processes/",
        "contextswitch/",
        "vmem/",
    ] {
        assert!(
            theirs.keys().any(|k| k.starts_with(p)),
            "collectd wrote nothing for {p}"
        );
    }

    let only_ours: Vec<_> = ours
        .keys()
        .filter(|k| !theirs.contains_key(*k) && !timing_dependent(k))
        .collect();
    let only_theirs: Vec<_> = theirs
        .keys()
        .filter(|k| !ours.contains_key(*k) && !timing_dependent(k))
        .collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "identifiers differ\nonly rcollectd: {only_ours:#?}\nonly collectd: {only_theirs:#?}\nrcollectd log:\n{our_log}"
    );
    for (ident, header) in &theirs {
        if let Some(h) = ours.get(ident) {
            assert_eq!(h, header, "header of {ident} differs");
        }
    }
}
