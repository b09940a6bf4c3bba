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
}
