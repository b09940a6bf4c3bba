//! Debian's script-hosting plugins (exec.so, python.so, perl.so) under
//! collectd 5.12 and under rcollectd, with the same fixture scripts from
//! `tests/fixtures/differential`: the values they dispatch reach csv.so
//! identically, and what they log (notifications, exceptions, their own
//! messages) is the same.

use rcollectd_tests::diff::{
    assert_same, read_csv, run_both, skip_unless_runnable, sort_rows, Run, WAIT,
};
use rcollectd_tests::wait_for;

const CSV: &str = r#"
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/csv"
  StoreRates false
</Plugin>
"#;

/// Waits until all `needles` are in the side's log; returns the log either way.
fn wait_log(run: &Run, needles: &[&str]) -> String {
    wait_for(WAIT, || {
        let log = run.log();
        needles.iter().all(|n| log.contains(n))
    });
    run.log()
}

/// The log's lines that `keep` accepts, sorted (plugins log from the read
/// and the write threads concurrently).
fn lines(log: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = log.lines().filter(|l| keep(l)).map(str::to_owned).collect();
    out.sort();
    out
}

#[test]
fn exec_values_and_notifications_match_collectd() {
    if skip_unless_runnable(&["exec", "csv", "logfile"]) {
        return;
    }
    // exec.so refuses to run programs as root, and the tests run as root.
    let config = format!(
        r#"LoadPlugin exec
<Plugin exec>
  Exec "nobody" "{{fixtures}}/exec.sh"
</Plugin>
{CSV}"#
    );
    let both = run_both(&config, |run| {
        wait_log(run, &["with fields", "no-quotes", "exec fixture done"]);
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= 8
        });
    });
    both.assert_clean_exit();
    let c_csv = sort_rows(read_csv(&both.collectd.out().join("csv")));
    let r_csv = sort_rows(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("exec CSV", &c_csv, &r_csv);
    assert!(
        c_csv.contains_key("difftest/exec-a/derive-two"),
        "collectd wrote {c_csv:#?}"
    );
    // Notifications, parse errors and the script's stderr, all from exec.so;
    // the script's pid differs between runs.
    // Whether the reader thread sees the script's STDERR close before the
    // daemon stops it is a race at shutdown, under collectd too.
    let keep = |l: &str| {
        (l.contains("exec") || l.contains("Notification")) && !l.contains("has closed STD")
    };
    let pid = |l: String| match l.split_once("Sent SIGTERM to ") {
        Some((head, _)) => format!("{head}Sent SIGTERM to <pid>"),
        None => l,
    };
    let c: Vec<String> = lines(&both.collectd.log, keep)
        .into_iter()
        .map(pid)
        .collect();
    let r: Vec<String> = lines(&both.rcollectd.log, keep)
        .into_iter()
        .map(pid)
        .collect();
    assert_same("exec log lines", &c, &r);
    assert!(
        c.iter().any(|l| l.contains("from exec")),
        "no notification logged: {c:#?}"
    );
}

#[test]
fn python_callbacks_match_collectd() {
    if skip_unless_runnable(&["python", "csv", "logfile"]) {
        return;
    }
    let config = format!(
        r#"<LoadPlugin python>
  Globals true
</LoadPlugin>
<Plugin python>
  ModulePath "{{fixtures}}"
  LogTraces true
  Interactive false
  Import "diffmod"
  <Module diffmod>
    Base 1700000000
    Words "a" "b" 3 true
  </Module>
</Plugin>
{CSV}"#
    );
    let both = run_both(&config, |run| {
        wait_log(run, &["diffmod: second read", "diffmod: notification"]);
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= 7
        });
    });
    both.assert_clean_exit();
    let c_csv = sort_rows(read_csv(&both.collectd.out().join("csv")));
    let r_csv = sort_rows(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("python CSV", &c_csv, &r_csv);
    let keep = |l: &str| !l.contains("successfully loaded");
    let c = lines(&both.collectd.log, keep);
    let r = lines(&both.rcollectd.log, keep);
    assert_same("python log lines", &c, &r);
    for needle in [
        "Traceback",
        "boom in read",
        "diffmod: flush",
        "diffmod: shutdown",
        "meta=",
        "diffmod: config Base",
    ] {
        assert!(
            c.iter().any(|l| l.contains(needle)),
            "collectd did not log {needle:?}: {c:#?}"
        );
    }
}

/// Runs the perl fixture under both daemons; the driver returns the log as
/// it was before the daemon was told to stop.
fn perl_run() -> rcollectd_tests::diff::Both<String> {
    let config = format!(
        r#"<LoadPlugin perl>
  Globals true
</LoadPlugin>
<Plugin perl>
  IncludeDir "{{fixtures}}/perl"
  BaseName "Collectd::Plugins"
  LoadPlugin DiffTest
  <Plugin DiffTest>
    Base 1700000000
  </Plugin>
</Plugin>
{CSV}"#
    );
    let both = run_both(&config, |run| {
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .values()
                .map(Vec::len)
                .sum::<usize>()
                >= 6
        });
        wait_log(
            run,
            &["ds=rx,tx", "perl difftest: write difftest/perl-/derive"],
        );
        run.normalized_log()
    });
    both.assert_clean_exit();
    both
}

#[test]
fn perl_callbacks_match_collectd() {
    if skip_unless_runnable(&["perl", "csv", "logfile"]) {
        return;
    }
    let both = perl_run();
    let c_csv = sort_rows(read_csv(&both.collectd.out().join("csv")));
    let r_csv = sort_rows(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("perl CSV", &c_csv, &r_csv);
    // What the plugin logged while running (the shutdown is compared below).
    let keep = |l: &str| !l.contains("successfully loaded");
    let c = lines(&both.collectd.value, keep);
    let r = lines(&both.rcollectd.value, keep);
    assert_same("perl log lines", &c, &r);
    assert!(
        c.iter().any(|l| l.contains("perl difftest: write")),
        "collectd did not log writes: {c:#?}"
    );
}

#[test]
fn perl_shutdown_log_matches_collectd() {
    if skip_unless_runnable(&["perl", "csv", "logfile"]) {
        return;
    }
    let both = perl_run();
    let keep = |l: &str| !l.contains("successfully loaded");
    let c = lines(&both.collectd.log, keep);
    let r = lines(&both.rcollectd.log, keep);
    assert_same("perl log lines including shutdown", &c, &r);
}
