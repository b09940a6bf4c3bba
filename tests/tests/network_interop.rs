//! Interop of our `network` plugin with the real collectd 5.12 and with
//! go-collectd (the CloudWatch Agent's parser), at SecurityLevel None, Sign
//! and Encrypt, plus wrong passwords, lower levels and garbage input.
//!
//! "Ours" is rcollectd with `target/plugins/network.so`. Set
//! `RCOLLECTD_NETWORK_HOST=collectd` to host the same `network.so` inside
//! collectd 5.12 instead (same ABI), which isolates the plugin from the
//! daemon.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use rcollectd_tests::netrecv::Netrecv;
use rcollectd_tests::{files_below, free_udp_port, wait_for, workspace_root, Daemon};

const LEVELS: [&str; 3] = ["None", "Sign", "Encrypt"];
const WAIT: Duration = Duration::from_secs(15);

fn hosted_in_collectd() -> bool {
    std::env::var("RCOLLECTD_NETWORK_HOST").is_ok_and(|v| v == "collectd")
}

/// Starts "our" daemon: `network.so` with `network_block`, writing csv to
/// `{dir}/csv` when `csv` is set.
fn start_ours(network_block: &str, csv: bool) -> Daemon {
    let csv_block = "<Plugin csv>\n  DataDir \"{dir}/csv\"\n  StoreRates false\n</Plugin>\n";
    if hosted_in_collectd() {
        let mut c = String::from(
            "Hostname \"ours\"\nInterval 1\nTypesDB \"{types_db}\"\nBaseDir \"{dir}\"\nPIDFile \"{dir}/pid\"\n",
        );
        if csv {
            c += "PluginDir \"/usr/lib/collectd\"\nLoadPlugin csv\n";
            c += csv_block;
        }
        c += "PluginDir \"{plugin_dir}\"\nLoadPlugin network\n";
        c += network_block;
        Daemon::start_collectd(&c)
    } else {
        let mut c = String::from(
            "Hostname \"ours\"\nInterval 1\nTypesDB \"{types_db}\"\nBaseDir \"{dir}\"\nPIDFile \"{dir}/pid\"\nPluginDir \"{plugin_dir}\"\n",
        );
        if csv {
            c += "LoadPlugin csv\n";
            c += csv_block;
        }
        c += "LoadPlugin network\n";
        c += network_block;
        Daemon::start_rcollectd(&c)
    }
}

/// Starts the real collectd 5.12 with its own network and csv plugins.
fn start_collectd(hostname: &str, network_block: &str) -> Daemon {
    let c = format!(
        "Hostname \"{hostname}\"\nInterval 1\nTypesDB \"{{types_db}}\"\nBaseDir \"{{dir}}\"\nPIDFile \"{{dir}}/pid\"\n\
         LoadPlugin csv\n<Plugin csv>\n  DataDir \"{{dir}}/csv\"\n</Plugin>\nLoadPlugin network\n{network_block}"
    );
    Daemon::start_collectd(&c)
}

fn server_block(port: u16, level: &str, password: &str, extra: &str) -> String {
    let creds = if level == "None" {
        String::new()
    } else {
        format!("    Username \"alice\"\n    Password \"{password}\"\n")
    };
    format!("  <Server \"127.0.0.1\" \"{port}\">\n    SecurityLevel {level}\n{creds}{extra}  </Server>\n")
}

fn listen_block(port: u16, level: &str, auth: &Path) -> String {
    format!("  <Listen \"127.0.0.1\" \"{port}\">\n    SecurityLevel {level}\n    AuthFile \"{}\"\n  </Listen>\n", auth.display())
}

fn auth_file(dir: &Path) -> PathBuf {
    let p = dir.join("auth_file");
    std::fs::write(&p, "alice: wonderland\n").unwrap();
    p
}

/// csv files of `host` below a daemon's `{dir}/csv`.
fn csv_files(d: &Daemon, host: &str) -> Vec<PathBuf> {
    files_below(&d.dir().join("csv"))
        .into_iter()
        .filter(|p| p.starts_with(host))
        .collect()
}

/// Last value of the first csv file whose path starts with `prefix`.
fn csv_last(d: &Daemon, prefix: &str) -> Option<f64> {
    let rel = files_below(&d.dir().join("csv"))
        .into_iter()
        .find(|p| p.to_string_lossy().starts_with(prefix))?;
    let text = std::fs::read_to_string(d.dir().join("csv").join(rel)).ok()?;
    let last = text.lines().rfind(|l| !l.starts_with("epoch"))?;
    last.split(',').nth(1)?.parse().ok()
}

#[test]
fn ours_to_collectd_at_each_level() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    for level in LEVELS {
        let port = free_udp_port();
        let rx = start_collectd(
            "peer",
            &format!(
                "<Plugin network>\n{}</Plugin>\n",
                listen_block(port, level, &auth)
            ),
        );
        let tx = start_ours(
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(port, level, "wonderland", "")
            ),
            false,
        );
        let ok = wait_for(WAIT, || {
            csv_files(&rx, "ours")
                .iter()
                .any(|p| p.to_string_lossy().contains("network/if_packets"))
        });
        let (rx_out, tx_out) = (rx.stop(), tx.stop());
        assert!(
            ok,
            "level {level}: collectd got nothing\nreceiver:\n{}\nsender:\n{}",
            rx_out.log, tx_out.log
        );
    }
}

#[test]
fn ours_to_collectd_wrong_password_or_lower_level_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    // (receiver level, sender level, password, what collectd logs)
    for (rl, sl, pw, log) in [
        ("Encrypt", "Encrypt", "wrong", "Checksum mismatch"),
        ("Sign", "Sign", "wrong", "Hash mismatch"),
        ("Encrypt", "Sign", "wonderland", ""),
        ("Sign", "None", "wonderland", ""),
    ] {
        let port = free_udp_port();
        let rx = start_collectd(
            "peer",
            &format!(
                "<Plugin network>\n{}</Plugin>\n",
                listen_block(port, rl, &auth)
            ),
        );
        let tx = start_ours(
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(port, sl, pw, "")
            ),
            false,
        );
        // Packets do flow (the receiver logs the rejection, or time passes)...
        let seen = wait_for(Duration::from_secs(5), || {
            !log.is_empty() && rx.log().contains(log)
        });
        std::thread::sleep(Duration::from_secs(1));
        let files = csv_files(&rx, "ours");
        let (rx_out, _tx_out) = (rx.stop(), tx.stop());
        assert!(
            log.is_empty() || seen,
            "{rl}/{sl}: expected {log:?} in\n{}",
            rx_out.log
        );
        // ...but nothing is accepted.
        assert!(files.is_empty(), "{rl}/{sl}/{pw}: accepted {files:?}");
    }
}

/// Asks a running collectd to flush (SIGUSR1) once it is initialised.
fn flush(d: &Daemon) {
    if d.log().contains("Initialization complete") {
        d.signal(Signal::SIGUSR1);
    }
}

#[test]
fn collectd_to_ours_at_each_level() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    for level in LEVELS {
        let port = free_udp_port();
        let rx = start_ours(
            &format!(
                "<Plugin network>\n{}</Plugin>\n",
                listen_block(port, level, &auth)
            ),
            true,
        );
        let tx = start_collectd(
            "peer",
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(port, level, "wonderland", "")
            ),
        );
        // collectd sends only full buffers or on flush: SIGUSR1 flushes
        // (once its handler is installed; before, SIGUSR1 would kill it).
        let ok = wait_for(WAIT, || {
            flush(&tx);
            csv_files(&rx, "peer")
                .iter()
                .any(|p| p.to_string_lossy().contains("network/if_packets"))
        });
        let (rx_out, tx_out) = (rx.stop(), tx.stop());
        assert!(
            ok,
            "level {level}: ours got nothing\nreceiver:\n{}\nsender:\n{}",
            rx_out.log, tx_out.log
        );
    }
}

#[test]
fn collectd_to_ours_wrong_password_or_lower_level_is_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    // (receiver level, sender level, password, our counter that must rise)
    for (rl, sl, pw, counter) in [
        (
            "Encrypt",
            "Encrypt",
            "wrong",
            "ours/network/if_rx_errors-decode",
        ),
        ("Sign", "Sign", "wrong", "ours/network/if_rx_errors-decode"),
        (
            "Encrypt",
            "Sign",
            "wonderland",
            "ours/network/total_values-receive-insecure",
        ),
        (
            "Encrypt",
            "None",
            "wonderland",
            "ours/network/total_values-receive-insecure",
        ),
    ] {
        let port = free_udp_port();
        let rx = start_ours(
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                listen_block(port, rl, &auth)
            ),
            true,
        );
        let tx = start_collectd(
            "peer",
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(port, sl, pw, "")
            ),
        );
        let counted = wait_for(WAIT, || {
            flush(&tx);
            csv_last(&rx, counter).is_some_and(|v| v > 0.0)
        });
        let files = csv_files(&rx, "peer");
        let (rx_out, _tx_out) = (rx.stop(), tx.stop());
        assert!(
            counted,
            "{rl}/{sl}/{pw}: {counter} did not rise\n{}",
            rx_out.log
        );
        assert!(files.is_empty(), "{rl}/{sl}/{pw}: accepted {files:?}");
    }
}

fn go_receiver(tmp: &Path, port: u16, level: &str, auth: &Path) -> Netrecv {
    let level = level.to_lowercase();
    let args: [&std::ffi::OsStr; 6] = [
        "-level".as_ref(),
        level.as_ref(),
        "-authfile".as_ref(),
        auth.as_os_str(),
        "-typesdb".as_ref(),
        "/usr/share/collectd/types.db".as_ref(),
    ];
    Netrecv::start(tmp, port, &args)
}

#[test]
fn ours_to_go_collectd_at_each_level_and_wrong_password() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    for (level, pw) in [
        ("None", "wonderland"),
        ("Sign", "wonderland"),
        ("Encrypt", "wonderland"),
        ("Encrypt", "wrong"),
    ] {
        let port = free_udp_port();
        let go = go_receiver(tmp.path(), port, level, &auth);
        std::thread::sleep(Duration::from_millis(300));
        let tx = start_ours(
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(port, level, pw, "")
            ),
            false,
        );
        let has = |kind: &str| {
            go.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
        };
        let got = wait_for(WAIT, || has("values") || has("error"));
        std::thread::sleep(Duration::from_secs(1));
        let tx_out = tx.stop();
        let lines = go.lines.lock().unwrap().clone();
        assert!(got, "{level}/{pw}: go-collectd saw nothing\n{}", tx_out.log);
        if pw == "wrong" {
            assert!(!has("values"), "{level}/{pw}: {lines:?}");
        } else {
            assert!(!has("error"), "{level}: {lines:?}");
            assert!(
                lines.iter().any(
                    |l| l.contains("\"host\":\"ours\"") && l.contains("\"plugin\":\"network\"")
                ),
                "{level}: {lines:?}"
            );
        }
    }
}

#[test]
fn garbage_does_not_stop_our_receiver() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    let port = free_udp_port();
    let rx = start_ours(
        &format!(
            "<Plugin network>\n{}</Plugin>\n",
            listen_block(port, "None", &auth)
        ),
        true,
    );
    std::thread::sleep(Duration::from_millis(500));
    let golden =
        std::fs::read(workspace_root().join("plugins/network/tests/golden/none-0.bin")).unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dest = ("127.0.0.1", port);
    s.send_to(&golden[..golden.len() - 7], dest).unwrap();
    s.send_to(&[0u8; 0], dest).unwrap();
    s.send_to(&vec![0xffu8; 60000], dest).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..300 {
        let mut p = if i % 2 == 0 {
            golden.clone()
        } else {
            vec![0u8; (x % 1400) as usize]
        };
        for b in p.iter_mut().step_by(1 + (i % 7)) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        s.send_to(&p, dest).unwrap();
    }
    let ok = wait_for(WAIT, || {
        s.send_to(&golden, dest).unwrap();
        !csv_files(&rx, "golden.example").is_empty()
    });
    let out = rx.stop();
    assert!(
        ok,
        "valid packets after garbage were not received\n{}",
        out.log
    );
}

/// The shipped config text with `LoadPlugin network` removed (the test
/// harness loads it) and the given replacements applied.
fn shipped(name: &str, replace: &[(&str, String)]) -> String {
    let text =
        std::fs::read_to_string(workspace_root().join("collectd.conf.d").join(name)).unwrap();
    let mut text: String = text
        .lines()
        .filter(|l| l.trim() != "LoadPlugin network")
        .map(|l| format!("{l}\n"))
        .collect();
    for (from, to) in replace {
        assert!(text.contains(from), "{name} no longer contains {from:?}");
        text = text.replace(from, to);
    }
    text
}

#[test]
fn shipped_cloudwatch_conf_reaches_go_collectd_with_agent_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    // The agent's auth file holds the line the config's comment documents.
    let auth = tmp.path().join("auth_file");
    std::fs::write(&auth, "cwagent: CHANGE-ME\n").unwrap();
    let port = free_udp_port();
    let go = go_receiver(tmp.path(), port, "encrypt", &auth);
    std::thread::sleep(Duration::from_millis(300));
    let tx = start_ours(
        &shipped("cloudwatch.conf", &[("\"25826\"", format!("\"{port}\""))]),
        false,
    );
    let has_values = || {
        go.lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"plugin\":\"network\""))
    };
    let ok = wait_for(WAIT, has_values);
    let tx_out = tx.stop();
    let lines = go.lines.lock().unwrap().clone();
    assert!(ok, "nothing reached go-collectd\n{}", tx_out.log);
    assert!(
        !lines.iter().any(|l| l.contains("\"kind\":\"error\"")),
        "{lines:?}"
    );
}

#[test]
fn shipped_receiver_conf_accepts_signed_collectd_data() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    let port = free_udp_port();
    let conf = shipped(
        "receiver.conf",
        &[
            ("\"25826\"", format!("\"{port}\"")),
            ("/etc/rcollectd/passwd", auth.display().to_string()),
            // Loopback only in tests.
            ("\"0.0.0.0\"", "\"127.0.0.1\"".to_string()),
            ("\"::\"", "\"::1\"".to_string()),
        ],
    );
    let rx = start_ours(&conf, true);
    let tx = start_collectd(
        "peer",
        &format!(
            "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
            server_block(port, "Sign", "wonderland", "")
        ),
    );
    let ok = wait_for(WAIT, || {
        flush(&tx);
        !csv_files(&rx, "peer").is_empty()
    });
    let (rx_out, _) = (rx.stop(), tx.stop());
    assert!(ok, "receiver.conf got nothing\n{}", rx_out.log);
}

#[test]
fn forward_resends_received_values_only_when_enabled() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = auth_file(tmp.path());
    for forward in [true, false] {
        let (in_port, out_port) = (free_udp_port(), free_udp_port());
        let go = go_receiver(tmp.path(), out_port, "None", &auth);
        std::thread::sleep(Duration::from_millis(300));
        let relay = start_ours(
            &format!(
                "<Plugin network>\n  Forward {forward}\n  ReportStats true\n{}{}</Plugin>\n",
                listen_block(in_port, "None", &auth),
                server_block(out_port, "None", "", "")
            ),
            false,
        );
        let peer = start_collectd(
            "peer",
            &format!(
                "<Plugin network>\n  ReportStats true\n{}</Plugin>\n",
                server_block(in_port, "None", "", "")
            ),
        );
        let from = |host: &str| {
            go.lines
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(&format!("\"host\":\"{host}\"")))
        };
        // The relay's own statistics always arrive; the peer's only with Forward.
        let own = wait_for(WAIT, || {
            flush(&peer);
            from("ours") && (!forward || from("peer"))
        });
        // Without Forward, keep the peer flushing a while to be sure nothing comes.
        if !forward {
            wait_for(Duration::from_secs(3), || {
                flush(&peer);
                false
            });
        }
        let (relay_out, _) = (relay.stop(), peer.stop());
        assert!(
            own,
            "Forward {forward}: relay sent nothing or did not forward\n{}",
            relay_out.log
        );
        assert_eq!(
            from("peer"),
            forward,
            "Forward {forward}\n{}",
            relay_out.log
        );
    }
}
