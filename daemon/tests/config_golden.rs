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
//!   tags); collectd 5.12 (`collectd -T -C`) parses it without a parse error.

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
