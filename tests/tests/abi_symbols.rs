//! The ABI contract, checked on the binaries: every symbol a Debian collectd
//! plugin imports from collectd's daemon must be exported by rcollectd.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use rcollectd_tests::{collectd_bin, rcollectd_bin};

fn dynamic_symbols(file: &Path, defined: bool) -> BTreeSet<String> {
    let flag = if defined {
        "--defined-only"
    } else {
        "--undefined-only"
    };
    let out = Command::new("nm")
        .args(["-D", flag])
        .arg(file)
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success(), "nm failed on {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(|sym| sym.split('@').next().unwrap_or(sym).to_owned())
        .collect()
}

/// Symbols collectd's daemon exports to plugins (its parser internals and the
/// C runtime's own symbols are not part of the plugin ABI).
fn collectd_exports() -> BTreeSet<String> {
    dynamic_symbols(&collectd_bin(), true)
        .into_iter()
        .filter(|s| !s.starts_with("yy") && !s.starts_with('_'))
        .filter(|s| {
            !matches!(
                s.as_str(),
                "main" | "data_start" | "optarg" | "optind" | "stderr"
            )
        })
        .collect()
}

#[test]
fn rcollectd_exports_what_every_debian_plugin_imports_from_collectd() {
    let collectd = collectd_exports();
    let ours = dynamic_symbols(&rcollectd_bin(), true);
    let mut missing_by_plugin = Vec::new();
    let mut plugins = 0;
    let mut entries: Vec<_> = std::fs::read_dir("/usr/lib/collectd")
        .expect("Debian's collectd plugins in /usr/lib/collectd")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .collect();
    entries.sort();
    for so in entries {
        plugins += 1;
        let wanted: Vec<String> = dynamic_symbols(&so, false)
            .into_iter()
            .filter(|s| collectd.contains(s) && !ours.contains(s))
            .collect();
        if !wanted.is_empty() {
            missing_by_plugin.push(format!(
                "{}: {}",
                so.file_name().unwrap().to_string_lossy(),
                wanted.join(" ")
            ));
        }
    }
    assert!(
        plugins > 100,
        "expected Debian's ~150 plugins, found {plugins}"
    );
    println!(
        "{}/{} Debian plugins find every daemon symbol they import",
        plugins - missing_by_plugin.len(),
        plugins
    );
    assert!(
        missing_by_plugin.is_empty(),
        "symbols rcollectd does not export:\n{}",
        missing_by_plugin.join("\n")
    );
}

/// collectd's own `main` split in two (`init_config` returns its private
/// command-line struct) and its yacc parser's globals: no plugin can use them.
const NOT_PLUGIN_ABI: [&str; 4] = ["init_config", "run_loop", "c_file", "ci_root"];

#[test]
fn rcollectd_exports_the_whole_collectd_daemon_abi() {
    let ours = dynamic_symbols(&rcollectd_bin(), true);
    let missing: Vec<String> = collectd_exports()
        .into_iter()
        .filter(|s| !ours.contains(s) && !NOT_PLUGIN_ABI.contains(&s.as_str()))
        .collect();
    assert!(
        collectd_exports().len() > 200,
        "collectd exports its plugin ABI"
    );
    assert!(
        missing.is_empty(),
        "{} of collectd 5.12's exports are missing: {}",
        missing.len(),
        missing.join(" ")
    );
}
