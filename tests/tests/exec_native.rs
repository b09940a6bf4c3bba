//! rcollectd's own exec plugin (`LoadPlugin exec` with no `PluginDir`:
//! ours, from target/plugins) against Debian's exec.so under collectd 5.12,
//! running the same scripts: the CSV their PUTVAL lines lead to, the
//! replies to bad lines on the daemon's stdout, what is logged (stderr
//! lines, bad lines, refusing root, a missing program), a program that
//! exits being started again, and what `NotificationExec` programs read
//! on stdin are the same. Then ours alone: at shutdown no child is left,
//! not even one that ignores SIGTERM.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcollectd_tests::diff::{assert_same, read_csv, skip_unless_runnable, sort_rows, WAIT};
use rcollectd_tests::{collectd_bin, plugin_dir, rcollectd_bin, wait_for, Daemon};

/// Global options both daemons share; collectd also gets Debian's
/// `PluginDir`, rcollectd none (so `LoadPlugin` finds ours).
const GLOBALS: &str = r#"Hostname "difftest"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PIDFile "{dir}/pid"
TypesDB "/usr/share/collectd/types.db"
WriteThreads 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/plugins.log"
  Timestamp false
  PrintSeverity true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{dir}/csv"
  StoreRates false
</Plugin>
"#;

/// Values, bad lines, notifications, stderr, the environment and argv.
const VALUES_SH: &str = r#"#!/bin/sh
H=difftest
echo "PUTVAL $H/exec-a/gauge-one 1700000000:1.5 1700000001:2.5"
echo "PUTVAL \"$H/exec-a/if_octets-x\" interval=10 1700000000:1:2 1700000001:3:4"
echo "PUTVAL $H/exec-a/derive-meta meta:k=\"v\" 1700000000:100"
echo "PUTVAL $H/exec-a/derive-nonstring meta:k=v 1700000000:7"
echo "PUTVAL $COLLECTD_HOSTNAME/exec-env/gauge-interval 1700000000:$COLLECTD_INTERVAL"
echo "PUTVAL $H/exec-env/gauge-uid 1700000000:$(id -u)"
echo "PUTVAL $H/exec-env/gauge-gid 1700000000:$(id -g)"
echo "PUTVAL $H/exec-env/gauge-args 1700000000:$#"
echo "PUTVAL $H/exec-a/gauge-bad 1700000000:abc"
echo "PUTVAL $H/exec-a/nosuchtype 1700000000:1"
echo "PUTVAL $H/exec-a/gauge-trailing 1700000000:5xyz"
echo "PUTVALX $H/exec-a/gauge 1700000000:1"
echo "PUTVAL \"unterminated"
echo "PUTVAL $H/exec-a/gauge"
echo "putval $H/exec-a/gauge-lower 1700000000:9"
printf 'PUTVAL %s/exec-a/gauge-crlf 1700000000:8\r\n' $H
echo "PUTNOTIF severity=warning time=1700000000 message=\"from exec\""
echo "PUTNOTIF severity=failure time=1700000001 host=$H plugin=exec plugin_instance=a type=gauge type_instance=one s:extra=\"x y\" message=\"with fields\""
echo "PUTNOTIF severity=okay time=1700000002 message=no-quotes"
echo "PUTNOTIF severity=bogus time=1700000003 message=x"
echo "PUTNOTIFY severity=okay time=1 message=x"
echo "PUTNOTIF severity=okay"
echo "this is not a command"
echo "args: $1 $2 $3" >&2
echo "values done" >&2
exec sleep 60
"#;

/// Exits at once; run again at each read until it has run three times.
const RESTART_SH: &str = r#"#!/bin/sh
f="$1/runs"
echo run >> "$f"
n=$(wc -l < "$f")
[ "$n" -gt 3 ] && exit 0
echo "PUTVAL difftest/exec-restart/gauge-runs 170000000$n:$n"
"#;

/// Keeps each notification it reads on stdin in a file of its own.
const NOTIFY_SH: &str = r#"#!/bin/sh
t=$(mktemp "$1/notification.XXXXXX") && cat > "$t"
"#;

/// Writes its pid, then sleeps (`$2` = `stubborn`: ignoring SIGTERM).
const SLEEPER_SH: &str = r#"#!/bin/sh
[ "$2" = stubborn ] && trap '' TERM
echo $$ > "$1/$2.pid"
exec sleep 60
"#;

/// The scripts, in a directory the `nobody` user can read.
fn scripts() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("rcd-exec-scripts-")
        .tempdir()
        .expect("scripts dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, text) in [
        ("values.sh", VALUES_SH),
        ("restart.sh", RESTART_SH),
        ("notify.sh", NOTIFY_SH),
        ("sleeper.sh", SLEEPER_SH),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// A directory every user may write (the scripts' state).
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("rcd-exec-state-")
        .tempdir()
        .expect("state dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// Starts `bin` (with Debian's plugins when `debian`) on `plugin` (the
/// `<Plugin exec>` body, `{scripts}` and `{state}` replaced).
fn start(bin: &Path, debian: bool, plugin: &str, scripts: &Path, state: &Path) -> Daemon {
    let dir = if debian {
        "PluginDir \"/usr/lib/collectd\"\n"
    } else {
        ""
    };
    let body = plugin
        .replace("{scripts}", &scripts.display().to_string())
        .replace("{state}", &state.display().to_string());
    Daemon::start(
        bin,
        &format!("{dir}{GLOBALS}LoadPlugin exec\n<Plugin exec>\n{body}</Plugin>\n"),
        &[],
    )
}

/// What one daemon left behind.
struct Outcome {
    csv: BTreeMap<String, Vec<String>>,
    /// The command replies it printed on stdout, in order.
    replies: Vec<String>,
    /// Distinct log lines about exec and notifications (pids replaced).
    log: BTreeSet<String>,
    /// What the notification programs read, sorted.
    notifications: Vec<String>,
}

fn notification_files(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("notification."))
                .collect()
        })
        .unwrap_or_default()
}

const PROGRAMS: &str = r#"  Exec "nobody:daemon" "{scripts}/values.sh" "one" 2 true
  Exec "nobody" "{scripts}/restart.sh" "{state}"
  Exec "root" "{scripts}/restart.sh" "{state}"
  Exec "nobody" "{scripts}/no-such-program"
  NotificationExec "nobody" "{scripts}/notify.sh" "{state}"
"#;

/// Runs the scripts under one daemon until everything they do arrived.
fn drive(bin: &Path, debian: bool, scripts: &Path) -> Outcome {
    let state = state_dir();
    let d = start(bin, debian, PROGRAMS, scripts, state.path());
    let done = wait_for(WAIT, || {
        let csv = read_csv(&d.dir().join("csv"));
        let log = std::fs::read_to_string(d.dir().join("plugins.log")).unwrap_or_default();
        csv.get("difftest/exec-restart/gauge-runs")
            .is_some_and(|rows| rows.len() > 3)
            && csv.contains_key("difftest/exec-a/gauge-crlf")
            && log.contains("values done")
            && notification_files(state.path()).len() >= 3
    });
    assert!(done, "{} did not finish:\n{}", bin.display(), d.log());
    // Files complete once their program exited: wait for the contents.
    wait_for(WAIT, || {
        notification_files(state.path())
            .iter()
            .all(|p| std::fs::read_to_string(p).is_ok_and(|t| t.ends_with('\n')))
    });
    let csv = sort_rows(read_csv(&d.dir().join("csv")));
    let text = std::fs::read_to_string(d.dir().join("plugins.log")).unwrap_or_default();
    let log = exec_log(&text);
    if !debian {
        let missing = format!(
            "[error] exec plugin: Failed to execute ``{}/no-such-program'': No such file or directory",
            scripts.display()
        );
        assert!(text.contains(&missing), "{text}");
    }
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    let replies = out
        .log
        .lines()
        .filter(|l| l.starts_with("-1 ") || l.starts_with("0 "))
        .map(str::to_owned)
        .collect();
    let mut notifications: Vec<String> = notification_files(state.path())
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    notifications.sort();
    Outcome {
        csv,
        replies,
        log,
        notifications,
    }
}

/// The log lines worth comparing: exec's, the command parser's, the
/// notifications logfile.so prints; pids replaced; whether the reader saw
/// stderr close before stdout is a race in collectd too. collectd's exec
/// logs a program it cannot execute in the forked child, already running as
/// the program's user: the message is lost, or logfile.so's complaint that
/// it cannot open the log as that user arrives on the program's stderr
/// (depending on the reader thread's timing); ours logs it (checked apart).
fn exec_log(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| {
            (l.contains("exec") || l.contains("parse_value") || l.contains("Notification"))
                && !l.contains("has closed STD")
                && !l.contains("Failed to execute")
                && !l.contains("logfile plugin: fopen")
        })
        .map(|l| match l.split_once("Sent SIGTERM to ") {
            Some((head, _)) => format!("{head}Sent SIGTERM to <pid>"),
            None => l.to_owned(),
        })
        .collect()
}

#[test]
fn our_exec_does_what_collectds_exec_does() {
    let _ = plugin_dir();
    let scripts = scripts();
    let run = |bin: PathBuf, debian: bool| drive(&bin, debian, scripts.path());
    let debian = !skip_unless_runnable(&["exec", "csv", "logfile"]);
    let (ours, theirs) = std::thread::scope(|s| {
        let ours = s.spawn(|| run(rcollectd_bin(), false));
        let theirs = debian.then(|| s.spawn(|| run(collectd_bin(), true)));
        (
            ours.join().expect("rcollectd side"),
            theirs.map(|t| t.join().expect("collectd side")),
        )
    });
    // What rcollectd alone must show.
    let value = |ident: &str| {
        ours.csv
            .get(ident)
            .and_then(|rows| rows.get(1))
            .cloned()
            .unwrap_or_default()
    };
    // (`/bin/sh` drops an effective group that is not the real one, so the
    // script sees nobody's own group either way.)
    for (ident, want) in [
        ("gauge-uid", ",65534.000000"),
        ("gauge-args", ",3.000000"),
        ("gauge-interval", ",1.000000"),
    ] {
        let got = value(&format!("difftest/exec-env/{ident}"));
        assert!(got.ends_with(want), "{ident}: {got} {:#?}", ours.csv);
    }
    assert_eq!(
        ours.csv["difftest/exec-restart/gauge-runs"][1..],
        [
            "1700000001.000,1.000000",
            "1700000002.000,2.000000",
            "1700000003.000,3.000000"
        ]
    );
    assert!(ours
        .replies
        .contains(&"-1 Parsing the values string failed.".to_owned()));
    assert_eq!(ours.notifications.len(), 3, "{:#?}", ours.notifications);
    for needle in [
        "exec plugin: Cowardly refusing to exec program as root.",
        "exec plugin: exec_read_one: error = args: one 2.000000 true",
        "Unable to parse command, ignoring line: \"this is not a command\"",
    ] {
        assert!(
            ours.log.iter().any(|l| l.contains(needle)),
            "{needle:?} not logged: {:#?}",
            ours.log
        );
    }
    let Some(theirs) = theirs else {
        return;
    };
    assert_same("exec CSV", &theirs.csv, &ours.csv);
    assert_same("replies on stdout", &theirs.replies, &ours.replies);
    assert_same(
        "what notification programs read",
        &theirs.notifications,
        &ours.notifications,
    );
    assert_same("exec log lines", &theirs.log, &ours.log);
}

/// The pid a sleeper script wrote, once it did.
fn read_pid(state: &Path, name: &str) -> Option<i32> {
    std::fs::read_to_string(state.join(format!("{name}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn children_are_gone_after_shutdown_even_when_they_ignore_sigterm() {
    let _ = plugin_dir();
    let scripts = scripts();
    let state = state_dir();
    let d = start(
        &rcollectd_bin(),
        false,
        r#"  Exec "nobody" "{scripts}/sleeper.sh" "{state}" "polite"
  Exec "nobody" "{scripts}/sleeper.sh" "{state}" "stubborn"
"#,
        scripts.path(),
        state.path(),
    );
    let started = wait_for(WAIT, || {
        read_pid(state.path(), "polite").is_some() && read_pid(state.path(), "stubborn").is_some()
    });
    assert!(started, "the sleepers did not start:\n{}", d.log());
    let pids = [
        read_pid(state.path(), "polite").unwrap(),
        read_pid(state.path(), "stubborn").unwrap(),
    ];
    let alive = |pid: i32| Path::new(&format!("/proc/{pid}")).exists();
    assert!(pids.iter().all(|&p| alive(p)));
    let log = d.dir().join("plugins.log");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    assert!(
        wait_for(WAIT, || pids.iter().all(|&p| !alive(p))),
        "children left behind: {pids:?}\n{text}"
    );
}
