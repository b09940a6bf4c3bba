//! Helpers shared by the runtime_* integration tests: building the C test
//! plugin and running a daemon to completion with `-T`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcollectd_tests::{wait_for, workspace_root, Daemon};

/// Which headers the C test plugin is compiled against.
#[derive(Clone, Copy, Debug)]
pub enum Headers {
    /// rcollectd's `include/collectd`.
    Rcollectd,
    /// collectd-dev's headers under /usr/include/collectd.
    Collectd,
}

/// Compiles tests/c-plugin/test_plugin.c into `<dir>/test_plugin.so`.
pub fn build_test_plugin(dir: &Path, headers: Headers) -> PathBuf {
    let root = workspace_root();
    let src = root.join("tests/c-plugin/test_plugin.c");
    let out = dir.join("test_plugin.so");
    let mut cmd = Command::new("cc");
    cmd.args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src);
    match headers {
        Headers::Rcollectd => {
            cmd.arg("-I").arg(root.join("include/collectd"));
        }
        Headers::Collectd => {
            cmd.args([
                "-DHAVE_CONFIG_H",
                "-I/usr/include/collectd/core/daemon",
                "-I/usr/include/collectd/core",
                "-I/usr/include/collectd",
            ]);
        }
    }
    let status = cmd.status().expect("run cc");
    assert!(
        status.success(),
        "compiling the test plugin ({headers:?}) failed"
    );
    out
}

/// Runs `bin -f -C <config> -T` and waits (bounded) for it to exit; returns
/// the daemon's log and exit success.
pub fn run_read_once(bin: &Path, config: &str) -> (Daemon, bool) {
    let mut d = Daemon::start(bin, config, &["-T"]);
    let exited = wait_for(Duration::from_secs(60), || !d.is_running());
    assert!(exited, "daemon did not exit after -T:\n{}", d.log());
    (d, true)
}

/// Reads a file into lines ("" if missing).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Seconds since the epoch of a "read-attempt N at T ..." line.
pub fn attempt_time(line: &str) -> Option<f64> {
    let mut it = line.split_whitespace();
    if it.next()? != "read-attempt" {
        return None;
    }
    let _n = it.next()?;
    if it.next()? != "at" {
        return None;
    }
    it.next()?.parse().ok()
}
