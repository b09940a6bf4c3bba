//! processes against a recorded fake `/proc` (captured from this machine by
//! `tests/fixtures/capture.sh`: pid 1, kernel threads 2 and 9, a `sleep`, a
//! python parent and its zombie child) plus hand-made pids 777-779 (see
//! `tests/fixtures/proc/README.handmade`). Expected numbers are read off
//! the fixture files by hand; see the comments.

use super::*;
use std::fs;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/proc");

fn lines(out: &[Metric]) -> Vec<String> {
    out.iter().map(|m| m.to_string()).collect()
}

fn of(out: &[Metric], instance: &str) -> Vec<String> {
    lines(out)
        .into_iter()
        .filter(|l| l.starts_with(&format!("{instance}/")))
        .collect()
}

fn configured(root: &Path) -> Processes {
    let mut p = Processes::new(root, 4096);
    p.set_global("CollectFileDescriptor", true).unwrap();
    p.set_global("CollectContextSwitch", true).unwrap();
    p.set_global("CollectMemoryMaps", true).unwrap();
    p.add_selection("sleep", None, Tuning::default()).unwrap();
    p.add_selection(
        "py",
        Some("python3 -c"),
        Tuning {
            fd: Some(false),
            ..Tuning::default()
        },
    )
    .unwrap();
    p.add_selection(
        "python3",
        None,
        Tuning {
            ctx_switch: Some(false),
            maps: Some(false),
            fd: Some(false),
        },
    )
    .unwrap();
    p.add_selection(
        "kernel",
        Some("^\\["),
        Tuning {
            ctx_switch: Some(false),
            maps: Some(false),
            fd: Some(false),
        },
    )
    .unwrap();
    p.add_selection("my) (proc", None, Tuning::default())
        .unwrap();
    p
}

#[test]
fn first_read_of_recorded_proc() {
    let mut p = configured(Path::new(FIXTURE));
    let out = p.read().unwrap();
    assert_eq!(
        &lines(&out)[..6],
        [
            // procs_running from the recorded /proc/stat; sleeping: 1, 2,
            // sleep, python; the 'I' kworker (9) counts nowhere; 777 is T,
            // 779 D, 23297 Z; 778's stat is too short.
            "/ps_state-running = 4",
            "/ps_state-sleeping = 4",
            "/ps_state-zombies = 1",
            "/ps_state-stopped = 1",
            "/ps_state-paging = 0",
            "/ps_state-blocked = 1",
        ]
    );
    assert_eq!(lines(&out).last().unwrap(), "/fork_rate = 23325");
    assert_eq!(
        of(&out, "sleep"),
        [
            "sleep/ps_vm = 2990080",
            "sleep/ps_rss = 1687552",               // 412 pages
            "sleep/ps_data = 229376",               // VmData 224 kB
            "sleep/ps_code = 1585152",              // VmExe 20 + VmLib 1528 kB
            "sleep/ps_stacksize = 140726047990912", // startstack - kstkesp (0)
            // The first read only records counters (collectd's want_init),
            // so cputime/pagefaults are 0 and io/contextswitch are absent.
            "sleep/ps_cputime = 0:0",
            "sleep/ps_count = 1:1",
            "sleep/ps_pagefaults = 0:0",
            "sleep/file_handles = 5",
            "sleep/file_handles-mapped = 37",
        ]
    );
    // Regex against the command line: only the python parent (the zombie's
    // command line is empty, so "[python3]" is matched instead).
    assert_eq!(
        of(&out, "py")[..2],
        ["py/ps_vm = 16961536", "py/ps_rss = 13733888"]
    );
    assert!(of(&out, "py").contains(&"py/file_handles-mapped = 105".to_owned()));
    // Exact name: parent and zombie; the zombie adds one to nothing.
    assert!(of(&out, "python3").contains(&"python3/ps_count = 1:1".to_owned()));
    // Kernel threads by "[name]": 2 and 9, no memory.
    assert_eq!(
        of(&out, "kernel"),
        [
            "kernel/ps_vm = 0",
            "kernel/ps_rss = 0",
            "kernel/ps_data = 0",
            "kernel/ps_code = 0",
            "kernel/ps_stacksize = 0",
            "kernel/ps_cputime = 0:0",
            "kernel/ps_count = 2:2",
            "kernel/ps_pagefaults = 0:0",
        ]
    );
    // Parens and spaces in the name; no status file -> collectd's -1 in
    // unsigned long for data and code; no fd directory and no maps file.
    assert_eq!(
        of(&out, "my) (proc"),
        [
            "my) (proc/ps_vm = 1048576",
            "my) (proc/ps_rss = 102400",
            "my) (proc/ps_data = 18446744073709552000",
            "my) (proc/ps_code = 18446744073709552000",
            "my) (proc/ps_stacksize = 4096",
            "my) (proc/ps_cputime = 0:0",
            "my) (proc/ps_count = 1:2",
            "my) (proc/ps_pagefaults = 0:0",
        ]
    );
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn counters_grow_by_deltas_and_processes_come_and_go() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proc");
    copy_tree(Path::new(FIXTURE), &root);
    let mut p = configured(&root);
    p.read().unwrap();

    // sleep: utime 0 -> 7, stime 0 -> 3 jiffies, minflt 142 -> 150,
    // rchar +24, syscr +2, voluntary switches 1 -> 4.
    edit(
        &root.join("23253/stat"),
        "4194304 142 0 0 0 0 0 ",
        "4194304 150 0 0 0 7 3 ",
    );
    edit(&root.join("23253/io"), "rchar: 6976", "rchar: 7000");
    edit(&root.join("23253/io"), "syscr: 10", "syscr: 12");
    edit(
        &root.join("23253/task/23253/status"),
        "voluntary_ctxt_switches:\t1\n",
        "voluntary_ctxt_switches:\t4\n",
    );
    // The python parent exits; a new sleep (pid 800) appears with 1 jiffy.
    fs::remove_dir_all(root.join("23254")).unwrap();
    let stat = fs::read_to_string(root.join("23253/stat")).unwrap();
    fs::create_dir_all(root.join("800")).unwrap();
    fs::write(
        root.join("800/stat"),
        stat.replacen("23253 (sleep)", "800 (sleep)", 1)
            .replacen(" 0 0 0 7 3 ", " 0 0 0 1 0 ", 1),
    )
    .unwrap();
    edit(&root.join("stat"), "processes 23325", "processes 23330");

    let out = p.read().unwrap();
    assert_eq!(
        of(&out, "sleep"),
        [
            "sleep/ps_vm = 5980160",
            "sleep/ps_rss = 3375104",
            // pid 800 has no status file: collectd's -1 wraps the sum.
            "sleep/ps_data = 229375",
            "sleep/ps_code = 1585151",
            "sleep/ps_stacksize = 281452095981824",
            // 23253: +70000/+30000 µs; the new pid 800 adds its whole 10000.
            "sleep/ps_cputime = 80000:30000",
            "sleep/ps_count = 2:2",
            // +8 for 23253, +150 for 800.
            "sleep/ps_pagefaults = 158:0",
            "sleep/io_octets = 24:0",
            "sleep/io_ops = 2:0",
            "sleep/disk_octets = 0:0",
            "sleep/file_handles = 5",
            "sleep/file_handles-mapped = 37",
            "sleep/contextswitch-voluntary = 3",
            "sleep/contextswitch-involuntary = 0",
        ]
    );
    // The parent is gone; only the zombie is left in "python3".
    assert!(of(&out, "python3").contains(&"python3/ps_count = 0:0".to_owned()));
    assert_eq!(lines(&out).last().unwrap(), "/fork_rate = 23330");
}

#[test]
fn stat_parsing_edge_cases() {
    let (e, state, status) = parse_stat(
        5,
        b"5 (a) b) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21",
        4096,
    )
    .unwrap();
    assert_eq!((e.name.as_str(), state, status), ("a) b", b'R', true));
    assert_eq!(e.num_lwp, 17);
    assert_eq!(e.cpu_user, 110_000, "11 jiffies at CONFIG_HZ 100");
    assert_eq!(e.vmem_rss, 21 * 4096);
    assert_eq!(e.stack_size, 0, "missing stack fields read as 0");
    assert!(
        parse_stat(5, b"5 (x) R 1 2", 4096).is_none(),
        "fewer than 22 fields"
    );
    assert!(
        parse_stat(5, b"5 )x( R", 4096).is_none(),
        "parens in the wrong order"
    );
    assert!(
        parse_stat(5, b"5 (x)", 4096).is_none(),
        "nothing after the name"
    );
    let long = format!("5 ({}) S {}", "n".repeat(300), "1 ".repeat(30));
    assert_eq!(
        parse_stat(5, long.as_bytes(), 4096).unwrap().0.name.len(),
        255
    );
}

#[test]
fn cmdline_formatting() {
    assert_eq!(format_cmdline(&mut b"a\0b c\0\0 \0".to_vec(), "n"), "a b c");
    assert_eq!(format_cmdline(&mut Vec::new(), "kthreadd"), "[kthreadd]");
    assert_eq!(format_cmdline(&mut b"\0x".to_vec(), "n"), "");
    let mut long = vec![b'a'; 5000];
    assert_eq!(format_cmdline(&mut long, "n").len(), 4095);
}

#[test]
fn counter_wrap_and_init() {
    let (mut group, mut curr) = (-1i64, 0i64);
    update_counter(true, &mut group, &mut curr, 50);
    assert_eq!((group, curr), (-1, 50));
    update_counter(false, &mut group, &mut curr, 80);
    assert_eq!((group, curr), (30, 80));
    update_counter(false, &mut group, &mut curr, 10);
    // new + (ULONG_MAX - old) = 10 + 2^64-1-80, i.e. -71 as a derive.
    assert_eq!((group, curr), (30 - 71, 10));
}

#[test]
fn config_rules() {
    let mut p = Processes::new(FIXTURE, 4096);
    p.add_selection("a", None, Tuning::default()).unwrap();
    assert!(
        p.add_selection("a", Some("x"), Tuning::default()).is_err(),
        "duplicate name"
    );
    assert!(
        p.add_selection("b", Some("("), Tuning::default()).is_err(),
        "bad regex"
    );
    assert!(p.set_global("Bogus", true).is_err());
    // Globals only affect selections configured after them.
    p.set_global("CollectFileDescriptor", true).unwrap();
    p.add_selection("c", None, Tuning::default()).unwrap();
    assert!(!p.selections[0].report_fd_num && p.selections[1].report_fd_num);
}

#[test]
fn missing_proc_is_an_error() {
    let mut p = Processes::new("/nonexistent/rcollectd-proc", 4096);
    assert!(p.read().is_err());
}
