//! The `tail` plugin: follows log files and turns the lines its regexes
//! match into values, with collectd 5.12's options, identifiers and
//! `DSType` semantics, so a collectd `<Plugin tail>` block works unchanged.
//!
//! ```text
//! <Plugin tail>
//!   <File "/var/log/app.log">
//!     Instance "app"        # plugin instance of the Matches after it
//!     Interval 10           # this file's read interval
//!     <Match>
//!       Regex "bytes=([0-9]+)"   # first group is the value
//!       ExcludeRegex "healthcheck"
//!       DSType "CounterAdd"
//!       Type "counter"
//!       Instance "bytes"         # type instance
//!     </Match>
//!   </File>
//! </Plugin>
//! ```
//!
//! Each `File` has its own read callback (`tail-0`, `tail-1`, ... as in
//! collectd). This file is the glue (config, file I/O, dispatch); the rules
//! are in [`core`].

pub mod core;

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::core::{DsType, FileId, FileView, Follower, LatencyConfig, Matcher};
use rcollectd_plugin::{
    export_plugin, log, register_read_fn, CdTime, Config, ConfigItem, ConfigValue, Plugin, Result,
    Value, ValueListBuilder,
};

/// One `Match` with the identifier its value is dispatched under.
#[derive(Debug)]
pub struct MatchTarget {
    /// `Plugin` of the enclosing `File` when it came before, else "tail".
    pub plugin: String,
    /// The `File`'s `Instance` when it came before this `Match`.
    pub plugin_instance: String,
    /// `Type`.
    pub type_: String,
    /// The `Match`'s `Instance`.
    pub type_instance: String,
    /// The regexes and the value.
    pub matcher: Matcher,
    /// The options of a `Distribution`.
    pub latency: Option<LatencyConfig>,
}

/// One configured `File`: the path, its interval and its matches.
#[derive(Debug)]
pub struct TailFile {
    /// The followed path.
    pub path: PathBuf,
    /// `Interval` (`None`: the global one).
    pub interval: Option<Duration>,
    /// The valid `Match` blocks, in order.
    pub matches: Vec<MatchTarget>,
}

/// The real file system under one path.
struct Disk<'a>(&'a PathBuf);

fn id_size(m: &std::fs::Metadata) -> (FileId, u64) {
    let id = FileId {
        dev: m.dev(),
        ino: m.ino(),
    };
    (id, m.size())
}

impl FileView for Disk<'_> {
    type Handle = File;
    fn stat(&mut self) -> io::Result<(FileId, u64)> {
        std::fs::metadata(self.0).map(|m| id_size(&m))
    }
    fn open(&mut self) -> io::Result<(File, FileId, u64)> {
        let f = File::open(self.0)?;
        let (id, size) = id_size(&f.metadata()?);
        Ok((f, id, size))
    }
    fn read_at(&mut self, h: &mut File, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        h.read_at(buf, pos)
    }
}

/// A `File` being followed: what its read callback owns.
struct Followed {
    file: TailFile,
    follower: Follower<File>,
    /// Whether the last poll failed, so a lasting failure is logged once.
    failing: bool,
}

impl Followed {
    /// One read: the new lines through every match, then one value per
    /// match (none if the file could not be read, as collectd).
    fn read(&mut self) -> Result {
        let Followed {
            file,
            follower,
            failing,
        } = self;
        let matches = &mut file.matches;
        let polled = follower.poll(&mut Disk(&file.path), &mut |line| {
            for m in matches.iter_mut() {
                if let Err(e) = m.matcher.apply(line) {
                    log::debug!("{}: line not counted: {e}", m.type_);
                }
            }
        });
        if let Err(e) = polled {
            let first = !*failing;
            *failing = true;
            if first {
                return Err(format!("cannot read {}: {e}", file.path.display()).into());
            }
            return Err("file still unreadable".into());
        }
        *failing = false;
        for m in &mut file.matches {
            if let Some(config) = &m.latency {
                let now = CdTime::now();
                let values =
                    m.matcher
                        .value
                        .take_distribution(config, &m.type_, &m.type_instance, now.0);
                for (type_, type_instance, v) in values {
                    ValueListBuilder::new(&m.plugin, &type_)
                        .plugin_instance(&m.plugin_instance)
                        .type_instance(&type_instance)
                        .time(now)
                        .values(&[Value::Gauge(v)])
                        .dispatch()?;
                }
                continue;
            }
            let v = [m.matcher.value.take()];
            ValueListBuilder::new(&m.plugin, &m.type_)
                .plugin_instance(&m.plugin_instance)
                .type_instance(&m.type_instance)
                .values(&v)
                .dispatch()?;
        }
        Ok(())
    }
}

/// The loaded plugin: every `File` has its own read callback.
pub struct Tail {
    files: usize,
}

fn string(item: &ConfigItem) -> std::result::Result<String, String> {
    match item.values.as_slice() {
        [ConfigValue::String(s)] => Ok(s.clone()),
        _ => Err(format!("`{}' needs exactly one string argument.", item.key)),
    }
}

/// Reads one `Match` block as collectd's `ctail_config_add_match`.
fn parse_match(
    item: &ConfigItem,
    plugin: &str,
    plugin_instance: &str,
) -> std::result::Result<MatchTarget, String> {
    if !item.values.is_empty() {
        log::warn!("Ignoring arguments for the `Match' block.");
    }
    let (mut regex, mut exclude, mut ds, mut type_, mut instance) = (None, None, None, None, None);
    let mut latency = None;
    for opt in &item.children {
        let k = opt.key.to_ascii_lowercase();
        let slot = match k.as_str() {
            "regex" => &mut regex,
            "excluderegex" => &mut exclude,
            "type" => &mut type_,
            "instance" => &mut instance,
            "dstype" => {
                let parsed = DsType::parse(&string(opt)?)?;
                if parsed == DsType::Distribution {
                    let mut warnings = Vec::new();
                    let config = LatencyConfig::parse(opt, &mut warnings);
                    for w in warnings {
                        log::warn!("{w}");
                    }
                    latency = Some(config?);
                }
                ds = Some(parsed);
                continue;
            }
            _ => return Err(format!("Option `{}' not allowed here.", opt.key)),
        };
        *slot = Some(string(opt)?);
    }
    let regex = regex.ok_or("`Regex' missing in `Match' block.")?;
    let type_ = type_.ok_or("`Type' missing in `Match' block.")?;
    let ds = ds.ok_or("`DSType' missing in `Match' block.")?;
    Ok(MatchTarget {
        plugin: plugin.to_owned(),
        plugin_instance: plugin_instance.to_owned(),
        type_,
        type_instance: instance.unwrap_or_default(),
        matcher: Matcher::new(&regex, exclude.as_deref(), ds)?,
        latency,
    })
}

/// Reads one `File` block as collectd's `ctail_config_add_file`: options
/// apply to the `Match` blocks after them, a bad `Match` is skipped, an
/// unknown option ends the block; a `File` without valid matches is an
/// error.
pub fn parse_file(item: &ConfigItem) -> std::result::Result<TailFile, String> {
    let path = string(item)?;
    let (mut plugin, mut instance) = ("tail".to_owned(), String::new());
    let mut file = TailFile {
        path: PathBuf::from(&path),
        interval: None,
        matches: Vec::new(),
    };
    for opt in &item.children {
        match opt.key.to_ascii_lowercase().as_str() {
            "plugin" => plugin = string(opt)?,
            "instance" => instance = string(opt)?,
            "interval" => {
                file.interval = match opt.values.as_slice() {
                    [ConfigValue::Number(n)] if *n > 0.0 && n.is_finite() => {
                        Some(Duration::from_secs_f64(*n))
                    }
                    _ => {
                        log::warn!("`Interval' needs exactly one positive number.");
                        file.interval
                    }
                }
            }
            "match" => match parse_match(opt, &plugin, &instance) {
                Ok(m) => file.matches.push(m),
                Err(e) => log::warn!("{e}"),
            },
            _ => {
                log::warn!("Option `{}' not allowed here.", opt.key);
                break;
            }
        }
    }
    if file.matches.is_empty() {
        return Err(format!("No (valid) matches found for file `{path}'."));
    }
    Ok(file)
}

/// Reads the whole `<Plugin tail>` configuration: the valid `File`s.
pub fn parse_config(config: &Config) -> Vec<TailFile> {
    let mut files = Vec::new();
    for item in &config.items {
        if !item.key.eq_ignore_ascii_case("File") {
            log::warn!("Option `{}' not allowed here.", item.key);
            continue;
        }
        match parse_file(item) {
            Ok(f) => files.push(f),
            Err(e) => log::error!("{e}"),
        }
    }
    files
}

impl Plugin for Tail {
    const NAME: &'static str = "tail";

    fn new(config: &Config) -> Result<Self> {
        let files = parse_config(config);
        let count = files.len();
        for (i, file) in files.into_iter().enumerate() {
            let interval = file.interval;
            let followed = Arc::new(Mutex::new(Followed {
                file,
                follower: Follower::new(),
                failing: false,
            }));
            register_read_fn(&format!("tail-{i}"), interval, move || {
                followed.lock().unwrap_or_else(|e| e.into_inner()).read()
            })?;
        }
        Ok(Tail { files: count })
    }
}

impl Tail {
    /// How many files are followed.
    pub fn files(&self) -> usize {
        self.files
    }
}

export_plugin!(Tail);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn s(v: &str) -> Vec<ConfigValue> {
        vec![ConfigValue::String(v.into())]
    }

    fn matcher(regex: &str, ds: &str, type_: &str, inst: &str) -> ConfigItem {
        ConfigItem::block(
            "Match",
            vec![],
            vec![
                ConfigItem::new("Regex", s(regex)),
                ConfigItem::new("DSType", s(ds)),
                ConfigItem::new("Type", s(type_)),
                ConfigItem::new("Instance", s(inst)),
            ],
        )
    }

    #[test]
    fn file_options_apply_to_later_matches_and_bad_matches_are_skipped() {
        let item = ConfigItem::block(
            "File",
            s("/x.log"),
            vec![
                matcher("a", "CounterInc", "counter", "first"),
                ConfigItem::new("Instance", s("app")),
                ConfigItem::new("Interval", vec![ConfigValue::Number(2.5)]),
                matcher("b", "AbsoluteAdd", "absolute", "bad"),
                matcher("(", "CounterInc", "counter", "badregex"),
                matcher("c", "GaugeInc", "gauge", "third"),
                ConfigItem::new("Nope", s("x")),
                matcher("d", "GaugeInc", "gauge", "after-unknown"),
            ],
        );
        let f = parse_file(&item).unwrap();
        assert_eq!(f.interval, Some(Duration::from_millis(2500)));
        let ids: Vec<_> = f
            .matches
            .iter()
            .map(|m| {
                format!(
                    "{}-{}/{}-{}",
                    m.plugin, m.plugin_instance, m.type_, m.type_instance
                )
            })
            .collect();
        assert_eq!(ids, ["tail-/counter-first", "tail-app/gauge-third"]);
        let none = ConfigItem::block("File", s("/x"), vec![matcher("(", "GaugeInc", "g", "")]);
        assert!(parse_file(&none).is_err());
        let mut no_type = matcher("a", "GaugeInc", "g", "");
        no_type.children.retain(|c| c.key != "Type");
        assert!(parse_match(&no_type, "tail", "").is_err());
    }

    #[test]
    fn read_dispatches_one_value_per_match() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "before 1\n").unwrap();
        let item = ConfigItem::block(
            "File",
            s(path.to_str().unwrap()),
            vec![
                ConfigItem::new("Instance", s("app")),
                matcher("req ([0-9]+)", "GaugeMax", "latency", "max"),
                matcher("req", "DeriveInc", "derive", "n"),
            ],
        );
        let mut followed = Followed {
            file: parse_file(&item).unwrap(),
            follower: Follower::new(),
            failing: false,
        };
        let first = rcollectd_plugin::testing::capture(|| followed.read());
        assert!(first.result.is_ok());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"req 5\nreq 9\nreq 2\n").unwrap();
        let second = rcollectd_plugin::testing::capture(|| followed.read());
        assert!(second.result.is_ok());
        let got: Vec<_> = second
            .values
            .iter()
            .map(|v| {
                (
                    v.plugin.clone(),
                    v.plugin_instance.clone(),
                    v.type_instance.clone(),
                )
            })
            .collect();
        assert_eq!(got[0], ("tail".into(), "app".into(), "max".into()));
        assert_eq!(second.values.len(), 2);
        assert_eq!(second.values[0].gauges(), [9.0]);
        assert_eq!(second.values[1].derives(), [3]);
        std::fs::remove_file(&path).unwrap();
        drop(f);
        // Path gone, the open file is kept: no error.
        assert!(rcollectd_plugin::testing::capture(|| followed.read())
            .result
            .is_ok());
    }
}
