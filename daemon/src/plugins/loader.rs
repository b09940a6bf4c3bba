//! Loads plugins as collectd's `plugin_load` does: a shared object
//! (`<dir>/<name>.so`) whose `module_register` is called with the plugin
//! context set, or one of rcollectd's own plugins built into the binary
//! (see [`super::builtin`]), which a configured `PluginDir` holding the same
//! name overrides.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};

use rcollectd_core::sync::lock;
use rcollectd_plugin::sys::plugin_ctx_t;

use super::ctx;

/// Why a plugin could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// No `<name>.so` regular file in any searched directory.
    NotFound {
        name: String,
        searched: Vec<PathBuf>,
    },
    /// dlopen failed (usually a missing dependency).
    Dlopen { file: PathBuf, message: String },
    /// The object has no `module_register`.
    NoRegister { file: PathBuf, message: String },
    /// `module_register` panicked (a Rust plugin without its own guard).
    Panicked { file: PathBuf },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound { name, searched } => {
                let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
                write!(
                    f,
                    "Could not find plugin \"{name}\" ({name}.so, a regular file) in {}",
                    dirs.join(", ")
                )
            }
            LoadError::Dlopen { file, message } => write!(
                f,
                "dlopen(\"{}\") failed: {message}. The most common cause is a missing \
                 library: run ldd on it to see which library is missing.",
                file.display()
            ),
            LoadError::NoRegister { file, message } => write!(
                f,
                "Couldn't find symbol \"module_register\" in \"{}\": {message}",
                file.display()
            ),
            LoadError::Panicked { file } => {
                write!(f, "module_register of \"{}\" panicked", file.display())
            }
        }
    }
}

impl std::error::Error for LoadError {}

struct Loaded {
    name: String,
    /// `None` for a built-in plugin.
    _lib: Option<Library>,
}

/// The plugins a runtime has loaded and where it looks for them.
#[derive(Default)]
pub struct Loader {
    loaded: Mutex<Vec<Loaded>>,
    /// `PluginDir`, when set.
    dir: Mutex<Option<PathBuf>>,
}

impl Loader {
    /// Sets the directory `LoadPlugin` searches (`PluginDir`); `None` restores
    /// the default search path.
    pub fn set_dir(&self, dir: Option<PathBuf>) {
        *lock(&self.dir) = dir;
    }

    /// The directories searched, in order.
    ///
    /// With `PluginDir` set only that one (as collectd). Otherwise rcollectd's own
    /// plugins first, from the first of: `$RCOLLECTD_PLUGIN_DIR`;
    /// `<exe dir>/../plugins` when it exists (the build layout);
    /// `<exe dir>/../lib/rcollectd` when it exists (an installed or unpacked
    /// package: `<root>/usr/sbin/rcollectd` finds `<root>/usr/lib/rcollectd`);
    /// else `/usr/lib/rcollectd`. Then collectd's `/usr/lib/collectd`.
    pub fn search_dirs(&self) -> Vec<PathBuf> {
        if let Some(d) = lock(&self.dir).clone() {
            return vec![d];
        }
        default_dirs(
            std::env::var_os("RCOLLECTD_PLUGIN_DIR"),
            std::env::current_exe().ok().as_deref(),
        )
    }
}

/// [`Loader::search_dirs`] without `PluginDir`, for the given environment value and
/// executable path.
fn default_dirs(env: Option<std::ffi::OsString>, exe: Option<&Path>) -> Vec<PathBuf> {
    let own = env
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let prefix = exe?.parent()?.parent()?;
            [prefix.join("plugins"), prefix.join("lib/rcollectd")]
                .into_iter()
                .find(|p| p.is_dir())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/lib/rcollectd"));
    vec![own, PathBuf::from("/usr/lib/collectd")]
}

impl Loader {
    /// The file `LoadPlugin name` would load, without loading it.
    pub fn locate(&self, name: &str) -> Option<PathBuf> {
        self.search_dirs().iter().find_map(|d| find_file(d, name))
    }
}

/// Whether `file` was built with rcollectd's SDK (Rust, panics contained at
/// the boundary), which its export macro marks with a static the loader can
/// find without loading the file; everything else counts as a C plugin.
pub fn is_sdk_plugin(file: &Path) -> bool {
    const MARK: &[u8] = b"rcollectd-sdk-plugin\0";
    std::fs::read(file).is_ok_and(|bytes| bytes.windows(MARK.len()).any(|w| w == MARK))
}

impl Loader {
    /// True if a plugin of that name (case-insensitive) is loaded.
    pub fn is_loaded(&self, name: &str) -> bool {
        lock(&self.loaded)
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// Names of loaded plugins, in load order.
    pub fn loaded_names(&self) -> Vec<String> {
        lock(&self.loaded).iter().map(|l| l.name.clone()).collect()
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let wanted = format!("{name}.so");
    let entries = std::fs::read_dir(dir).ok()?;
    for entry in entries.flatten() {
        let fname = entry.file_name();
        if !fname.to_string_lossy().eq_ignore_ascii_case(&wanted) {
            continue;
        }
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => return Some(path),
            Ok(_) => log::warn!("plugin_load: {} is not a regular file.", path.display()),
            Err(e) => log::warn!("plugin_load: stat (\"{}\") failed: {e}", path.display()),
        }
    }
    None
}

impl Loader {
    /// Loads plugin `name` with `ctx` as the context during `module_register`.
    ///
    /// Loading an already-loaded plugin is a no-op (collectd ignores it too).
    /// No lock is held while the plugin's `module_register` runs, because it
    /// calls back into the daemon.
    pub fn load(
        &self,
        name: &str,
        global: bool,
        ctx_for_register: plugin_ctx_t,
    ) -> Result<(), LoadError> {
        if self.is_loaded(name) {
            log::warn!(
                "plugin_load: plugin \"{name}\" is already loaded; ignoring the second LoadPlugin."
            );
            return Ok(());
        }
        let global =
            global || name.eq_ignore_ascii_case("perl") || name.eq_ignore_ascii_case("python");
        let pinned = lock(&self.dir).clone();
        let in_plugin_dir = pinned.as_deref().and_then(|d| find_file(d, name));
        if in_plugin_dir.is_none() {
            if let Some(b) = super::builtin::find(name) {
                return self.load_builtin(name, b, ctx_for_register);
            }
        }
        let dirs = self.search_dirs();
        let Some(file) = in_plugin_dir.or_else(|| dirs.iter().find_map(|d| find_file(d, name)))
        else {
            return Err(LoadError::NotFound {
                name: name.to_owned(),
                searched: dirs,
            });
        };
        let flags = if global {
            RTLD_NOW | RTLD_GLOBAL
        } else {
            RTLD_NOW
        };
        // SAFETY: loading a plugin runs its constructors; that is the purpose of
        // LoadPlugin and what collectd does with the same file.
        let lib = unsafe { Library::open(Some(&file), flags) }.map_err(|e| LoadError::Dlopen {
            file: file.clone(),
            message: e.to_string(),
        })?;
        // SAFETY: `module_register` has the signature `void (void)` in the ABI.
        let register =
            unsafe { lib.get::<unsafe extern "C" fn()>(b"module_register\0") }.map_err(|e| {
                LoadError::NoRegister {
                    file: file.clone(),
                    message: e.to_string(),
                }
            })?;
        let register = *register;
        {
            let _g = ctx::enter(ctx_for_register);
            // SAFETY: the entry point of `lib`, which stays loaded; the plugin
            // context is set as collectd does.
            let ok = unsafe { crate::abi::callbacks::module_register(register) };
            if !ok {
                return Err(LoadError::Panicked { file });
            }
        }
        lock(&self.loaded).push(Loaded {
            name: name.to_owned(),
            _lib: Some(lib),
        });
        log::info!("plugin_load: plugin \"{name}\" successfully loaded.");
        Ok(())
    }

    /// Registers the built-in plugin `b` under `name`, as loading its `.so` would.
    fn load_builtin(
        &self,
        name: &str,
        b: &super::builtin::Builtin,
        ctx_for_register: plugin_ctx_t,
    ) -> Result<(), LoadError> {
        {
            let _g = ctx::enter(ctx_for_register);
            let register = b.register;
            if std::panic::catch_unwind(|| register(true)).is_err() {
                return Err(LoadError::Panicked {
                    file: PathBuf::from(format!("<built-in {}>", b.name)),
                });
            }
        }
        lock(&self.loaded).push(Loaded {
            name: name.to_owned(),
            _lib: None,
        });
        log::info!("plugin_load: plugin \"{name}\" successfully loaded.");
        Ok(())
    }

    /// Forgets every loaded plugin at shutdown.
    ///
    /// The shared objects stay mapped on purpose (collectd never dlcloses either):
    /// a plugin's detached threads or atexit handlers may still run its code.
    pub fn forget_all(&self) {
        let all = std::mem::take(&mut *lock(&self.loaded));
        for l in all {
            if let Some(lib) = l._lib {
                std::mem::forget(lib);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_dir_overrides_search_path() {
        let loader = Loader::default();
        loader.set_dir(Some(PathBuf::from("/nonexistent-rcollectd-test")));
        assert_eq!(
            loader.search_dirs(),
            vec![PathBuf::from("/nonexistent-rcollectd-test")]
        );
        let err = loader.load("nosuchplugin", false, ctx::EMPTY).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("nosuchplugin.so"), "{text}");
        assert!(text.contains("/nonexistent-rcollectd-test"), "{text}");
        loader.set_dir(None);
        let dirs = loader.search_dirs();
        assert_eq!(dirs.last(), Some(&PathBuf::from("/usr/lib/collectd")));
    }

    #[test]
    fn own_plugins_are_found_next_to_the_binary() {
        let root = tempfile::tempdir().unwrap();
        let exe = root.path().join("usr/sbin/rcollectd");
        let collectd = PathBuf::from("/usr/lib/collectd");
        // Nothing next to the binary: the system directory.
        assert_eq!(
            default_dirs(None, Some(&exe)),
            vec![PathBuf::from("/usr/lib/rcollectd"), collectd.clone()]
        );
        assert_eq!(
            default_dirs(None, None),
            vec![PathBuf::from("/usr/lib/rcollectd"), collectd.clone()]
        );
        // An unpacked package: <root>/usr/sbin/rcollectd finds <root>/usr/lib/rcollectd.
        let lib = root.path().join("usr/lib/rcollectd");
        std::fs::create_dir_all(&lib).unwrap();
        assert_eq!(
            default_dirs(None, Some(&exe)),
            vec![lib.clone(), collectd.clone()]
        );
        // The build layout (<exe dir>/../plugins) comes before it.
        let build = root.path().join("usr/plugins");
        std::fs::create_dir_all(&build).unwrap();
        assert_eq!(
            default_dirs(None, Some(&exe)),
            vec![build, collectd.clone()]
        );
        // RCOLLECTD_PLUGIN_DIR comes before both; an empty one is ignored.
        assert_eq!(
            default_dirs(Some("/opt/p".into()), Some(&exe)),
            vec![PathBuf::from("/opt/p"), collectd.clone()]
        );
        assert_eq!(
            default_dirs(Some("".into()), None)[0],
            PathBuf::from("/usr/lib/rcollectd")
        );
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real.so"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.so"), dir.path().join("link.so")).unwrap();
        assert!(find_file(dir.path(), "link").is_none());
        assert!(find_file(dir.path(), "REAL").is_some());
    }
}
