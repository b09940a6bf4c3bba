//! csv write plugin, compatible with collectd 5.12's `csv`:
//!
//! ```text
//! <Plugin csv>
//!   DataDir "/var/lib/collectd/csv"   # or "stdout" / "stderr"
//!   StoreRates false                  # counters/derives as per-second rates
//!   FileDate true                     # "-YYYY-MM-DD" suffix (collectd > 5.12)
//! </Plugin>
//! ```
//!
//! Each value list is appended to `<DataDir>/<host>/<plugin>[-<pi>]/<type>[-<ti>]-YYYY-MM-DD`
//! (local date of the write; a new file each day) whose first line is
//! `epoch,<ds names>`; lines are formatted exactly as collectd's (see
//! [`format`]). With `DataDir "stdout"`/`"stderr"` it prints `PUTVAL` lines.
//! Without `DataDir` files go below the daemon's working directory (BaseDir).
//!
//! Unlike collectd, open files are kept in a bounded cache instead of being
//! reopened for every value list; each line is still written with a single
//! `write(2)` in append mode, so it is on disk as soon as `write` returns.
//! A file that was removed or replaced is noticed within 10 seconds (or at
//! the next flush) and recreated with its header.

pub mod format;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rcollectd_plugin::{export_plugin, Config, Flush, Plugin, Result, ValueList, Write};
use serde::Deserialize;

/// The `<Plugin csv>` options.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// Directory, or "stdout"/"stderr" (case-insensitive).
    pub data_dir: Option<String>,
    /// Write rates instead of raw counter/derive/absolute values.
    pub store_rates: bool,
    /// Append "-YYYY-MM-DD" to file names.
    pub file_date: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: None,
            store_rates: false,
            file_date: true,
        }
    }
}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Files below this directory (`None`: the working directory).
    Files(Option<PathBuf>),
    /// `PUTVAL` lines on stdout.
    Stdout,
    /// `PUTVAL` lines on stderr.
    Stderr,
}

impl Settings {
    /// The output target (trailing slashes stripped as collectd does).
    pub fn target(&self) -> Target {
        match self.data_dir.as_deref() {
            Some(d) if d.eq_ignore_ascii_case("stdout") => Target::Stdout,
            Some(d) if d.eq_ignore_ascii_case("stderr") => Target::Stderr,
            Some(d) => {
                let d = d.trim_end_matches('/');
                Target::Files((!d.is_empty()).then(|| PathBuf::from(d)))
            }
            None => Target::Files(None),
        }
    }
}

const SHARDS: usize = 16;
const MAX_OPEN_PER_SHARD: usize = 64;
const RECHECK: Duration = Duration::from_secs(10);

struct OpenFile {
    file: File,
    dev: u64,
    ino: u64,
    checked: Instant,
}

/// The plugin.
pub struct Csv {
    target: Target,
    store_rates: bool,
    file_date: bool,
    /// Keyed by the path's bytes: hashing a `Path` walks its components.
    files: [Mutex<HashMap<OsString, OpenFile>>; SHARDS],
}

thread_local! {
    /// Per write thread: the last second seen and its "-YYYY-MM-DD".
    static DAY: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
}

/// "-YYYY-MM-DD" of the local date now (collectd uses the write time, not
/// the value's time).
#[cfg(test)]
fn date_suffix() -> String {
    let mut s = String::new();
    push_date_suffix(&mut s);
    s
}

/// Appends [`date_suffix`] to `out` without allocating (cached per thread
/// and second).
fn push_date_suffix(out: &mut String) {
    // SAFETY: time(NULL) only reads the clock.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    DAY.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != now {
            // SAFETY: an all-zero `tm` is a valid value to overwrite.
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            // SAFETY: both pointers are valid locals; localtime_r is thread-safe.
            if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
                return;
            }
            d.1 = format!(
                "-{:04}-{:02}-{:02}",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday
            );
            d.0 = now;
        }
        out.push_str(&d.1);
    })
}

/// Refuses relative path components that start with a dot (`..`, hidden
/// directories), as collectd's `check_create_dir` does.
fn check_components(relative: &str) -> io::Result<()> {
    if relative.split('/').any(|c| c.starts_with('.')) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cowardly refusing to create a path component that begins with a dot: `{relative}'"
            ),
        ));
    }
    Ok(())
}

fn open_file(path: &Path, header: &str) -> io::Result<OpenFile> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                io::Error::new(e.kind(), format!("creating {}: {e}", parent.display()))
            })?;
        }
    }
    let file = match OpenOptions::new().append(true).create_new(true).open(path) {
        Ok(mut f) => {
            f.write_all(format!("{header}\n").as_bytes())?;
            f
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            OpenOptions::new().append(true).open(path)?
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "stat({}): Not a regular file!",
            path.display()
        )));
    }
    Ok(OpenFile {
        file,
        dev: meta.dev(),
        ino: meta.ino(),
        checked: Instant::now(),
    })
}

impl Csv {
    /// A writer with these settings.
    pub fn with_settings(settings: &Settings) -> Csv {
        Csv {
            target: settings.target(),
            store_rates: settings.store_rates,
            file_date: settings.file_date,
            files: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }

    fn shard(&self, path: &Path) -> &Mutex<HashMap<OsString, OpenFile>> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        path.as_os_str().hash(&mut h);
        &self.files[(h.finish() as usize) % SHARDS]
    }

    /// Appends `line` to `path`, creating the file with `header` if needed.
    fn append(&self, path: &Path, header: impl FnOnce() -> String, line: &str) -> io::Result<()> {
        let mut files = self.shard(path).lock().unwrap_or_else(|e| e.into_inner());
        let key = path.as_os_str();
        let stale = match files.get(key) {
            Some(f) if f.checked.elapsed() >= RECHECK => match std::fs::metadata(path) {
                Ok(m) => m.dev() != f.dev || m.ino() != f.ino,
                Err(_) => true,
            },
            Some(_) => false,
            None => true,
        };
        if stale {
            files.remove(key);
            if files.len() >= MAX_OPEN_PER_SHARD {
                files.clear();
            }
            let f = open_file(path, &header())?;
            files.insert(key.to_os_string(), f);
        }
        let entry = files
            .get_mut(key)
            .ok_or_else(|| io::Error::other("file cache entry vanished"))?;
        if !stale && entry.checked.elapsed() >= RECHECK {
            entry.checked = Instant::now();
        }
        let r = entry.file.write_all(line.as_bytes());
        if r.is_err() {
            files.remove(key);
        }
        r
    }

    /// Formats one value list into its data line (without newline).
    pub fn line(&self, vl: &ValueList<'_>) -> Result<String> {
        let ds = vl.data_set();
        if ds.type_name() != vl.type_() {
            return Err("DS type does not match value list type".into());
        }
        if ds.len() != vl.len() {
            return Err(format!(
                "{} has {} values but type {} has {} data sources",
                vl.identifier(),
                vl.len(),
                ds.type_name(),
                ds.len()
            )
            .into());
        }
        let needs_rates = self.store_rates
            && ds
                .sources()
                .any(|s| s.ds_type() != rcollectd_plugin::DsType::Gauge);
        let rates = if needs_rates {
            Some(vl.rates().inspect_err(|_| {
                rcollectd_plugin::log::warn!("uc_get_rate failed.");
            })?)
        } else {
            None
        };
        let mut line = String::with_capacity(64);
        format::push_line(
            &mut line,
            vl.time(),
            vl.values().map(|(d, v)| (d.ds_type(), v)),
            rates.as_deref(),
        )
        .map_err(|_| "uc_get_rate returned too few rates")?;
        Ok(line)
    }

    fn close_all(&self) {
        for shard in &self.files {
            shard.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

impl Plugin for Csv {
    const NAME: &'static str = "csv";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        Ok(Csv::with_settings(&settings))
    }

    fn shutdown(&self) -> Result {
        self.close_all();
        Ok(())
    }
}

impl Write for Csv {
    fn write(&self, vl: &ValueList<'_>) -> Result {
        let id = format::identifier(
            vl.host(),
            vl.plugin(),
            vl.plugin_instance(),
            vl.type_(),
            vl.type_instance(),
        );
        let line = self.line(vl)?;
        match &self.target {
            Target::Stdout => {
                io::stdout()
                    .lock()
                    .write_all(format::putval_line(&id, vl.interval(), &line).as_bytes())?;
            }
            Target::Stderr => {
                io::stderr()
                    .lock()
                    .write_all(format::putval_line(&id, vl.interval(), &line).as_bytes())?;
            }
            Target::Files(dir) => {
                check_components(&id)?;
                let mut name = id;
                if self.file_date {
                    push_date_suffix(&mut name);
                }
                let path = match dir {
                    Some(d) => d.join(&name),
                    None => PathBuf::from(name),
                };
                let header = || format::header(vl.data_set().sources().map(|s| s.name()));
                let mut text = line;
                text.push('\n');
                self.append(&path, header, &text)
                    .map_err(|e| format!("writing {} failed: {e}", path.display()))?;
            }
        }
        Ok(())
    }
}

impl Flush for Csv {
    /// Lines are never buffered; flushing closes the cached files so that
    /// moved or deleted files are recreated on the next write.
    fn flush(&self, _timeout: Option<Duration>, _identifier: Option<&str>) -> Result {
        self.close_all();
        Ok(())
    }
}

export_plugin!(Csv, write, flush);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn settings() {
        let cfg = |items| Config {
            plugin: "csv".into(),
            items,
        };
        let s: Settings = cfg(vec![
            ConfigItem::new(
                "DataDir",
                vec![ConfigValue::String("/var/lib/csv//".into())],
            ),
            ConfigItem::new("StoreRates", vec![ConfigValue::Boolean(true)]),
        ])
        .deserialize()
        .unwrap();
        assert_eq!(
            s.target(),
            Target::Files(Some(PathBuf::from("/var/lib/csv")))
        );
        assert!(s.store_rates);
        assert!(s.file_date);
        let s: Settings = cfg(vec![ConfigItem::new(
            "datadir",
            vec![ConfigValue::String("STDOUT".into())],
        )])
        .deserialize()
        .unwrap();
        assert_eq!(s.target(), Target::Stdout);
        assert_eq!(Settings::default().target(), Target::Files(None));
        let e = cfg(vec![ConfigItem::new(
            "WithDate",
            vec![ConfigValue::Boolean(true)],
        )])
        .deserialize::<Settings>()
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("<Plugin csv> / WithDate true: unknown field `WithDate`"),
            "{e}"
        );
    }

    #[test]
    fn date_suffix_shape() {
        let d = date_suffix();
        assert_eq!(d.len(), 11, "{d}");
        assert!(d.starts_with("-20"));
    }

    #[test]
    fn refuses_dot_components() {
        assert!(check_components("h/p/t").is_ok());
        assert!(check_components("h/../t").is_err());
        assert!(check_components(".h/p/t").is_err());
    }

    #[test]
    fn append_creates_header_once_and_recreates_deleted_files() {
        let dir = tempfile::tempdir().unwrap();
        let csv = Csv::with_settings(&Settings {
            data_dir: Some(dir.path().display().to_string()),
            ..Default::default()
        });
        let path = dir.path().join("h/p/t-2020-01-01");
        csv.append(&path, || "epoch,value".into(), "1.000,1\n")
            .unwrap();
        csv.append(
            &path,
            || unreachable!("header only for new files"),
            "2.000,2\n",
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "epoch,value\n1.000,1\n2.000,2\n"
        );
        std::fs::remove_file(&path).unwrap();
        csv.flush(None, None).unwrap();
        csv.append(&path, || "epoch,value".into(), "3.000,3\n")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "epoch,value\n3.000,3\n"
        );
    }
}
