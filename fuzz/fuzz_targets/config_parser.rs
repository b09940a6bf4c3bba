//! Fuzzes the collectd.conf parser: any UTF-8 text must give a tree or an
//! error, never a panic; a tree must also survive the C conversion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Include reads the file system (`Include "/"` would walk all of it);
    // the unit tests cover it, the fuzzer covers the grammar.
    if text.to_ascii_lowercase().contains("include") {
        return;
    }
    let name = Path::new("/nonexistent-rcollectd-fuzz/fuzz.conf");
    match rcollectd::config::parse_str(text, name) {
        Ok(root) => {
            let c = rcollectd::abi::oconfig::OconfigTree::new(&root);
            // SAFETY: the tree is valid while `c` lives; it is a new root.
            let copy = unsafe { rcollectd::abi::oconfig::oconfig_clone(c.as_ptr()) };
            // SAFETY: `copy` is a fresh root from oconfig_clone.
            unsafe { rcollectd::abi::oconfig::oconfig_free(copy) };
            let mut g = rcollectd::config::globals::Globals::default();
            for item in &root.children {
                let _ = g.apply(item);
                let _ = rcollectd::config::globals::parse_load_plugin(item);
                let _ = rcollectd::abi::oconfig::render_values_as_string(item);
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
});
