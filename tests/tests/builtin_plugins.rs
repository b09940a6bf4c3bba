//! rcollectd's own plugins are built into the binary: `LoadPlugin cpu`
//! runs the built-in cpu unless the configured PluginDir holds a `cpu.so`,
//! which is then loaded as collectd would (here Debian's); `--plugins` and
//! `-h` list the built-ins.

use std::process::Command;

use rcollectd_tests::diff::{read_csv, skip_unless_runnable, WAIT};
use rcollectd_tests::{rcollectd_bin, wait_for, Daemon};

fn config(plugin_dir: &std::path::Path) -> String {
    format!(
        r#"Hostname "builtin"
FQDNLookup false
Interval 1
BaseDir "{{dir}}"
PIDFile "{{dir}}/pid"
PluginDir "{}"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
"#,
        plugin_dir.display()
    )
}

/// The shared objects the daemon has mapped whose names end in `.so`
/// and that live in `dir`.
fn mapped_from(d: &Daemon, dir: &std::path::Path) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", d.pid())).unwrap_or_default();
    let mut found: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with(&*dir.to_string_lossy()) && p.ends_with(".so"))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn wait_rows(d: &Daemon) -> bool {
    wait_for(WAIT, || {
        let csv = read_csv(&d.dir().join("csv"));
        csv.keys().any(|k| k.starts_with("builtin/cpu-0/cpu-"))
            && csv.keys().any(|k| k.starts_with("builtin/load/load"))
    })
}

#[test]
fn builtins_run_without_any_plugin_file() {
    let empty = tempfile::tempdir().unwrap();
    let d = Daemon::start_rcollectd(&config(empty.path()));
    assert!(wait_rows(&d), "no cpu/load rows:\n{}", d.log());
    assert!(mapped_from(&d, empty.path()).is_empty());
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", d.pid())).unwrap();
    assert!(!maps.contains("/cpu.so"), "a cpu.so is mapped:\n{maps}");
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}

#[test]
fn a_plugin_dir_file_overrides_the_builtin() {
    if skip_unless_runnable(&["cpu", "csv"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for p in ["cpu", "csv"] {
        std::fs::copy(
            format!("/usr/lib/collectd/{p}.so"),
            dir.path().join(format!("{p}.so")),
        )
        .unwrap();
    }
    let d = Daemon::start_rcollectd(&config(dir.path()));
    assert!(wait_rows(&d), "no cpu/load rows:\n{}", d.log());
    let want: Vec<String> = ["cpu.so", "csv.so"]
        .iter()
        .map(|f| dir.path().join(f).display().to_string())
        .collect();
    assert_eq!(mapped_from(&d, dir.path()), want, "load stays built in");
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}

#[test]
fn plugins_flag_and_help_list_the_builtins() {
    let out = Command::new(rcollectd_bin())
        .arg("--plugins")
        .output()
        .unwrap();
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    for p in [
        "cpu",
        "csv",
        "network",
        "unixsock",
        "write_prometheus",
        "remote_write",
    ] {
        assert!(list.lines().any(|l| l == p), "{p} missing from:\n{list}");
    }
    let help = Command::new(rcollectd_bin()).arg("-h").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Built-in plugins"), "{help}");
    assert!(help.contains("write_http"), "{help}");
}
