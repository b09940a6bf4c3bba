//! Config mistakes collectd 5.12 logs and runs without, types.db lines it
//! rejects, and its shutdown order, side by side with the real collectd:
//! what collectd runs, rcollectd runs; what collectd logs, rcollectd logs in
//! the same words; `-t` is stricter on purpose (README).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rcollectd_tests::{collectd_bin, rcollectd_bin, wait_for, Daemon};

/// A config that loads Debian's logfile (to the daemon's log) and csv plugins.
fn base_config(extra: &str) -> String {
    format!(
        r#"Hostname "dropin"
FQDNLookup false
Interval 1
BaseDir "{{dir}}"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
</Plugin>
{extra}
"#
    )
}

/// Runs `bin` on `config` until it logs `ready` (or 10 s pass), then stops it;
/// returns the log and whether it was running until told to stop.
fn run_until(bin: &Path, config: &str, ready: &str) -> (String, bool) {
    let mut d = Daemon::start(bin, config, &[]);
    let seen = wait_for(Duration::from_secs(10), || {
        d.log().contains(ready) || !d.is_running()
    });
    let alive = seen && d.is_running();
    let out = d.stop();
    (out.log, alive)
}

/// `-t` on a config file written into a scratch dir; returns (success, output).
fn test_config(bin: &Path, config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("scratch dir");
    let path = dir.path().join("collectd.conf");
    std::fs::write(&path, rcollectd_tests::expand(config, dir.path())).expect("write config");
    let out = Command::new(bin)
        .arg("-t")
        .arg("-C")
        .arg(&path)
        .current_dir(dir.path())
        .output()
        .expect("run -t");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn include_with_two_arguments_is_logged_and_skipped_as_in_collectd() {
    let config = base_config("Include \"/nonexistent-dropin\" \"*.conf\"\nLoadPlugin load\n");
    let wording = "configfile: `Include' needs exactly one string argument.";
    for (bin, ready) in [
        (collectd_bin(), "Initialization complete"),
        (rcollectd_bin(), "Initialization complete"),
    ] {
        let (log, alive) = run_until(&bin, &config, ready);
        assert!(alive, "{} stopped on the config:\n{log}", bin.display());
        assert!(
            log.contains(ready),
            "{} never finished starting:\n{log}",
            bin.display()
        );
        // Logged before any log plugin is up, so on stderr (captured too).
        assert!(log.contains(wording), "{} log:\n{log}", bin.display());
        if bin == rcollectd_bin() {
            assert!(log.contains("collectd.conf:"), "no file:line in:\n{log}");
        }
    }
    let (ok, out) = test_config(&rcollectd_bin(), &config);
    assert!(
        !ok,
        "-t must fail on a config that does not do what it says"
    );
    assert!(
        out.contains("collectd.conf:") && out.contains(wording),
        "-t output lacks file:line and collectd's words:\n{out}"
    );
}

#[test]
fn bad_types_db_lines_are_errors_worded_as_collectd() {
    // (types.db line, collectd's error line that must appear in both logs)
    let cases = [
        (
            "badtype value:FLOAT:0:U",
            "(fields[1] = FLOAT) != (GAUGE || COUNTER || DERIVE || ABSOLUTE)",
        ),
        (
            "short value:GAUGE:0",
            "types_list: parse_line: Cannot parse data source #0 of data set short",
        ),
    ];
    let dir = tempfile::tempdir().expect("scratch dir");
    let db = dir.path().join("extra.db");
    let lines: Vec<&str> = cases.iter().map(|c| c.0).collect();
    std::fs::write(&db, lines.join("\n") + "\nokay value:GAUGE:abc:U\n").expect("types.db");
    // The extra types.db comes after the logfile plugin, so both daemons log
    // its errors through it.
    let config = base_config(&format!(
        "TypesDB \"/usr/share/collectd/types.db\" \"{}\"\nLoadPlugin load\n",
        db.display()
    ));
    for bin in [collectd_bin(), rcollectd_bin()] {
        let (log, alive) = run_until(&bin, &config, "Initialization complete");
        assert!(alive, "{} stopped:\n{log}", bin.display());
        for (line, wording) in &cases {
            assert!(
                log.contains(wording),
                "{} did not log {wording:?} for {line:?}:\n{log}",
                bin.display()
            );
        }
        assert!(
            !log.contains("data set okay"),
            "{}: a bound read as atof is no error:\n{log}",
            bin.display()
        );
    }
}

/// Debian's exec.so frees its program list in its shutdown callback while its
/// pipe-reading threads still run; a program that dies on SIGTERM wakes them
/// at once. collectd exits right after its shutdown callbacks, before most of
/// them log; rcollectd must not let them log from freed memory afterwards.
#[test]
fn exec_threads_do_not_log_from_freed_state_at_shutdown() {
    let dir = tempfile::Builder::new()
        .prefix("rcollectd-exec-")
        .tempdir()
        .expect("scratch dir");
    let script = dir.path().join("prog.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"PUTVAL dropin/exec/gauge interval=1 N:1\"\nexec sleep 100\n",
    )
    .expect("write script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut execs = String::from("LoadPlugin exec\n<Plugin exec>\n");
    for _ in 0..4 {
        execs.push_str(&format!("  Exec \"nobody\" \"{}\"\n", script.display()));
    }
    execs.push_str("</Plugin>\n");
    let config = base_config(&execs);
    for round in 0..4 {
        let mut d = Daemon::start(&rcollectd_bin(), &config, &[]);
        // Stop once the programs run: their first value reached csv.
        let csv = d.dir().join("csv/dropin/exec");
        let started = wait_for(Duration::from_secs(10), || {
            std::fs::read_dir(&csv).is_ok_and(|mut r| r.next().is_some()) || !d.is_running()
        });
        let alive = started && d.is_running();
        let log = d.stop().log;
        assert!(
            alive,
            "round {round}: rcollectd stopped or exec never ran:\n{log}"
        );
        // exec's shutdown callback kills and frees one program after the
        // other, and a reader woken meanwhile may log from a freed entry, in
        // collectd too. After the callback has returned nothing may log.
        let Some(last_kill) = log.rfind("exec plugin: Sent SIGTERM to") else {
            panic!("round {round}: exec's shutdown callback did not run:\n{log}");
        };
        assert!(
            !log[last_kill..].contains("has closed STD"),
            "round {round}: an exec thread logged after exec's shutdown:\n{log}"
        );
    }
}
