//! Golden tests: real configs shipped with Debian's collectd 5.12 parse, and
//! the tree agrees with facts read off the text independently.
//!
//! Data (daemon/tests/data/):
//! - `debian-collectd.conf`: Debian's /etc/collectd/collectd.conf (same as
//!   /usr/share/doc/collectd-core/examples/collectd.conf);
//! - `collectd.conf.d/`: Debian's /etc/collectd/collectd.conf.d;
//! - `debian-collectd-uncommented.conf` and `collectd.conf.d-uncommented/`:
//!   the same with every commented-out option and block enabled
//!   (`uncomment.py`, which also fixes the example's two mismatched closing
//!   tags); collectd 5.12 (`collectd -T -C`) parses it without a parse error;
//! - `GenericJMX.conf`, `snmp-data.conf`: Debian's example plugin configs;
//! - `lexer-edge-cases.conf`: numbers, words, addresses, escapes, multi-line
//!   strings, stray characters, empty blocks, CRLF;
//! - `liboconfig-trees/*.tree`: collectd 5.12's own parse trees of the above.

use std::path::{Path, PathBuf};

use rcollectd::config::globals::{classify, parse_load_plugin, Globals, TopLevel};
use rcollectd::config::{parse_file, parse_str, Item, Value};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The config text with its absolute Include pointed at our copy.
fn load(name: &str, include_dir: &str) -> (String, PathBuf) {
    let path = data().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "\"/etc/collectd/collectd.conf.d\"",
        &format!("\"{}\"", data().join(include_dir).display()),
    );
    (text, path)
}

/// Lines of `text` (after stripping leading white space) that start with
/// `prefix`: an oracle independent of the parser.
fn count_lines(text: &str, prefix: &str) -> usize {
    text.lines().filter(|l| l.starts_with(prefix)).count()
}

fn walk<'a>(item: &'a Item, out: &mut Vec<&'a Item>) {
    out.push(item);
    for c in &item.children {
        walk(c, out);
    }
}

#[test]
fn debian_default_config() {
    let (text, path) = load("debian-collectd.conf", "collectd.conf.d");
    let root = parse_str(&text, &path).unwrap();
    let loads: Vec<_> = root
        .children
        .iter()
        .filter(|i| classify(i) == TopLevel::LoadPlugin)
        .map(|i| parse_load_plugin(i).unwrap().name)
        .collect();
    assert_eq!(loads.len(), count_lines(&text, "LoadPlugin "));
    assert_eq!(loads.len(), 14);
    assert_eq!(loads[0], "syslog");
    assert!(loads.contains(&"cpu".to_string()));
    let plugins: Vec<&Item> = root
        .children
        .iter()
        .filter(|i| classify(i) == TopLevel::Plugin)
        .collect();
    assert_eq!(plugins.len(), count_lines(&text, "<Plugin "));
    let df = plugins
        .iter()
        .find(|p| p.values == vec![Value::String("df".into())])
        .unwrap();
    let fstypes: Vec<&Item> = df.children_named("FSType").collect();
    assert_eq!(fstypes.len(), 8);
    assert_eq!(fstypes[0].values, vec![Value::String("rootfs".into())]);
    assert_eq!(
        df.children_named("IgnoreSelected").next().unwrap().values,
        vec![Value::Boolean(true)]
    );
    // Every top-level item is known and the global options apply cleanly.
    let mut g = Globals::default();
    for item in &root.children {
        assert_ne!(classify(item), TopLevel::Unknown, "{}", item.key);
        g.apply(item).unwrap();
    }
    assert!(g.fqdn_lookup);
}

#[test]
fn debian_config_everything_enabled() {
    let (text, path) = load(
        "debian-collectd-uncommented.conf",
        "collectd.conf.d-uncommented",
    );
    let root = parse_str(&text, &path).unwrap();
    let top_loads = root
        .children
        .iter()
        .filter(|i| i.key == "LoadPlugin")
        .count();
    let included = data().join("collectd.conf.d-uncommented");
    let inc_text: String = ["filters.conf", "thresholds.conf"]
        .iter()
        .map(|f| std::fs::read_to_string(included.join(f)).unwrap())
        .collect();
    assert_eq!(
        top_loads,
        count_lines(&text, "LoadPlugin ")
            + count_lines(&text, "<LoadPlugin ")
            + count_lines(&inc_text, "LoadPlugin ")
    );
    // Every `<Block` line of the text is an item of the tree at that file
    // and line, except the <Include> block, which its files replace.
    let mut all = Vec::new();
    walk(&root, &mut all);
    let mut in_tree: Vec<(PathBuf, u32)> = all
        .iter()
        .map(|i| (i.location.file.to_path_buf(), i.location.line))
        .collect();
    in_tree.sort();
    let mut expected = Vec::new();
    for (file, body) in [
        (path.clone(), text.clone()),
        (
            included.join("filters.conf"),
            std::fs::read_to_string(included.join("filters.conf")).unwrap(),
        ),
        (
            included.join("thresholds.conf"),
            std::fs::read_to_string(included.join("thresholds.conf")).unwrap(),
        ),
    ] {
        for (n, line) in body.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with('<') && !l.starts_with("</") && !l.starts_with("<Include") {
                expected.push((file.clone(), n as u32 + 1));
            }
        }
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| in_tree.binary_search(e).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "blocks missing from the tree: {missing:?}"
    );
    assert!(expected.len() > 200, "{}", expected.len());
    // A nested block's values and children.
    let network = root
        .children
        .iter()
        .find(|i| i.key == "Plugin" && i.values == vec![Value::String("network".into())])
        .unwrap();
    let servers: Vec<&Item> = network.children_named("Server").collect();
    assert_eq!(servers.len(), 2);
    assert_eq!(
        servers[0].values,
        vec![
            Value::String("ff18::efc0:4a42".into()),
            Value::String("25826".into())
        ]
    );
    assert!(servers[0].children.is_empty());
    assert_eq!(servers[1].values[0], Value::String("239.192.74.66".into()));
    let level = servers[1].children_named("SecurityLevel").next().unwrap();
    assert_eq!(level.values, vec![Value::String("Encrypt".into())]);
    assert_eq!(
        servers[1]
            .children_named("ResolveInterval")
            .next()
            .unwrap()
            .values,
        vec![Value::Number(14400.0)]
    );
    // The included filter chain arrived in place, at the end.
    let last_chain = root
        .children
        .iter()
        .filter(|i| classify(i) == TopLevel::Chain)
        .count();
    assert_eq!(last_chain, count_lines(&inc_text, "<Chain "));
    let threshold = root.children.last().unwrap();
    assert_eq!(threshold.key, "Plugin");
    assert_eq!(threshold.values, vec![Value::String("threshold".into())]);
    assert_eq!(
        threshold.location.file.as_path(),
        included.join("thresholds.conf")
    );
    // Global options in the enabled config are all valid.
    let mut g = Globals::default();
    for item in &root.children {
        if classify(item) == TopLevel::Global {
            g.apply(item).unwrap();
        }
    }
    assert_eq!(g.interval, 10.0);
    assert_eq!(g.types_db.len(), 2);
}

#[test]
fn parse_file_reads_the_real_file() {
    let root = parse_file(&data().join("collectd.conf.d-uncommented/thresholds.conf")).unwrap();
    assert_eq!(root.children.len(), 2);
    assert_eq!(
        root.children[0].values,
        vec![Value::String("threshold".into())]
    );
}

/// `%.17g`, as the tree dumps print numbers.
fn g17(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and snprintf writes at most that many,
    // NUL included; the format takes exactly one double.
    unsafe {
        libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), n);
    }
    std::ffi::CStr::from_bytes_until_nul(&buf)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// One line per item: indentation, key, values (strings quoted with `"`
/// and `\` escaped, newlines as `\n`), and `{children}`.
fn dump(item: &Item, depth: usize, out: &mut String) {
    for c in &item.children {
        out.push_str(&" ".repeat(depth * 2));
        out.push_str(&c.key);
        for v in &c.values {
            out.push(' ');
            match v {
                Value::String(s) => {
                    out.push('"');
                    for ch in s.chars() {
                        match ch {
                            '"' | '\\' => {
                                out.push('\\');
                                out.push(ch);
                            }
                            '\n' => out.push_str("\\n"),
                            _ => out.push(ch),
                        }
                    }
                    out.push('"');
                }
                Value::Number(n) => out.push_str(&g17(*n)),
                Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            }
        }
        out.push_str(&format!(" {{{}}}\n", c.children.len()));
        dump(c, depth + 1, out);
    }
}

/// The trees collectd 5.12's own parser (liboconfig, built from the 5.12.0
/// sources with a small dumper printing this format) produced for these
/// files, with its unexpanded `Include` items removed. rcollectd's tree must
/// be identical item for item, value for value.
#[test]
fn trees_identical_to_collectd_liboconfig() {
    let cases = [
        ("debian-collectd.conf", "debian-collectd.tree"),
        (
            "debian-collectd-uncommented.conf",
            "debian-collectd-uncommented.tree",
        ),
        ("collectd.conf.d-uncommented/filters.conf", "filters.tree"),
        (
            "collectd.conf.d-uncommented/thresholds.conf",
            "thresholds.tree",
        ),
        ("GenericJMX.conf", "GenericJMX.tree"),
        ("snmp-data.conf", "snmp-data.tree"),
        ("lexer-edge-cases.conf", "lexer-edge-cases.tree"),
    ];
    for (conf, tree) in cases {
        let text = std::fs::read_to_string(data().join(conf)).unwrap().replace(
            "\"/etc/collectd/collectd.conf.d\"",
            "\"/nonexistent-rcollectd/conf.d\"",
        );
        let root = parse_str(&text, &data().join(conf)).unwrap();
        let mut ours = String::new();
        dump(&root, 0, &mut ours);
        let theirs = std::fs::read_to_string(data().join("liboconfig-trees").join(tree)).unwrap();
        assert!(
            theirs.lines().count() > 15,
            "{tree} is too small to mean much"
        );
        if ours != theirs {
            let first = ours
                .lines()
                .zip(theirs.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{conf}: tree differs from collectd's at dump line {}:\n ours:   {:?}\n theirs: {:?}",
                first + 1,
                ours.lines().nth(first),
                theirs.lines().nth(first)
            );
        }
    }
}

/// The example configs rcollectd ships parse, and every top-level item is
/// something the daemon knows how to apply.
#[test]
fn shipped_example_configs_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../collectd.conf.d");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        // Placeholders like {plugin_dir} are filled in by tests; parse as is.
        let root = parse_str(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        for item in &root.children {
            assert_ne!(
                classify(item),
                TopLevel::Unknown,
                "{}: unknown top-level `{}`",
                item.location,
                item.key
            );
            match classify(item) {
                TopLevel::LoadPlugin => {
                    parse_load_plugin(item).unwrap();
                }
                TopLevel::Global => {
                    assert!(Globals::default().apply(item).unwrap());
                }
                _ => {}
            }
        }
    }
    assert!(seen > 0, "no .conf in {}", dir.display());
}
