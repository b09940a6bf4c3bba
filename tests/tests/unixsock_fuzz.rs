//! Random and mutated unixsock commands into Debian's unixsock.so hosted by
//! rcollectd: every connection gets a status line back and the daemon keeps
//! running. `make test` runs a short seeded pass; `make fuzz-unixsock` runs it
//! for `FUZZ_SECONDS` (60 by default) with a fresh seed.
//!
//! Left out on purpose, because they crash collectd 5.12's own unixsock.so in
//! collectd too (its code, not the daemon's; rcollectd's own unixsock is the
//! way out):
//! - a `meta:` option together with more than one value list in one PUTVAL
//!   (cmd_destroy_putval frees the one meta data object once per value list:
//!   SIGSEGV);
//! - a line that splits into more fields than it has space-separated words,
//!   such as `"a""b"` or `"a"b` (cmd_split sizes its array by words:
//!   `Assertion 'len < estimate' failed`, SIGABRT).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rcollectd_tests::{wait_for, Daemon};

const CONFIG: &str = r#"Hostname "fuzzhost"
FQDNLookup false
Interval 1
BaseDir "{dir}"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{dir}/daemon-plugins.log"
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "{dir}/csv"
  StoreRates true
</Plugin>
"#;

/// xorshift64*: small, seedable, good enough to pick grammar branches.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "cpu",
    "load",
    "a-b",
    "x",
    "",
    "\"q\"",
    "sp ace",
    "sl/ash",
    "back\\slash",
    "é",
    "-",
    "0",
];
const TYPES: &[&str] = &[
    "gauge",
    "derive",
    "counter",
    "absolute",
    "load",
    "if_octets",
    "nosuchtype",
    "",
    "GAUGE",
];
const VALUES: &[&str] = &[
    "N:1",
    "N:U",
    "1234:42",
    "1234:1:2:3",
    "N:1:2",
    "abc",
    "N:",
    ":",
    "1e400:1",
    "N:-1",
    "N:18446744073709551616",
    "N:0x10",
    "N:1.5e3",
    "-5:1",
    "N:nan",
    "N:inf",
    "1234.5:7",
];
const OPTIONS: &[&str] = &[
    "interval=10",
    "interval=-1",
    "interval=abc",
    "interval=",
    "plugin=cpu",
    "timeout=3",
    "timeout=x",
    "identifier=fuzzhost/cpu/gauge",
    "severity=okay",
    "severity=bogus",
    "time=1234",
    "host=h",
    "message=\"hello world\"",
    "type=gauge",
    "type_instance=x",
    "plugin_instance=\"a b\"",
    "=",
    "a=\"unterminated",
];
const COMMANDS: &[&str] = &[
    "PUTVAL",
    "GETVAL",
    "LISTVAL",
    "FLUSH",
    "PUTNOTIF",
    "GETTHRESHOLD",
    "putval",
    "NOPE",
    "",
];

fn identifier(r: &mut Rng) -> String {
    let mut id = String::new();
    if r.below(4) != 0 {
        id.push_str(r.pick(&["fuzzhost", "other", "", "h\"x"]));
        id.push('/');
    }
    id.push_str(r.pick(NAMES));
    if r.below(3) == 0 {
        id.push('-');
        id.push_str(r.pick(NAMES));
    }
    id.push('/');
    id.push_str(r.pick(TYPES));
    if r.below(3) == 0 {
        id.push('-');
        id.push_str(r.pick(NAMES));
    }
    if r.below(6) == 0 {
        id = format!("\"{id}\"");
    }
    id
}

fn line(r: &mut Rng) -> String {
    let cmd = r.pick(COMMANDS);
    let mut words = vec![cmd.to_string()];
    if r.below(5) != 0 {
        words.push(identifier(r));
    }
    for _ in 0..r.below(3) {
        words.push(r.pick(OPTIONS).to_string());
    }
    let values = r.below(4);
    if values <= 1 && r.below(4) == 0 {
        words.push(format!("meta:{}=\"{}\"", r.pick(NAMES), r.pick(NAMES)));
    }
    for _ in 0..values {
        words.push(r.pick(VALUES).to_string());
    }
    let mut text = words.join(" ").into_bytes();
    // Byte-level mutations on a third of the lines.
    if r.below(3) == 0 {
        for _ in 0..=r.below(4) {
            if text.is_empty() {
                break;
            }
            let at = r.below(text.len());
            match r.below(4) {
                0 => text[at] = b"\"\\ /:=-"[r.below(7)],
                1 => {
                    text.remove(at);
                }
                2 => text.insert(at, (r.next() & 0x7f) as u8),
                _ => text.truncate(at),
            }
        }
    }
    let s = String::from_utf8_lossy(&text).replace(['\n', '\r', '\0'], " ");
    if triggers_unixsock_double_free(&s) || overflows_cmd_split(&s) {
        return "LISTVAL".into();
    }
    s
}

/// Whether collectd's cmd_split would find more fields in `line` than it
/// has space-separated words (see the module comment): its quoting rules,
/// counted. A closing quote ends a field, so text right after it starts one.
fn overflows_cmd_split(line: &str) -> bool {
    let b = line.as_bytes();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let words = line
        .split(|c: char| c.is_ascii() && space(c as u8))
        .filter(|w| !w.is_empty())
        .count();
    let (mut fields, mut in_field, mut in_quotes, mut i) = (0, false, false, 0);
    while i < b.len() {
        let c = b[i];
        if space(c) && !in_quotes {
            in_field = false;
        } else if c == b'"' {
            if in_quotes && !in_field {
                fields += 1; // an empty quoted string is a field
                if fields > words {
                    return true;
                }
            }
            if in_quotes {
                in_field = false;
            }
            in_quotes = !in_quotes;
        } else {
            if c == b'\\' && in_quotes {
                if i + 1 == b.len() {
                    return false; // a parse error, answered
                }
                i += 1;
            }
            if !in_field {
                fields += 1;
                in_field = true;
                // cmd_split asserts as it adds the field, before any error.
                if fields > words {
                    return true;
                }
            }
        }
        i += 1;
    }
    false
}

/// A `meta:` option and more than one value list in one PUTVAL (see the
/// module comment): counted conservatively, any two words without `=`.
fn triggers_unixsock_double_free(line: &str) -> bool {
    if !line.to_ascii_lowercase().contains("meta") {
        return false;
    }
    line.split_whitespace()
        .skip(2)
        .filter(|w| !w.contains('='))
        .count()
        > 1
}

/// Sends `lines` on one connection and reads every reply until the daemon
/// closes it or 2 s pass; returns the replies.
fn exchange(sock: &Path, lines: &[String]) -> std::io::Result<String> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    for l in lines {
        s.write_all(l.as_bytes())?;
        s.write_all(b"\n")?;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn cmd_split_overflow_rule() {
    for (line, overflows) in [
        ("PUTVAL a/b/c N:1", false),
        ("PUTVAL \"a/b/c\" N:1", false),
        ("PUTVAL \"a\"\"b\"", true),
        ("PUTVAL \"a\"b", true),
        ("PUTVAL x=\"a b\" N:1", false),
        ("PUTVAL \"\"", false),
        ("\"\"\"\"", true),
        ("PUTVAL \"a\\\"b\"", false),
        ("GETVAL h/\"q\"/t N:1\"x\\", true),
    ] {
        assert_eq!(overflows_cmd_split(line), overflows, "{line}");
    }
}

#[test]
fn random_commands_never_take_the_daemon_down() {
    let seconds: u64 = std::env::var("RCOLLECTD_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let seed: u64 = std::env::var("RCOLLECTD_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    eprintln!("unixsock fuzz: seed {seed}, {seconds} s");
    let mut d = Daemon::start_rcollectd(CONFIG);
    let sock = d.dir().join("sock");
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists()),
        "unixsock never listened:\n{}",
        d.log()
    );
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut connections, mut sent, mut answered) = (0u64, 0u64, 0u64);
    let mut previous: Vec<String> = Vec::new();
    while Instant::now() < deadline && connections < 200_000 {
        let batch: Vec<String> = (0..=rng.below(8)).map(|_| line(&mut rng)).collect();
        connections += 1;
        sent += batch.len() as u64;
        match exchange(&sock, &batch) {
            // Some malformed lines get no reply from unixsock.so, in
            // collectd too; whatever comes back starts with a status.
            Ok(reply) if reply.is_empty() => {}
            Ok(reply) => {
                let first = reply.lines().next().unwrap_or_default();
                let status = first.split(' ').next().unwrap_or_default();
                assert!(
                    status.parse::<i64>().is_ok(),
                    "connection {connections}: no status line for {batch:?}: {reply:?}"
                );
                answered += 1;
            }
            Err(e) => {
                assert!(
                    d.is_running(),
                    "rcollectd died after {previous:?} or {batch:?} ({e}):\n{}",
                    d.log()
                );
            }
        }
        assert!(
            d.is_running(),
            "rcollectd died after {batch:?}:\n{}",
            d.log()
        );
        previous = batch;
    }
    eprintln!("unixsock fuzz: {connections} connections, {sent} lines, {answered} answered");
    assert!(answered > 0, "no connection was answered");
    // Still serving after the storm.
    let reply = exchange(&sock, &["PUTVAL fuzzhost/final/gauge N:1".into()]).expect("final");
    assert!(reply.starts_with("0 Success"), "{reply:?}");
    let out = d.stop();
    assert!(
        out.status.is_some_and(|s| s.success()),
        "unclean exit: {:?}\n{}",
        out.status,
        out.log
    );
}
