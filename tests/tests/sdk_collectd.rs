//! Plugins written with rcollectd-plugin load and run in the real collectd
//! 5.12: the example read plugin feeds our csv writer, our logfile formats
//! like collectd's (a panicking read in collectd is in `sdk_panic.rs`).
//! Needs `make build` (target/plugins) and /usr/sbin/collectd.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcollectd_tests::{files_below, wait_for, Daemon};

/// The data lines of the first CSV file below `root` whose path starts
/// with `prefix` (the date suffix varies).
fn csv_lines(root: &Path, prefix: &str) -> Option<(PathBuf, Vec<String>)> {
    let rel = files_below(root)
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with(prefix))?;
    let path = root.join(&rel);
    let text = std::fs::read_to_string(&path).ok()?;
    Some((rel, text.lines().map(str::to_owned).collect()))
}

fn data_lines(root: &Path, prefix: &str) -> usize {
    csv_lines(root, prefix)
        .map(|(_, l)| l.len().saturating_sub(1))
        .unwrap_or(0)
}

/// `1700000000.123,42.500000`: epoch with 3 decimals, then the gauge.
fn is_example_line(line: &str) -> bool {
    let Some((epoch, value)) = line.split_once(',') else {
        return false;
    };
    let Some((secs, frac)) = epoch.split_once('.') else {
        return false;
    };
    value == "42.500000"
        && secs.len() >= 10
        && secs.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == 3
        && frac.bytes().all(|b| b.is_ascii_digit())
}

const BASE: &str = r#"
Hostname "sdkhost"
FQDNLookup false
BaseDir "{dir}"
PIDFile "{dir}/collectd.pid"
PluginDir "{plugin_dir}"
TypesDB "{types_db}"
"#;

#[test]
fn example_and_csv_run_in_collectd() {
    let config = format!(
        r#"{BASE}
Interval 0.5
LoadPlugin logfile
<Plugin logfile>
  File "{{dir}}/collectd.log"
  PrintSeverity true
</Plugin>
LoadPlugin example
LoadPlugin csv
<Plugin example>
  Value 42.5
  Instance "answer"
</Plugin>
<Plugin csv>
  DataDir "{{dir}}/csv/"
</Plugin>
"#
    );
    let d = Daemon::start_collectd(&config);
    let root = d.dir().join("csv");
    let prefix = "sdkhost/example-answer/gauge-value-";
    let ok = wait_for(Duration::from_secs(15), || data_lines(&root, prefix) >= 3);
    let log = std::fs::read_to_string(d.dir().join("collectd.log")).unwrap_or_default();
    // The temp dir goes away with the daemon: read everything first.
    let csv = csv_lines(&root, prefix);
    let out = d.stop();
    assert!(
        ok,
        "no CSV from example+csv in collectd.\nstderr:\n{}\nlog:\n{log}",
        out.log
    );
    let (rel, lines) = csv.expect("CSV file");
    let name = rel.file_name().unwrap().to_string_lossy().into_owned();
    let date = &name["gauge-value-".len()..];
    assert_eq!(date.len(), 10, "file name {name} ends in YYYY-MM-DD");
    assert_eq!(lines[0], "epoch,value");
    for l in &lines[1..] {
        assert!(is_example_line(l), "unexpected CSV line {l:?}");
    }
    // Our logfile, loaded by collectd, formats like collectd's.
    let loaded = log
        .lines()
        .find(|l| l.ends_with("] [info] plugin_load: plugin \"csv\" successfully loaded."))
        .unwrap_or_else(|| panic!("no plugin_load line in our logfile's output:\n{log}"));
    let ts = &loaded[1..20];
    assert!(
        loaded.starts_with('[') && &loaded[20..22] == "] ",
        "{loaded}"
    );
    assert!(ts.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    }));
    assert!(
        log.contains("] [info] example plugin: reporting 42.5\n"),
        "{log}"
    );
    assert!(
        !log.contains("panic") && !out.log.contains("panic"),
        "{log}\n{}",
        out.log
    );
}

/// Our logfile.so and collectd's own, in collectd with the same config,
/// write the same lines once timestamps are masked.
#[test]
fn logfile_matches_collectds_own() {
    fn run(logfile_so: &Path) -> Vec<String> {
        let tmp = tempfile::tempdir().unwrap();
        let plugins = tmp.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::copy(logfile_so, plugins.join("logfile.so")).unwrap();
        std::fs::copy(
            rcollectd_tests::plugin_dir().join("example.so"),
            plugins.join("example.so"),
        )
        .unwrap();
        let config = format!(
            r#"
Hostname "sdkhost"
FQDNLookup false
BaseDir "{{dir}}"
PIDFile "{{dir}}/collectd.pid"
PluginDir "{}"
TypesDB "{{types_db}}"
Interval 10
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "{{dir}}/out.log"
  PrintSeverity true
  Timestamp true
</Plugin>
LoadPlugin example
<Plugin example>
  Value 3
</Plugin>
"#,
            plugins.display()
        );
        let d = Daemon::start_collectd(&config);
        let log = d.dir().join("out.log");
        let ok = wait_for(Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Initialization complete"))
        });
        std::thread::sleep(Duration::from_millis(300));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let out = d.stop();
        assert!(ok, "{}: {}", logfile_so.display(), out.log);
        text.lines()
            .map(|l| {
                assert!(
                    l.starts_with('[') && l.as_bytes().get(20) == Some(&b']'),
                    "{l}"
                );
                format!("[TS]{}", &l[21..])
            })
            .collect()
    }
    // The daemon's threads decide the order of some lines; the plugin owns
    // their format.
    let mut ours = run(&rcollectd_tests::plugin_dir().join("logfile.so"));
    let mut theirs = run(Path::new("/usr/lib/collectd/logfile.so"));
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert!(
        ours.contains(&"[TS] [info] example plugin: reporting 3".to_string()),
        "{ours:?}"
    );
}
