//! write_http's TLS options on rustls do what they do on collectd's libcurl:
//! against an HTTPS endpoint whose certificate is signed by a test CA for
//! another host name, `CACert` + `VerifyHost false` and `VerifyPeer false`
//! deliver, while `CACert` alone (name mismatch) and the defaults (unknown
//! CA) refuse and count the failed requests.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcollectd_tests::diff::{free_tcp_port, read_csv, WAIT};
use rcollectd_tests::{wait_for, Daemon};

/// Runs `cmd`; false (with the reason printed) when it cannot run.
fn run(cmd: &mut Command) -> bool {
    match cmd.stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => true,
        other => {
            eprintln!("skipped: {cmd:?} failed: {other:?}");
            false
        }
    }
}

/// A test CA and a server certificate it signed for `wronghost` only.
fn certificates(dir: &std::path::Path) -> bool {
    let ossl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=DNS:wronghost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=rcollectd test CA",
    ]) && ossl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=wronghost",
    ]) && ossl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    ])
}

/// An HTTPS server (Python's http.server with ssl) that appends each POST's
/// path to `dir/posts`.
fn https_server(dir: &std::path::Path, port: u16) -> Option<Child> {
    let script = format!(
        r#"
import http.server, ssl
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length', 0))
        self.rfile.read(n)
        with open('posts', 'a') as f:
            f.write(self.path + '\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(('127.0.0.1', {port}), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain('leaf.pem', 'leaf.key')
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"#
    );
    match Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("skipped: python3 cannot run: {e}");
            None
        }
    }
}

#[test]
fn tls_options_decide_what_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    if !certificates(dir.path()) {
        return;
    }
    let port = free_tcp_port();
    let Some(mut server) = https_server(dir.path(), port) else {
        return;
    };
    assert!(
        wait_for(WAIT, || std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()),
        "the HTTPS server did not start"
    );
    let ca = dir.path().join("ca.pem");
    let node = |name: &str, opts: &str| {
        format!(
            "  <Node \"{name}\">\n    URL \"https://127.0.0.1:{port}/{name}\"\n    BufferSize 1024\n    ReportStats true\n{opts}  </Node>\n"
        )
    };
    let ca_opt = format!("    CACert \"{}\"\n", ca.display());
    let config = format!(
        "Hostname \"tls\"\nFQDNLookup false\nInterval 1\nBaseDir \"{{dir}}\"\nPIDFile \"{{dir}}/pid\"\nLoadPlugin load\nLoadPlugin cpu\nLoadPlugin memory\nLoadPlugin csv\n<Plugin csv>\n  DataDir \"{{dir}}/csv\"\n</Plugin>\nLoadPlugin write_http\n<Plugin write_http>\n{}{}{}{}</Plugin>\n",
        node("cahost", &format!("{ca_opt}    VerifyHost false\n")),
        node("noverify", "    VerifyPeer false\n"),
        node("mismatch", &ca_opt),
        node("unknownca", ""),
    );
    rcollectd_tests::plugin_dir();
    let d = Daemon::start_rcollectd(&config);
    let posts = || std::fs::read_to_string(dir.path().join("posts")).unwrap_or_default();
    let failed = |node: &str| -> f64 {
        let csv = read_csv(&d.dir().join("csv"));
        csv.iter()
            .find(|(k, _)| k.starts_with(&format!("tls/write_http-{node}/http_requests-failed")))
            .and_then(|(_, rows)| rows.last()?.rsplit(',').next()?.parse().ok())
            .unwrap_or(0.0)
    };
    let delivered = wait_for(Duration::from_secs(20), || {
        let p = posts();
        p.contains("/cahost\n")
            && p.contains("/noverify\n")
            && failed("mismatch") > 0.0
            && failed("unknownca") > 0.0
    });
    let p = posts();
    let log = d.log();
    let _ = server.kill();
    let _ = server.wait();
    assert!(delivered, "posts:\n{p}\nlog:\n{log}");
    assert!(
        !p.contains("/mismatch"),
        "a name mismatch was accepted:\n{p}"
    );
    assert!(
        !p.contains("/unknownca"),
        "an unknown CA was accepted:\n{p}"
    );
    assert_eq!(failed("cahost"), 0.0);
    assert!(log.contains("will retry"), "{log}");
    let out = d.stop();
    assert!(out.status.is_some_and(|s| s.success()), "{}", out.log);
}
