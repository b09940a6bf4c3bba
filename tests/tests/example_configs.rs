//! Every example configuration shipped in `collectd.conf.d/` (and installed
//! by the packages) passes `rcollectd -t`, with the built-in plugins.

use std::process::Command;

use rcollectd_tests::{rcollectd_bin, workspace_root};

#[test]
fn every_example_config_passes_the_config_test() {
    let dir = workspace_root().join("collectd.conf.d");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let out = Command::new(rcollectd_bin())
            .arg("-t")
            .arg("-C")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} fails -t:\n{}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} example configs found");
}
