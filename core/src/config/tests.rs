//! Parser and Include tests: every construct, and exact error texts.

use super::*;
use std::path::Path;

fn parse(text: &str) -> Result<Item, ConfigError> {
    parse_str(text, Path::new("/etc/collectd.conf"))
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn n(v: f64) -> Value {
    Value::Number(v)
}

#[test]
fn root_and_options_in_order() {
    let root =
        parse("Hostname \"box\"\n\n# comment\nInterval 10\nFQDNLookup false\nLoadPlugin cpu")
            .unwrap();
    assert_eq!(root.key, "");
    assert!(root.values.is_empty());
    assert_eq!(root.location.line, 0);
    assert_eq!(root.location.to_string(), "/etc/collectd.conf:0");
    let keys: Vec<&str> = root.children.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["Hostname", "Interval", "FQDNLookup", "LoadPlugin"]);
    assert_eq!(root.children[0].values, vec![s("box")]);
    assert_eq!(root.children[1].values, vec![n(10.0)]);
    assert_eq!(root.children[1].location.line, 4);
    assert_eq!(root.children[2].values, vec![Value::Boolean(false)]);
    assert_eq!(root.children[3].values, vec![s("cpu")]);
    assert_eq!(root.children[3].location.line, 6);
}

#[test]
fn nested_blocks() {
    let root = parse(
        "<Plugin \"network\">\n  Server \"239.192.74.66\" \"25826\"\n  < Listen \"::\" 25826 >\n    SecurityLevel Sign\n  </ Listen >\n  TimeToLive 128\n</Plugin>\n",
    )
    .unwrap();
    assert_eq!(root.children.len(), 1);
    let p = &root.children[0];
    assert_eq!(p.key, "Plugin");
    assert_eq!(p.values, vec![s("network")]);
    assert_eq!(p.location.line, 1);
    assert_eq!(p.children.len(), 3);
    assert_eq!(p.children[0].values, vec![s("239.192.74.66"), s("25826")]);
    let l = &p.children[1];
    assert_eq!((l.key.as_str(), l.location.line), ("Listen", 3));
    assert_eq!(l.values, vec![s("::"), n(25826.0)]);
    assert_eq!(l.children[0].values, vec![s("Sign")]);
    assert_eq!(p.children[2].values, vec![n(128.0)]);
}

#[test]
fn empty_blocks_without_values_are_dropped_like_collectd() {
    let root = parse("<Foo>\n</Foo>\n<Plugin cpu>\n</Plugin>\nA 1\n").unwrap();
    let keys: Vec<&str> = root.children.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["Plugin", "A"]);
    assert!(root.children[0].children.is_empty());
}

#[test]
fn continuation_crlf_and_no_final_newline() {
    let root = parse("A 1 \\\n  2\r\nB \"x\" # trailing\r\n<P a>\r\nC 3\r\n</P>").unwrap();
    assert_eq!(root.children[0].values, vec![n(1.0), n(2.0)]);
    assert_eq!(root.children[1].values, vec![s("x")]);
    assert_eq!(root.children[1].location.line, 3);
    assert_eq!(root.children[2].children[0].location.line, 5);
}

#[test]
fn value_kinds() {
    let root = parse("V \"q\\\"s\" bare 127.0.0.1 -3 .5 0x10 true no 1e3 \"multi \\\n    line\"\n")
        .unwrap();
    assert_eq!(
        root.children[0].values,
        vec![
            s("q\"s"),
            s("bare"),
            s("127.0.0.1"),
            n(-3.0),
            n(0.5),
            n(16.0),
            Value::Boolean(true),
            Value::Boolean(false),
            s("1e3"),
            s("multi line"),
        ]
    );
}

#[test]
fn syntax_errors_name_file_line_and_expectation() {
    let cases = [
        ("A 1\nB \"abc\n", "/etc/collectd.conf:2: unterminated string (a closing \" is missing)"),
        (
            "A 1\n</Plugin>\n",
            "/etc/collectd.conf:2: </Plugin> closes a block that was never opened",
        ),
        (
            "\n\n\n\n\n\n<Plugin \"cpu\">\n  A 1\n",
            "/etc/collectd.conf:7: <Plugin \"cpu\"> opened here is never closed (expected </Plugin>)",
        ),
        (
            "<Plugin cpu>\n<Foo x>\n</Plugin>\n",
            "/etc/collectd.conf:3: </Plugin> does not match <Foo \"x\"> opened at line 2 (expected </Foo>)",
        ),
        (
            "<Plugin cpu>\n</plugin>\n",
            "/etc/collectd.conf:2: </plugin> does not match <Plugin \"cpu\"> opened at line 1 (expected </Plugin>)",
        ),
        ("Interval\n", "/etc/collectd.conf:1: option `Interval` needs at least one value"),
        (
            "A 1\n\"Key\" 1\n",
            "/etc/collectd.conf:2: expected an option name or a <Block>, found string \"Key\"",
        ),
        (
            "true 1\n",
            "/etc/collectd.conf:1: expected an option name or a <Block>, found boolean `true`",
        ),
        (
            "DataDir /var/lib\n",
            "/etc/collectd.conf:1: unexpected `/` in option `DataDir` (put values containing <, > or / in double quotes)",
        ),
        (
            "<Plugin cpu\nA 1\n",
            "/etc/collectd.conf:1: expected `>` to end the tag <Plugin \"cpu\", found end of line",
        ),
        (
            "<Plugin cpu> A 1\n</Plugin>\n",
            "/etc/collectd.conf:1: unexpected `A` after <Plugin \"cpu\"> (a block tag must be alone on its line)",
        ),
        ("< >\n", "/etc/collectd.conf:1: expected a block name after `<`, found `>`"),
        (
            "<P x>\n</P y>\n",
            "/etc/collectd.conf:2: expected `>` to end the tag </P, found `y`",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "for {text:?}");
    }
}

#[test]
fn stray_characters_are_dropped_like_collectd() {
    let root = parse("Device \"/dev/i2c-0\";\nHostname my-host\n").unwrap();
    assert_eq!(root.children[0].values, vec![s("/dev/i2c-0")]);
    assert_eq!(root.children[1].values, vec![s("my"), s("host")]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 10_000;
    let mut text = String::new();
    for _ in 0..depth {
        text.push_str("<B x>\n");
    }
    let e = err(&text);
    assert_eq!(
        e,
        format!(
            "/etc/collectd.conf:{}: blocks are nested more than {MAX_BLOCK_DEPTH} levels deep",
            MAX_BLOCK_DEPTH + 1
        )
    );
}

/// A temp dir with `files` (relative path, content) written in it.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (p, content) in files {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn keys(item: &Item) -> Vec<String> {
    item.children.iter().map(|c| c.key.clone()).collect()
}

#[test]
fn include_file_expands_in_place() {
    let d = tree(&[
        ("main.conf", "A 1\nInclude \"sub.conf\"\nZ 1\n"),
        ("sub.conf", "B 1\n<Plugin x>\n  C 1\n</Plugin>\n"),
    ]);
    let main = d.path().join("main.conf");
    let text = std::fs::read_to_string(&main).unwrap();
    let root = parse_str(&text, &main).unwrap();
    assert_eq!(keys(&root), ["A", "B", "Plugin", "Z"]);
    let b = &root.children[1];
    assert_eq!(*b.location.file, d.path().join("sub.conf"));
    assert_eq!(b.location.line, 1);
    assert_eq!(root.children[2].location.line, 2);
}

#[test]
fn include_inside_block_puts_items_in_that_block() {
    let d = tree(&[
        (
            "main.conf",
            "<Plugin net>\n  A 1\n  Include \"inner.conf\"\n</Plugin>\n",
        ),
        ("inner.conf", "B 2\nC 3\n"),
    ]);
    let main = d.path().join("main.conf");
    let root = parse_str(&std::fs::read_to_string(&main).unwrap(), &main).unwrap();
    assert_eq!(keys(&root), ["Plugin"]);
    assert_eq!(keys(&root.children[0]), ["A", "B", "C"]);
}

#[test]
fn include_directory_recursive_sorted_skipping_dotfiles() {
    let d = tree(&[
        ("conf.d/20-b.conf", "B 1\n"),
        ("conf.d/10-a.conf", "A 1\n"),
        ("conf.d/.hidden.conf", "Hidden 1\n"),
        ("conf.d/sub/30-c.conf", "C 1\n"),
        ("conf.d/README", "R 1\n"),
    ]);
    let root = parse_str("Include \"conf.d\"\n", &d.path().join("main.conf")).unwrap();
    assert_eq!(keys(&root), ["A", "B", "R", "C"]);
}

#[test]
fn include_block_with_filter() {
    let d = tree(&[
        ("conf.d/10-a.conf", "A 1\n"),
        ("conf.d/README", "this is not a config file !\n"),
        ("conf.d/sub/30-c.conf", "C 1\n"),
    ]);
    let root = parse_str(
        "<Include \"conf.d\">\n  Filter \"*.conf\"\n</Include>\n",
        &d.path().join("main.conf"),
    )
    .unwrap();
    assert_eq!(keys(&root), ["A", "C"]);
}

#[test]
fn include_glob_sorted() {
    let d = tree(&[
        ("c/b.conf", "B 1\n"),
        ("c/a.conf", "A 1\n"),
        ("c/x.txt", "X 1\n"),
        ("c/.hidden.conf", "H 1\n"),
    ]);
    let root = parse_str("Include \"c/*.conf\"\n", &d.path().join("main.conf")).unwrap();
    assert_eq!(keys(&root), ["A", "B"]);
    // An absolute pattern works the same.
    let abs = format!("Include \"{}/c/*.conf\"\n", d.path().display());
    assert_eq!(keys(&parse(&abs).unwrap()), ["A", "B"]);
}

#[test]
fn include_matching_nothing_is_a_warning_like_collectd() {
    let d = tree(&[]);
    let root = parse_str(
        "A 1\nInclude \"/nonexistent-rcollectd/*.conf\"\nInclude \"missing.conf\"\nB 1\n",
        &d.path().join("main.conf"),
    )
    .unwrap();
    assert_eq!(keys(&root), ["A", "B"]);
}

#[test]
fn include_errors() {
    let d = tree(&[("bad.conf", "\n<Plugin x>\n")]);
    let main = d.path().join("main.conf");
    let e = parse_str("Include \"bad.conf\"\n", &main)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{}:2: <Plugin \"x\"> opened here is never closed (expected </Plugin>)",
            d.path().join("bad.conf").display()
        )
    );
}

/// Mistakes collectd logs as errors and runs without: the rest of the config
/// parses, and the mistake is reported (for `-t`) at its file:line.
#[test]
fn include_mistakes_collectd_ignores_are_soft_errors() {
    let d = tree(&[
        ("inc/a.conf", "A 1\n"),
        ("inc/b.conf", "\n<Plugin x>\n"),
        ("inc/c.conf", "C 1\n"),
        ("one.conf", "O 1\n"),
    ]);
    let main = d.path().join("main.conf");
    let inc = d.path().join("inc");
    let b = inc.join("b.conf");
    // (config text, keys that remain, soft errors as "line: message")
    let cases: [(&str, &[&str], Vec<String>); 5] = [
        (
            "X 1\nInclude \"/some/dir\" \"*.conf\"\nY 1\n",
            &["X", "Y"],
            vec!["2: configfile: `Include' needs exactly one string argument.".into()],
        ),
        (
            "Include 5\nY 1\n",
            &["Y"],
            vec!["1: configfile: `Include' needs exactly one string argument.".into()],
        ),
        (
            "<Include \"one.conf\">\n  Foo 1\n</Include>\n",
            &["O"],
            vec!["2: configfile: Option `Foo' not allowed in <Include> block.".into()],
        ),
        (
            "<Include \"one.conf\">\n  Filter 1\n</Include>\n",
            &["O"],
            vec![
                "2: cf_util_get_string: The Filter option requires exactly one string argument."
                    .into(),
            ],
        ),
        (
            "Include \"inc\"\n",
            &["A", "C"],
            vec![format!(
                "{}:2: <Plugin \"x\"> opened here is never closed (expected </Plugin>); \
                 configfile: Cannot read file `{}'.",
                b.display(),
                b.display()
            )],
        ),
    ];
    for (text, want_keys, want_soft) in cases {
        let parsed = parse_str_checked(text, &main).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(keys(&parsed.root), want_keys, "{text:?}");
        let soft: Vec<String> = parsed
            .soft_errors
            .iter()
            .map(|e| {
                let s = e.to_string();
                s.strip_prefix(&format!("{}:", main.display()))
                    .map_or(s.clone(), str::to_owned)
            })
            .collect();
        assert_eq!(soft, want_soft, "{text:?}");
    }
}

#[test]
fn include_loop_fails_with_clear_message() {
    let d = tree(&[("loop.conf", "A 1\nInclude \"loop.conf\"\n")]);
    let main = d.path().join("loop.conf");
    // parse_str resolves the relative include against the file's directory.
    let text = std::fs::read_to_string(&main).unwrap();
    let e = parse_str(&text, &main).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:2: Include \"loop.conf\": includes are nested more than 7 levels deep (does a file include itself?)",
            main.display()
        )
    );
    // Two files including each other, by absolute path, through parse_file.
    let a = d.path().join("a.conf");
    let b = d.path().join("b.conf");
    std::fs::write(&a, format!("Include \"{}\"\n", b.display())).unwrap();
    std::fs::write(&b, format!("X 1\nInclude \"{}\"\n", a.display())).unwrap();
    let e = parse_file(&a).unwrap_err();
    assert!(
        e.message
            .contains("includes are nested more than 7 levels deep"),
        "{e}"
    );
}

#[test]
fn include_depth_seven_is_fine() {
    // main includes 1, 1 includes 2 ... 7 includes nothing: depth 7 < 8.
    let d = tempfile::tempdir().unwrap();
    for i in 1..=7 {
        let next = if i < 7 {
            format!("Include \"{}/f{}.conf\"\n", d.path().display(), i + 1)
        } else {
            String::new()
        };
        std::fs::write(
            d.path().join(format!("f{i}.conf")),
            format!("K{i} 1\n{next}"),
        )
        .unwrap();
    }
    let text = format!("Include \"{}/f1.conf\"\n", d.path().display());
    let root = parse(&text).unwrap();
    assert_eq!(keys(&root), ["K1", "K2", "K3", "K4", "K5", "K6", "K7"]);
}

#[test]
fn parse_file_resolves_relative_includes_against_the_working_directory() {
    // collectd expands Include paths with wordexp/stat before changing to
    // BaseDir, i.e. relative to the working directory, not to the file.
    let d = tree(&[
        ("main.conf", "A 1\nInclude \"sub.conf\"\n"),
        ("sub.conf", "B 1\n"),
    ]);
    let root = parse_file(&d.path().join("main.conf")).unwrap();
    assert_eq!(
        keys(&root),
        ["A"],
        "sub.conf is not in the working directory"
    );
    let abs = format!("A 1\nInclude \"{}\"\n", d.path().join("sub.conf").display());
    std::fs::write(d.path().join("main.conf"), abs).unwrap();
    let root = parse_file(&d.path().join("main.conf")).unwrap();
    assert_eq!(keys(&root), ["A", "B"]);
}

#[test]
fn parse_file_accepts_a_directory_like_collectd() {
    let d = tree(&[
        ("b.conf", "B 1\n"),
        ("a.conf", "A 1\n"),
        ("sub/c.conf", "C 1\n"),
    ]);
    let root = parse_file(d.path()).unwrap();
    assert_eq!(keys(&root), ["A", "B", "C"]);
    assert_eq!(*root.location.file, d.path());
}

#[test]
fn parse_file_errors() {
    let e = parse_file(Path::new("/nonexistent/rcollectd.conf")).unwrap_err();
    assert!(e.location.is_none());
    assert!(
        e.message
            .starts_with("cannot read config file /nonexistent/rcollectd.conf: "),
        "{e}"
    );
}

#[test]
fn helpers() {
    let root = parse("<Plugin a>\n  X \"s\"\n  x 2\n  Y true\n</Plugin>\n").unwrap();
    let p = &root.children[0];
    assert_eq!(p.children_named("X").count(), 2);
    assert_eq!(p.children[0].single_string(), Some("s"));
    assert_eq!(p.children[1].single_number(), Some(2.0));
    assert_eq!(p.children[2].single_string(), None);
    assert_eq!(s("a\"b").to_string(), "\"a\\\"b\"");
}

/// Deterministic xorshift generator for the stable "fuzz" tests.
/// Pseudo-random inputs from a fixed seed ([`crate::testgen`]): any input
/// must give a tree or an error with a location, never a panic. (The daemon
/// checks that every tree converts to C and back; libFuzzer fuzzes the same
/// property in `fuzz/fuzz_targets/config_parser.rs`.)
#[test]
fn random_inputs_never_panic() {
    let name = Path::new(crate::testgen::CONFIG_PATH);
    let mut parsed = 0;
    for text in crate::testgen::config_texts() {
        match parse_str(&text, name) {
            Ok(_) => parsed += 1,
            Err(e) => assert!(e.location.is_some(), "{e}"),
        }
    }
    // The generator must reach both outcomes, or it tests nothing.
    assert!(parsed > 100 && parsed < 4000, "parsed {parsed}");
}

#[test]
fn rendered_items_parse_to_the_same_tree() {
    let text = "Hostname \"a \\\"b\\\" c\\\\d\"\nInterval 2.5\n<Plugin \"x\">\n  <Node \"n\" 5>\n    Flag true\n  </Node>\n  Name \"v\" 1 false\n</Plugin>\n";
    let root = parse(text).expect("parses");
    let rendered: String = root.children.iter().map(render).collect();
    let again = parse(&rendered).expect("rendered text parses");
    let strip = |i: &Item| -> Vec<(String, Vec<Value>)> {
        fn walk(i: &Item, out: &mut Vec<(String, Vec<Value>)>) {
            out.push((i.key.clone(), i.values.clone()));
            for c in &i.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        walk(i, &mut out);
        out
    };
    assert_eq!(strip(&root), strip(&again), "{rendered}");
}

/// Option values as collectd hands them to simple config callbacks
/// (`cf_dispatch_option`: `%lf` numbers) and as `global_option_get` reports.
#[test]
fn renders_values_like_cf_dispatch_option() {
    let cases: &[(&str, &str)] = &[
        (
            "A \"x y\" 1 -2.5 true off 0x10",
            "x y 1.000000 -2.500000 true false 16.000000",
        ),
        // `1e+3` lexes as the word `1e` and the number +3.
        ("B 1e+3", "1e 3.000000"),
        ("C 0.0000001", "0.000000"),
        ("D eth0 1 true -2.5", "eth0 1.000000 true -2.500000"),
    ];
    for (text, want) in cases {
        let root = parse(text).unwrap();
        assert_eq!(render_values(&root.children[0].values), *want, "{text}");
    }
    let lf: &[(f64, &str)] = &[
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (-f64::NAN, "-nan"),
        (10.0, "10.000000"),
        (1e20, "100000000000000000000.000000"),
    ];
    for (n, want) in lf {
        assert_eq!(format_lf(*n), *want, "{n}");
    }
}

#[test]
fn quoting_escapes_quotes_and_backslashes() {
    for (s, want) in [
        ("a", "\"a\""),
        ("a b", "\"a b\""),
        ("q\"\\", "\"q\\\"\\\\\""),
    ] {
        let mut out = String::new();
        push_quoted(&mut out, s);
        assert_eq!(out, want);
    }
}
