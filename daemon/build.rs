//! Compiles the variadic C entry points and exports the ABI from the binary.

fn main() {
    println!("cargo:rerun-if-changed=src/abi/shim.c");
    println!("cargo:rerun-if-changed=../include/collectd/rcollectd.h");
    cc::Build::new()
        .file("src/abi/shim.c")
        .include("../include/collectd")
        .warnings(true)
        .flag_if_supported("-fvisibility=default")
        .link_lib_modifier("+whole-archive")
        .compile("rcollectd_shim");
    // Plugins resolve plugin_register_*, hostname_g, ... against the executable.
    println!("cargo:rustc-link-arg-bins=-rdynamic");
    order_functions();
}

/// Lays out the functions an idle daemon's read rounds run next to each
/// other (`hot-symbols.txt`, made by `scripts/hot-symbols.sh`), so they fit
/// in a few of the 64 KiB runs the kernel maps text in instead of keeping
/// a third of the binary resident. Only lld reads an ordering file: rustc
/// links x86_64-unknown-linux-gnu with its own lld from 1.90 on, unless the
/// build picks another linker.
fn order_functions() {
    println!("cargo:rerun-if-changed=hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=RCOLLECTD_NO_SYMBOL_ORDER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let rustc_minor = std::process::Command::new(var("RUSTC"))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout).into_owned();
            v.split_whitespace()
                .nth(1)?
                .split('.')
                .nth(1)?
                .parse::<u32>()
                .ok()
        })
        .unwrap_or(0);
    let other_linker = var("CARGO_ENCODED_RUSTFLAGS").contains("linker")
        || std::env::vars().any(|(k, _)| k.starts_with("CARGO_TARGET_") && k.ends_with("_LINKER"));
    if var("TARGET") != "x86_64-unknown-linux-gnu"
        || rustc_minor < 90
        || other_linker
        || std::env::var_os("RCOLLECTD_NO_SYMBOL_ORDER").is_some()
    {
        return;
    }
    let order = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("hot-symbols.txt");
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    // Names a later change renamed are skipped, not an error.
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}
