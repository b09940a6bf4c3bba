//! collectd 5.12's own plugins doing real work inside rcollectd: unixsock
//! answering collectdctl, exec running a PUTVAL script, network sending to a
//! real collectd, a filter chain with match_regex/target_set, aggregation,
//! and threshold notifications.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcollectd_tests::{files_below, free_udp_port, types_db, wait_for, Daemon};

const HOST: &str = "testhost";

fn header(extra: &str) -> String {
    format!(
        "Hostname \"{HOST}\"\nFQDNLookup false\nBaseDir \"{{dir}}\"\nTypesDB \"{}\"\nPluginDir \"/usr/lib/collectd\"\nInterval 1\n{extra}\n",
        types_db().display()
    )
}

fn csv_writer() -> &'static str {
    "LoadPlugin csv\n<Plugin csv>\n  DataDir \"{dir}/csv\"\n</Plugin>\n"
}

/// CSV files below `<dir>/csv/<host>`, date suffix stripped.
fn csv_identifiers(dir: &Path) -> Vec<String> {
    let root = dir.join("csv").join(HOST);
    let mut ids: Vec<String> = files_below(&root)
        .into_iter()
        .map(|p| {
            let s = p.to_string_lossy().into_owned();
            // "<plugin>/<type>-YYYY-MM-DD"
            s.get(..s.len().saturating_sub(11)).unwrap_or(&s).to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn csv_lines(dir: &Path, ident_prefix: &str) -> Vec<String> {
    let root = dir.join("csv").join(HOST);
    let mut lines = Vec::new();
    for rel in files_below(&root) {
        if rel.to_string_lossy().starts_with(ident_prefix) {
            let text = fs::read_to_string(root.join(rel)).unwrap_or_default();
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines
}

#[test]
fn unixsock_answers_collectdctl() {
    let conf = header(
        "LoadPlugin load\nLoadPlugin unixsock\n<Plugin unixsock>\n  SocketFile \"{dir}/sock\"\n</Plugin>\n",
    );
    let d = Daemon::start_rcollectd(&conf);
    let sock = d.dir().join("sock");
    let ctl = |args: &[&str]| {
        Command::new("collectdctl")
            .arg("-s")
            .arg(&sock)
            .args(args)
            .output()
            .expect("run collectdctl (collectd-utils)")
    };
    let listed = wait_for(Duration::from_secs(15), || {
        let out = ctl(&["listval"]);
        String::from_utf8_lossy(&out.stdout).contains("testhost/load/load")
    });
    assert!(
        listed,
        "listval never showed testhost/load/load; log:\n{}",
        d.log()
    );

    let out = ctl(&["getval", "testhost/load/load"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for ds in ["shortterm=", "midterm=", "longterm="] {
        assert!(text.contains(ds), "getval shows {ds}: {text}");
    }

    let out = ctl(&["putval", "testhost/putval-test/gauge-x", "N:12.5"]);
    assert!(out.status.success(), "putval: {out:?}");
    let out = ctl(&["getval", "testhost/putval-test/gauge-x"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("value=1.250000e+01"),
        "getval after putval: {out:?}"
    );

    let out = ctl(&["flush"]);
    assert!(out.status.success(), "flush: {out:?}");
    let out = ctl(&["getval", "testhost/no/such"]);
    assert!(
        !out.status.success(),
        "getval of an unknown identifier fails"
    );
    let stopped = d.stop();
    assert!(
        stopped.status.is_some_and(|s| s.success()),
        "{}",
        stopped.log
    );
}

fn exec_user() -> String {
    // collectd's exec plugin refuses to run programs as root.
    if nix::unistd::geteuid().is_root() {
        "nobody".to_owned()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "nobody".to_owned())
    }
}

#[test]
fn exec_runs_a_putval_script_and_its_values_are_written() {
    let scripts = tempfile::tempdir().unwrap();
    fs::set_permissions(scripts.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let script = scripts.path().join("putval.sh");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor i in 1 2 3 4 5 6 7 8 9 10; do\n  echo \"PUTVAL {HOST}/exec-test/gauge-answer interval=1 N:42\"\n  sleep 1\ndone\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let conf = header(&format!(
        "LoadPlugin exec\n<Plugin exec>\n  Exec \"{}\" \"{}\"\n</Plugin>\n{}",
        exec_user(),
        script.display(),
        csv_writer()
    ));
    let d = Daemon::start_rcollectd(&conf);
    let dir = d.dir().to_path_buf();
    let seen = wait_for(Duration::from_secs(15), || {
        csv_lines(&dir, "exec-test/gauge-answer")
            .iter()
            .any(|l| l.ends_with(",42.000000"))
    });
    assert!(seen, "no exec value written; log:\n{}", d.log());
    d.stop();
}

#[test]
fn debian_network_plugin_in_rcollectd_sends_to_a_real_collectd() {
    let port = free_udp_port();
    let receiver = Daemon::start_collectd(&format!(
        "{}LoadPlugin network\n<Plugin network>\n  Listen \"127.0.0.1\" \"{port}\"\n</Plugin>\n{}",
        header(""),
        csv_writer()
    ));
    let sender = Daemon::start_rcollectd(&format!(
        "{}LoadPlugin load\n<LoadPlugin network>\n  FlushInterval 1\n</LoadPlugin>\n<Plugin network>\n  Server \"127.0.0.1\" \"{port}\"\n</Plugin>\n",
        header("")
    ));
    let rdir = receiver.dir().to_path_buf();
    let got = wait_for(Duration::from_secs(20), || {
        csv_lines(&rdir, "load/load")
            .iter()
            .filter(|l| !l.starts_with("epoch"))
            .count()
            >= 2
    });
    assert!(
        got,
        "collectd received nothing; sender log:\n{}\nreceiver log:\n{}",
        sender.log(),
        receiver.log()
    );
    sender.stop();
    receiver.stop();
}

#[test]
fn chain_with_match_regex_and_target_set_rewrites_identifiers() {
    let conf = header(&format!(
        "LoadPlugin load\nLoadPlugin match_regex\nLoadPlugin target_set\n{}\
         PostCacheChain \"rename\"\n\
         <Chain \"rename\">\n  <Rule \"load_renamed\">\n    <Match \"regex\">\n      Plugin \"^load$\"\n    </Match>\n\
         \x20   <Target \"set\">\n      PluginInstance \"renamed\"\n    </Target>\n  </Rule>\n  Target \"write\"\n</Chain>\n",
        csv_writer()
    ));
    let d = Daemon::start_rcollectd(&conf);
    let dir = d.dir().to_path_buf();
    let renamed = wait_for(Duration::from_secs(15), || {
        csv_identifiers(&dir)
            .iter()
            .any(|i| i == "load-renamed/load")
    });
    let ids = csv_identifiers(&dir);
    assert!(
        renamed,
        "no load-renamed/load in {ids:?}; log:\n{}",
        d.log()
    );
    assert!(
        !ids.iter().any(|i| i == "load/load"),
        "original identifier not rewritten: {ids:?}"
    );
    d.stop();
}

#[test]
fn chain_stop_target_drops_values_before_the_cache() {
    let conf = header(&format!(
        "LoadPlugin load\nLoadPlugin uptime\nLoadPlugin match_regex\n{}\
         PreCacheChain \"filter\"\n\
         <Chain \"filter\">\n  <Rule>\n    <Match \"regex\">\n      Plugin \"^load$\"\n    </Match>\n    Target \"stop\"\n  </Rule>\n</Chain>\n",
        csv_writer()
    ));
    let d = Daemon::start_rcollectd(&conf);
    let dir = d.dir().to_path_buf();
    let uptime = wait_for(Duration::from_secs(15), || {
        csv_lines(&dir, "uptime/uptime")
            .iter()
            .filter(|l| !l.starts_with("epoch"))
            .count()
            >= 2
    });
    assert!(uptime, "uptime values not written; log:\n{}", d.log());
    assert!(
        !csv_identifiers(&dir).iter().any(|i| i.starts_with("load")),
        "stopped values were written: {:?}",
        csv_identifiers(&dir)
    );
    d.stop();
}

fn aggregation_identifiers(start: fn(&str) -> Daemon) -> (Vec<String>, String) {
    let conf = header(&format!(
        "LoadPlugin cpu\nLoadPlugin aggregation\n<Plugin aggregation>\n  <Aggregation>\n    Plugin \"cpu\"\n    Type \"cpu\"\n\
         \x20   GroupBy \"Host\"\n    GroupBy \"TypeInstance\"\n    CalculateSum true\n    CalculateAverage true\n  </Aggregation>\n</Plugin>\n{}",
        csv_writer()
    ));
    let d = start(&conf);
    let dir: PathBuf = d.dir().to_path_buf();
    wait_for(Duration::from_secs(15), || {
        csv_lines(&dir, "aggregation-cpu-average/cpu-idle")
            .iter()
            .filter(|l| !l.starts_with("epoch"))
            .count()
            >= 2
    });
    let log = d.log();
    // Read before stopping: the daemon's temp dir goes with it.
    let ids = csv_identifiers(&dir)
        .into_iter()
        .filter(|i| i.starts_with("aggregation"))
        .collect();
    d.stop();
    (ids, log)
}

#[test]
fn aggregation_produces_the_same_aggregates_as_collectd() {
    let (ours, log) = aggregation_identifiers(Daemon::start_rcollectd);
    assert!(
        ours.iter().any(|i| i == "aggregation-cpu-average/cpu-idle"),
        "no aggregate written: {ours:?}; log:\n{log}"
    );
    let (theirs, _) = aggregation_identifiers(Daemon::start_collectd);
    assert_eq!(ours, theirs);
}

#[test]
fn threshold_emits_a_notification() {
    let conf = header(
        "LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n  File \"{dir}/notifications.log\"\n</Plugin>\n\
         LoadPlugin load\nLoadPlugin threshold\n<Plugin threshold>\n  <Type \"load\">\n    DataSource \"shortterm\"\n    WarningMin 1000000\n  </Type>\n</Plugin>\n",
    );
    let d = Daemon::start_rcollectd(&conf);
    let log_file = d.dir().join("notifications.log");
    let seen = wait_for(Duration::from_secs(15), || {
        fs::read_to_string(&log_file)
            .map(|t| t.contains("Notification: severity = WARNING") && t.contains("plugin = load"))
            .unwrap_or(false)
    });
    assert!(
        seen,
        "no threshold notification; logfile:\n{}\nstderr:\n{}",
        fs::read_to_string(&log_file).unwrap_or_default(),
        d.log()
    );
    d.stop();
}
