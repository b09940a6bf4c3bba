//! Debian's unixsock.so under collectd 5.12 and under rcollectd: every
//! command, valid and malformed, sent raw over the socket and through
//! `collectdctl`, gets the same reply byte for byte, and the values put there
//! reach csv.so, the threshold plugin and the log the same way.

use std::time::Duration;

use rcollectd_tests::diff::{
    assert_same, collectdctl, read_csv, run_both_at, skip_unless_runnable, sort_rows, unixsock_ask,
    WAIT,
};
use rcollectd_tests::unixsock_cases::{CASES, CONFIG, CTL_CASES};
use rcollectd_tests::wait_for;

#[test]
fn unixsock_replies_match_collectd() {
    if skip_unless_runnable(&["unixsock", "threshold", "csv", "logfile"]) {
        return;
    }
    let both = run_both_at(30, CONFIG, |run| {
        let sock = run.sock();
        let replies: Vec<String> = CASES
            .iter()
            .map(|(cmd, _)| unixsock_ask(&sock, cmd, Duration::from_secs(1)))
            .collect();
        let ctl: Vec<String> = CTL_CASES
            .iter()
            .map(|args| collectdctl(&sock, args))
            .collect();
        // Still alive and answering after everything above.
        let last = unixsock_ask(&sock, "GETVAL difftest/p/gauge-q", Duration::from_secs(2));
        // The last value put has been written (csv.so is the last writer),
        // so nothing is left in the write queue at shutdown.
        wait_for(WAIT, || {
            read_csv(&run.out().join("csv"))
                .get("difftest/ctl/gauge")
                .is_some_and(|rows| rows.len() > 3)
        });
        (replies, ctl, last)
    });
    both.assert_clean_exit();
    let (c_replies, c_ctl, c_last) = &both.collectd.value;
    let (r_replies, r_ctl, r_last) = &both.rcollectd.value;
    let mut wrong = String::new();
    for (i, (cmd, expected)) in CASES.iter().enumerate() {
        if c_replies[i] != *expected {
            wrong += &format!(
                "collectd 5.12, {cmd:?}:\n  table: {expected:?}\n  reply: {:?}\n",
                c_replies[i]
            );
        }
        if r_replies[i] != c_replies[i] {
            wrong += &format!(
                "rcollectd, {cmd:?}:\n  collectd:  {:?}\n  rcollectd: {:?}\n",
                c_replies[i], r_replies[i]
            );
        }
    }
    assert!(wrong.is_empty(), "unixsock replies differ:\n{wrong}");
    for (i, args) in CTL_CASES.iter().enumerate() {
        assert_eq!(
            (args, &r_ctl[i]),
            (args, &c_ctl[i]),
            "collectdctl output differs"
        );
    }
    assert_eq!(c_last, "1 Value found\nvalue=1.600000e+01\n");
    assert_eq!(r_last, c_last);

    // What reached csv.so (rows in time order: several identifiers in flight).
    let c_csv = sort_rows(read_csv(&both.collectd.out().join("csv")));
    let r_csv = sort_rows(read_csv(&both.rcollectd.out().join("csv")));
    assert_same("CSV files", &c_csv, &r_csv);

    // Notifications (PUTNOTIF and threshold) and plugin messages, as a
    // multiset: unixsock and the write thread log concurrently. Errors on a
    // connection the client already closed ("Broken pipe", "Connection
    // reset by peer") depend on the client's timing, not the daemon's; so
    // does unixsock.so failing to name a connection thread that already
    // ended ("set_thread_name").
    let client_timing = ["Broken pipe", "Connection reset by peer", "set_thread_name"];
    let pick = |log: &str| {
        let mut lines: Vec<String> = log
            .lines()
            .filter(|l| {
                !l.contains("successfully loaded") && !client_timing.iter().any(|t| l.contains(t))
            })
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_same(
        "log lines",
        &pick(&both.collectd.log),
        &pick(&both.rcollectd.log),
    );
}
