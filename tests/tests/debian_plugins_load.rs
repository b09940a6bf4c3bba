//! Every collectd plugin collectd 5.12 can load, rcollectd loads: each of
//! Debian's `/usr/lib/collectd/*.so` whose libraries are installed is loaded
//! with `rcollectd -t` (dlopen + `module_register` + config), one at a time.

use std::fs;
use std::path::Path;
use std::process::Command;

use rcollectd_tests::{rcollectd_bin, types_db};

fn libraries_resolve(so: &Path) -> bool {
    match Command::new("ldd").arg(so).output() {
        Ok(out) => {
            out.status.success() && !String::from_utf8_lossy(&out.stdout).contains("not found")
        }
        Err(_) => false,
    }
}

#[test]
fn every_loadable_debian_plugin_loads() {
    let mut plugins: Vec<_> = fs::read_dir("/usr/lib/collectd")
        .expect("Debian's collectd plugins in /usr/lib/collectd (collectd-core)")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .collect();
    plugins.sort();
    let total = plugins.len();
    assert!(total > 100, "expected Debian's ~150 plugins, found {total}");

    let dir = tempfile::tempdir().unwrap();
    let mut candidates = 0;
    let mut failures = Vec::new();
    for so in &plugins {
        if !libraries_resolve(so) {
            continue;
        }
        candidates += 1;
        let name = so.file_stem().unwrap().to_string_lossy().into_owned();
        let conf = dir.path().join(format!("{name}.conf"));
        fs::write(
            &conf,
            format!(
                "BaseDir \"{dir}\"\nPluginDir \"/usr/lib/collectd\"\nTypesDB \"{types}\"\nLoadPlugin \"{name}\"\n",
                dir = dir.path().display(),
                types = types_db().display()
            ),
        )
        .unwrap();
        let out = Command::new("timeout")
            .arg("20")
            .arg(rcollectd_bin())
            .arg("-t")
            .arg("-C")
            .arg(&conf)
            .output()
            .expect("run rcollectd -t");
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            failures.push(format!("{name}: {last}"));
        }
    }
    println!(
        "{}/{candidates} plugins load ({} of {total} have their libraries installed)",
        candidates - failures.len(),
        candidates
    );
    assert!(
        candidates > 0,
        "no Debian plugin has its libraries installed"
    );
    assert!(
        failures.is_empty(),
        "plugins that do not load:\n{}",
        failures.join("\n")
    );
}
