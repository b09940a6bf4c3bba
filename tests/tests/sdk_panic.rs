//! A panicking Rust plugin under rcollectd (and its read under collectd
//! 5.12): the panic is logged with the plugin's name, the daemon keeps
//! running, other plugins keep reading and writing, and the failing read
//! backs off with growing intervals.
//! Needs `make build`.

use std::path::Path;
use std::time::Duration;

use rcollectd_tests::{files_below, wait_for, Daemon};

fn data_lines(root: &Path, prefix: &str) -> usize {
    files_below(root)
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with(prefix))
        .and_then(|rel| std::fs::read_to_string(root.join(rel)).ok())
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

fn config(callback: &str) -> String {
    format!(
        r#"
Hostname "sdkhost"
FQDNLookup false
BaseDir "{{dir}}"
PIDFile "{{dir}}/daemon.pid"
PluginDir "{{plugin_dir}}"
TypesDB "{{types_db}}"
Interval 0.25
LoadPlugin example
LoadPlugin panicky
LoadPlugin csv
<Plugin panicky>
  Callback "{callback}"
  Message "{callback} went wrong"
  StampFile "{{dir}}/stamps"
</Plugin>
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
"#
    )
}

/// Runs the panicking read next to `example` + `csv` in one daemon and checks
/// that it is contained and backed off; `log_lines` are daemon-specific lines.
fn panicking_read_is_contained(start: fn(&str) -> Daemon, daemon: &str, log_lines: &[&str]) {
    let mut d = start(&config("read"));
    let stamps = d.dir().join("stamps");
    let count = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let ok = wait_for(Duration::from_secs(15), || count(&stamps) >= 5);
    let root = d.dir().join("csv");
    let before = data_lines(&root, "sdkhost/example/gauge-value-");
    std::thread::sleep(Duration::from_millis(800));
    let after = data_lines(&root, "sdkhost/example/gauge-value-");
    let running = d.is_running();
    let stamp_text = std::fs::read_to_string(&stamps).unwrap_or_default();
    let out = d.stop();
    assert!(
        ok,
        "{daemon}: panicky read ran {} times:\n{}",
        count(&stamps),
        out.log
    );
    assert!(running, "{daemon} died:\n{}", out.log);
    assert!(
        after > before,
        "{daemon}: example stopped being written ({before} -> {after}):\n{}",
        out.log
    );
    for line in ["panicky: panic in read: read went wrong"]
        .iter()
        .chain(log_lines)
    {
        assert!(
            out.log.contains(line),
            "{daemon}: no {line:?} in\n{}",
            out.log
        );
    }
    let times: Vec<f64> = stamp_text.lines().map(|l| l.parse().unwrap()).collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Doubling intervals (0.5, 1, 2, 4 s); loose bounds for loaded machines.
    assert!(gaps.len() >= 4, "{daemon}: {gaps:?}");
    for g in gaps.windows(2) {
        assert!(
            g[1] > g[0],
            "{daemon}: reads of a panicking plugin do not back off: gaps {gaps:?}"
        );
    }
    assert!(
        gaps[gaps.len() - 1] > 3.0 * gaps[0],
        "{daemon}: no exponential backoff: gaps {gaps:?}"
    );
}

#[test]
fn panicking_read_is_logged_and_backed_off() {
    panicking_read_is_contained(Daemon::start_rcollectd, "rcollectd", &[]);
}

/// The same plugin in the real collectd 5.12: the SDK's guard works there too.
#[test]
fn panicking_read_is_contained_in_collectd() {
    panicking_read_is_contained(
        Daemon::start_collectd,
        "collectd",
        &["read-function of plugin `panicky' failed"],
    );
}

#[test]
fn panicking_write_and_init_are_contained() {
    for callback in ["write", "init"] {
        let mut d = Daemon::start_rcollectd(&config(callback));
        let root = d.dir().join("csv");
        let ok = wait_for(Duration::from_secs(10), || {
            data_lines(&root, "sdkhost/example/gauge-value-") >= 3
        });
        let running = d.is_running();
        let out = d.stop();
        assert!(ok, "{callback}: example+csv stopped working:\n{}", out.log);
        assert!(running, "{callback}: rcollectd died:\n{}", out.log);
        assert!(
            out.log.contains(&format!(
                "panicky: panic in {callback}: {callback} went wrong"
            )),
            "{}",
            out.log
        );
    }
}
