//! The engine's state as one value. The collectd ABI has no handle to pass
//! (a plugin calls `plugin_register_read` or `global_option_get` with no
//! context), so the exported functions and the orchestration above the
//! engine reach the process's runtime through [`runtime`]; the parts below
//! get what they work with when they are built. Everything it holds is
//! built here, once.
//!
//! A unit test builds a runtime of its own and makes it the one its thread
//! sees with `testing::scoped` (test builds only), instead of sharing the
//! process's behind a lock.

use std::sync::atomic::AtomicBool;
use std::sync::LazyLock;

use crate::cache::Cache;
use crate::config::globals::{CStrings, Settings};
use crate::dispatch::Dispatch;
use crate::isolate::Isolation;
use crate::plugins::loader::Loader;
use crate::plugins::registry::Registry;
use crate::schedule::Scheduler;

/// Everything the engine keeps between configuration and shutdown.
pub struct Runtime {
    /// The global options in force: `global_option_get`/`_set`, and what
    /// the engine starts from (threads, queue limits, intervals).
    pub settings: Settings,
    /// The C strings `global_option_get` has handed out.
    pub option_strings: CStrings,
    /// The read scheduler.
    pub scheduler: Scheduler,
    /// The plugins loaded (`LoadPlugin`), and `PluginDir`.
    pub plugins: Loader,
    /// The callbacks plugins registered, and the data sets.
    pub registry: &'static Registry,
    /// The value cache: last values, rates, missing detection.
    pub cache: &'static Cache,
    /// The dispatch path: chains, cache updates, one queue per output.
    pub dispatch: &'static Dispatch,
    /// The plugins that run isolated (`Isolate true`) and their host
    /// processes.
    pub isolation: Isolation,
    /// Whether the plugins are initialised and the engine runs (between
    /// `plugin_init_all` and `plugin_shutdown_all`).
    pub started: AtomicBool,
}

impl Runtime {
    /// A runtime with default settings and nothing registered. Its
    /// registry, cache and dispatch path are never freed: writer threads
    /// and plugins' C code hold references into them.
    pub fn new() -> Runtime {
        let registry: &'static Registry = Box::leak(Box::default());
        let cache: &'static Cache = Box::leak(Box::default());
        let dispatch = Dispatch::new(registry, cache);
        Runtime {
            settings: Settings::new(),
            option_strings: CStrings::default(),
            scheduler: Scheduler::new(),
            plugins: Loader::default(),
            registry,
            cache,
            dispatch,
            isolation: Isolation::new(dispatch, registry),
            started: AtomicBool::new(false),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

static PROCESS: LazyLock<Runtime> = LazyLock::new(Runtime::new);

/// The runtime the calling thread works for: the process's (in a unit
/// test, the one the test made current on its thread).
#[inline]
pub fn runtime() -> &'static Runtime {
    #[cfg(test)]
    if let Some(rt) = testing::current() {
        return rt;
    }
    &PROCESS
}

/// Runtimes of unit tests.
#[cfg(test)]
pub mod testing {
    use super::Runtime;
    use std::cell::Cell;

    thread_local! {
        static CURRENT: Cell<Option<&'static Runtime>> = const { Cell::new(None) };
    }

    pub(super) fn current() -> Option<&'static Runtime> {
        CURRENT.with(Cell::get)
    }

    /// Makes `rt` the calling thread's runtime until the guard is dropped.
    /// The runtime is leaked: plugins' C code may keep pointers into it.
    pub fn scoped(rt: Runtime) -> Scoped {
        let rt: &'static Runtime = Box::leak(Box::new(rt));
        Scoped(CURRENT.with(|c| c.replace(Some(rt))))
    }

    /// The guard of [`scoped`].
    pub struct Scoped(Option<&'static Runtime>);

    impl Drop for Scoped {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
}
