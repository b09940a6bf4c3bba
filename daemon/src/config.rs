//! collectd.conf as the daemon serves it: the core's parser and settings,
//! plus the C strings `global_option_get` hands to plugins.

pub use rcollectd_core::config::*;

/// The global options: the core's store, and its C view for plugins.
pub mod globals {
    use std::collections::HashMap;
    use std::ffi::CString;
    use std::sync::Mutex;

    pub use rcollectd_core::config::globals::*;

    /// The C strings `global_option_get` hands out, per option. Replaced
    /// strings are retired, never freed, because C callers may still hold
    /// them; the number retired is bounded by the number of option changes.
    #[derive(Default)]
    pub struct CStrings(Mutex<Strings>);

    #[derive(Default)]
    struct Strings {
        live: HashMap<Opt, CString>,
        retired: Vec<CString>,
    }

    impl CStrings {
        /// `global_option_get` for C: a pointer that stays valid as long as
        /// `self`. Null for unknown options (logged) and unset options.
        pub fn get(&self, settings: &Settings, key: &str) -> *const libc::c_char {
            let Some((_, opt)) = lookup_table(key) else {
                log::error!("configfile: Cannot get unknown global option `{key}'.");
                return std::ptr::null();
            };
            let Some(value) = settings.current().render(opt) else {
                return std::ptr::null();
            };
            let Ok(c) = CString::new(value) else {
                return std::ptr::null();
            };
            let mut strings = self.0.lock().unwrap_or_else(|e| e.into_inner());
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
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn c_strings_keep_their_pointer_while_unchanged() {
            let settings = Settings::new();
            let strings = CStrings::default();
            assert_eq!(settings.option_set("Interval", Some("7"), false), 0);
            let p1 = strings.get(&settings, "Interval");
            let p2 = strings.get(&settings, "INTERVAL");
            assert_eq!(p1, p2, "unchanged values keep their pointer");
            assert!(strings.get(&settings, "Bogus").is_null());
            assert_eq!(settings.option_set("Interval", Some("8"), false), 0);
            let p3 = strings.get(&settings, "Interval");
            assert_ne!(p1, p3, "a changed value gets a new string");
            // SAFETY: the retired string is kept alive by `strings`.
            let old = unsafe { std::ffi::CStr::from_ptr(p1) };
            assert_eq!(old.to_str().unwrap(), "7.000000");
        }
    }
}
