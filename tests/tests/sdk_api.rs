//! SDK features beyond the basic read callback, in both daemons: extra
//! read callbacks registered with `register_read_fn` and value lists
//! dispatched with meta data. Needs `make build`.

use std::path::Path;
use std::time::Duration;

use rcollectd_tests::{files_below, wait_for, Daemon};

const CONFIG: &str = r#"
Hostname "sdkhost"
FQDNLookup false
BaseDir "{dir}"
PIDFile "{dir}/daemon.pid"
PluginDir "{plugin_dir}"
TypesDB "{types_db}"
Interval 10
LoadPlugin panicky
LoadPlugin csv
<Plugin panicky>
  Callback "none"
  Extra "a"
  Extra "b"
</Plugin>
<Plugin csv>
  DataDir "{dir}/csv"
</Plugin>
"#;

fn lines(root: &Path, prefix: &str) -> Vec<String> {
    files_below(root)
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with(prefix))
        .and_then(|rel| std::fs::read_to_string(root.join(rel)).ok())
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn check(name: &str, start: fn(&str) -> Daemon) {
    let d = start(CONFIG);
    let root = d.dir().join("csv");
    // The extra reads run every 0.5 s although the global interval is 10 s.
    let ok = wait_for(Duration::from_secs(6), || {
        ["a", "b"]
            .iter()
            .all(|i| lines(&root, &format!("sdkhost/panicky-{i}/gauge-")).len() >= 4)
    });
    let a = lines(&root, "sdkhost/panicky-a/gauge-");
    let b = lines(&root, "sdkhost/panicky-b/gauge-");
    let out = d.stop();
    assert!(
        ok,
        "{name}: extra reads did not run every 0.5 s: a={a:?} b={b:?}\n{}",
        out.log
    );
    for l in a.iter().chain(&b).filter(|l| !l.starts_with("epoch")) {
        assert!(l.ends_with(",7.000000"), "{name}: {l}");
    }
    assert!(!out.log.contains("panic in"), "{name}:\n{}", out.log);
}

#[test]
fn extra_reads_with_meta_in_collectd() {
    check("collectd", Daemon::start_collectd);
}

#[test]
fn extra_reads_with_meta_in_rcollectd() {
    check("rcollectd", Daemon::start_rcollectd);
}
