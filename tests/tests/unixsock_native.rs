//! rcollectd's own unixsock plugin (`LoadPlugin unixsock` with no
//! `PluginDir`: ours, from target/plugins): every command of the shared
//! table gets the reply collectd 5.12's unixsock.so gives, `collectdctl`
//! prints the same as against collectd 5.12 with its own plugin, and the
//! inputs that crash collectd's plugin (a `meta:` option with several
//! values, a line splitting into more fields than words, GETTHRESHOLD
//! without the threshold plugin) are answered and the daemon runs on.

use std::path::Path;
use std::time::Duration;

use rcollectd_tests::diff::{
    collectdctl, read_csv, skip_unless_runnable, unixsock_ask, PREAMBLE, WAIT,
};
use rcollectd_tests::unixsock_cases::{CASES, CONFIG, CTL_CASES, OK2};
use rcollectd_tests::{plugin_dir, rcollectd_bin, wait_for, Daemon};

/// Global options for rcollectd with our plugins: no `PluginDir`, so
/// `LoadPlugin` finds ours first (the threshold plugin, which we do not
/// ship, comes from /usr/lib/collectd).
const NATIVE: &str = r#"Hostname "difftest"
FQDNLookup false
Interval 30
BaseDir "{dir}"
PIDFile "{dir}/pid"
TypesDB "/usr/share/collectd/types.db"
WriteThreads 1
"#;

/// Without the threshold plugin: GETTHRESHOLD must not abort.
const NO_THRESHOLD: &str = r#"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
  SocketPerms "0700"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{dir}/csv"
  StoreRates false
</Plugin>
"#;

fn ask(sock: &Path, line: &str) -> String {
    unixsock_ask(sock, line, Duration::from_secs(1))
}

/// Runs `bin` on `config` (`{out}` is the daemon's own dir) and waits
/// until its socket answers.
fn run(bin: &Path, config: &str) -> Daemon {
    let d = Daemon::start(bin, &config.replace("{out}", "{dir}"), &[]);
    let sock = d.dir().join("sock");
    assert!(
        wait_for(WAIT, || std::os::unix::net::UnixStream::connect(&sock)
            .is_ok()),
        "{} did not open its socket:\n{}",
        bin.display(),
        d.log()
    );
    d
}

#[test]
fn our_unixsock_replies_as_collectd() {
    if skip_unless_runnable(&["threshold"]) {
        return;
    }
    let _ = plugin_dir();
    let mut ours = run(&rcollectd_bin(), &format!("{NATIVE}{CONFIG}"));
    assert!(
        ours.log().contains("target/plugins/unixsock.so")
            || !ours.log().contains("/usr/lib/collectd/unixsock.so"),
        "loaded Debian's unixsock.so:\n{}",
        ours.log()
    );
    let sock = ours.dir().join("sock");
    let mut wrong = String::new();
    for (cmd, expected) in CASES {
        let got = ask(&sock, cmd);
        if got != *expected {
            wrong += &format!("{cmd:?}:\n  collectd:  {expected:?}\n  rcollectd: {got:?}\n");
        }
    }
    assert!(wrong.is_empty(), "our unixsock differs:\n{wrong}");

    // collectdctl against ours and against collectd 5.12 with its own
    // plugin, after the same commands.
    let theirs = if skip_unless_runnable(&["unixsock", "csv"]) {
        None
    } else {
        let preamble = PREAMBLE
            .replace("{interval}", "30")
            .replace("{out}/daemon.log", "{dir}/plugin.log");
        let d = run(
            &rcollectd_tests::collectd_bin(),
            &format!("{preamble}{CONFIG}"),
        );
        let s = d.dir().join("sock");
        for (cmd, _) in CASES {
            ask(&s, cmd);
        }
        Some(d)
    };
    let ours_ctl: Vec<String> = CTL_CASES.iter().map(|a| collectdctl(&sock, a)).collect();
    if let Some(theirs) = &theirs {
        let s = theirs.dir().join("sock");
        for (args, mine) in CTL_CASES.iter().zip(&ours_ctl) {
            assert_eq!(
                (args, mine),
                (args, &collectdctl(&s, args)),
                "collectdctl output differs"
            );
        }
    } else {
        assert!(ours_ctl[0].starts_with("exit=Some(0)|value=1.000000e+00"));
    }
    assert!(
        ours_ctl.iter().any(|o| o.contains("difftest/ctl/gauge")),
        "listval shows what collectdctl put: {ours_ctl:?}"
    );
    assert_eq!(
        ask(&sock, "GETVAL difftest/p/gauge-q"),
        "1 Value found\nvalue=1.600000e+01\n"
    );
    // What collectdctl put reached our csv plugin.
    let csv = ours.dir().join("csv");
    assert!(
        wait_for(WAIT, || read_csv(&csv)
            .get("difftest/ctl/gauge")
            .is_some_and(|rows| rows.len() > 3)),
        "csv rows: {:?}",
        read_csv(&csv)
    );
    assert!(ours.is_running());
    let out = ours.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
    if let Some(theirs) = theirs {
        theirs.stop();
    }
}

#[test]
fn inputs_that_crash_collectds_plugin_are_answered() {
    let _ = plugin_dir();
    let mut d = run(&rcollectd_bin(), &format!("{NATIVE}{NO_THRESHOLD}"));
    let sock = d.dir().join("sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
    let cases: &[(&str, &str)] = &[
        // collectd: double free of the shared meta data.
        (
            "PUTVAL difftest/m/gauge meta:k=\"\\\"x\\\"\" 1700000000:1 1700000001:2",
            OK2,
        ),
        (
            "PUTVAL difftest/m/gauge-n meta:k=x 1700000000:1 1700000001:2",
            "-1 Non-string metadata not supported yet\n",
        ),
        // collectd: assertion in cmd_split (more fields than words).
        ("PUTVAL \"a\"\"b\"", "-1 Cannot parse identifier `a'.\n"),
        (
            "GETVAL \"difftest/m\"\"/gauge\"",
            "-1 Garbage after identifier: `/gauge'.\n",
        ),
        (
            "PUTVAL \"difftest/m/gauge-q\"\"1700000002:3\"",
            "0 Success: 1 value has been dispatched.\n",
        ),
        // collectd: abort in c_avl_get without the threshold plugin.
        (
            "GETTHRESHOLD difftest/m/gauge",
            "-1 No threshold found for identifier difftest/m/gauge\n",
        ),
        (
            "GETVAL difftest/m/gauge",
            "1 Value found\nvalue=2.000000e+00\n",
        ),
        (
            "GETVAL difftest/m/gauge-q",
            "1 Value found\nvalue=3.000000e+00\n",
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(ask(&sock, cmd), *want, "{cmd}");
        assert!(d.is_running(), "died on {cmd:?}:\n{}", d.log());
    }
    // A client that sends a lot and never reads does not stop others.
    let mut flood = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let line = "GETVAL difftest/m/gauge\n".repeat(40_000);
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = flood.write_all(line.as_bytes());
        std::thread::sleep(Duration::from_secs(30));
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        ask(&sock, "LISTVAL"),
        "3 Values found\n1700000001.000 difftest/m/gauge\n1700000001.000 difftest/m/gauge-n\n\
         1700000002.000 difftest/m/gauge-q\n"
    );
    let csv = d.dir().join("csv");
    assert!(
        wait_for(WAIT, || read_csv(&csv)
            .get("difftest/m/gauge")
            .is_some_and(|rows| rows.len() == 3)),
        "{:?}",
        read_csv(&csv)
    );
    assert!(d.is_running());
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}
