//! Our csv writer with StoreRates in both daemons: derive values from
//! collectd's own cpu plugin are written as per-second rates fetched with
//! `uc_get_rate` (`%lf`), raw values without StoreRates stay integers.
//! Needs `make build` and collectd 5.12's plugins.

use std::path::Path;
use std::time::Duration;

use rcollectd_tests::{files_below, plugin_dir, wait_for, Daemon};

/// A plugin dir holding our csv.so and collectd's cpu.so (copies, since
/// collectd refuses symlinks).
fn mixed_plugin_dir(tmp: &Path) -> String {
    let dir = tmp.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(plugin_dir().join("csv.so"), dir.join("csv.so")).unwrap();
    std::fs::copy("/usr/lib/collectd/cpu.so", dir.join("cpu.so")).unwrap();
    dir.display().to_string()
}

fn config(plugins: &str, store_rates: bool) -> String {
    format!(
        r#"
Hostname "sdkhost"
FQDNLookup false
BaseDir "{{dir}}"
PIDFile "{{dir}}/daemon.pid"
PluginDir "{plugins}"
TypesDB "{{types_db}}"
Interval 0.5
LoadPlugin cpu
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
  StoreRates {store_rates}
</Plugin>
"#
    )
}

/// Data lines of the cpu-user file, once it has at least three.
fn user_lines(root: &Path) -> Vec<String> {
    files_below(root)
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with("sdkhost/cpu-0/cpu-user-"))
        .and_then(|rel| std::fs::read_to_string(root.join(rel)).ok())
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn run(start: fn(&str) -> Daemon, name: &str, store_rates: bool) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let d = start(&config(&mixed_plugin_dir(tmp.path()), store_rates));
    let root = d.dir().join("csv");
    let ok = wait_for(Duration::from_secs(15), || user_lines(&root).len() >= 4);
    let lines = user_lines(&root);
    let out = d.stop();
    assert!(ok, "{name}: no cpu-user CSV lines:\n{}", out.log);
    assert_eq!(lines[0], "epoch,value", "{name}");
    lines[1..].to_vec()
}

/// `%lf`: digits, a dot, six decimals (or nan for the first rate).
fn is_lf(v: &str) -> bool {
    v == "nan"
        || v.split_once('.').is_some_and(|(i, f)| {
            !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && f.len() == 6
                && f.bytes().all(|b| b.is_ascii_digit())
        })
}

fn check(name: &str, start: fn(&str) -> Daemon) {
    let rates = run(start, name, true);
    let values: Vec<&str> = rates.iter().map(|l| l.split_once(',').unwrap().1).collect();
    assert!(
        values.iter().all(|v| is_lf(v)),
        "{name}: StoreRates lines {rates:?}"
    );
    assert!(
        values.iter().any(|v| *v != "nan"),
        "{name}: no rate ever computed: {rates:?}"
    );
    let raw = run(start, name, false);
    let values: Vec<&str> = raw.iter().map(|l| l.split_once(',').unwrap().1).collect();
    assert!(
        values
            .iter()
            .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())),
        "{name}: raw derive lines {raw:?}"
    );
}

#[test]
fn store_rates_in_collectd() {
    check("collectd", Daemon::start_collectd);
}

#[test]
fn store_rates_in_rcollectd() {
    check("rcollectd", Daemon::start_rcollectd);
}
