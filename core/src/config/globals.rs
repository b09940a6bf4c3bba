//! Global options of collectd.conf (collectd 5.12 names and defaults), the
//! `LoadPlugin` statement, classification of top-level items, and the
//! process-wide store behind `global_option_get`/`global_option_set`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::{ConfigError, Item, Location, Value};

/// The daemon-wide settings collectd.conf sets outside plugin blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Globals {
    /// `Hostname`: the host name sent with values; `None` = ask the system.
    pub hostname: Option<String>,
    /// `FQDNLookup`: resolve the system host name to its canonical name.
    pub fqdn_lookup: bool,
    /// `BaseDir`: working directory and default data directory.
    pub base_dir: PathBuf,
    /// `PIDFile`: where the daemon writes its process id.
    pub pid_file: PathBuf,
    /// `PluginDir`: where `<name>.so` plugins are looked up; `None` = default.
    pub plugin_dir: Option<PathBuf>,
    /// `TypesDB` files in order (later files override earlier types); empty =
    /// the default lookup of [`crate::types_db::TypesDb::load_default`].
    pub types_db: Vec<PathBuf>,
    /// `Interval`: default read interval in seconds.
    pub interval: f64,
    /// `MaxReadInterval`: ceiling of the read back-off, seconds.
    pub max_read_interval: f64,
    /// `Timeout`: intervals without update before a value is missing.
    pub timeout: i32,
    /// `ReadThreads`: number of read worker threads.
    pub read_threads: usize,
    /// `WriteThreads`: number of write worker threads.
    pub write_threads: usize,
    /// `WriteQueueLimitHigh`: queue length above which values are always
    /// dropped; 0 = not set (unbounded in collectd; see [`Globals::write_queue_limits`]).
    pub write_queue_limit_high: u64,
    /// `WriteQueueLimitLow`: queue length above which values are dropped
    /// with rising probability; 0 = not set (defaults to high / 2).
    pub write_queue_limit_low: u64,
    /// `CollectInternalStats`: dispatch the daemon's own statistics.
    pub collect_internal_stats: bool,
    /// `AutoLoadPlugin`: a `<Plugin name>` block loads the plugin if needed.
    pub auto_load_plugin: bool,
    /// `PreCacheChain`: name of the filter chain run before the cache.
    pub pre_cache_chain: String,
    /// `PostCacheChain`: name of the filter chain run after the cache.
    pub post_cache_chain: String,
    /// `IsolatePlugins` (rcollectd's own): run every plugin that is not one
    /// of rcollectd's in a child process of its own, as `Isolate true` does.
    pub isolate_plugins: bool,
}

impl Default for Globals {
    fn default() -> Self {
        Globals {
            hostname: None,
            fqdn_lookup: true,
            base_dir: PathBuf::from("/var/lib/collectd"),
            pid_file: PathBuf::from("/var/run/collectd.pid"),
            plugin_dir: None,
            types_db: Vec::new(),
            interval: 10.0,
            max_read_interval: 86400.0,
            timeout: 2,
            read_threads: 5,
            write_threads: 5,
            write_queue_limit_high: 0,
            write_queue_limit_low: 0,
            collect_internal_stats: false,
            auto_load_plugin: false,
            pre_cache_chain: "PreCache".into(),
            post_cache_chain: "PostCache".into(),
            isolate_plugins: false,
        }
    }
}

/// Every option `Globals` knows, with its collectd spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opt {
    BaseDir,
    PidFile,
    Hostname,
    FqdnLookup,
    Interval,
    ReadThreads,
    WriteThreads,
    WriteQueueLimitHigh,
    WriteQueueLimitLow,
    Timeout,
    AutoLoadPlugin,
    CollectInternalStats,
    PreCacheChain,
    PostCacheChain,
    MaxReadInterval,
    TypesDb,
    PluginDir,
    IsolatePlugins,
}

/// The options of collectd's global option table (reachable through
/// `global_option_get`), in collectd's order. `TypesDB` and `PluginDir` are
/// config statements but not in that table.
const TABLE: [(&str, Opt); 15] = [
    ("BaseDir", Opt::BaseDir),
    ("PIDFile", Opt::PidFile),
    ("Hostname", Opt::Hostname),
    ("FQDNLookup", Opt::FqdnLookup),
    ("Interval", Opt::Interval),
    ("ReadThreads", Opt::ReadThreads),
    ("WriteThreads", Opt::WriteThreads),
    ("WriteQueueLimitHigh", Opt::WriteQueueLimitHigh),
    ("WriteQueueLimitLow", Opt::WriteQueueLimitLow),
    ("Timeout", Opt::Timeout),
    ("AutoLoadPlugin", Opt::AutoLoadPlugin),
    ("CollectInternalStats", Opt::CollectInternalStats),
    ("PreCacheChain", Opt::PreCacheChain),
    ("PostCacheChain", Opt::PostCacheChain),
    ("MaxReadInterval", Opt::MaxReadInterval),
];

/// The option `key` names (case-insensitive) with its collectd spelling.
pub fn lookup_table(key: &str) -> Option<(&'static str, Opt)> {
    TABLE
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .copied()
}

fn lookup_config(key: &str) -> Option<(&'static str, Opt)> {
    lookup_table(key).or_else(|| {
        [
            ("TypesDB", Opt::TypesDb),
            ("PluginDir", Opt::PluginDir),
            ("IsolatePlugins", Opt::IsolatePlugins),
        ]
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
    })
}

/// collectd's IS_TRUE / IS_FALSE on a string.
pub fn parse_bool_str(s: &str) -> Option<bool> {
    ["true", "yes", "on"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(s))
        .then_some(true)
        .or_else(|| {
            ["false", "no", "off"]
                .iter()
                .any(|t| t.eq_ignore_ascii_case(s))
                .then_some(false)
        })
}

fn as_bool(name: &str, v: &Value) -> Result<bool, String> {
    match v {
        Value::Boolean(b) => Ok(*b),
        Value::String(s) => parse_bool_str(s.trim())
            .ok_or_else(|| format!("`{name}` needs true or false, not \"{s}\"")),
        Value::Number(n) => Err(format!("`{name}` needs true or false, not the number {n}")),
    }
}

fn as_number(name: &str, v: &Value) -> Result<f64, String> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("`{name}` needs a number, not \"{s}\"")),
        Value::Boolean(b) => Err(format!("`{name}` needs a number, not `{b}`")),
    }
}

fn as_string(name: &str, v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!(
            "`{name}` needs a string (in double quotes), not {other}"
        )),
    }
}

fn as_whole(name: &str, v: &Value, min: f64, max: f64, what: &str) -> Result<f64, String> {
    let n = as_number(name, v)?;
    if n.fract() != 0.0 || !(min..=max).contains(&n) {
        return Err(format!("`{name}` needs {what}, not {n}"));
    }
    Ok(n)
}

impl Globals {
    /// Applies `item` when it is a global option (`TypesDB` and `PluginDir`
    /// included). Returns `Ok(false)` when the key is not a global option
    /// (case-insensitive, as collectd), and an error naming `file:line` when
    /// the value has the wrong type or range.
    pub fn apply(&mut self, item: &Item) -> Result<bool, ConfigError> {
        let Some((name, opt)) = lookup_config(&item.key) else {
            return Ok(false);
        };
        let err = |m: String| ConfigError::at(&item.location, m);
        if !item.children.is_empty() {
            return Err(err(format!(
                "`{name}` is a global option, not a block (write `{name} value` on one line)"
            )));
        }
        if opt == Opt::TypesDb {
            if item.values.is_empty() {
                return Err(err("`TypesDB` needs at least one file name".into()));
            }
            for v in &item.values {
                self.types_db
                    .push(PathBuf::from(as_string(name, v).map_err(err)?));
            }
            return Ok(true);
        }
        let [v] = item.values.as_slice() else {
            return Err(err(format!(
                "global option `{name}` needs exactly one argument, found {}",
                item.values.len()
            )));
        };
        self.set(opt, name, v).map_err(err)?;
        Ok(true)
    }

    /// Sets one option from a typed value, validating type and range.
    fn set(&mut self, opt: Opt, name: &str, v: &Value) -> Result<(), String> {
        match opt {
            Opt::BaseDir => self.base_dir = PathBuf::from(as_string(name, v)?),
            Opt::PidFile => self.pid_file = PathBuf::from(as_string(name, v)?),
            Opt::PluginDir => self.plugin_dir = Some(PathBuf::from(as_string(name, v)?)),
            Opt::TypesDb => self.types_db.push(PathBuf::from(as_string(name, v)?)),
            Opt::Hostname => {
                let h = as_string(name, v)?;
                self.hostname = (!h.is_empty()).then_some(h);
            }
            Opt::FqdnLookup => self.fqdn_lookup = as_bool(name, v)?,
            Opt::IsolatePlugins => self.isolate_plugins = as_bool(name, v)?,
            Opt::AutoLoadPlugin => self.auto_load_plugin = as_bool(name, v)?,
            Opt::CollectInternalStats => self.collect_internal_stats = as_bool(name, v)?,
            Opt::PreCacheChain => self.pre_cache_chain = as_string(name, v)?,
            Opt::PostCacheChain => self.post_cache_chain = as_string(name, v)?,
            Opt::Interval | Opt::MaxReadInterval => {
                let n = as_number(name, v)?;
                if !(n > 0.0 && n.is_finite()) {
                    return Err(format!(
                        "`{name}` needs a number of seconds greater than 0, not {n}"
                    ));
                }
                if opt == Opt::Interval {
                    self.interval = n;
                } else {
                    self.max_read_interval = n;
                }
            }
            Opt::Timeout => {
                let n = as_whole(
                    name,
                    v,
                    2.0,
                    f64::from(i32::MAX),
                    "a whole number of at least 2",
                )?;
                self.timeout = n as i32;
            }
            Opt::ReadThreads | Opt::WriteThreads => {
                let n = as_whole(name, v, 1.0, 1_000_000.0, "a whole number of at least 1")?;
                if opt == Opt::ReadThreads {
                    self.read_threads = n as usize;
                } else {
                    self.write_threads = n as usize;
                }
            }
            Opt::WriteQueueLimitHigh | Opt::WriteQueueLimitLow => {
                let n = as_whole(name, v, 0.0, 9.0e15, "a whole number of at least 0")?;
                if opt == Opt::WriteQueueLimitHigh {
                    self.write_queue_limit_high = n as u64;
                } else {
                    self.write_queue_limit_low = n as u64;
                }
            }
        }
        Ok(())
    }

    /// Resets one option to its default (`global_option_set(key, NULL)`).
    fn reset(&mut self, opt: Opt) {
        let d = Globals::default();
        match opt {
            Opt::BaseDir => self.base_dir = d.base_dir,
            Opt::PidFile => self.pid_file = d.pid_file,
            Opt::Hostname => self.hostname = d.hostname,
            Opt::FqdnLookup => self.fqdn_lookup = d.fqdn_lookup,
            Opt::Interval => self.interval = d.interval,
            Opt::ReadThreads => self.read_threads = d.read_threads,
            Opt::WriteThreads => self.write_threads = d.write_threads,
            Opt::WriteQueueLimitHigh => self.write_queue_limit_high = 0,
            Opt::WriteQueueLimitLow => self.write_queue_limit_low = 0,
            Opt::Timeout => self.timeout = d.timeout,
            Opt::AutoLoadPlugin => self.auto_load_plugin = d.auto_load_plugin,
            Opt::CollectInternalStats => self.collect_internal_stats = d.collect_internal_stats,
            Opt::PreCacheChain => self.pre_cache_chain = d.pre_cache_chain,
            Opt::PostCacheChain => self.post_cache_chain = d.post_cache_chain,
            Opt::MaxReadInterval => self.max_read_interval = d.max_read_interval,
            Opt::TypesDb => self.types_db.clear(),
            Opt::PluginDir => self.plugin_dir = None,
            Opt::IsolatePlugins => self.isolate_plugins = false,
        }
    }

    /// The value `global_option_get` reports for `opt`, as collectd's string
    /// table would hold it (`None` where collectd has no value and no default).
    pub fn render(&self, opt: Opt) -> Option<String> {
        let b = |v: bool| Some(if v { "true" } else { "false" }.to_string());
        match opt {
            Opt::BaseDir => Some(self.base_dir.to_string_lossy().into_owned()),
            Opt::PidFile => Some(self.pid_file.to_string_lossy().into_owned()),
            Opt::Hostname => self.hostname.clone(),
            Opt::FqdnLookup => b(self.fqdn_lookup),
            Opt::Interval => Some(super::format_lf(self.interval)),
            Opt::ReadThreads => Some(self.read_threads.to_string()),
            Opt::WriteThreads => Some(self.write_threads.to_string()),
            Opt::WriteQueueLimitHigh => {
                (self.write_queue_limit_high != 0).then(|| self.write_queue_limit_high.to_string())
            }
            Opt::WriteQueueLimitLow => {
                (self.write_queue_limit_low != 0).then(|| self.write_queue_limit_low.to_string())
            }
            Opt::Timeout => Some(self.timeout.to_string()),
            Opt::AutoLoadPlugin => b(self.auto_load_plugin),
            Opt::CollectInternalStats => b(self.collect_internal_stats),
            Opt::PreCacheChain => Some(self.pre_cache_chain.clone()),
            Opt::PostCacheChain => Some(self.post_cache_chain.clone()),
            Opt::MaxReadInterval => Some(super::format_lf(self.max_read_interval)),
            Opt::TypesDb | Opt::PluginDir | Opt::IsolatePlugins => None,
        }
    }

    /// Effective `(high, low)` write queue limits as collectd derives them:
    /// low defaults to high / 2; `(0, 0)` means no limit. Errors when low is
    /// larger than high.
    pub fn write_queue_limits(&self) -> Result<(u64, u64), ConfigError> {
        let high = self.write_queue_limit_high;
        let low = if self.write_queue_limit_low == 0 {
            high / 2
        } else {
            self.write_queue_limit_low
        };
        if high != 0 && low > high {
            return Err(ConfigError {
                location: None,
                message: format!(
                    "WriteQueueLimitLow ({low}) must not be larger than WriteQueueLimitHigh ({high})"
                ),
            });
        }
        if high == 0 && self.write_queue_limit_low != 0 {
            // collectd: low > high (0) is an error and low falls back to high / 2.
            return Err(ConfigError {
                location: None,
                message: format!(
                    "WriteQueueLimitLow ({low}) is set but WriteQueueLimitHigh is not (set both, low <= high)"
                ),
            });
        }
        Ok((high, low))
    }
}

/// `apply` as a free function, for callers that prefer it.
pub fn apply(globals: &mut Globals, item: &Item) -> Result<bool, ConfigError> {
    globals.apply(item)
}

/// A `LoadPlugin` statement: which plugin to load and its per-plugin settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlugin {
    /// Plugin name (`libvirt` is renamed to `virt`, as collectd does).
    pub name: String,
    /// `Globals`: dlopen with RTLD_GLOBAL so its symbols serve other plugins.
    pub globals: bool,
    /// `Interval`: this plugin's read interval in seconds.
    pub interval: Option<f64>,
    /// `FlushInterval`: flush this writer every so many seconds.
    pub flush_interval: Option<f64>,
    /// `FlushTimeout`: flush data older than this many seconds.
    pub flush_timeout: Option<f64>,
    /// `Isolate` (rcollectd's own): run the plugin in a child process.
    pub isolate: bool,
    /// Where the statement was written.
    pub location: Location,
}

/// Reads `LoadPlugin name` or `<LoadPlugin name> Globals true Interval 5
/// FlushInterval 10 FlushTimeout 2 </LoadPlugin>`. Unknown options in the
/// block are errors (collectd only warns).
pub fn parse_load_plugin(item: &Item) -> Result<LoadPlugin, ConfigError> {
    let Some(name) = item.single_string() else {
        return Err(ConfigError::at(
            &item.location,
            "`LoadPlugin` needs exactly one string argument (the plugin name)",
        ));
    };
    let name = if name == "libvirt" { "virt" } else { name };
    let mut lp = LoadPlugin {
        name: name.to_string(),
        globals: false,
        interval: None,
        flush_interval: None,
        flush_timeout: None,
        isolate: false,
        location: item.location.clone(),
    };
    for child in &item.children {
        let err = |m: String| ConfigError::at(&child.location, m);
        if !child.children.is_empty() {
            return Err(err(format!(
                "<{}> is not allowed inside <LoadPlugin>",
                child.key
            )));
        }
        let key = child.key.to_ascii_lowercase();
        let [v] = child.values.as_slice() else {
            return Err(err(format!(
                "`{}` in <LoadPlugin {name}> needs exactly one argument",
                child.key
            )));
        };
        let seconds = || -> Result<f64, ConfigError> {
            match v {
                Value::Number(n) if *n >= 0.0 && n.is_finite() => Ok(*n),
                _ => Err(err(format!(
                    "`{}` in <LoadPlugin {name}> needs a number of seconds (0 or more), not {v}",
                    child.key
                ))),
            }
        };
        match key.as_str() {
            "globals" => lp.globals = as_bool(&child.key, v).map_err(err)?,
            "interval" => lp.interval = Some(seconds()?),
            "flushinterval" => lp.flush_interval = Some(seconds()?),
            "flushtimeout" => lp.flush_timeout = Some(seconds()?),
            "isolate" => lp.isolate = as_bool(&child.key, v).map_err(err)?,
            _ => {
                return Err(err(format!(
                    "unknown option `{}` in <LoadPlugin {name}> (expected Globals, Interval, FlushInterval, FlushTimeout or Isolate)",
                    child.key
                )))
            }
        }
    }
    Ok(lp)
}

/// What a top-level item of collectd.conf is, so the runtime can walk the
/// root's children in order and dispatch each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    /// A global option; feed it to [`Globals::apply`].
    Global,
    /// `LoadPlugin`; read it with [`parse_load_plugin`].
    LoadPlugin,
    /// `<Plugin name>`: configuration for a plugin.
    Plugin,
    /// `<Chain name>`: a filter chain definition.
    Chain,
    /// Anything else; see [`unknown_error`].
    Unknown,
}

/// Classifies a top-level item by key (case-insensitive, as collectd).
pub fn classify(item: &Item) -> TopLevel {
    let k = item.key.as_str();
    if k.eq_ignore_ascii_case("LoadPlugin") {
        TopLevel::LoadPlugin
    } else if k.eq_ignore_ascii_case("Plugin") {
        TopLevel::Plugin
    } else if k.eq_ignore_ascii_case("Chain") {
        TopLevel::Chain
    } else if lookup_config(k).is_some() {
        TopLevel::Global
    } else {
        TopLevel::Unknown
    }
}

/// The error for a [`TopLevel::Unknown`] item. (collectd 5.12 silently
/// ignores unknown top-level options; rcollectd reports them so typos are
/// found.)
pub fn unknown_error(item: &Item) -> ConfigError {
    let what = if item.children.is_empty() {
        format!("unknown global option `{}`", item.key)
    } else {
        format!(
            "unknown block <{}> (expected <Plugin>, <LoadPlugin> or <Chain>)",
            item.key
        )
    };
    ConfigError::at(&item.location, what)
}

/// The daemon's settings: the global options of the config in force, with
/// the ones set on the command line (`global_option_set` with `from_cli`)
/// applied over every config, as collectd keeps them. What
/// `global_option_get` reads and what the engine starts from.
#[derive(Debug, Default)]
pub struct Settings {
    store: RwLock<Store>,
}

#[derive(Debug, Default)]
struct Store {
    globals: Arc<Globals>,
    /// Options set from the command line, re-applied over every config.
    cli: Vec<(Opt, Option<String>)>,
}

impl Settings {
    /// Defaults, no command-line options.
    pub fn new() -> Settings {
        Settings::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs `g` as the settings in force (options set on the command
    /// line keep their command-line values).
    pub fn set(&self, mut g: Globals) {
        let mut store = self.write();
        for (opt, v) in &store.cli {
            apply_string(&mut g, *opt, v.as_deref());
        }
        store.globals = Arc::new(g);
    }

    /// The settings in force (defaults until [`Settings::set`]).
    pub fn current(&self) -> Arc<Globals> {
        self.store
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .globals
            .clone()
    }

    /// `global_option_set`: sets option `key` to `value` (`None` = default).
    /// A value set with `from_cli` is not overridden by later non-CLI sets.
    /// Returns 0, or -1 for an unknown option or an invalid value.
    pub fn option_set(&self, key: &str, value: Option<&str>, from_cli: bool) -> i32 {
        let Some((_, opt)) = lookup_table(key) else {
            log::error!("configfile: Cannot set unknown global option `{key}'.");
            return -1;
        };
        let mut store = self.write();
        if !from_cli && store.cli.iter().any(|(o, _)| *o == opt) {
            return 0;
        }
        let mut g = (*store.globals).clone();
        if !apply_string(&mut g, opt, value) {
            return -1;
        }
        if from_cli {
            store.cli.retain(|(o, _)| *o != opt);
            store.cli.push((opt, value.map(str::to_string)));
        }
        store.globals = Arc::new(g);
        0
    }

    /// `global_option_get` as a Rust string (`None` for an unknown option
    /// or an option without value and default).
    pub fn option_get(&self, key: &str) -> Option<String> {
        let (_, opt) = lookup_table(key)?;
        self.current().render(opt)
    }
}

/// Sets an option from a string (NULL = back to default); invalid values
/// are logged and leave the option unchanged.
fn apply_string(g: &mut Globals, opt: Opt, value: Option<&str>) -> bool {
    let name = TABLE
        .iter()
        .find(|(_, o)| *o == opt)
        .map(|(k, _)| *k)
        .unwrap_or("?");
    match value {
        None => {
            g.reset(opt);
            true
        }
        Some(v) => match g.set(opt, name, &Value::String(v.to_string())) {
            Ok(()) => true,
            Err(m) => {
                log::error!("configfile: {m}");
                false
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use std::path::Path;

    fn items(text: &str) -> Vec<Item> {
        parse_str(text, Path::new("/etc/collectd.conf"))
            .unwrap()
            .children
    }

    fn apply_all(text: &str) -> Result<Globals, ConfigError> {
        let mut g = Globals::default();
        for i in items(text) {
            assert!(g.apply(&i)?, "{} should be a global option", i.key);
        }
        Ok(g)
    }

    #[test]
    fn defaults_match_collectd() {
        let g = Globals::default();
        assert_eq!(g.interval, 10.0);
        assert_eq!(g.max_read_interval, 86400.0);
        assert_eq!(g.timeout, 2);
        assert_eq!((g.read_threads, g.write_threads), (5, 5));
        assert!(g.fqdn_lookup && !g.auto_load_plugin && !g.collect_internal_stats);
        assert_eq!(g.base_dir, PathBuf::from("/var/lib/collectd"));
        assert_eq!(g.pid_file, PathBuf::from("/var/run/collectd.pid"));
        assert_eq!(g.write_queue_limits().unwrap(), (0, 0));
    }

    #[test]
    fn applies_every_option_case_insensitively() {
        let g = apply_all(
            "hostname \"box\"\nFQDNLookup false\nBaseDir \"/tmp/b\"\nPIDFile \"/tmp/p.pid\"\n\
             PluginDir \"/opt/p\"\nTypesDB \"/a.db\" \"/b.db\"\nTypesDB \"/c.db\"\nINTERVAL 2.5\n\
             MaxReadInterval 60\nTimeout 3\nReadThreads 2\nWriteThreads 3\n\
             WriteQueueLimitHigh 1000\nWriteQueueLimitLow 800\nCollectInternalStats true\n\
             AutoLoadPlugin \"yes\"\nPreCacheChain \"A\"\nPostCacheChain \"B\"\n",
        )
        .unwrap();
        assert_eq!(g.hostname.as_deref(), Some("box"));
        assert!(!g.fqdn_lookup);
        assert_eq!(g.base_dir, PathBuf::from("/tmp/b"));
        assert_eq!(g.pid_file, PathBuf::from("/tmp/p.pid"));
        assert_eq!(g.plugin_dir, Some(PathBuf::from("/opt/p")));
        assert_eq!(
            g.types_db,
            vec![
                PathBuf::from("/a.db"),
                PathBuf::from("/b.db"),
                PathBuf::from("/c.db")
            ]
        );
        assert_eq!(g.interval, 2.5);
        assert_eq!(g.max_read_interval, 60.0);
        assert_eq!(g.timeout, 3);
        assert_eq!((g.read_threads, g.write_threads), (2, 3));
        assert_eq!(g.write_queue_limits().unwrap(), (1000, 800));
        assert!(g.collect_internal_stats && g.auto_load_plugin);
        assert_eq!(
            (g.pre_cache_chain.as_str(), g.post_cache_chain.as_str()),
            ("A", "B")
        );
    }

    #[test]
    fn numeric_strings_are_accepted_like_collectd() {
        let g = apply_all("Interval \"20\"\nReadThreads \"7\"\n").unwrap();
        assert_eq!(g.interval, 20.0);
        assert_eq!(g.read_threads, 7);
    }

    #[test]
    fn not_a_global_option() {
        let mut g = Globals::default();
        for i in items("LoadPlugin cpu\n<Plugin cpu>\nX 1\n</Plugin>\nFoo 1\n") {
            assert!(!g.apply(&i).unwrap());
        }
        assert_eq!(g, Globals::default());
    }

    #[test]
    fn bad_values_name_file_and_line() {
        let cases = [
            ("\nInterval 0\n", "/etc/collectd.conf:2: `Interval` needs a number of seconds greater than 0, not 0"),
            ("Interval -1\n", "/etc/collectd.conf:1: `Interval` needs a number of seconds greater than 0, not -1"),
            ("Interval \"abc\"\n", "/etc/collectd.conf:1: `Interval` needs a number, not \"abc\""),
            ("Timeout 1\n", "/etc/collectd.conf:1: `Timeout` needs a whole number of at least 2, not 1"),
            ("ReadThreads 0\n", "/etc/collectd.conf:1: `ReadThreads` needs a whole number of at least 1, not 0"),
            ("WriteThreads 2.5\n", "/etc/collectd.conf:1: `WriteThreads` needs a whole number of at least 1, not 2.5"),
            ("FQDNLookup 1\n", "/etc/collectd.conf:1: `FQDNLookup` needs true or false, not the number 1"),
            ("AutoLoadPlugin \"maybe\"\n", "/etc/collectd.conf:1: `AutoLoadPlugin` needs true or false, not \"maybe\""),
            ("Hostname 42\n", "/etc/collectd.conf:1: `Hostname` needs a string (in double quotes), not 42"),
            ("Hostname a b\n", "/etc/collectd.conf:1: global option `Hostname` needs exactly one argument, found 2"),
            ("<Interval 10>\nX 1\n</Interval>\n", "/etc/collectd.conf:1: `Interval` is a global option, not a block (write `Interval value` on one line)"),
            ("TypesDB 5\n", "/etc/collectd.conf:1: `TypesDB` needs a string (in double quotes), not 5"),
        ];
        for (text, want) in cases {
            let mut g = Globals::default();
            let item = &items(text)[0];
            assert_eq!(g.apply(item).unwrap_err().to_string(), want, "for {text:?}");
        }
    }

    #[test]
    fn write_queue_low_above_high_is_an_error() {
        let g = apply_all("WriteQueueLimitHigh 10\nWriteQueueLimitLow 20\n").unwrap();
        assert_eq!(
            g.write_queue_limits().unwrap_err().to_string(),
            "WriteQueueLimitLow (20) must not be larger than WriteQueueLimitHigh (10)"
        );
        let g = apply_all("WriteQueueLimitHigh 10\n").unwrap();
        assert_eq!(g.write_queue_limits().unwrap(), (10, 5));
    }

    #[test]
    fn load_plugin_forms() {
        let it = items(
            "LoadPlugin cpu\nLoadPlugin \"libvirt\"\n<LoadPlugin \"perl\">\n  Globals true\n  Interval 5\n  FlushInterval 10\n  FlushTimeout 2\n</LoadPlugin>\n",
        );
        let a = parse_load_plugin(&it[0]).unwrap();
        assert_eq!(a.name, "cpu");
        assert!(!a.globals && a.interval.is_none());
        assert_eq!(a.location.line, 1);
        assert_eq!(parse_load_plugin(&it[1]).unwrap().name, "virt");
        let c = parse_load_plugin(&it[2]).unwrap();
        assert_eq!(c.name, "perl");
        assert!(c.globals);
        assert_eq!(c.interval, Some(5.0));
        assert_eq!(c.flush_interval, Some(10.0));
        assert_eq!(c.flush_timeout, Some(2.0));
        assert!(it.iter().all(|i| classify(i) == TopLevel::LoadPlugin));
    }

    #[test]
    fn load_plugin_errors() {
        let it = items(
            "LoadPlugin 5\n<LoadPlugin x>\n  Bogus 1\n</LoadPlugin>\n<LoadPlugin y>\n  Interval -1\n</LoadPlugin>\nLoadPlugin a b\n",
        );
        let msgs: Vec<String> = it
            .iter()
            .map(|i| parse_load_plugin(i).unwrap_err().to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "/etc/collectd.conf:1: `LoadPlugin` needs exactly one string argument (the plugin name)",
                "/etc/collectd.conf:3: unknown option `Bogus` in <LoadPlugin x> (expected Globals, Interval, FlushInterval, FlushTimeout or Isolate)",
                "/etc/collectd.conf:6: `Interval` in <LoadPlugin y> needs a number of seconds (0 or more), not -1",
                "/etc/collectd.conf:8: `LoadPlugin` needs exactly one string argument (the plugin name)",
            ]
        );
    }

    #[test]
    fn classify_top_level() {
        let it = items(
            "Interval 10\ntypesdb \"/x\"\nLoadPlugin cpu\n<Plugin cpu>\n A 1\n</Plugin>\n<Chain \"PreCache\">\n Target \"write\"\n</Chain>\nPreCacheChain \"PreCache\"\nFoo 1\n<Bar x>\n</Bar>\n",
        );
        let kinds: Vec<TopLevel> = it.iter().map(classify).collect();
        assert_eq!(
            kinds,
            vec![
                TopLevel::Global,
                TopLevel::Global,
                TopLevel::LoadPlugin,
                TopLevel::Plugin,
                TopLevel::Chain,
                TopLevel::Global,
                TopLevel::Unknown,
                TopLevel::Unknown
            ]
        );
        assert_eq!(
            unknown_error(&it[6]).to_string(),
            "/etc/collectd.conf:11: unknown global option `Foo`"
        );
        // `<Bar x></Bar>` has a value, so collectd keeps it; it has no children.
        assert_eq!(
            unknown_error(&it[7]).to_string(),
            "/etc/collectd.conf:12: unknown global option `Bar`"
        );
    }

    #[test]
    fn store_get_set_and_cli_precedence() {
        let s = Settings::new();
        let g = Globals {
            hostname: Some("h1".into()),
            interval: 7.0,
            ..Globals::default()
        };
        s.set(g.clone());
        assert_eq!(s.current().hostname.as_deref(), Some("h1"));
        assert_eq!(s.option_get("interval").as_deref(), Some("7.000000"));
        assert_eq!(s.option_get("WriteQueueLimitHigh"), None);
        assert_eq!(s.option_get("NoSuchOption"), None);
        assert_eq!(s.option_get("TypesDB"), None);

        assert_eq!(s.option_set("Hostname", Some("cli-host"), true), 0);
        assert_eq!(s.option_set("Hostname", Some("conf-host"), false), 0);
        assert_eq!(s.current().hostname.as_deref(), Some("cli-host"));
        s.set(g);
        assert_eq!(s.current().hostname.as_deref(), Some("cli-host"));
        assert_eq!(s.current().interval, 7.0);

        assert_eq!(s.option_set("Bogus", Some("1"), false), -1);
        assert_eq!(s.option_set("Interval", Some("-3"), false), -1);
        assert_eq!(s.current().interval, 7.0);
        assert_eq!(s.option_set("Interval", None, false), 0);
        assert_eq!(s.current().interval, 10.0);
    }
}
