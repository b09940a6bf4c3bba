//! The engine's modules form no import cycle. Each source file is one module;
//! a path through `crate::` or `super::` in its non-test code, a path
//! through one of its own child modules (`frame::encode` in `isolate`) and
//! a call of an exported macro are edges to the module they name. The core
//! crate, the daemon (the collectd ABI facade), the SDK and each plugin
//! crate must be free of cycles, so every module can be read, tested and
//! moved with only what is below it. A module and its descendants may use
//! each other (`dispatch` and `dispatch::outputs`): a cycle is allowed only
//! among the modules of one subtree whose root is part of it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module path (`abi::plugin`) of every `.rs` file below `src`, with its
/// source up to its `#[cfg(test)]` module.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            out.insert(module_of(src, &path), code);
        }
    }
    out
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel: PathBuf = file
        .strip_prefix(src)
        .expect("below src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
}

/// `src` without line comments, so prose naming a module is not an edge.
fn without_comments(src: &str) -> String {
    src.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `crate::` and `super::` in `code`, resolved to
/// absolute module paths (`crate::a::b::{c, d}` gives `a::b::c`, `a::b::d`,
/// also when the braces span lines).
fn referenced(module: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code = without_comments(code);
    // `super` of `a/b.rs` and of `a/b/mod.rs` (both module `a::b`) is `a`.
    for (prefix, base) in [("crate::", ""), ("super::", parent(module))] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().next_back();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut path: Vec<&str> = base.split("::").filter(|s| !s.is_empty()).collect();
            let mut tail = rest;
            loop {
                let end = tail
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                if end == 0 {
                    break;
                }
                path.push(&tail[..end]);
                tail = &tail[end..];
                match tail.strip_prefix("::") {
                    Some(t) if !t.starts_with('{') && !t.starts_with('*') => tail = t,
                    Some(t) if t.starts_with('{') => {
                        let close = t.find('}').unwrap_or(t.len());
                        for item in t[1..close].split(',') {
                            let item = item.trim().split([' ', ':']).next().unwrap_or("");
                            if !item.is_empty() && item != "self" {
                                let mut p = path.clone();
                                p.push(item);
                                out.push(p.join("::"));
                            }
                        }
                        break;
                    }
                    _ => break,
                }
            }
            out.push(path.join("::"));
        }
    }
    out
}

/// The `#[macro_export]` macros each module defines: a call to one
/// (`crate::p_warning!(…)` or `p_warning!(…)`) is a use of that module, as
/// much as a call to a function in it.
fn exported_macros(mods: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (m, code) in mods {
        let mut rest = code.as_str();
        while let Some(i) = rest.find("#[macro_export]") {
            rest = &rest[i..];
            if let Some(j) = rest.find("macro_rules!") {
                let name: String = rest[j + "macro_rules!".len()..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push((name, m.clone()));
            }
            rest = &rest["#[macro_export]".len()..];
        }
    }
    out
}

/// Whether `code` invokes the macro `name`.
fn calls_macro(code: &str, name: &str) -> bool {
    let call = format!("{name}!");
    code.match_indices(&call).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + call.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && matches!(after, Some('(' | '[' | '{' | ' '))
    })
}

/// Edges between the modules: each reference is cut to the longest prefix
/// that is a module; references to a module's own descendants are left out
/// (a module uses its children), those to an ancestor are kept. A call of
/// an exported macro is an edge to the module that defines it.
fn graph(mods: &BTreeMap<String, String>) -> Graph {
    let mut g = Graph::new();
    let macros = exported_macros(mods);
    for (m, code) in mods {
        let node = g.entry(m.clone()).or_default();
        let code_only = without_comments(code);
        for (name, home) in &macros {
            if home != m && calls_macro(&code_only, name) {
                node.insert(home.clone());
            }
        }
        for r in referenced(m, code) {
            let mut p = r.as_str();
            loop {
                if mods.contains_key(p) {
                    break;
                }
                match p.rsplit_once("::") {
                    Some((head, _)) => p = head,
                    None => {
                        p = "";
                        break;
                    }
                }
            }
            if !p.is_empty() && p != m {
                node.insert(p.to_owned());
            }
        }
        for child in mods.keys().filter(|c| !c.is_empty() && parent(c) == m) {
            let name = child.rsplit("::").next().unwrap_or(child);
            if calls_path(&code_only, name) {
                node.insert(child.clone());
            }
        }
    }
    g
}

/// Whether `code` has a path that starts with the module `name`
/// (`frame::decode`, but not `crate::frame::…` or `self.frame::…`).
fn calls_path(code: &str, name: &str) -> bool {
    let head = format!("{name}::");
    code.match_indices(&head).any(|(i, _)| {
        !code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '.')
    })
}

/// Whether an import cycle is one module and its own descendants, which
/// form one unit (a module and the children it is split into).
fn within_one_subtree(scc: &[String]) -> bool {
    scc.iter().any(|root| {
        scc.iter()
            .all(|m| m == root || m.starts_with(&format!("{root}::")))
    })
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                scc.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 && !within_one_subtree(&scc) {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn crate_src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn assert_acyclic(src: &Path, known_edge: (&str, &str)) {
    let g = graph(&modules(src));
    assert!(
        g.get(known_edge.0)
            .is_some_and(|e| e.contains(known_edge.1)),
        "the scan of {} misses the edge {} -> {}: {g:?}",
        src.display(),
        known_edge.0,
        known_edge.1
    );
    let c = cycles(&g);
    assert!(c.is_empty(), "import cycles in {}: {c:?}", src.display());
}

#[test]
fn the_daemon_modules_form_no_cycle() {
    assert_acyclic(&crate_src("src"), ("dispatch", "cache"));
}

#[test]
fn the_core_modules_form_no_cycle() {
    assert_acyclic(&crate_src("../core/src"), ("cache", "time"));
}

#[test]
fn the_sdk_modules_form_no_cycle() {
    assert_acyclic(&crate_src("../plugin-api/src"), ("value", "host"));
}

#[test]
fn the_plugin_crates_form_no_cycle() {
    let mut edges = 0;
    let mut crates = 0;
    for entry in std::fs::read_dir(crate_src("../plugins")).expect("plugins dir") {
        let src = entry.expect("dir entry").path().join("src");
        if !src.is_dir() {
            continue;
        }
        let g = graph(&modules(&src));
        crates += 1;
        edges += g.values().map(BTreeSet::len).sum::<usize>();
        let c = cycles(&g);
        assert!(c.is_empty(), "import cycles in {}: {c:?}", src.display());
    }
    assert!(
        crates >= 20 && edges > 0,
        "{crates} plugin crates, {edges} edges"
    );
}

#[test]
fn references_resolve_to_modules() {
    let mods: BTreeMap<String, String> = [
        ("", "pub mod a; pub mod b;"),
        (
            "a",
            "use crate::b::{\n    x,\n    c::Y,\n};\nfn f() { super::b::z(); } // crate::d",
        ),
        ("b", "pub fn x() {}"),
        ("b::c", "use super::x; use crate::d::e;"),
        ("d", "fn g() { rcollectd_core::f(); }"),
        (
            "e",
            "#[macro_export]\nmacro_rules! warn_e { () => {} }\nfn h() { crate::warn_e!(); }",
        ),
        (
            "f",
            "fn i() { crate::warn_e!(); } // warn_e!()\nfn j() { not_warn_e!(); }",
        ),
        ("g", "fn k() { h::z(); crate::g::h::z(); }"),
        ("g::h", "pub fn z() { super::k(); }"),
    ]
    .into_iter()
    .map(|(m, s)| (m.to_owned(), s.to_owned()))
    .collect();
    let g = graph(&mods);
    let edges = |m: &str| g[m].iter().cloned().collect::<Vec<_>>();
    assert_eq!(edges("a"), ["b", "b::c"]);
    assert_eq!(edges("b::c"), ["b", "d"]);
    assert!(edges("d").is_empty());
    assert!(edges("e").is_empty(), "a module's own macro is no edge");
    assert_eq!(edges("f"), ["e"]);
    assert_eq!(edges("g"), ["g::h"], "a path through a child module");
    assert_eq!(edges("g::h"), ["g"]);
    assert!(edges("").is_empty());
    assert_eq!(cycles(&g), Vec::<Vec<String>>::new());
    let mut with_cycle = g.clone();
    with_cycle.get_mut("d").expect("d").insert("a".into());
    assert_eq!(cycles(&with_cycle), vec![vec!["a", "b::c", "d"]]);
    // A module and its child may use each other; an outsider in the
    // cycle, reached through the child, may not.
    let mut through_child = g.clone();
    through_child
        .get_mut("g::h")
        .expect("g::h")
        .insert("d".into());
    through_child.get_mut("d").expect("d").insert("g".into());
    assert_eq!(cycles(&through_child), vec![vec!["d", "g", "g::h"]]);
}
