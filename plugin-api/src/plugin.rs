//! The plugin traits and the runtime behind `export_plugin!`: config
//! collection, construction at init, callback trampolines that never let a
//! panic cross `extern "C"`.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, ConfigItem};
use crate::host::{host, log_raw, need, HostError};
use crate::logging::LogLevel;
use crate::notification::Notification;
use crate::sys;
use crate::util::{str_from_ptr, to_cstring_lossy};
use crate::value::{CdTime, DataSet, ValueList};

/// The error type callbacks return: anything that implements `Error`.
pub type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// A plugin: its name and how it is built from its configuration. Add the
/// capability traits it needs ([`Read`], [`Write`], ...) and list them in
/// [`export_plugin!`](crate::export_plugin).
pub trait Plugin: Send + Sync + Sized + 'static {
    /// The plugin name: `LoadPlugin <NAME>`, `<Plugin NAME>`, file `NAME.so`.
    const NAME: &'static str;

    /// Builds the plugin from its `<Plugin NAME>` blocks (empty if none),
    /// once, during the daemon's init phase. An error disables the plugin.
    fn new(config: &Config) -> Result<Self>;

    /// Called once at daemon shutdown, after the last read and write.
    fn shutdown(&self) -> Result {
        Ok(())
    }
}

/// A plugin that reads values on every interval.
pub trait Read: Plugin {
    /// Reads and dispatches values. An error (or panic) makes the daemon
    /// back off this plugin's reads.
    fn read(&self) -> Result;
}

/// A plugin that stores or forwards every dispatched value list.
pub trait Write: Plugin {
    /// Handles one value list. Called from several write threads at once.
    fn write(&self, values: &ValueList<'_>) -> Result;
}

/// A plugin that buffers and can be asked to flush.
pub trait Flush: Plugin {
    /// Flushes data older than `timeout` (`None`: everything), for
    /// `identifier` only if given.
    fn flush(&self, timeout: Option<Duration>, identifier: Option<&str>) -> Result;
}

/// A plugin that forgets series the daemon declared missing (no value for
/// `Timeout` intervals), as write_prometheus does.
pub trait Missing: Plugin {
    /// Handles one missing series; `values` carries its identifier, time
    /// and interval but no values.
    fn missing(&self, values: &ValueList<'_>) -> Result;
}

/// A plugin that receives log messages (logfile, syslog).
pub trait Log: Plugin {
    /// Handles one message. Must not log through `log::` itself.
    fn log(&self, level: LogLevel, message: &str);
}

/// A plugin that receives notifications.
pub trait Notify: Plugin {
    /// Handles one notification.
    fn notify(&self, notification: &Notification<'_>) -> Result;
}

thread_local! {
    /// Set while a callback runs: the panic hook stores the panic's
    /// location here instead of printing.
    static IN_CALLBACK: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
    /// Set while a log callback runs, so a panic there is not logged
    /// through plugin_log again (which would recurse).
    static IN_LOG: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The plugin this thread works for, when it is not inside a daemon
    /// callback: set while `Plugin::new` runs and by [`set_thread_plugin`].
    static THREAD_PLUGIN: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Names the plugin a thread works for, so that messages its code logs
/// through the `log` macros carry `"<name> plugin: "` when the plugin is
/// built into the daemon (a `.so` prefixes everything it logs anyway).
/// Threads a plugin starts from [`Plugin::new`] call it with
/// [`thread_plugin`] read before spawning.
pub fn set_thread_plugin(name: Option<&'static str>) {
    THREAD_PLUGIN.with(|c| c.set(name));
}

/// The plugin this thread works for (see [`set_thread_plugin`]).
pub fn thread_plugin() -> Option<&'static str> {
    THREAD_PLUGIN.with(|c| c.get())
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Installs this `.so`'s panic hook (each Rust cdylib has its own std, so
/// this does not affect the daemon or other plugins): inside callbacks the
/// location is kept for the error message; panics on the plugin's own
/// threads are logged through plugin_log.
pub(crate) fn install_panic_hook(name: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        let in_cb = IN_CALLBACK.with(|c| {
            let mut c = c.borrow_mut();
            match c.as_mut() {
                Some(slot) => {
                    *slot = loc.clone();
                    true
                }
                None => false,
            }
        });
        if !in_cb {
            let thread = std::thread::current();
            let msg = panic_message(info.payload());
            let text = format!(
                "{name}: panic in thread '{}': {msg}{}",
                thread.name().unwrap_or("<unnamed>"),
                loc.map(|l| format!(" at {l}")).unwrap_or_default()
            );
            if IN_LOG.with(|f| f.get()) {
                eprintln!("{text}");
            } else {
                log_raw(LogLevel::Error.to_raw(), &text);
            }
        }
    }));
}

/// Runs a callback body: panics become a logged error and status -1,
/// errors are logged as `"<name> plugin: <callback> failed: <error>"`.
pub fn guard<F: FnOnce() -> Result>(plugin: &str, callback: &str, f: F) -> c_int {
    let prev = IN_CALLBACK.with(|c| c.borrow_mut().replace(None));
    let r = catch_unwind(AssertUnwindSafe(f));
    let loc = IN_CALLBACK
        .with(|c| std::mem::replace(&mut *c.borrow_mut(), prev))
        .flatten();
    let in_log = IN_LOG.with(|f| f.get());
    let report = |text: String| {
        if in_log {
            eprintln!("{text}");
        } else {
            log_raw(LogLevel::Error.to_raw(), &text);
        }
    };
    match r {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            report(format!("{plugin} plugin: {callback} failed: {e}"));
            -1
        }
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            report(format!(
                "{plugin}: panic in {callback}: {msg}{}",
                loc.map(|l| format!(" (at {l})")).unwrap_or_default()
            ));
            -1
        }
    }
}

/// Per-plugin state kept by `export_plugin!` in a static.
pub struct State<P> {
    config: Mutex<Vec<ConfigItem>>,
    instance: Mutex<Option<Arc<P>>>,
    /// Log plugins are built as soon as they are loaded and rebuilt after
    /// each `<Plugin>` block, so messages of the config phase reach them.
    early: std::sync::atomic::AtomicBool,
}

impl<P> Default for State<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> State<P> {
    /// Empty state (const, for a `static`).
    pub const fn new() -> Self {
        State {
            config: Mutex::new(Vec::new()),
            instance: Mutex::new(None),
            early: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// A function registering one capability for the built plugin.
pub type CapabilityFn<P> = fn(&Arc<P>) -> std::result::Result<(), HostError>;

fn user_data<P: Plugin>(p: &Arc<P>) -> sys::user_data_t {
    unsafe extern "C" fn free_arc<P: Plugin>(data: *mut c_void) {
        if !data.is_null() {
            // SAFETY: `data` came from Arc::into_raw in `user_data` and the
            // daemon calls free_func exactly once per registration.
            drop(unsafe { Arc::from_raw(data as *const P) });
        }
    }
    sys::user_data_t {
        data: Arc::into_raw(Arc::clone(p)) as *mut c_void,
        free_func: Some(free_arc::<P>),
    }
}

/// # Safety
/// `ud` must be a user_data_t built by `user_data::<P>`.
unsafe fn plugin_of<'a, P: Plugin>(ud: *mut sys::user_data_t) -> Option<&'a P> {
    // SAFETY: guaranteed by the caller; the Arc lives until free_func runs,
    // which the daemon does only after the last callback returned.
    unsafe { ud.as_ref().and_then(|ud| (ud.data as *const P).as_ref()) }
}

fn name_c<P: Plugin>() -> std::ffi::CString {
    to_cstring_lossy(P::NAME)
}

fn status(r: c_int, what: &str, name: &str) -> std::result::Result<(), HostError> {
    if r != 0 {
        log_raw(
            LogLevel::Error.to_raw(),
            &format!("{name} plugin: registering the {what} callback failed ({r})"),
        );
    }
    Ok(())
}

/// Registers the read callback (`plugin_register_complex_read`, default
/// interval).
pub fn register_read<P: Read>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Read>(ud: *mut sys::user_data_t) -> c_int {
        // SAFETY: registered below with user_data::<P>.
        match unsafe { plugin_of::<P>(ud) } {
            Some(p) => guard(P::NAME, "read", || p.read()),
            None => -1,
        }
    }
    let f = need(host().register_complex_read, "plugin_register_complex_read")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(std::ptr::null(), name.as_ptr(), Some(cb::<P>), 0, &ud) };
    status(r, "read", P::NAME)
}

/// Registers an additional read callback called `name` (for example one per
/// configured instance), at `interval` (`None`: the plugin's interval).
/// Call it from [`Plugin::new`]; the callback runs like [`Read::read`]
/// (panics and errors are logged under `name` and back the read off).
pub fn register_read_fn<F>(
    name: &str,
    interval: Option<Duration>,
    f: F,
) -> std::result::Result<(), HostError>
where
    F: Fn() -> Result + Send + Sync + 'static,
{
    struct Job<F> {
        name: String,
        f: F,
    }
    unsafe extern "C" fn cb<F: Fn() -> Result + Send + Sync + 'static>(
        ud: *mut sys::user_data_t,
    ) -> c_int {
        // SAFETY: registered below with a Box<Job<F>> that lives until the
        // daemon calls free_func.
        let Some(job) = (unsafe {
            ud.as_ref()
                .and_then(|ud| (ud.data as *const Job<F>).as_ref())
        }) else {
            return -1;
        };
        guard(&job.name, "read", &job.f)
    }
    unsafe extern "C" fn free_job<F>(data: *mut c_void) {
        if !data.is_null() {
            // SAFETY: `data` came from Box::into_raw below; freed once.
            drop(unsafe { Box::from_raw(data as *mut Job<F>) });
        }
    }
    let register = need(host().register_complex_read, "plugin_register_complex_read")?;
    let cname = to_cstring_lossy(name);
    let job = Box::new(Job {
        name: name.to_owned(),
        f,
    });
    let ud = sys::user_data_t {
        data: Box::into_raw(job) as *mut c_void,
        free_func: Some(free_job::<F>),
    };
    let interval = interval.map_or(0, |d| CdTime::from_duration(d).0);
    // SAFETY: valid name and callback; the daemon copies `ud` and owns the
    // job from now on.
    let r = unsafe {
        register(
            std::ptr::null(),
            cname.as_ptr(),
            Some(cb::<F>),
            interval,
            &ud,
        )
    };
    status(r, "read", name)
}

/// Registers the write callback.
pub fn register_write<P: Write>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Write>(
        ds: *const sys::data_set_t,
        vl: *const sys::value_list_t,
        ud: *mut sys::user_data_t,
    ) -> c_int {
        // SAFETY: registered below with user_data::<P>.
        let Some(p) = (unsafe { plugin_of::<P>(ud) }) else {
            return -1;
        };
        // SAFETY: the daemon passes valid pointers for the call's duration.
        let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl.as_ref() }) else {
            return -1;
        };
        // SAFETY: ds describes vl's values (the daemon looked it up by type).
        let view = unsafe { ValueList::from_raw(ds, vl) };
        guard(P::NAME, "write", || p.write(&view))
    }
    let f = need(host().register_write, "plugin_register_write")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
    status(r, "write", P::NAME)
}

/// Registers the flush callback.
pub fn register_flush<P: Flush>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Flush>(
        timeout: sys::cdtime_t,
        id: *const c_char,
        ud: *mut sys::user_data_t,
    ) -> c_int {
        // SAFETY: registered below with user_data::<P>.
        let Some(p) = (unsafe { plugin_of::<P>(ud) }) else {
            return -1;
        };
        let id = if id.is_null() {
            None
        } else {
            // SAFETY: a NUL-terminated string valid during the call.
            Some(unsafe { str_from_ptr(id) })
        };
        let timeout = (timeout != 0).then(|| CdTime(timeout).as_duration());
        guard(P::NAME, "flush", || p.flush(timeout, id))
    }
    let f = need(host().register_flush, "plugin_register_flush")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
    status(r, "flush", P::NAME)
}

/// Registers the missing callback.
pub fn register_missing<P: Missing>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Missing>(
        vl: *const sys::value_list_t,
        ud: *mut sys::user_data_t,
    ) -> c_int {
        // SAFETY: registered below with user_data::<P>.
        let Some(p) = (unsafe { plugin_of::<P>(ud) }) else {
            return -1;
        };
        // SAFETY: the daemon passes a valid value list for the call.
        let Some(vl) = (unsafe { vl.as_ref() }) else {
            return -1;
        };
        let Some(ds) = DataSet::lookup(crate::util::str_from_array(&vl.type_)) else {
            return libc::ENOENT;
        };
        // SAFETY: `ds` is the type's data set; `values()` yields nothing
        // for the value-less list a missing callback gets.
        let view = unsafe { ValueList::from_raw(ds.as_raw(), vl) };
        guard(P::NAME, "missing", || p.missing(&view))
    }
    let f = need(host().register_missing, "plugin_register_missing")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
    status(r, "missing", P::NAME)
}

/// Registers the log callback.
pub fn register_log<P: Log>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Log>(
        severity: c_int,
        msg: *const c_char,
        ud: *mut sys::user_data_t,
    ) {
        // SAFETY: registered below with user_data::<P>.
        let Some(p) = (unsafe { plugin_of::<P>(ud) }) else {
            return;
        };
        // SAFETY: NULL or a NUL-terminated string valid during the call.
        let msg = unsafe { str_from_ptr(msg) };
        let was = IN_LOG.with(|f| f.replace(true));
        guard(P::NAME, "log", || {
            p.log(LogLevel::from_raw(severity), msg);
            Ok(())
        });
        IN_LOG.with(|f| f.set(was));
    }
    let f = need(host().register_log, "plugin_register_log")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
    status(r, "log", P::NAME)
}

/// Registers the notification callback.
pub fn register_notify<P: Notify>(p: &Arc<P>) -> std::result::Result<(), HostError> {
    unsafe extern "C" fn cb<P: Notify>(
        n: *const sys::notification_t,
        ud: *mut sys::user_data_t,
    ) -> c_int {
        // SAFETY: registered below with user_data::<P>.
        let Some(p) = (unsafe { plugin_of::<P>(ud) }) else {
            return -1;
        };
        // SAFETY: the daemon passes a valid notification for the call.
        let Some(n) = (unsafe { n.as_ref() }) else {
            return -1;
        };
        // SAFETY: as above.
        let view = unsafe { Notification::from_raw(n) };
        guard(P::NAME, "notification", || p.notify(&view))
    }
    let f = need(host().register_notification, "plugin_register_notification")?;
    let ud = user_data(p);
    let name = name_c::<P>();
    // SAFETY: valid name and callback; the daemon copies `ud`.
    let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
    status(r, "notification", P::NAME)
}

/// `module_register` body: logger, panic hook, config/init/shutdown. A
/// plugin built into the daemon (`builtin`) leaves the process-wide logger
/// and panic hook to the daemon.
pub fn module_register<P: Plugin>(
    config: unsafe extern "C" fn(*mut sys::oconfig_item_t) -> c_int,
    init: unsafe extern "C" fn() -> c_int,
    shutdown: unsafe extern "C" fn() -> c_int,
    builtin: bool,
) {
    let _ = catch_unwind(|| {
        if !builtin {
            crate::logging::install_logger(P::NAME);
            install_panic_hook(P::NAME);
        }
        let h = host();
        let name = name_c::<P>();
        let (Some(rc), Some(ri), Some(rs)) = (
            h.register_complex_config,
            h.register_init,
            h.register_shutdown,
        ) else {
            log_raw(
                LogLevel::Error.to_raw(),
                &format!(
                    "{} plugin: the host does not export plugin_register_*",
                    P::NAME
                ),
            );
            return;
        };
        // SAFETY: valid NUL-terminated name and callbacks with the
        // prototypes the ABI expects; the daemon copies the name.
        unsafe {
            rc(name.as_ptr(), Some(config));
            ri(name.as_ptr(), Some(init));
            rs(name.as_ptr(), Some(shutdown));
        }
    });
}

/// Complex-config callback body: copies one `<Plugin NAME>` block.
///
/// # Safety
/// `ci` must be NULL or a valid config tree for the duration of the call.
pub unsafe fn config<P: Plugin>(state: &State<P>, ci: *mut sys::oconfig_item_t) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(ci) = (unsafe { ci.as_ref() }) else {
        return -1;
    };
    guard(P::NAME, "config", || {
        // SAFETY: guaranteed by the caller.
        let tree = unsafe { ConfigItem::from_raw(ci) };
        let items = {
            let mut cfg = state.config.lock().unwrap_or_else(|e| e.into_inner());
            cfg.extend(tree.children);
            cfg.clone()
        };
        if state.early.load(std::sync::atomic::Ordering::Acquire) {
            let config = Config {
                plugin: P::NAME.to_owned(),
                items,
            };
            let plugin = P::new(&config).map_err(|e| format!("configuration failed: {e}"))?;
            *state.instance.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(plugin));
        }
        Ok(())
    })
}

/// For log plugins (`export_plugin!(P, log, ..)`): builds the plugin with
/// its defaults at load time and registers the log callback right away,
/// as collectd's own log plugins do in `module_register`.
pub fn early_log<P: Log>(state: &'static State<P>) {
    unsafe extern "C" fn cb<P: Log>(
        severity: c_int,
        msg: *const c_char,
        ud: *mut sys::user_data_t,
    ) {
        // SAFETY: registered below with a pointer to the plugin's static state.
        let Some(state) = (unsafe { ud.as_ref() }).and_then(|ud| {
            // SAFETY: as above; the state is a `static`.
            unsafe { (ud.data as *const State<P>).as_ref() }
        }) else {
            return;
        };
        let Some(p) = state
            .instance
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return;
        };
        // SAFETY: NULL or a NUL-terminated string valid during the call.
        let msg = unsafe { str_from_ptr(msg) };
        let was = IN_LOG.with(|f| f.replace(true));
        guard(P::NAME, "log", || {
            p.log(LogLevel::from_raw(severity), msg);
            Ok(())
        });
        IN_LOG.with(|f| f.set(was));
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        state
            .early
            .store(true, std::sync::atomic::Ordering::Release);
        // Defaults until the <Plugin> block arrives; a plugin that cannot
        // start without configuration just logs nothing until then.
        let prev = IN_CALLBACK.with(|c| c.borrow_mut().replace(None));
        let built = catch_unwind(AssertUnwindSafe(|| P::new(&Config::new(P::NAME))));
        IN_CALLBACK.with(|c| *c.borrow_mut() = prev);
        if let Ok(Ok(plugin)) = built {
            *state.instance.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(plugin));
        }
        let Some(f) = host().register_log else { return };
        let ud = sys::user_data_t {
            data: state as *const State<P> as *mut c_void,
            free_func: None,
        };
        let name = name_c::<P>();
        // SAFETY: valid name and callback; the daemon copies `ud`, whose
        // data points to a `static` and needs no freeing.
        let r = unsafe { f(name.as_ptr(), Some(cb::<P>), &ud) };
        let _ = status(r, "log", P::NAME);
    }));
}

/// The `log` capability at init: already registered by [`early_log`].
pub fn register_log_done<P: Log>(_: &Arc<P>) -> std::result::Result<(), HostError> {
    Ok(())
}

/// Init callback body: builds the plugin and registers its capabilities.
pub fn init<P: Plugin>(state: &State<P>, caps: &[CapabilityFn<P>]) -> c_int {
    guard(P::NAME, "init", || {
        let items = std::mem::take(&mut *state.config.lock().unwrap_or_else(|e| e.into_inner()));
        let config = Config {
            plugin: P::NAME.to_owned(),
            items,
        };
        let was = THREAD_PLUGIN.with(|c| c.replace(Some(P::NAME)));
        let built = P::new(&config);
        THREAD_PLUGIN.with(|c| c.set(was));
        let plugin = Arc::new(built.map_err(|e| format!("configuration failed: {e}"))?);
        for cap in caps {
            cap(&plugin)?;
        }
        *state.instance.lock().unwrap_or_else(|e| e.into_inner()) = Some(plugin);
        Ok(())
    })
}

/// Shutdown callback body.
pub fn shutdown<P: Plugin>(state: &State<P>) -> c_int {
    let mut slot = state.instance.lock().unwrap_or_else(|e| e.into_inner());
    // Log plugins keep logging until the daemon unregisters them.
    let p = if state.early.load(std::sync::atomic::Ordering::Acquire) {
        slot.clone()
    } else {
        slot.take()
    };
    drop(slot);
    match p {
        Some(p) => guard(P::NAME, "shutdown", || p.shutdown()),
        None => 0,
    }
}

/// Writes the plugin's registration function, `pub fn module_register(builtin:
/// bool)`, which registers the listed capabilities (`read`, `write`, `flush`,
/// `log`, `notify`, `missing`):
///
/// ```ignore
/// rcollectd_plugin::export_plugin!(MyPlugin, read);
/// rcollectd_plugin::export_plugin!(Csv, write, flush);
/// ```
///
/// Listing a capability whose trait the type does not implement is a
/// compile error. `config`, `init` and `shutdown` are always registered.
/// The loadable `.so` gets its C entry point from [`export_so!`]; a daemon
/// with the plugin built in calls `module_register(true)` itself.
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty $(, $cap:ident)* $(,)?) => {
        /// Registers this plugin with the daemon: called by the `.so`'s
        /// `module_register` (`builtin` false), or by a daemon that has the
        /// plugin built in (`builtin` true).
        pub fn module_register(builtin: bool) {
            static STATE: $crate::__private::State<$ty> = $crate::__private::State::new();
            unsafe extern "C" fn config(ci: *mut $crate::sys::oconfig_item_t) -> ::std::ffi::c_int {
                // SAFETY: the daemon passes a valid tree for the call.
                unsafe { $crate::__private::config::<$ty>(&STATE, ci) }
            }
            unsafe extern "C" fn init() -> ::std::ffi::c_int {
                $crate::__private::init::<$ty>(
                    &STATE,
                    &[$($crate::__export_capability!($cap, $ty)),*],
                )
            }
            unsafe extern "C" fn shutdown() -> ::std::ffi::c_int {
                $crate::__private::shutdown::<$ty>(&STATE)
            }
            $crate::__private::module_register::<$ty>(config, init, shutdown, builtin);
            $( $crate::__export_early!($cap, $ty, &STATE); )*
        }
    };
}

/// The C entry point of a plugin's loadable `.so`: the `cdylib` target of a
/// plugin crate (its `so.rs`) holds `export_so!(crate_name)` (or the path of
/// the module that has `export_plugin!`), and the `.so` loads in rcollectd
/// and in collectd 5.12 alike.
#[macro_export]
macro_rules! export_so {
    ($($path:ident)::+) => {
        /// Marks the `.so` as built with this SDK (Rust, panics contained),
        /// so rcollectd's `IsolatePlugins` leaves it in process.
        #[no_mangle]
        #[used]
        pub static rcollectd_sdk_plugin: [u8; 21] = *b"rcollectd-sdk-plugin\0";

        /// Entry point the daemon calls after loading this plugin.
        #[no_mangle]
        pub extern "C" fn module_register() {
            $($path)::+::module_register(false)
        }
    };
}

/// Registers a capability at load time (only `log`).
#[doc(hidden)]
#[macro_export]
macro_rules! __export_early {
    (log, $ty:ty, $state:expr) => {
        $crate::__private::early_log::<$ty>($state)
    };
    ($other:ident, $ty:ty, $state:expr) => {};
}

/// Maps a capability name of `export_plugin!` to its registration function.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_capability {
    (read, $ty:ty) => {
        $crate::__private::register_read::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    (write, $ty:ty) => {
        $crate::__private::register_write::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    (flush, $ty:ty) => {
        $crate::__private::register_flush::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    (log, $ty:ty) => {
        $crate::__private::register_log_done::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    (notify, $ty:ty) => {
        $crate::__private::register_notify::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    (missing, $ty:ty) => {
        $crate::__private::register_missing::<$ty> as $crate::__private::CapabilityFn<$ty>
    };
    ($other:ident, $ty:ty) => {
        compile_error!(concat!(
            "unknown capability `",
            stringify!($other),
            "`: expected read, write, flush, log, notify or missing"
        ))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_panics_and_errors_into_status() {
        let cap = crate::testing::capture(|| {
            assert_eq!(guard("t", "read", || Ok(())), 0);
            assert_eq!(guard("t", "read", || Err("disk gone".into())), -1);
            assert_eq!(guard("t", "write", || panic!("boom {}", 7)), -1);
        });
        assert_eq!(cap.logs.len(), 2);
        assert_eq!(
            cap.logs[0],
            (
                LogLevel::Error,
                "t plugin: read failed: disk gone".to_string()
            )
        );
        assert_eq!(cap.logs[1].0, LogLevel::Error);
        assert!(
            cap.logs[1].1.starts_with("t: panic in write: boom 7"),
            "{}",
            cap.logs[1].1
        );
    }

    struct Dummy;
    impl Plugin for Dummy {
        const NAME: &'static str = "dummy";
        fn new(config: &Config) -> Result<Self> {
            if config.get("Fail").is_some() {
                return Err("asked to fail".into());
            }
            if config.get("Panic").is_some() {
                panic!("asked to panic");
            }
            Ok(Dummy)
        }
    }

    #[test]
    fn init_reports_config_errors_and_panics() {
        let state = State::<Dummy>::new();
        state
            .config
            .lock()
            .unwrap()
            .push(ConfigItem::new("Fail", vec![]));
        let cap = crate::testing::capture(|| init(&state, &[]));
        assert_eq!(cap.result, -1);
        assert_eq!(
            cap.logs[0].1,
            "dummy plugin: init failed: configuration failed: asked to fail"
        );
        state
            .config
            .lock()
            .unwrap()
            .push(ConfigItem::new("Panic", vec![]));
        let cap = crate::testing::capture(|| init(&state, &[]));
        assert_eq!(cap.result, -1);
        assert!(cap.logs[0]
            .1
            .starts_with("dummy: panic in init: asked to panic"));
        let cap = crate::testing::capture(|| init(&state, &[]));
        assert_eq!(cap.result, 0);
        assert!(state.instance.lock().unwrap().is_some());
        assert_eq!(shutdown(&state), 0);
        assert!(state.instance.lock().unwrap().is_none());
    }
}
