use super::*;
use std::collections::HashMap;

fn vals(v: &[Value]) -> Vec<String> {
    v.iter().map(|v| format!("{v:?}")).collect()
}

/// One case: DSType, regex, lines of each interval, value after each.
type DsCase = (
    &'static str,
    &'static str,
    &'static [&'static [&'static str]],
    &'static [Value],
);

#[test]
fn every_ds_type_over_intervals() {
    use Value::*;
    let cases: &[DsCase] = &[
        (
            "GaugeAverage",
            "v=([0-9.]+)",
            &[&["v=1", "v=2", "v=6"], &[], &["v=4"]],
            &[Gauge(3.0), Gauge(f64::NAN), Gauge(4.0)],
        ),
        (
            "GaugeMin",
            "v=([0-9.]+)",
            &[&["v=5", "v=2", "v=3"], &[]],
            &[Gauge(2.0), Gauge(f64::NAN)],
        ),
        (
            "GaugeMax",
            "v=([0-9.]+)",
            &[&["v=5", "v=7", "v=3"], &["v=1"]],
            &[Gauge(7.0), Gauge(1.0)],
        ),
        (
            "GaugeLast",
            "v=([0-9.]+)",
            &[&["v=5", "v=7", "v=3"], &[]],
            &[Gauge(3.0), Gauge(f64::NAN)],
        ),
        (
            "GaugeAdd",
            "v=([0-9.]+)",
            &[&["v=1.5", "v=2"], &["v=1"]],
            &[Gauge(3.5), Gauge(1.0)],
        ),
        (
            "GaugeInc",
            "v=",
            &[&["v=1", "x", "v=2"], &[], &["v="]],
            &[Gauge(2.0), Gauge(f64::NAN), Gauge(1.0)],
        ),
        (
            "GaugePersist",
            "v=([0-9.]+)",
            &[&[], &["v=1", "v=4"], &[]],
            &[Gauge(f64::NAN), Gauge(4.0), Gauge(4.0)],
        ),
        (
            "CounterSet",
            "v=([0-9a-fx]+)",
            &[&["v=5", "v=9"], &[], &["v=0x10"]],
            &[Counter(9), Counter(9), Counter(16)],
        ),
        (
            "CounterAdd",
            "v=([0-9]+)",
            &[&["v=5", "v=9"], &["v=1"]],
            &[Counter(14), Counter(15)],
        ),
        (
            "CounterInc",
            "v",
            &[&["v", "v", "x"], &["v"]],
            &[Counter(2), Counter(3)],
        ),
        (
            "DeriveSet",
            "v=(-?[0-9]+)",
            &[&["v=5", "v=-9"], &[]],
            &[Derive(-9), Derive(-9)],
        ),
        (
            "DeriveAdd",
            "v=(-?[0-9]+)",
            &[&["v=5", "v=-9"], &["v=010"]],
            &[Derive(-4), Derive(4)],
        ),
        (
            "DeriveInc",
            "v",
            &[&[], &["v", "v"]],
            &[Derive(0), Derive(2)],
        ),
        (
            "AbsoluteSet",
            "v=([0-9]+)",
            &[&["v=5", "v=9"], &[]],
            &[Absolute(9), Absolute(9)],
        ),
    ];
    for (ds, regex, intervals, expected) in cases {
        let mut m = Matcher::new(regex, None, DsType::parse(ds).unwrap()).unwrap();
        let mut got = Vec::new();
        for lines in *intervals {
            for l in *lines {
                m.apply(l.as_bytes()).unwrap();
            }
            got.push(m.value.take());
        }
        assert_eq!(vals(&got), vals(expected), "{ds}");
    }
}

#[test]
fn ds_type_names_are_collectds() {
    assert_eq!(
        DsType::parse("gaugeaverage"),
        Ok(DsType::Gauge(GaugeCf::Average))
    );
    assert_eq!(DsType::parse("COUNTERINC"), Ok(DsType::Counter(IntCf::Inc)));
    assert_eq!(DsType::parse("DeriveSet"), Ok(DsType::Derive(IntCf::Set)));
    assert_eq!(DsType::parse("distribution"), Ok(DsType::Distribution));
    for bad in [
        "Gauge",
        "GaugeFoo",
        "AbsoluteAdd",
        "AbsoluteInc",
        "Counter",
        "",
        "Distributions",
    ] {
        assert!(DsType::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn exclude_regex_and_failed_values() {
    let ds = DsType::Counter(IntCf::Add);
    let mut m = Matcher::new("bytes=([0-9]+)", Some("root"), ds).unwrap();
    assert_eq!(m.apply(b"user=root bytes=5"), Ok(false));
    assert_eq!(m.apply(b"bytes=7"), Ok(true));
    assert_eq!(m.apply(b"nothing"), Ok(false));
    // Empty ExcludeRegex is none.
    let mut m2 = Matcher::new("x", Some(""), DsType::Derive(IntCf::Inc)).unwrap();
    assert_eq!(m2.apply(b"x"), Ok(true));
    // No capture group, an unparsable one, a group matching "": not counted.
    let mut m3 = Matcher::new("bytes", None, ds).unwrap();
    assert!(m3.apply(b"bytes").is_err());
    let mut m4 = Matcher::new("v=([a-z]+)", None, ds).unwrap();
    assert!(m4.apply(b"v=abc").is_err());
    let mut m5 = Matcher::new("v=([0-9]*)", None, DsType::Counter(IntCf::Inc)).unwrap();
    assert!(m5.apply(b"v=").is_err());
    assert_eq!(m.value.take(), Value::Counter(7));
    assert!(Matcher::new("(", None, ds).is_err());
}

/// An in-memory file system with one followed path.
#[derive(Default)]
struct Fs {
    files: HashMap<u64, Vec<u8>>,
    path: Option<u64>,
    next: u64,
}

impl Fs {
    fn create(&mut self) {
        self.next += 1;
        self.files.insert(self.next, Vec::new());
        self.path = Some(self.next);
    }
    fn append(&mut self, s: &str) {
        let ino = self.path.unwrap();
        self.files
            .get_mut(&ino)
            .unwrap()
            .extend_from_slice(s.as_bytes());
    }
    /// Appends to a file that is no longer at the path (a late writer).
    fn append_to(&mut self, ino: u64, s: &str) {
        self.files
            .get_mut(&ino)
            .unwrap()
            .extend_from_slice(s.as_bytes());
    }
    fn truncate(&mut self) {
        let ino = self.path.unwrap();
        self.files.get_mut(&ino).unwrap().clear();
    }
}

impl FileView for Fs {
    type Handle = u64;
    fn stat(&mut self) -> io::Result<(FileId, u64)> {
        let ino = self.path.ok_or(io::ErrorKind::NotFound)?;
        Ok((FileId { dev: 1, ino }, self.files[&ino].len() as u64))
    }
    fn open(&mut self) -> io::Result<(u64, FileId, u64)> {
        let (id, size) = self.stat()?;
        Ok((id.ino, id, size))
    }
    fn read_at(&mut self, h: &mut u64, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = &self.files[h];
        let start = (pos as usize).min(data.len());
        // Small reads, so lines cross read boundaries.
        let n = (data.len() - start).min(buf.len()).min(7);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
}

fn poll(f: &mut Follower<u64>, fs: &mut Fs) -> Vec<String> {
    let mut out = Vec::new();
    f.poll(fs, &mut |l| {
        out.push(String::from_utf8_lossy(l).into_owned())
    })
    .unwrap();
    out
}

enum Op {
    Create,
    Append(&'static str),
    Remove,
    Truncate,
    Late(&'static str),
    Poll(&'static [&'static str]),
}

/// Each case: operations on the file system and what each poll yields.
#[test]
fn follows_rotation_without_losing_or_repeating_lines() {
    use Op::*;
    let cases: &[(&str, &[Op])] = &[
        (
            "starts at the end",
            &[
                Create,
                Append("old\n"),
                Poll(&[]),
                Append("a\nb\n"),
                Poll(&["a", "b"]),
                Poll(&[]),
            ],
        ),
        (
            "partial line waits",
            &[
                Create,
                Poll(&[]),
                Append("a\npar"),
                Poll(&["a"]),
                Append("tial\n"),
                Poll(&["partial"]),
            ],
        ),
        (
            "empty lines are lines",
            &[Create, Poll(&[]), Append("\n\nx\n"), Poll(&["", "", "x"])],
        ),
        (
            "rename and create within one interval",
            &[
                Create,
                Poll(&[]),
                Append("a\n"),
                Remove,
                Create,
                Append("b\nc\n"),
                Poll(&["a", "b", "c"]),
                Append("d\n"),
                Poll(&["d"]),
            ],
        ),
        (
            "rename, not yet created",
            &[
                Create,
                Poll(&[]),
                Append("a\n"),
                Remove,
                Poll(&["a"]),
                Create,
                Append("b\n"),
                Poll(&["b"]),
            ],
        ),
        (
            "rotated file's unterminated last line",
            &[
                Create,
                Poll(&[]),
                Append("a\nlast"),
                Remove,
                Create,
                Append("b\n"),
                Poll(&["a", "last", "b"]),
            ],
        ),
        (
            "copytruncate within one interval (d, unread when copied, is in the copy only)",
            &[
                Create,
                Poll(&[]),
                Append("a\nb\nc\n"),
                Poll(&["a", "b", "c"]),
                Append("d\n"),
                Truncate,
                Append("e\n"),
                Poll(&["e"]),
                Append("f\n"),
                Poll(&["f"]),
            ],
        ),
        (
            "truncate to empty",
            &[
                Create,
                Poll(&[]),
                Append("a\n"),
                Poll(&["a"]),
                Truncate,
                Poll(&[]),
                Append("b\n"),
                Poll(&["b"]),
            ],
        ),
        (
            "late writer to the renamed file is not read",
            &[
                Create,
                Poll(&[]),
                Remove,
                Create,
                Poll(&[]),
                Late("x\n"),
                Append("y\n"),
                Poll(&["y"]),
            ],
        ),
    ];
    for (name, ops) in cases {
        let mut fs = Fs::default();
        let mut f = Follower::new();
        let mut first = 0;
        for (i, op) in ops.iter().enumerate() {
            match op {
                Create => {
                    fs.create();
                    if first == 0 {
                        first = fs.next;
                    }
                }
                Append(s) => fs.append(s),
                Remove => fs.path = None,
                Truncate => fs.truncate(),
                Late(s) => fs.append_to(first, s),
                Poll(want) => assert_eq!(poll(&mut f, &mut fs), *want, "{name}, step {i}"),
            }
        }
    }
}

#[test]
fn missing_file_is_an_error_then_opened_at_its_end() {
    let mut fs = Fs::default();
    let mut f = Follower::new();
    assert!(f.poll(&mut fs, &mut |_| {}).is_err());
    fs.create();
    fs.append("before\n");
    assert_eq!(poll(&mut f, &mut fs), Vec::<String>::new());
    fs.append("after\n");
    assert_eq!(poll(&mut f, &mut fs), ["after"]);
}

#[test]
fn long_lines_are_cut_at_the_limit() {
    let long = "x".repeat(LINE_MAX + 10);
    let exact = "y".repeat(LINE_MAX);
    let mut lines = Vec::new();
    let mut splitter = super::lines();
    let text = format!("{long}\n{exact}\nshort\n");
    for chunk in text.as_bytes().chunks(1000) {
        splitter.feed(chunk, &mut |l, _| lines.push(l.to_vec()));
    }
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], long.as_bytes()[..LINE_MAX]);
    assert_eq!(lines[1], exact.as_bytes());
    assert_eq!(lines[2], b"short");
    // In one piece, too.
    lines.clear();
    splitter.feed(text.as_bytes(), &mut |l, _| lines.push(l.to_vec()));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].len(), LINE_MAX);
}

fn block(children: Vec<rcollectd_plugin::ConfigItem>) -> rcollectd_plugin::ConfigItem {
    use rcollectd_plugin::{ConfigItem, ConfigValue};
    ConfigItem::block(
        "DSType",
        vec![ConfigValue::String("Distribution".into())],
        children,
    )
}

fn num(key: &str, v: &[f64]) -> rcollectd_plugin::ConfigItem {
    rcollectd_plugin::ConfigItem::new(
        key,
        v.iter()
            .map(|n| rcollectd_plugin::ConfigValue::Number(*n))
            .collect(),
    )
}

#[test]
fn distribution_options_as_latency_config_checks_them() {
    let mut w = Vec::new();
    let c = LatencyConfig::parse(
        &block(vec![
            num("Percentile", &[50.0]),
            num("Bucket", &[0.0, 0.1]),
            num("Bucket", &[0.1, 0.0]),
            num("Nope", &[1.0]),
        ]),
        &mut w,
    )
    .unwrap();
    assert_eq!(c.percentiles, [50.0]);
    assert_eq!(c.buckets, [(0, 107_374_182), (107_374_182, 0)]);
    assert_eq!(
        w,
        ["\"Nope\" is not a valid option within a \"DSType\" block."]
    );
    let cases: &[(Vec<rcollectd_plugin::ConfigItem>, &str)] = &[
        (
            vec![],
            "The \"DSType\" block must contain at least one \"Percentile\" or \"Bucket\" option.",
        ),
        (
            vec![num("Percentile", &[100.0])],
            "The value for \"Percentile\" must be between 0 and 100, exclusively.",
        ),
        (
            vec![num("Bucket", &[2.0, 1.0])],
            "MIN must be less than MAX in \"Bucket\".",
        ),
        (
            vec![num("Bucket", &[-1.0, 0.0])],
            "MIN must be greater then or equal to zero in \"Bucket\".",
        ),
        (
            vec![num("Bucket", &[1.0])],
            "\"Bucket\" requires exactly two numeric arguments.",
        ),
    ];
    for (children, want) in cases {
        assert_eq!(
            LatencyConfig::parse(&block(children.clone()), &mut Vec::new()).unwrap_err(),
            *want
        );
    }
}

#[test]
fn distribution_values_per_read() {
    let config = LatencyConfig {
        percentiles: vec![50.0, 99.5],
        buckets: vec![(0, 1 << 30), (1 << 30, 0)],
        bucket_type: None,
    };
    let mut a = Aggregate::new(DsType::Distribution);
    let none = a.take_distribution(&config, "latency", "", 1 << 30);
    let names: Vec<(&str, &str)> = none
        .iter()
        .map(|(t, i, _)| (t.as_str(), i.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("latency", "50"),
            ("latency", "99.5"),
            ("bucket", "latency-0_1"),
            ("bucket", "latency-1_inf")
        ]
    );
    assert!(none.iter().all(|(_, _, v)| v.is_nan()));
    a.add(Some(b"0.5")).unwrap();
    a.add(Some(b"0")).unwrap();
    let got = a.take_distribution(&config, "latency", "req", 3 << 30);
    assert_eq!(got[0].1, "req-50");
    assert_eq!(got[2].1, "latency-req-0_1");
    assert!((got[0].2 - 0.5).abs() < 0.01, "{got:?}");
    assert!((got[2].2 - 0.5).abs() < 1e-9, "one value in 2 s: {got:?}");
    assert_eq!(got[3].2, 0.0);
}
