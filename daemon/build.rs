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
/// a third of the binary resident.
///
/// Two layers, because the hashes in Rust's symbol names change with the
/// features and versions of dependencies (a workspace build and a
/// one-package build of the same code differ):
/// - a linker script gathers the sections (each function has its own,
///   `.text.<symbol>`) of every function whose name matches a listed one
///   with the hashes as wildcards into one output section ahead of `.text`
///   (GNU ld and lld both read it); generic functions whose names differ
///   only in the hash come along, so the block is about twice the list;
/// - lld's `--symbol-ordering-file` puts the exactly named ones first in
///   that block, when the names match this build.
fn order_functions() {
    println!("cargo:rerun-if-changed=hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=RCOLLECTD_NO_SYMBOL_ORDER");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || std::env::var_os("RCOLLECTD_NO_SYMBOL_ORDER").is_some()
    {
        return;
    }
    let list = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("hot-symbols.txt");
    let Ok(text) = std::fs::read_to_string(&list) else {
        return;
    };
    let mut patterns = Vec::new();
    for sym in text.lines().map(str::trim) {
        if sym.is_empty() || sym.starts_with('#') || !sym.chars().all(is_symbol_char) {
            continue;
        }
        let p = section_pattern(sym);
        if !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    if patterns.is_empty() {
        return;
    }
    let mut script = String::from("SECTIONS\n{\n  .text.rcollectd_hot : {\n    *(\n");
    for p in &patterns {
        script.push_str(&format!("      .text.{p}\n      .text.unlikely.{p}\n"));
    }
    script.push_str("    )\n  }\n}\nINSERT BEFORE .text;\n");
    let out = std::path::Path::new(&var("OUT_DIR")).join("hot-text.ld");
    if std::fs::write(&out, script).is_err() {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", out.display());
    if links_with_lld(&var) {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            list.display()
        );
        // Names this build spells differently are skipped, not an error.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// rustc links x86_64-unknown-linux-gnu with its own lld from 1.90 on,
/// unless the build picks another linker.
fn links_with_lld(var: &dyn Fn(&str) -> String) -> bool {
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
    var("TARGET") == "x86_64-unknown-linux-gnu" && rustc_minor >= 90 && !other_linker
}

/// Characters of a mangled name (and nothing a linker script would parse).
fn is_symbol_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')
}

/// A symbol as a section-name pattern independent of the build's hashes:
/// the legacy mangling's `17h<16 hex>E`, v0 crate disambiguators
/// (`Cs<base62>_`) and the `.<n>` an LTO rename appends become wildcards.
fn section_pattern(sym: &str) -> String {
    let b = sym.as_bytes();
    let mut out = String::with_capacity(sym.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &sym[i..];
        if rest.starts_with("17h")
            && rest.len() >= 20
            && rest.as_bytes()[3..19].iter().all(u8::is_ascii_hexdigit)
            && rest.as_bytes()[19] == b'E'
        {
            out.push_str("17h*E");
            i += 20;
            continue;
        }
        if rest.starts_with("Cs") {
            let tail = &rest.as_bytes()[2..];
            let n = tail
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            if n > 0
                && tail.get(n) == Some(&b'_')
                && tail.get(n + 1).is_some_and(u8::is_ascii_digit)
            {
                out.push_str("Cs*_");
                i += 2 + n + 1;
                continue;
            }
        }
        if b[i] == b'.' && i + 1 < b.len() && b[i + 1..].iter().all(u8::is_ascii_digit) {
            out.push('*');
            break;
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}
