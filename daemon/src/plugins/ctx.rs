//! The thread-local plugin context (`plugin_ctx_t`): which plugin is running
//! on this thread, with which interval and flush settings.
//!
//! collectd sets the context around every callback so that `plugin_get_interval`
//! and `daemon_log` know who is calling; rcollectd does the same.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::sync::Mutex;

use rcollectd_plugin::sys::{cdtime_t, plugin_ctx_t};

/// A `plugin_ctx_t` that may be stored in shared registries.
///
/// The name pointer either comes from [`intern`] (immutable, never freed) or
/// from a plugin that handed it to `plugin_set_ctx`, exactly as in collectd.
#[derive(Clone, Copy, Debug)]
pub struct Ctx(pub plugin_ctx_t);

// SAFETY: the only pointer inside is the plugin name, which points at an
// immutable, never-freed string (see `intern`); sharing it is read-only.
unsafe impl Send for Ctx {}
// SAFETY: as above, the contents are never mutated through a shared Ctx.
unsafe impl Sync for Ctx {}

/// An empty context: no plugin, no interval.
pub const EMPTY: plugin_ctx_t = plugin_ctx_t {
    name: std::ptr::null_mut(),
    interval: 0,
    flush_interval: 0,
    flush_timeout: 0,
};

thread_local! {
    static CURRENT: Cell<plugin_ctx_t> = const { Cell::new(EMPTY) };
}

static NAMES: Mutex<Option<HashMap<String, &'static CStr>>> = Mutex::new(None);

/// Returns a stable, NUL-terminated copy of `name` for `plugin_ctx_t.name`.
///
/// Names are deduplicated and live for the whole process (there are only as
/// many as there are plugins), so contexts can be copied freely between threads.
pub fn intern(name: &str) -> *mut c_char {
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(s) = map.get(name) {
        return s.as_ptr().cast_mut();
    }
    let clean: String = name.chars().filter(|&c| c != '\0').collect();
    let leaked: &'static CStr =
        Box::leak(CString::new(clean).unwrap_or_default().into_boxed_c_str());
    map.insert(name.to_owned(), leaked);
    leaked.as_ptr().cast_mut()
}

/// The calling thread's current context.
pub fn get() -> plugin_ctx_t {
    CURRENT.with(|c| c.get())
}

/// Replaces the calling thread's context, returning the previous one.
pub fn set(ctx: plugin_ctx_t) -> plugin_ctx_t {
    CURRENT.with(|c| c.replace(ctx))
}

/// Restores the previous context when dropped, so a callback cannot leak its
/// context into the caller even if it unwinds.
#[must_use = "the context is restored when the guard is dropped"]
pub struct Guard(plugin_ctx_t);

impl Drop for Guard {
    fn drop(&mut self) {
        set(self.0);
    }
}

/// Sets `ctx` for the rest of the scope.
pub fn enter(ctx: plugin_ctx_t) -> Guard {
    Guard(set(ctx))
}

/// Builds a context for plugin `name` with the given timings.
pub fn make(
    name: &str,
    interval: cdtime_t,
    flush_interval: cdtime_t,
    flush_timeout: cdtime_t,
) -> plugin_ctx_t {
    plugin_ctx_t {
        name: intern(name),
        interval,
        flush_interval,
        flush_timeout,
    }
}

/// The plugin name stored in `ctx`, if any.
pub fn name_of(ctx: &plugin_ctx_t) -> Option<String> {
    if ctx.name.is_null() {
        return None;
    }
    // SAFETY: a non-null ctx name is a NUL-terminated string that outlives the
    // context (interned by us or owned by the plugin that set it).
    Some(
        unsafe { CStr::from_ptr(ctx.name) }
            .to_string_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_is_stable_and_deduplicated() {
        let a = intern("cpu");
        let b = intern("cpu");
        assert_eq!(a, b);
        assert_ne!(a, intern("memory"));
        let ctx = make("cpu", 1, 0, 0);
        assert_eq!(name_of(&ctx).as_deref(), Some("cpu"));
    }

    #[test]
    fn guard_restores_previous_context() {
        let outer = make("outer", 10, 0, 0);
        let _o = enter(outer);
        {
            let _g = enter(make("inner", 20, 5, 6));
            assert_eq!(get().interval, 20);
            assert_eq!(name_of(&get()).as_deref(), Some("inner"));
        }
        assert_eq!(get().interval, 10);
        assert_eq!(name_of(&get()).as_deref(), Some("outer"));
    }

    #[test]
    fn context_is_per_thread() {
        let _g = enter(make("main-thread", 7, 0, 0));
        let seen = std::thread::spawn(|| get().interval).join().unwrap();
        assert_eq!(seen, 0);
        assert_eq!(get().interval, 7);
    }
}
