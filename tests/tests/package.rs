//! The Debian package `make deb` builds (scripts/package.sh): its file list
//! (ours only, nothing of collectd-core's, no /etc file), its control data
//! and maintainer scripts, and the unpacked tree as it runs: the packaged
//! `/usr/sbin/rcollectd` finds the packaged `/usr/lib/rcollectd` next to it
//! and passes `-t` on the packaged default config and on Debian's example
//! collectd.conf. Skipped where dpkg is absent.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rcollectd_tests::{plugin_dir, rcollectd_bin, target_dir, workspace_root};

/// Runs a command and returns its output, failing the test if it cannot run
/// or exits non-zero.
fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The plugins the Makefile installs: every crate under plugins/ except
/// `common` and the test-only ones.
fn installed_plugins() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(workspace_root().join("plugins"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !["common", "example", "panicky"].contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// Runs the unpacked binary's `-t` on `config` in a scratch directory, with
/// nothing pointing it at the build's plugins.
fn config_test(bin: &Path, config: &Path, cwd: &Path) -> Output {
    Command::new(bin)
        .arg("-t")
        .arg("-C")
        .arg(config)
        .current_dir(cwd)
        .env_remove("RCOLLECTD_PLUGIN_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

fn assert_syntax_ok(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "-t on {what} failed:\n{stderr}");
    assert!(stdout(out).contains("Syntax OK"), "-t on {what}: {stderr}");
}

/// Debian's example config, gunzipped into `dir` if it is shipped gzipped.
fn debian_example(dir: &Path) -> Option<PathBuf> {
    let plain = Path::new("/usr/share/doc/collectd-core/examples/collectd.conf");
    if plain.is_file() {
        return Some(plain.to_path_buf());
    }
    let gz = plain.with_extension("conf.gz");
    if !gz.is_file() {
        return None;
    }
    let out = run(Command::new("gzip").arg("-dc").arg(&gz));
    let copy = dir.join("debian-example.conf");
    fs::write(&copy, &out.stdout).unwrap();
    Some(copy)
}

#[test]
fn deb_package_has_our_files_and_its_binary_runs_unpacked() {
    if !have("dpkg") || !have("dpkg-deb") {
        eprintln!("skipped: dpkg and dpkg-deb are needed to build and inspect the .deb (not a Debian-like system)");
        return;
    }
    // The package is made from `make build` output; these assert it exists.
    rcollectd_bin();
    plugin_dir();

    let scratch = tempfile::tempdir().unwrap();
    let out_dir = scratch.path().join("out");
    let made = run(Command::new(workspace_root().join("scripts/package.sh"))
        .arg("deb")
        .arg(&out_dir)
        .env("TARGET", target_dir())
        .current_dir(workspace_root()));
    let deb = PathBuf::from(stdout(&made).trim());
    assert!(deb.is_file(), "package.sh printed {}", deb.display());

    // Control data.
    let arch = stdout(&run(Command::new("dpkg").arg("--print-architecture")));
    let fields = stdout(&run(Command::new("dpkg-deb").arg("-f").arg(&deb).args([
        "Package",
        "Version",
        "Architecture",
        "Depends",
    ])));
    assert!(fields.contains("Package: rcollectd\n"), "{fields}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        fields.contains(&format!("Version: {version}\n")),
        "{fields}"
    );
    assert!(
        fields.contains(&format!("Architecture: {}\n", arch.trim())),
        "{fields}"
    );
    assert!(fields.contains("Depends: libc6"), "{fields}");
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!("rcollectd_{version}_{}.deb", arch.trim())
    );

    // Maintainer scripts: present, executable, valid sh, the default's
    // checksum filled in.
    let control = scratch.path().join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{script}: {e}"))
                .permissions()
                .mode()
        };
        assert_eq!(mode & 0o777, 0o755, "{script}");
        run(Command::new("sh").arg("-n").arg(&path));
    }
    let postrm = fs::read_to_string(control.join("postrm")).unwrap();
    let default_sha = stdout(&run(
        Command::new("sha256sum").arg(workspace_root().join("dist/collectd.conf"))
    ));
    let default_sha = default_sha.split_whitespace().next().unwrap();
    assert!(
        postrm.contains(&format!("default_sha256={default_sha}\n")),
        "{postrm}"
    );
    assert!(!control.join("conffiles").exists(), "no conffiles expected");

    // File list: every expected path; nothing under /etc; no test plugin.
    let listing = stdout(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    let mut files = BTreeSet::new();
    for line in listing.lines() {
        let path = line.split_whitespace().last().unwrap_or("");
        let path = path.trim_start_matches('.').trim_end_matches('/');
        if line.starts_with('-') {
            files.insert(path.to_owned());
        }
    }
    let mut expected: Vec<String> = [
        "/usr/sbin/rcollectd",
        "/usr/share/rcollectd/types.db",
        "/usr/share/rcollectd/collectd.conf",
        "/usr/include/rcollectd/rcollectd.h",
        "/usr/include/rcollectd/plugin.h",
        "/lib/systemd/system/rcollectd.service",
        "/usr/share/doc/rcollectd/collectd.service.d/rcollectd.conf",
        "/usr/share/doc/rcollectd/examples/default.conf",
        "/usr/share/doc/rcollectd/examples/cloudwatch.conf",
        "/usr/share/doc/rcollectd/examples/receiver.conf",
        "/usr/share/doc/rcollectd/copyright",
    ]
    .map(String::from)
    .to_vec();
    let plugins = installed_plugins();
    assert!(plugins.iter().any(|p| p == "cpu"), "{plugins:?}");
    expected.extend(plugins.iter().map(|p| format!("/usr/lib/rcollectd/{p}.so")));
    for path in &expected {
        assert!(
            files.contains(path),
            "{path} is not in the .deb:\n{listing}"
        );
    }
    for path in &files {
        assert!(!path.starts_with("/etc/"), "{path} is shipped:\n{listing}");
        assert!(
            !path.ends_with("/example.so") && !path.ends_with("/panicky.so"),
            "test plugin {path} is shipped"
        );
    }

    // No file in common with collectd-core (when it is installed here).
    let collectd_core = Command::new("dpkg").args(["-L", "collectd-core"]).output();
    match collectd_core {
        Ok(o) if o.status.success() => {
            let theirs: BTreeSet<String> = stdout(&o).lines().map(str::to_owned).collect();
            assert!(
                theirs.contains("/usr/sbin/collectd"),
                "dpkg -L collectd-core"
            );
            let common: Vec<_> = files.intersection(&theirs).collect();
            assert!(
                common.is_empty(),
                "files shared with collectd-core: {common:?}"
            );
        }
        _ => eprintln!("collectd-core is not installed: file list not compared with it"),
    }

    // The unpacked tree runs on its own plugins.
    let root = scratch.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let bin = root.join("usr/sbin/rcollectd");
    let cwd = scratch.path().join("cwd");
    fs::create_dir_all(&cwd).unwrap();

    // Where it looks for plugins: next to itself, not in the build tree.
    let missing = cwd.join("missing.conf");
    fs::write(&missing, "LoadPlugin nosuchplugin\n").unwrap();
    let out = config_test(&bin, &missing, &cwd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let own_dir = root.join("usr/lib/rcollectd").display().to_string();
    assert!(stderr.contains(&format!("in {own_dir}, ")), "{stderr}");

    let default = root.join("usr/share/rcollectd/collectd.conf");
    assert_syntax_ok(&config_test(&bin, &default, &cwd), "the packaged default");

    match debian_example(scratch.path()) {
        Some(example) => assert_syntax_ok(
            &config_test(&bin, &example, &cwd),
            "Debian's example collectd.conf",
        ),
        None => eprintln!("collectd-core's example collectd.conf is not installed: not tested"),
    }
}
