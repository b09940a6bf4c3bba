//! `Isolate true`: a C read plugin that dereferences NULL on its third read
//! ends rcollectd (as it ends collectd) unless isolated; isolated, the
//! daemon logs how its host process ended, restarts it with a doubling
//! back-off, counts the restarts, and every other plugin runs on.

mod runtime_support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use rcollectd_tests::{wait_for, Daemon};
use runtime_support::{build_test_plugin, lines, Headers};

/// A plugin dir with the C test plugin and Debian's load and csv.
fn plugin_dir(tmp: &Path) -> String {
    build_test_plugin(tmp, Headers::Collectd);
    for p in ["csv", "load"] {
        fs::copy(
            format!("/usr/lib/collectd/{p}.so"),
            tmp.join(format!("{p}.so")),
        )
        .expect("copy Debian's plugin");
    }
    tmp.display().to_string()
}

fn config(tmp: &Path, isolate: &str) -> String {
    config_with(tmp, isolate, "CrashOnRead 3")
}

fn config_with(tmp: &Path, isolate: &str, fault: &str) -> String {
    format!(
        r#"
Hostname "iso"
FQDNLookup false
Interval 0.5
MaxReadInterval 2
BaseDir "{{dir}}"
PluginDir "{}"
TypesDB "{{types_db}}"
CollectInternalStats true
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
<LoadPlugin test_plugin>
{isolate}
</LoadPlugin>
<Plugin test_plugin>
  OutputFile "{}/events.txt"
  ReadValues 1
  {fault}
</Plugin>
"#,
        plugin_dir(tmp),
        tmp.display()
    )
}

/// Rows of the csv files below `dir/csv/<ident prefix>`.
fn rows(dir: &Path, ident: &str) -> Vec<String> {
    let (sub, stem) = ident.rsplit_once('/').expect("host/plugin/type");
    let mut out = Vec::new();
    for e in fs::read_dir(dir.join("csv").join(sub))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.file_name().to_string_lossy().starts_with(stem) {
            let text = fs::read_to_string(e.path()).unwrap_or_default();
            out.extend(text.lines().skip(1).map(str::to_owned));
        }
    }
    out
}

#[test]
fn without_isolate_the_crash_takes_the_daemon_down() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_rcollectd(&config(tmp.path(), ""));
    let died = wait_for(Duration::from_secs(15), || !d.is_running());
    let out = d.stop();
    assert!(died, "the daemon survived a NULL dereference:\n{}", out.log);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.and_then(|s| s.signal()), Some(11), "{}", out.log);
}

#[test]
fn an_isolated_plugin_crashes_alone_and_is_restarted_with_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_rcollectd(&config(tmp.path(), "  Isolate true"));
    let started = Instant::now();
    let restarts = "iso/collectd-isolation-test_plugin/derive-restarts";
    let enough = wait_for(Duration::from_secs(30), || {
        d.log().matches("SIGSEGV").count() >= 3
            && rows(d.dir(), restarts).iter().any(|r| !r.ends_with(",0"))
    });
    let log = d.log();
    assert!(d.is_running(), "the daemon died with its plugin:\n{log}");
    assert!(
        enough,
        "no restarts seen after {:?}:\n{log}",
        started.elapsed()
    );
    assert!(
        log.contains(
            "isolation: plugin `test_plugin': its host process was killed by signal 11 (SIGSEGV)"
        ),
        "{log}"
    );
    // Back-off doubles from the plugin's interval up to MaxReadInterval.
    let waits: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("starting it again in ").nth(1))
        .collect();
    assert!(
        waits.starts_with(&["0.5 s", "1.0 s", "2.0 s"]),
        "back-off: {waits:?}"
    );
    // The other plugins ran on; the isolated plugin's values arrived while
    // its processes lived (reads 1 and 2 of each).
    assert!(rows(d.dir(), "iso/load/load").len() >= 6, "{log}");
    let values = rows(d.dir(), "iso/test_plugin-inst/test_gauge");
    assert!(values.len() >= 2, "isolated values: {values:?}\n{log}");
    // Its write callback got the daemon's values through the channel.
    let ev = lines(&tmp.path().join("events.txt"));
    assert!(
        ev.iter().any(|l| l.starts_with("write iso/load/load")),
        "the isolated writer got nothing: {ev:#?}"
    );
    let stopping = Instant::now();
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
    assert!(stopping.elapsed() < Duration::from_secs(10));
}

/// A read callback that never returns is a hang: after Timeout intervals
/// (here 2 x 0.5 s, raised to the 2 s minimum) the host process says so and
/// ends, and the daemon restarts it as after a crash.
#[test]
fn an_isolated_plugin_that_hangs_is_restarted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_rcollectd(&config_with(tmp.path(), "  Isolate true", "HangOnRead 2"));
    let seen = wait_for(Duration::from_secs(30), || {
        d.log().matches("starting it again in").count() >= 2
    });
    let log = d.log();
    assert!(d.is_running(), "{log}");
    assert!(seen, "no restart after a hang:\n{log}");
    assert!(
        log.contains("isolation: a callback of plugin `test_plugin' has not returned for"),
        "{log}"
    );
    assert!(
        log.contains("its host process was killed by signal 9 (SIGKILL)"),
        "{log}"
    );
    assert!(rows(d.dir(), "iso/load/load").len() >= 4, "{log}");
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
}

/// Values an isolated plugin stops sending go missing in the daemon, which
/// hands them to the plugin's own missing callback in its host process.
#[test]
fn missing_values_reach_an_isolated_plugins_callback() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start_rcollectd(&config_with(
        tmp.path(),
        "  Isolate true",
        "StopAfterReads 2",
    ));
    let events = tmp.path().join("events.txt");
    let seen = wait_for(Duration::from_secs(20), || {
        lines(&events)
            .iter()
            .any(|l| l.starts_with("missing iso/test_plugin-inst/"))
    });
    let out = d.stop();
    assert!(
        seen,
        "no missing callback in the host process: {:#?}\n{}",
        lines(&events),
        out.log
    );
}
