//! Orchestration: configure (walk collectd.conf in file order, loading
//! plugins and feeding their config callbacks), start (init callbacks, write
//! threads, read threads), `-T` single read, flush and an orderly shutdown in
//! collectd's order.

use std::ffi::{c_int, CStr, CString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use rcollectd_plugin::sys::{cdtime_t, value_list_t, value_t};

use crate::abi::callbacks::InCtx;
use crate::abi::ffi::set_cstr_field;
use crate::abi::globals;
use crate::config::globals::Globals;
use crate::config::{self, Item, Location, Value};
use crate::dispatch::{self, QueueLimits};
use crate::plugins::ctx::{self, Ctx};
use crate::plugins::{loader, log as plog};
use crate::runtime::runtime;
use crate::schedule::ReadFunc;

/// Command-line inputs the daemon needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The collectd.conf to read (also the name errors are reported under).
    pub config_file: PathBuf,
    /// Config text to use instead of reading `config_file` (the built-in default).
    pub config_text: Option<String>,
    /// `-t`: settings collectd silently ignores (unknown global options) are errors.
    pub strict: bool,
}

/// A configuration or runtime error, with the config location when known.
#[derive(Debug, Clone)]
pub struct DaemonError {
    location: Option<Location>,
    message: String,
}

impl DaemonError {
    fn at(location: &Location, message: impl Into<String>) -> Self {
        DaemonError {
            location: Some(location.clone()),
            message: message.into(),
        }
    }

    fn msg(message: impl Into<String>) -> Self {
        DaemonError {
            location: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DaemonError {}

impl From<config::ConfigError> for DaemonError {
    fn from(e: config::ConfigError) -> Self {
        DaemonError {
            location: e.location,
            message: e.message,
        }
    }
}

/// Installs the logger: the daemon's messages and every plugin log line go
/// to the registered log plugins, or to stderr (`[2026-12-04 18:51:50]
/// message`, as collectd's logfile prints; `RUST_LOG` filters, default info)
/// until the first log plugin registers.
pub fn init_logging() {
    plog::init();
}

/// Settings the running engine reads, derived from the global options
/// where they are used, so each has one home: the config store.
#[derive(Debug, Clone)]
struct EngineSettings {
    read_threads: usize,
    write_threads: usize,
    limits: QueueLimits,
    max_read_interval: cdtime_t,
    collect_internal_stats: bool,
}

impl EngineSettings {
    fn of(g: &Globals) -> EngineSettings {
        // An invalid pair was reported at configuration; this is its fallback.
        let (high, low) = g
            .write_queue_limits()
            .unwrap_or((g.write_queue_limit_high, g.write_queue_limit_high / 2));
        EngineSettings {
            read_threads: if g.read_threads > 0 {
                g.read_threads
            } else {
                5
            },
            write_threads: if g.write_threads > 0 {
                g.write_threads
            } else {
                5
            },
            limits: QueueLimits::from_config(high, low),
            max_read_interval: secs_to_cdtime(g.max_read_interval),
            collect_internal_stats: g.collect_internal_stats,
        }
    }
}

fn engine_settings() -> EngineSettings {
    EngineSettings::of(&runtime().settings.current())
}

/// A configured duration in seconds; 0 (unset) unless positive and finite.
fn secs_to_cdtime(s: f64) -> cdtime_t {
    if s.is_finite() && s > 0.0 {
        crate::time::from_f64(s)
    } else {
        0
    }
}

/// The configured daemon.
pub struct Daemon {
    globals: Globals,
    started: bool,
}

/// collectd's default types.db location.
const COLLECTD_TYPES_DB: &str = "/usr/share/collectd/types.db";

impl Daemon {
    /// Reads the config and applies it in file order: global options at once,
    /// `LoadPlugin` loads immediately, `<Plugin>` blocks go to the plugin's
    /// config callbacks; then types.db, hostname, `interval_g`, `timeout_g`.
    pub fn configure(opts: &Options) -> Result<Daemon, DaemonError> {
        let mut parsed = match &opts.config_text {
            Some(text) => config::parse_str_checked(text, &opts.config_file)?,
            None => config::parse_file_checked(&opts.config_file)?,
        };
        // collectd logs these and runs without the item; `-t` fails on them.
        let soft_errors = if opts.strict {
            std::mem::take(&mut parsed.soft_errors)
        } else {
            Vec::new()
        };
        let root = parsed.logging_soft_errors();
        let mut walker = Walker {
            globals: Globals::default(),
            errors: Vec::new(),
            types_loaded: 0,
            strict: opts.strict,
        };
        walker.sync_globals();
        for item in &root.children {
            walker.item(item);
        }
        let Walker {
            globals: g,
            mut errors,
            types_loaded,
            ..
        } = walker;
        errors.splice(0..0, soft_errors.into_iter().map(DaemonError::from));
        // Options given on the command line win over the file (collectd's rule).
        runtime().settings.set(g);
        let g = (*runtime().settings.current()).clone();
        if let Err(e) = g.write_queue_limits() {
            errors.push(e.into());
        }

        if g.types_db.is_empty() && types_loaded == 0 {
            if Path::new(COLLECTD_TYPES_DB).is_file() {
                if let Err(e) = load_types_files(&[PathBuf::from(COLLECTD_TYPES_DB)]) {
                    errors.push(e);
                }
            } else {
                load_builtin_types();
            }
        }

        if let Err(e) = init_hostname(&g) {
            errors.push(e);
        }
        let timeout = g.timeout;
        if timeout <= 1 {
            errors.push(DaemonError::msg(
                "Cannot set the timeout to a correct value (Timeout must be at least 2). Please check your settings.",
            ));
        }
        globals::set_timeout(timeout as c_int);
        globals::set_interval(secs_to_cdtime(g.interval));
        for warning in crate::runtime::runtime()
            .dispatch
            .chains()
            .activate(&g.pre_cache_chain, &g.post_cache_chain)
        {
            if opts.strict {
                errors.push(DaemonError::msg(warning));
            } else {
                log::warn!("{warning}");
            }
        }

        if let Some(first) = errors.first() {
            let mut e = first.clone();
            for other in errors.iter().skip(1) {
                e.message.push('\n');
                e.message.push_str(&other.to_string());
            }
            return Err(e);
        }
        Ok(Daemon {
            globals: g,
            started: false,
        })
    }

    /// The global options as configured.
    pub fn globals(&self) -> &Globals {
        &self.globals
    }

    /// Runs init callbacks (in load order), then starts the write threads and
    /// the read threads. Housekeeping (collectd's main loop's per-interval
    /// work) is scheduled as a read of the global interval, so it runs in the
    /// same wake-up as the reads instead of waking a thread of its own.
    pub fn start(&mut self) -> Result<(), DaemonError> {
        let ok = init_all_with(true);
        self.started = true;
        if ok {
            Ok(())
        } else {
            // collectd logs and keeps running with the plugins that did init.
            log::error!("Error: one or more plugin init callbacks failed.");
            Ok(())
        }
    }

    /// `-T`: init, one read of every read callback, write everything, flush,
    /// shutdown. Errors if any init or read failed.
    pub fn read_once(&mut self) -> Result<(), DaemonError> {
        let init_ok = init_all_with(false);
        let read_ok = runtime().scheduler.read_all_once();
        let shut_ok = shutdown_all();
        match (init_ok, read_ok, shut_ok) {
            (true, true, true) => Ok(()),
            (false, _, _) => Err(DaemonError::msg(
                "Error: one or more plugin init callbacks failed.",
            )),
            (_, false, _) => Err(DaemonError::msg(
                "Error: one or more plugin read callbacks failed.",
            )),
            (_, _, false) => Err(DaemonError::msg(
                "Error: one or more plugin shutdown callbacks failed.",
            )),
        }
    }

    /// SIGUSR1: flush every writer.
    pub fn flush_all(&self) {
        crate::runtime::runtime().dispatch.flush(None, 0, None);
    }

    /// Stops reads, drains the queue into the writers, flushes, runs shutdown
    /// callbacks, frees every callback's user data, forgets the plugins.
    pub fn shutdown(self) {
        log::info!("Exiting normally.");
        let ok = shutdown_all();
        crate::runtime::runtime().dispatch.chains().shutdown();
        if !ok {
            log::error!("Error: one or more plugin shutdown callbacks failed.");
        }
    }
}

struct Walker {
    globals: Globals,
    errors: Vec<DaemonError>,
    types_loaded: usize,
    strict: bool,
}

impl Walker {
    /// Mirrors what plugins can observe of the globals while configuring.
    fn sync_globals(&mut self) {
        globals::set_interval(secs_to_cdtime(self.globals.interval));
        runtime().plugins.set_dir(self.globals.plugin_dir.clone());
        runtime().settings.set(self.globals.clone());
    }

    fn item(&mut self, item: &Item) {
        let key = item.key.to_ascii_lowercase();
        match key.as_str() {
            "loadplugin" => self.load_plugin(item),
            "plugin" => self.plugin_block(item),
            "chain" => {
                if let Err(e) = crate::runtime::runtime().dispatch.chains().configure(item) {
                    self.errors.push(e.into());
                }
            }
            _ => match self.globals.apply(item) {
                Ok(true) => {
                    runtime().isolation.note_global(item);
                    self.sync_globals();
                    if self.globals.types_db.len() > self.types_loaded {
                        let new: Vec<PathBuf> = self.globals.types_db[self.types_loaded..].to_vec();
                        self.types_loaded = self.globals.types_db.len();
                        if let Err(e) = load_types_files(&new) {
                            self.errors.push(DaemonError::at(&item.location, e.message));
                        }
                    }
                }
                // collectd 5.12 silently ignores unknown top-level options;
                // rcollectd runs the same files but says so, and `-t` fails.
                Ok(false) if self.strict => self
                    .errors
                    .push(crate::config::globals::unknown_error(item).into()),
                Ok(false) => log::warn!(
                    "{}; ignoring it",
                    crate::config::globals::unknown_error(item)
                ),
                Err(e) => self.errors.push(e.into()),
            },
        }
    }

    fn load_plugin(&mut self, item: &Item) {
        let lp = match crate::config::globals::parse_load_plugin(item) {
            Ok(lp) => lp,
            Err(e) => {
                self.errors.push(e.into());
                return;
            }
        };
        let name = if lp.name == "libvirt" {
            "virt".to_owned()
        } else {
            lp.name.clone()
        };
        let interval = lp
            .interval
            .map(secs_to_cdtime)
            .filter(|&t| t > 0)
            .unwrap_or_else(|| secs_to_cdtime(self.globals.interval));
        if self.isolates(&lp, &name) {
            runtime().isolation.register(&name, item, interval);
            log::info!("plugin_load: plugin \"{name}\" will run isolated in a process of its own.");
            return;
        }
        let c = ctx::make(
            &name,
            interval,
            lp.flush_interval.map(secs_to_cdtime).unwrap_or(0),
            lp.flush_timeout.map(secs_to_cdtime).unwrap_or(0),
        );
        if let Err(e) = runtime().plugins.load(&name, lp.globals, c) {
            self.errors
                .push(DaemonError::at(&item.location, e.to_string()));
        }
    }

    /// Whether `name` runs in a process of its own: `Isolate true`, or
    /// `IsolatePlugins true` and it is not one of rcollectd's SDK plugins.
    /// `-t` loads it here all the same (to test it), and a host process
    /// never isolates again.
    fn isolates(&self, lp: &crate::config::globals::LoadPlugin, name: &str) -> bool {
        if self.strict || crate::isolate::child::is_host() {
            return false;
        }
        lp.isolate
            || (self.globals.isolate_plugins
                && runtime()
                    .plugins
                    .locate(name)
                    .is_some_and(|f| !loader::is_sdk_plugin(&f)))
    }

    fn plugin_block(&mut self, item: &Item) {
        let name = match item.values.first() {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                self.errors.push(DaemonError::at(
                    &item.location,
                    "First argument of `Plugin' block should be a string.",
                ));
                return;
            }
            None => {
                self.errors.push(DaemonError::at(
                    &item.location,
                    "The `Plugin' block requires arguments.",
                ));
                return;
            }
        };
        let name = if name == "libvirt" {
            "virt".to_owned()
        } else {
            name
        };
        if runtime().isolation.is_isolated(&name) {
            runtime().isolation.add_block(&name, item);
            return;
        }
        if !runtime().plugins.is_loaded(&name) && self.globals.auto_load_plugin {
            let c = ctx::make(&name, secs_to_cdtime(self.globals.interval), 0, 0);
            if let Err(e) = runtime().plugins.load(&name, false, c) {
                self.errors.push(DaemonError::at(
                    &item.location,
                    format!("Automatically loading plugin `{name}' failed: {e}"),
                ));
                return;
            }
        }
        if !runtime().plugins.is_loaded(&name) {
            log::warn!(
                "{}: There is configuration for the `{name}' plugin, but the plugin isn't loaded. \
                 Please check your configuration.",
                item.location
            );
            return;
        }
        let complex = runtime()
            .registry
            .complex_config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.plugin.eq_ignore_ascii_case(&name))
            .cloned();
        if let Some(cb) = complex {
            let tree = crate::abi::oconfig::to_oconfig(item);
            // SAFETY: `tree` is a freshly built, valid oconfig tree we free below.
            let status = unsafe { cb.config(tree) };
            // SAFETY: built by to_oconfig, freed once.
            unsafe { crate::abi::oconfig::oconfig_free(tree) };
            if status != 0 {
                self.errors.push(DaemonError::at(
                    &item.location,
                    format!("Plugin `{name}' failed to handle its configuration block, return code: {status}"),
                ));
            }
            return;
        }
        if item.children.is_empty() {
            return;
        }
        let simple = runtime()
            .registry
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.plugin.eq_ignore_ascii_case(&name))
            .cloned();
        let Some(cb) = simple else {
            self.errors.push(DaemonError::at(
                &item.location,
                format!(
                    "Found a configuration for the `{name}' plugin, but the plugin didn't register a \
                     configuration callback."
                ),
            ));
            return;
        };
        for child in &item.children {
            if !child.children.is_empty() {
                log::warn!(
                    "{}: There is a `{}' block within the configuration for the `{name}' plugin. The \
                     plugin only expects \"simple\" configuration options. Blocks are not supported.",
                    child.location,
                    child.key
                );
                continue;
            }
            if !cb.keys.iter().any(|k| k.eq_ignore_ascii_case(&child.key)) {
                self.errors.push(DaemonError::at(
                    &child.location,
                    format!(
                        "Plugin `{name}' did not register for value `{}'.",
                        child.key
                    ),
                ));
                return;
            }
            let value = crate::config::render_values(&child.values);
            let (Ok(k), Ok(v)) = (CString::new(child.key.clone()), CString::new(value)) else {
                self.errors.push(DaemonError::at(
                    &child.location,
                    "option contains a NUL byte",
                ));
                return;
            };
            let status = cb.config(&k, &v);
            if status != 0 {
                self.errors.push(DaemonError::at(
                    &child.location,
                    format!(
                        "Plugin `{name}' failed to handle option `{}', return code: {status}",
                        child.key
                    ),
                ));
                return;
            }
        }
    }
}

fn register_types(db: crate::types_db::TypesDb) {
    for ds in db.into_sets() {
        runtime().registry.add_type(ds);
    }
}

/// Loads types.db files into the data-set registry. An unreadable file is an
/// error (collectd then refuses to start); a bad line is logged and skipped.
/// `cf_read`: reads another config file and applies it as the main one is
/// applied (global options, `LoadPlugin`, `<Plugin>` and `<Chain>` blocks).
pub(crate) fn apply_config_file(path: &Path) -> Result<(), DaemonError> {
    let root = config::parse_file(path)?;
    let globals = (*runtime().settings.current()).clone();
    let mut walker = Walker {
        types_loaded: globals.types_db.len(),
        globals,
        errors: Vec::new(),
        strict: false,
    };
    for item in &root.children {
        walker.item(item);
    }
    runtime().settings.set(walker.globals);
    match walker.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Loads types.db files into the data-set registry (later files win).
pub(crate) fn load_types_files(files: &[PathBuf]) -> Result<(), DaemonError> {
    let (db, problems) = crate::types_db::TypesDb::load_files(files);
    register_types(db);
    let mut fatal = None;
    for p in problems {
        if p.location.is_some() {
            // collectd logs a bad types.db line as an error and skips it.
            log::error!("{p}");
        } else if fatal.is_none() {
            fatal = Some(DaemonError::from(p));
        }
    }
    fatal.map_or(Ok(()), Err)
}

fn load_builtin_types() {
    register_types(crate::types_db::TypesDb::builtin());
}

fn init_hostname(g: &Globals) -> Result<(), DaemonError> {
    if let Some(h) = g.hostname.as_deref().filter(|h| !h.is_empty()) {
        globals::set_hostname(h);
        return Ok(());
    }
    let host = nix::unistd::gethostname()
        .map_err(|e| {
            DaemonError::msg(format!(
                "`gethostname' failed and no hostname was configured: {e}"
            ))
        })?
        .to_string_lossy()
        .into_owned();
    globals::set_hostname(&host);
    if !g.fqdn_lookup {
        return Ok(());
    }
    match canonical_name(&host) {
        Some(fqdn) => globals::set_hostname(&fqdn),
        None => log::error!(
            "Looking up \"{host}\" failed. You have set the \"FQDNLookup\" option, but I cannot \
             resolve my hostname to a fully qualified domain name. Please fix the network configuration."
        ),
    }
    Ok(())
}

/// getaddrinfo(AI_CANONNAME): the first canonical name, as collectd.
fn canonical_name(host: &str) -> Option<String> {
    let c = CString::new(host).ok()?;
    // SAFETY: zeroed addrinfo is a valid "no hints" value; we set the flag.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid host string, hints and out pointer.
    if unsafe { libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut list) } != 0 {
        return None;
    }
    let mut result = None;
    let mut p = list;
    while !p.is_null() {
        // SAFETY: walking the list getaddrinfo returned.
        let ai = unsafe { &*p };
        if !ai.ai_canonname.is_null() {
            // SAFETY: ai_canonname is a valid C string.
            result = Some(
                unsafe { CStr::from_ptr(ai.ai_canonname) }
                    .to_string_lossy()
                    .into_owned(),
            );
            break;
        }
        p = ai.ai_next;
    }
    // SAFETY: freeing the list we received.
    unsafe { libc::freeaddrinfo(list) };
    result
}

/// `plugin_init_all` semantics: init callbacks in order (a failure removes
/// that plugin's read callbacks), then write threads, then read threads.
pub fn init_all() -> bool {
    init_all_with(true)
}

fn init_all_with(start_readers: bool) -> bool {
    crate::plugins::log::plugins_started();
    let rt = engine_settings();
    // What a run of reads dispatches reaches the writers in one batch.
    runtime()
        .scheduler
        .set_run_scope(crate::schedule::RunScope {
            begin: dispatch::batch_begin,
            end: dispatch::batch_end,
        });
    crate::runtime::runtime().dispatch.set_limits(rt.limits);
    runtime()
        .scheduler
        .set_max_read_interval(rt.max_read_interval);
    if !runtime().started.swap(true, Ordering::SeqCst) && rt.collect_internal_stats {
        register_internal_stats();
    }
    let mut ok = true;
    for cb in runtime().registry.init.snapshot().iter() {
        let status = rcollectd_core::registry::Call::call(cb.as_ref());
        if status != 0 {
            log::error!(
                "Initialization of plugin `{}' failed with status {status}. Plugin will be unloaded.",
                cb.name
            );
            runtime().scheduler.unregister_plugin(&cb.name);
            ok = false;
        }
    }
    crate::runtime::runtime()
        .dispatch
        .start_writers(rt.write_threads);
    if start_readers {
        register_housekeeping();
        runtime().scheduler.start(rt.read_threads);
        runtime().isolation.start_all(rt.max_read_interval);
    }
    ok
}

/// The read name of [`housekeeping`], one no plugin registers (plugins
/// register reads under their own name, or `name/instance`).
const HOUSEKEEPING_READ: &str = "rcollectd:housekeeping";

/// Schedules [`housekeeping`] every global interval, with the reads.
fn register_housekeeping() {
    let read = InCtx {
        ctx: Ctx(ctx::EMPTY),
        read: || {
            housekeeping();
            0
        },
    };
    let _ = runtime().scheduler.register(ReadFunc::new(
        HOUSEKEEPING_READ,
        "",
        "",
        Box::new(read),
        globals::interval(),
    ));
}

fn register_internal_stats() {
    let c = ctx::make("collectd", globals::interval(), 0, 0);
    let read = InCtx {
        ctx: Ctx(c),
        read: || {
            dispatch_internal_stats();
            0
        },
    };
    let _ = runtime().scheduler.register(ReadFunc::new(
        "collectd",
        "",
        "collectd",
        Box::new(read),
        globals::interval(),
    ));
}

/// Dispatches collectd's own statistics under the identifiers collectd 5.12
/// uses: `collectd-write_queue/queue_length`, `.../derive-dropped` (sums
/// over the outputs), `collectd-cache/cache_size`; and per output
/// `collectd-output-<name>/queue_length` and `.../derive-dropped`.
fn dispatch_internal_stats() {
    let st = crate::runtime::runtime().dispatch.stats();
    let queue = crate::runtime::runtime().dispatch.queue_length().max(0) as f64;
    let dropped = st.dropped_queue_full.load(Ordering::Relaxed) as i64;
    let send = |pi: &str, ty: &str, ti: &str, v: value_t| {
        let mut value = v;
        let mut vl = value_list_t {
            values: &mut value,
            values_len: 1,
            ..Default::default()
        };
        set_cstr_field(&mut vl.plugin, "collectd");
        set_cstr_field(&mut vl.plugin_instance, pi);
        set_cstr_field(&mut vl.type_, ty);
        set_cstr_field(&mut vl.type_instance, ti);
        // SAFETY: a valid value list on our stack.
        unsafe { crate::runtime::runtime().dispatch.dispatch_values(&vl) };
    };
    send("write_queue", "queue_length", "", value_t { gauge: queue });
    send(
        "write_queue",
        "derive",
        "dropped",
        value_t { derive: dropped },
    );
    send(
        "cache",
        "cache_size",
        "",
        value_t {
            gauge: cache_size() as f64,
        },
    );
    for (name, restarts, lost) in runtime().isolation.stats() {
        let pi = format!("isolation-{name}");
        send(
            &pi,
            "derive",
            "restarts",
            value_t {
                derive: restarts as i64,
            },
        );
        send(
            &pi,
            "derive",
            "lost",
            value_t {
                derive: lost as i64,
            },
        );
    }
    for o in crate::runtime::runtime().dispatch.outputs().iter() {
        let pi = format!("output-{}", o.name());
        let st = o.stats();
        let queued = st.queue_length.load(Ordering::Relaxed).max(0) as f64;
        send(&pi, "queue_length", "", value_t { gauge: queued });
        let dropped = st.dropped.load(Ordering::Relaxed) as i64;
        send(&pi, "derive", "dropped", value_t { derive: dropped });
    }
}

fn cache_size() -> usize {
    crate::runtime::runtime().cache.len()
}

/// collectd's per-interval housekeeping (`plugin_read_all`): missing-value
/// detection through the value cache.
pub fn housekeeping() {
    crate::runtime::runtime().dispatch.check_missing();
}

/// `plugin_shutdown_all` in collectd's order. Returns false if a shutdown
/// callback failed.
pub fn shutdown_all() -> bool {
    runtime().registry.init.clear();
    // Isolated plugins first: what their processes send while shutting
    // down still reaches the writers.
    runtime().isolation.stop_all();
    runtime().scheduler.stop();
    runtime().scheduler.clear();
    let late = crate::runtime::runtime().dispatch.stop_writers_and_drain();
    if late > 0 {
        log::info!("plugin: wrote {late} value list(s) queued during shutdown.");
    }
    crate::runtime::runtime().dispatch.flush(None, 0, None);
    let mut ok = true;
    for cb in runtime().registry.shutdown.snapshot().iter() {
        crate::plugins::log::plugin_shutting_down(&cb.name);
        let status = rcollectd_core::registry::Call::call(cb.as_ref());
        if status != 0 {
            ok = false;
        }
    }
    crate::plugins::log::shutdown_callbacks_done();
    let leftover = crate::runtime::runtime().dispatch.discard_queued();
    if leftover > 0 {
        log::warn!(
            "plugin: {leftover} value list{} left after shutting down the write threads.",
            if leftover == 1 { " was" } else { "s were" }
        );
    }
    let r = crate::runtime::runtime().registry;
    r.flush.clear();
    r.missing.clear();
    r.with_cache_event_slots(|slots| slots.clear());
    r.write.clear();
    r.notification.clear();
    r.shutdown.clear();
    plog::callbacks().clear();
    r.config.lock().unwrap_or_else(|e| e.into_inner()).clear();
    r.complex_config
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    runtime().plugins.forget_all();
    r.clear_data_sets();
    runtime().started.store(false, Ordering::SeqCst);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_convert_to_cdtime() {
        assert_eq!(secs_to_cdtime(1.0), 1 << 30);
        assert_eq!(secs_to_cdtime(0.5), 1 << 29);
        assert_eq!(secs_to_cdtime(-1.0), 0);
        assert_eq!(secs_to_cdtime(f64::NAN), 0);
    }
}
