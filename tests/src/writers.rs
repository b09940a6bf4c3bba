//! The inputs the writer tests (Debian's writers, rcollectd's own) feed
//! both daemons over unixsock, and the sentinel that tells they were written.

use std::time::Duration;

use crate::diff::{read_csv, unixsock_ask, Run, WAIT};
use crate::wait_for;

/// unixsock on `{dir}/sock`, where [`feed`] sends the inputs.
pub const UNIXSOCK: &str = r#"
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "{dir}/sock"
</Plugin>
"#;

/// Values every writer gets, in this order (one PUTVAL per line).
pub const INPUT: &[&str] = &[
    "PUTVAL difftest/app/gauge-temp 1700000000:21.5",
    "PUTVAL difftest/app/gauge-temp 1700000010:22.25",
    "PUTVAL difftest/app-x/if_octets 1700000000:1000:2000",
    "PUTVAL difftest/app-x/if_octets 1700000010:3000:5000",
    "PUTVAL difftest/app/derive-req 1700000000:100",
    "PUTVAL difftest/app/derive-req 1700000010:250",
    "PUTVAL difftest/app/counter-c 1700000000:5",
    "PUTVAL difftest/app/counter-c 1700000010:7",
    "PUTVAL difftest/app/absolute-a 1700000000:40",
    "PUTVAL difftest/app/absolute-a 1700000010:50",
    "PUTVAL difftest/app.dots/gauge-a.b 1700000000:1",
    "PUTVAL \"difftest/app/gauge-sp ace\" 1700000000:2",
    "PUTVAL difftest/app/gauge-meta meta:tag=\"\\\"blue\\\"\" 1700000000:3",
    "PUTVAL difftest/app/gauge-nan 1700000000:U",
    "PUTVAL difftest/app/load 1700000000:0.5:0.25:0.125",
];

/// Sends [`INPUT`] and asserts every line was accepted.
pub fn feed(run: &Run) {
    for line in INPUT {
        let reply = unixsock_ask(&run.sock(), line, Duration::from_secs(2));
        assert!(reply.starts_with("0 "), "{:?}: {line} -> {reply}", run.side);
    }
}

/// csv.so as a sentinel writer, loaded after the writer under test: with
/// one write thread, once csv wrote the last input the writer has it too.
pub const SENTINEL: &str = r#"
LoadPlugin csv
<Plugin csv>
  DataDir "{out}/sentinel"
</Plugin>
"#;

/// Waits until the sentinel csv.so wrote the last input.
pub fn wait_written(run: &Run) {
    let written = wait_for(WAIT, || {
        read_csv(&run.out().join("sentinel")).contains_key("difftest/app/load")
    });
    assert!(written, "{:?} did not write the inputs", run.side);
}

/// Asks the daemon to flush every writer.
pub fn flush(run: &Run) {
    let reply = unixsock_ask(&run.sock(), "FLUSH", Duration::from_secs(5));
    assert!(reply.starts_with("0 "), "{:?}: FLUSH -> {reply}", run.side);
}
