//! The go-collectd receiver in tests/go/netrecv (`collectd.org/network`,
//! the CloudWatch Agent's parser) as a test peer: built once per scratch
//! directory, killed when dropped, its stdout lines collected.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::{target_dir, workspace_root};

/// A running receiver; dropping it kills it.
pub struct Netrecv {
    child: Child,
    /// Every line it printed so far (one per received value list).
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Netrecv {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Netrecv {
    /// Builds the receiver into `tmp` (once) and runs it on
    /// 127.0.0.1:`port` with `args` (`-level`, `-authfile`, `-typesdb`).
    pub fn start<S: AsRef<OsStr>>(tmp: &Path, port: u16, args: &[S]) -> Netrecv {
        let bin = tmp.join("netrecv");
        if !bin.exists() {
            let built = Command::new("go")
                .args(["build", "-o"])
                .arg(&bin)
                .arg(".")
                .current_dir(workspace_root().join("tests/go/netrecv"))
                .env("GO111MODULE", "off")
                .env(
                    "GOPATH",
                    format!("/usr/share/gocode:{}", tmp.join("gopath").display()),
                )
                .env("GOCACHE", target_dir().join("go-cache"))
                .status()
                .expect("run go build");
            assert!(built.success(), "go build of tests/go/netrecv failed");
        }
        let mut child = Command::new(&bin)
            .arg("-listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start netrecv");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("netrecv stdout");
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        Netrecv { child, lines }
    }
}
