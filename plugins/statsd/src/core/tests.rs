//! Table-driven tests of the parser and the aggregation, with values
//! computed by hand from collectd 5.12's statsd.c and utils_latency.c.

use super::*;

const MS1: u64 = 1_073_742; // MS_TO_CDTIME_T(1)

fn opts() -> Options {
    Options::default()
}

fn feed(a: &mut Aggregator, lines: &[&str]) {
    for l in lines {
        a.handle_line(l.as_bytes())
            .unwrap_or_else(|_| panic!("{l:?} rejected"));
    }
}

/// `type/type_instance=value` of each output, as text.
fn show(out: &[Output]) -> Vec<String> {
    out.iter()
        .map(|o| {
            let v = match o.value {
                OutValue::Gauge(g) => format!("{g}"),
                OutValue::Derive(d) => format!("{d}"),
            };
            let pi = if o.plugin_instance.is_empty() {
                String::new()
            } else {
                format!("{}:", o.plugin_instance)
            };
            format!(
                "{pi}{}/{}={v}",
                o.type_,
                String::from_utf8_lossy(&o.type_instance)
            )
        })
        .collect()
}

#[test]
fn numbers_parse_as_strtod_does() {
    let cases: &[(&str, Option<f64>)] = &[
        ("5", Some(5.0)),
        (" 5", Some(5.0)),
        ("\t+5", Some(5.0)),
        ("-2.5", Some(-2.5)),
        (".5", Some(0.5)),
        ("1.", Some(1.0)),
        ("1e3", Some(1000.0)),
        ("1E-3", Some(0.001)),
        ("0x10", Some(16.0)),
        ("0x1p4", Some(16.0)),
        ("-0x.8", Some(-0.5)),
        ("inf", Some(f64::INFINITY)),
        ("-Infinity", Some(f64::NEG_INFINITY)),
        ("1e999", Some(f64::INFINITY)),
        ("", None),
        (" ", None),
        ("5 ", None),
        ("abc", None),
        ("1e", None),
        ("0x", None),
        ("0xg", None),
        (".", None),
        ("+", None),
        ("--1", None),
        ("in", None),
        ("infx", None),
        ("1_0", None),
        ("nan(", None),
    ];
    for (s, want) in cases {
        assert_eq!(parse_number(s.as_bytes()), *want, "{s:?}");
    }
    assert!(parse_number(b"nan").unwrap().is_nan());
    assert!(parse_number(b"NaN(x1)").unwrap().is_nan());
}

#[test]
fn every_line_form_parses_as_collectd_splits_it() {
    use Parsed::*;
    let ok: &[(&str, Parsed<'static>)] = &[
        (
            "a:1|c",
            Counter {
                name: b"a",
                delta: 1.0,
            },
        ),
        (
            "a:-3|c",
            Counter {
                name: b"a",
                delta: -3.0,
            },
        ),
        (
            "a:2|c|@0.5",
            Counter {
                name: b"a",
                delta: 4.0,
            },
        ),
        (
            "a:1|c|@1",
            Counter {
                name: b"a",
                delta: 1.0,
            },
        ),
        (
            "a:b:7|c",
            Counter {
                name: b"a:b",
                delta: 7.0,
            },
        ),
        (
            ":1|c",
            Counter {
                name: b"",
                delta: 1.0,
            },
        ),
        (
            "g:20|g",
            Gauge {
                name: b"g",
                value: 20.0,
                relative: false,
            },
        ),
        (
            "g:+5|g",
            Gauge {
                name: b"g",
                value: 5.0,
                relative: true,
            },
        ),
        (
            "g:-5|g",
            Gauge {
                name: b"g",
                value: -5.0,
                relative: true,
            },
        ),
        (
            "g: -5|g",
            Gauge {
                name: b"g",
                value: -5.0,
                relative: false,
            },
        ),
        (
            "t:1|ms",
            Timer {
                name: b"t",
                latency: MS1,
            },
        ),
        (
            "t:1.9|ms",
            Timer {
                name: b"t",
                latency: MS1,
            },
        ),
        (
            "t:0.5|ms|@0.5",
            Timer {
                name: b"t",
                latency: MS1,
            },
        ),
        (
            "t:0.4|ms",
            Timer {
                name: b"t",
                latency: 0,
            },
        ),
        (
            "t:2000|ms",
            Timer {
                name: b"t",
                latency: 2 << 30,
            },
        ),
        (
            "s:alice|s",
            Set {
                name: b"s",
                member: b"alice",
            },
        ),
        (
            "s:|s",
            Set {
                name: b"s",
                member: b"",
            },
        ),
        (
            "s:a|b|s",
            Set {
                name: b"s",
                member: b"a",
            },
        ),
    ];
    for (line, want) in ok {
        let got = parse_line(line.as_bytes());
        // "s:a|b|s": the type is "b", so it is rejected; listed to be sure.
        if *line == "s:a|b|s" {
            assert_eq!(got, Err(BadLine));
            continue;
        }
        assert_eq!(got, Ok(*want), "{line:?}");
    }
    let bad = [
        "garbage",
        "a:1",
        "a1|c",
        "a:|c",
        "a:x|c",
        "a:1|zz",
        "a:1|h",
        "a:1|C",
        "a:1|",
        "a:1|c|0.5",
        "a:1|c|@",
        "a:1|c|@0",
        "a:1|c|@-1",
        "a:1|c|@1.5",
        "a:1|c|@inf",
        "a:1|c|@nan",
        "a:1|c|@0.5|x",
        "a:1|ms|@2",
        "a:x|ms",
        "a:1|g|@0.5",
        "a:x|g",
        "a:1|s|@0.5",
        "a:|g",
    ];
    for line in bad {
        assert_eq!(parse_line(line.as_bytes()), Err(BadLine), "{line:?}");
    }
}

#[test]
fn long_names_are_cut_at_127_bytes() {
    let long = "n".repeat(200);
    let line = format!("{long}:1|c");
    let Ok(Parsed::Counter { name, .. }) = parse_line(line.as_bytes()) else {
        panic!("rejected");
    };
    assert_eq!(name.len(), NAME_MAX);
    let mut a = Aggregator::new(Options {
        timer_percentiles: vec![90.0],
        ..opts()
    });
    feed(&mut a, &[&format!("{long}:5|ms")]);
    let out = a.read();
    assert!(out.iter().all(|o| o.type_instance.len() == 127));
    assert_eq!(&out[0].type_instance[..127], "n".repeat(127).as_bytes());
}

#[test]
fn datagrams_split_lines_and_log_bad_ones() {
    let mut a = Aggregator::new(opts());
    let long_bad = format!("{}|zz", "x:".repeat(40));
    let dgram = format!("a:1|c\n\nbad\na:2|c\n{long_bad}\n");
    let errors = a.handle_datagram(dgram.as_bytes());
    assert_eq!(
        errors,
        vec![
            "Unable to parse line: \"bad\"".to_owned(),
            format!("Unable to parse line: \"{}\"", &long_bad[..63]),
        ]
    );
    assert_eq!(a.stats.bad_lines, 2);
    // A NUL ends the datagram, as it ends collectd's C string.
    assert!(a.handle_datagram(b"a:4|c\0garbage").is_empty());
    // Bytes past 4095 are not read.
    let mut big = vec![b'\n'; DATAGRAM_MAX];
    big.extend_from_slice(b"a:100|c");
    assert!(a.handle_datagram(&big).is_empty());
    assert_eq!(
        show(&a.read()),
        ["derive/a=7", "internal:derive/bad_lines=2"]
    );
}

#[test]
fn counters_scale_round_and_keep_residuals() {
    let mut a = Aggregator::new(Options {
        counter_sum: true,
        ..opts()
    });
    feed(
        &mut a,
        &["hits:1|c", "hits:2|c", "hits:4|c|@0.5", "frac:0.5|c|@0.4"],
    );
    // frac: 1.25 -> 1 now, residual .25; hits: 11.
    assert_eq!(
        show(&a.read()),
        [
            "count/frac=1",
            "derive/frac=1",
            "count/hits=11",
            "derive/hits=11"
        ]
    );
    feed(&mut a, &["frac:0.5|c|@0.4"]);
    // 0.25 + 1.25 = 1.5 -> 2 (ties to even), residual -0.5.
    assert_eq!(
        show(&a.read()),
        [
            "count/frac=2",
            "derive/frac=3",
            "count/hits=0",
            "derive/hits=11"
        ]
    );
    feed(&mut a, &["frac:2.5|c"]);
    // -0.5 + 2.5 = 2.
    assert_eq!(show(&a.read())[..2], ["count/frac=2", "derive/frac=5"]);
}

#[test]
fn gauges_set_and_change() {
    let mut a = Aggregator::new(opts());
    feed(&mut a, &["temp:20|g", "temp:+5|g", "temp:-3|g", "rel:+2|g"]);
    assert_eq!(show(&a.read()), ["gauge/rel=2", "gauge/temp=22"]);
    // No new data: the last value again.
    assert_eq!(show(&a.read()), ["gauge/rel=2", "gauge/temp=22"]);
}

#[test]
fn sets_count_distinct_members_per_interval() {
    let mut a = Aggregator::new(opts());
    feed(&mut a, &["users:alice|s", "users:bob|s", "users:alice|s"]);
    assert_eq!(show(&a.read()), ["objects/users=2"]);
    assert_eq!(show(&a.read()), ["objects/users=0"]);
    assert_eq!(a.set_members, 0);
}

#[test]
fn timers_match_hand_computed_statistics() {
    let mut a = Aggregator::new(Options {
        timer_percentiles: vec![90.0, 50.0],
        timer_lower: true,
        timer_upper: true,
        timer_sum: true,
        timer_count: true,
        ..opts()
    });
    // 100, 300 and 200 at rate 0.5 = 400 ms.
    feed(&mut a, &["lat:100|ms", "lat:300|ms", "lat:200|ms|@0.5"]);
    let (l100, l300, l400) = (107_374_182u64, 322_122_547u64, 429_496_730u64);
    let s = |t: u64| t as f64 / CDTIME_PER_SEC;
    let out = a.read();
    let names: Vec<_> = out
        .iter()
        .map(|o| String::from_utf8_lossy(&o.type_instance).into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "lat-average",
            "lat-lower",
            "lat-upper",
            "lat-sum",
            "lat-percentile-90",
            "lat-percentile-50",
            "lat-count"
        ]
    );
    let g = |i: usize| match out[i].value {
        OutValue::Gauge(g) => g,
        OutValue::Derive(_) => panic!("derive"),
    };
    let sum = l100 + l300 + l400;
    assert_eq!(g(0), s(sum / 3));
    assert_eq!(g(1), s(l100));
    assert_eq!(g(2), s(l400));
    assert_eq!(g(3), s(sum));
    // Bins 102, 307, 409 of 2^20: 90 % lies 0.7 into bin 409; 50 % lies
    // halfway into bin 307 (33.3 % below it, 66.7 % at its top).
    assert!((g(4) - (409.7 * 1_048_576.0) / CDTIME_PER_SEC).abs() < 2e-9);
    assert!((g(5) - (307.5 * 1_048_576.0) / CDTIME_PER_SEC).abs() < 2e-9);
    assert_eq!(g(6), 3.0);
    assert!(out.iter().all(|o| o.stamped));
    assert_eq!(out[6].type_, "gauge");
    assert!(out[..6].iter().all(|o| o.type_ == "latency"));
    // No data: NaN, count 0.
    let out = a.read();
    assert!(show(&out[..6]).iter().all(|s| s.ends_with("=NaN")));
    assert_eq!(show(&out[6..]), ["gauge/lat-count=0"]);
}

#[test]
fn timer_percentile_edges() {
    let mut a = Aggregator::new(Options {
        timer_percentiles: vec![50.0],
        timer_count: true,
        ..opts()
    });
    // 1 ms lands in bin 1: the 50th percentile is 1.5 bins.
    feed(&mut a, &["t:1|ms"]);
    let out = a.read();
    assert_eq!(out[1].value, OutValue::Gauge(1.5 / 1024.0));
    // Below 1 ms: counted as an update, not as a latency.
    feed(&mut a, &["t:0.5|ms"]);
    assert_eq!(
        show(&a.read()),
        [
            "latency/t-average=0",
            "latency/t-percentile-50=0",
            "gauge/t-count=0"
        ]
    );
    // 2 s widens the bins to 2^22: bin 511.
    feed(&mut a, &["t:2000|ms"]);
    let out = a.read();
    assert_eq!(out[1].value, OutValue::Gauge(511.5 / 256.0));
    let lc = a.metrics[b"t:t".as_slice()].latency.as_ref().unwrap();
    assert_eq!(lc.bin_width(), 1 << 22);
    // A small interval afterwards halves the width at the next reset.
    feed(&mut a, &["t:1|ms"]);
    a.read();
    let lc = a.metrics[b"t:t".as_slice()].latency.as_ref().unwrap();
    assert_eq!(lc.bin_width(), 1 << 21);
}

#[test]
fn percentile_labels_round_as_printf() {
    for (p, want) in [
        (90.0, "90"),
        (99.9, "100"),
        (50.5, "50"),
        (51.5, "52"),
        (0.4, "0"),
    ] {
        assert_eq!(percentile_label(p), format!("-percentile-{want}"));
    }
}

#[test]
fn delete_options_drop_idle_metrics_only() {
    let lines = ["c:1|c", "g:1|g", "s:x|s", "t:1|ms"];
    let all = [
        "derive/c=1",
        "gauge/g=1",
        "objects/s=0",
        "latency/t-average=NaN",
    ];
    let cases: &[(Options, &[&str])] = &[
        (opts(), &all),
        (
            Options {
                delete_counters: true,
                ..opts()
            },
            &["gauge/g=1", "objects/s=0", "latency/t-average=NaN"],
        ),
        (
            Options {
                delete_gauges: true,
                ..opts()
            },
            &["derive/c=1", "objects/s=0", "latency/t-average=NaN"],
        ),
        (
            Options {
                delete_sets: true,
                ..opts()
            },
            &["derive/c=1", "gauge/g=1", "latency/t-average=NaN"],
        ),
        (
            Options {
                delete_timers: true,
                ..opts()
            },
            &["derive/c=1", "gauge/g=1", "objects/s=0"],
        ),
    ];
    for (o, idle) in cases {
        let mut a = Aggregator::new(o.clone());
        feed(&mut a, &lines);
        assert_eq!(
            a.read().len(),
            4,
            "{o:?}: a metric with data is never deleted"
        );
        assert_eq!(show(&a.read()), *idle, "{o:?}");
        // Deleted metrics start over: a deleted counter restarts at 0.
        feed(&mut a, &["c:2|c"]);
        let again = show(&a.read());
        let want = if o.delete_counters {
            "derive/c=2"
        } else {
            "derive/c=3"
        };
        assert_eq!(again[0], want, "{o:?}");
    }
}

#[test]
fn caps_bound_metrics_timers_and_set_members() {
    let mut a = Aggregator::new(Options {
        delete_counters: true,
        delete_timers: true,
        ..opts()
    });
    for i in 0..MAX_METRICS + 10 {
        a.handle_line(format!("n{i}:1|c").as_bytes()).unwrap();
    }
    assert_eq!(a.len(), MAX_METRICS);
    assert_eq!(a.stats.dropped_metrics, 10);
    // Existing metrics still count.
    a.handle_line(b"n0:1|c").unwrap();
    let out = a.read();
    assert_eq!(out.len(), MAX_METRICS + 1);
    assert_eq!(
        show(&out[MAX_METRICS..]),
        ["internal:derive/dropped_metrics=10"]
    );
    // Deleted when idle: room again.
    a.read();
    assert!(a.is_empty());
    for i in 0..MAX_TIMERS + 5 {
        a.handle_line(format!("t{i}:1|ms").as_bytes()).unwrap();
    }
    assert_eq!(a.timers, MAX_TIMERS);
    assert_eq!(a.stats.dropped_metrics, 15);
    a.read();
    a.read();
    assert_eq!(a.timers, 0);
    for i in 0..MAX_SET_MEMBERS + 3 {
        a.handle_line(format!("s{}:{i}|s", i % 7).as_bytes())
            .unwrap();
    }
    assert_eq!(a.set_members, MAX_SET_MEMBERS);
    assert_eq!(a.stats.dropped_set_members, 3);
    let total: f64 = a
        .read()
        .iter()
        .filter(|o| o.type_ == "objects")
        .map(|o| match o.value {
            OutValue::Gauge(g) => g,
            OutValue::Derive(_) => 0.0,
        })
        .sum();
    assert_eq!(total, MAX_SET_MEMBERS as f64);
    assert_eq!(a.set_members, 0);
}

#[test]
fn odd_values_follow_c_conversions_without_panicking() {
    let mut a = Aggregator::new(opts());
    feed(
        &mut a,
        &[
            "c:inf|c",
            "c2:nan|c",
            "c3:1e300|c",
            "t:-5|ms",
            "t:inf|ms",
            "t:nan|ms",
            "t:1e300|ms",
        ],
    );
    let out = show(&a.read());
    assert!(out.contains(&format!("derive/c={}", i64::MIN)));
    assert!(out.contains(&format!("derive/c3={}", i64::MIN)));
    for _ in 0..3 {
        a.read();
    }
}

/// xorshift64*: the same sequence on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_mutated_lines_never_panic() {
    let seeds: &[&[u8]] = &[
        b"hits:1|c",
        b"hits:4|c|@0.5",
        b"temp:+5|g",
        b"lat:200|ms|@0.5",
        b"users:alice|s",
        b"a:0x1p3|ms",
        b"b:1e308|c|@1e-300",
        b"x:nan|g\ny:inf|ms",
    ];
    let alphabet = b":|@+-.0123456789eEpxXnaif \n\0\xff";
    let mut rng = Rng(0x5eed_5eed_1234_5678);
    let mut a = Aggregator::new(Options {
        timer_percentiles: vec![1.0, 50.0, 99.99],
        timer_lower: true,
        timer_upper: true,
        timer_sum: true,
        timer_count: true,
        counter_sum: true,
        delete_sets: true,
        ..opts()
    });
    for round in 0..200_000 {
        let mut line = seeds[rng.below(seeds.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(line.len() + 1);
            match rng.below(4) {
                0 if pos < line.len() => {
                    line.remove(pos);
                }
                1 if pos < line.len() => line[pos] = alphabet[rng.below(alphabet.len())],
                2 => line.insert(pos, alphabet[rng.below(alphabet.len())]),
                _ => line.insert(pos, rng.next() as u8),
            }
        }
        let _ = a.handle_datagram(&line);
        if round % 1000 == 0 {
            for o in a.read() {
                assert!(o.type_instance.len() <= 127);
            }
        }
    }
}
