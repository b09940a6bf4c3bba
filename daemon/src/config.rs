//! collectd.conf as the daemon serves it: the core's parser and settings,
//! plus the C strings `global_option_get` hands to plugins.

pub use rcollectd_core::config::*;

/// The global options: the core's store, and its C view for plugins.
pub mod globals {
    use std::collections::HashMap;
    use std::ffi::CString;
    use std::sync::Mutex;

    pub use rcollectd_core::config::globals::*;

    /// C strings handed out by `global_option_get`, per option. Replaced
    /// strings are retired, never freed, because C callers may still hold
    /// them; the number retired is bounded by the number of option changes.
    static C_STRINGS: Mutex<Option<CStrings>> = Mutex::new(None);

    #[derive(Default)]
    struct CStrings {
        live: HashMap<Opt, CString>,
        retired: Vec<CString>,
    }

    /// `global_option_get` for C: a pointer that stays valid for the life of
    /// the process. Null for unknown options (logged) and unset options.
    pub fn option_get_c(key: &str) -> *const libc::c_char {
        let Some((_, opt)) = lookup_table(key) else {
            log::error!("configfile: Cannot get unknown global option `{key}'.");
            return std::ptr::null();
        };
        let Some(value) = current().render(opt) else {
            return std::ptr::null();
        };
        let Ok(c) = CString::new(value) else {
            return std::ptr::null();
        };
        let mut guard = C_STRINGS.lock().unwrap_or_else(|e| e.into_inner());
        let strings = guard.get_or_insert_with(CStrings::default);
        if let Some(old) = strings.live.get(&opt) {
            if *old == c {
                return old.as_ptr();
            }
        }
        let ptr = c.as_ptr();
        if let Some(old) = strings.live.insert(opt, c) {
            strings.retired.push(old);
        }
        ptr
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn c_strings_keep_their_pointer_while_unchanged() {
            let _lock = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            assert_eq!(option_set("Interval", Some("7"), false), 0);
            let p1 = option_get_c("Interval");
            let p2 = option_get_c("INTERVAL");
            assert_eq!(p1, p2, "unchanged values keep their pointer");
            assert!(option_get_c("Bogus").is_null());
            clear_for_tests();
        }
    }
}
