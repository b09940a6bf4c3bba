//! types.db: the data-set definitions (`type ds:TYPE:min:max, ...`) that say
//! how many values a type has and how each is interpreted. The C view
//! (`data_set_t`) that plugins receive is the daemon's `types_db` module.
//!
//! Parsing follows collectd 5.12's types_list.c: fields are separated by
//! spaces or tabs, a line whose first field starts with `#` is a comment, a
//! data source is `name:TYPE:min:max` with an optional trailing comma, the
//! type is case-insensitive, `U` (any case) means unknown (NaN). Where
//! collectd silently accepts a broken line, rcollectd reports it: a line with
//! a type but no data source, and a min/max that is not a number (collectd's
//! `atof` reads it as 0).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConfigError, Location};

/// `DATA_MAX_NAME_LEN`: size of every name buffer in collectd's structs.
pub const NAME_LEN: usize = 128;

/// The copy of collectd's standard types.db compiled into the binary.
const BUILTIN: &str = include_str!("../../share/types.db");

/// Where distributions install collectd's types.db.
pub const SYSTEM_TYPES_DB: &str = "/usr/share/collectd/types.db";

/// How a data source's values are interpreted; values are `DS_TYPE_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum DsType {
    Counter = 0,
    Gauge = 1,
    Derive = 2,
    Absolute = 3,
}

impl DsType {
    /// The `DS_TYPE_*` constant for C.
    pub fn as_c(self) -> i32 {
        self as i32
    }

    /// From a `DS_TYPE_*` constant; `None` for anything else.
    pub fn from_c(v: i32) -> Option<Self> {
        match v {
            0 => Some(DsType::Counter),
            1 => Some(DsType::Gauge),
            2 => Some(DsType::Derive),
            3 => Some(DsType::Absolute),
            _ => None,
        }
    }

    /// From a types.db spelling (case-insensitive, as collectd).
    pub fn parse(s: &str) -> Option<Self> {
        [
            ("GAUGE", DsType::Gauge),
            ("COUNTER", DsType::Counter),
            ("DERIVE", DsType::Derive),
            ("ABSOLUTE", DsType::Absolute),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, t)| t)
    }

    /// The types.db spelling.
    pub fn name(self) -> &'static str {
        match self {
            DsType::Counter => "COUNTER",
            DsType::Gauge => "GAUGE",
            DsType::Derive => "DERIVE",
            DsType::Absolute => "ABSOLUTE",
        }
    }
}

/// One value of a data set: its name, type and valid range (NaN = unbounded).
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    pub name: String,
    pub ds_type: DsType,
    pub min: f64,
    pub max: f64,
}

/// A type of types.db: the ordered data sources a value list of it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSet {
    pub type_name: String,
    pub sources: Vec<DataSource>,
}

/// All known data sets, by type name (case-sensitive, as collectd).
#[derive(Debug, Clone, Default)]
pub struct TypesDb {
    sets: HashMap<String, DataSet>,
}

impl TypesDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses types.db text named `file` in messages. Returns the good data
    /// sets and one error per bad line (bad lines are skipped, as collectd).
    pub fn parse(text: &str, file: &Path) -> (TypesDb, Vec<ConfigError>) {
        let mut db = TypesDb::new();
        let errors = db.merge_text(text, file);
        (db, errors)
    }

    /// Parses `text` into this database (later definitions replace earlier).
    fn merge_text(&mut self, text: &str, file: &Path) -> Vec<ConfigError> {
        let file = Arc::new(file.to_path_buf());
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let location = Location {
                file: file.clone(),
                line: u32::try_from(n + 1).unwrap_or(u32::MAX),
            };
            match parse_line(line) {
                Ok(Some(ds)) => self.insert(ds),
                Ok(None) => {}
                Err(m) => errors.push(ConfigError::at(&location, m)),
            }
        }
        errors
    }

    /// Loads `files` in order; later files override types of earlier ones.
    /// Unreadable files and bad lines are reported and skipped.
    pub fn load_files(files: &[PathBuf]) -> (TypesDb, Vec<ConfigError>) {
        let mut db = TypesDb::new();
        let mut errors = Vec::new();
        for f in files {
            match std::fs::read(f) {
                Ok(bytes) => {
                    errors.extend(db.merge_text(&String::from_utf8_lossy(&bytes), f));
                }
                Err(e) => errors.push(ConfigError {
                    location: None,
                    message: format!("cannot read types database {}: {e}", f.display()),
                }),
            }
        }
        (db, errors)
    }

    /// The database the daemon uses. Lookup order: the `TypesDB` files
    /// configured (`configured`, in order), if any; else
    /// `/usr/share/collectd/types.db` if it exists; else the built-in copy
    /// of collectd's standard types.db ([`TypesDb::builtin`]).
    pub fn load_default(configured: &[PathBuf]) -> (TypesDb, Vec<ConfigError>) {
        if !configured.is_empty() {
            return Self::load_files(configured);
        }
        let system = Path::new(SYSTEM_TYPES_DB);
        if system.exists() {
            return Self::load_files(&[system.to_path_buf()]);
        }
        (Self::builtin(), Vec::new())
    }

    /// collectd 5.12's standard types.db, compiled in.
    pub fn builtin() -> TypesDb {
        let (db, errors) = Self::parse(BUILTIN, Path::new("<built-in types.db>"));
        debug_assert!(errors.is_empty(), "built-in types.db: {errors:?}");
        db
    }

    /// The data set of `type_name`.
    pub fn get(&self, type_name: &str) -> Option<&DataSet> {
        self.sets.get(type_name)
    }

    /// Adds or replaces a data set (`plugin_register_data_set`).
    pub fn insert(&mut self, ds: DataSet) {
        self.sets.insert(ds.type_name.clone(), ds);
    }

    /// Number of types known.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether no type is known.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// All data sets, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &DataSet> {
        self.sets.values()
    }

    /// The data sets, consumed (a registry keeps them).
    pub fn into_sets(self) -> impl Iterator<Item = DataSet> {
        self.sets.into_values()
    }
}

/// Parses one line: `Ok(None)` for blank and comment lines.
fn parse_line(line: &str) -> Result<Option<DataSet>, String> {
    let mut fields = line.split([' ', '\t', '\r']).filter(|f| !f.is_empty());
    let Some(type_name) = fields.next() else {
        return Ok(None);
    };
    if type_name.starts_with('#') {
        return Ok(None);
    }
    let specs: Vec<&str> = fields.collect();
    if specs.is_empty() {
        return Err(format!(
            "type `{type_name}` has no data sources (expected `{type_name} name:GAUGE:min:max, ...`)"
        ));
    }
    if specs.len() > 63 {
        return Err(format!(
            "type `{type_name}` has {} data sources (at most 63)",
            specs.len()
        ));
    }
    if type_name.contains('\0') {
        return Err("type name contains a NUL byte".into());
    }
    if type_name.len() >= NAME_LEN {
        return Err(format!(
            "type name `{type_name}` is longer than {} bytes",
            NAME_LEN - 1
        ));
    }
    let sources = specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_ds(s).map_err(|m| {
                format!(
                    "types_list: parse_line: Cannot parse data source #{i} of data set {type_name}: {m}"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(DataSet {
        type_name: type_name.to_string(),
        sources,
    }))
}

/// Parses `name:TYPE:min:max` (one trailing comma allowed).
fn parse_ds(spec: &str) -> Result<DataSource, String> {
    let spec = spec.strip_suffix(',').unwrap_or(spec);
    // collectd splits with strtok, which skips empty fields.
    let f: Vec<&str> = spec.split(':').filter(|s| !s.is_empty()).collect();
    let [name, ty, min, max] = f.as_slice() else {
        return Err(format!(
            "parse_ds: (fields_num = {}) != 4 (`{spec}` should be `name:TYPE:min:max`)",
            f.len()
        ));
    };
    if name.contains('\0') {
        return Err("data source name contains a NUL byte".into());
    }
    if name.len() >= NAME_LEN {
        return Err(format!(
            "data source name `{name}` is longer than {} bytes",
            NAME_LEN - 1
        ));
    }
    let ds_type = DsType::parse(ty)
        .ok_or_else(|| format!("(fields[1] = {ty}) != (GAUGE || COUNTER || DERIVE || ABSOLUTE)"))?;
    let bound = |s: &str| {
        if s.eq_ignore_ascii_case("U") {
            f64::NAN
        } else {
            atof(s)
        }
    };
    Ok(DataSource {
        name: name.to_string(),
        ds_type,
        min: bound(min),
        max: bound(max),
    })
}

/// C's `atof`, which collectd reads bounds with: the longest leading part
/// that is a number, 0 when there is none (`abc` is 0, `5x` is 5).
fn atof(s: &str) -> f64 {
    (1..=s.len())
        .rev()
        .filter(|&end| s.is_char_boundary(end))
        .find_map(|end| s[..end].parse::<f64>().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_like_atof() {
        for (text, want) in [
            ("5", 5.0),
            ("-273.15", -273.15),
            ("1e3", 1000.0),
            ("5x", 5.0),
            ("abc", 0.0),
            ("", 0.0),
            ("1.5.2", 1.5),
        ] {
            assert_eq!(atof(text), want, "{text:?}");
        }
    }

    #[test]
    fn parses_lines_comments_and_bounds() {
        let text = "# comment\n\n  # indented comment\nload\tshortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\nif_octets  rx:DERIVE:0:U, tx:derive:0:u\ntemperature value:GAUGE:-273.15:U\nold value:COUNTER:U:U\nabs value:ABSOLUTE:0:U\n";
        let (db, errors) = TypesDb::parse(text, Path::new("t.db"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(db.len(), 5);
        let load = db.get("load").unwrap();
        assert_eq!(load.sources.len(), 3);
        assert_eq!(load.sources[1].name, "midterm");
        assert_eq!(load.sources[2].max, 5000.0);
        let ifo = db.get("if_octets").unwrap();
        assert_eq!(ifo.sources[1].ds_type, DsType::Derive);
        assert!(ifo.sources[1].max.is_nan());
        assert_eq!(db.get("temperature").unwrap().sources[0].min, -273.15);
        assert_eq!(db.get("old").unwrap().sources[0].ds_type, DsType::Counter);
        assert!(db.get("old").unwrap().sources[0].min.is_nan());
        assert_eq!(db.get("abs").unwrap().sources[0].ds_type, DsType::Absolute);
        assert!(db.get("Load").is_none(), "type names are case-sensitive");
    }

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = "good value:GAUGE:0:U\nnods\nbadtype value:FLOAT:0:U\nshort value:GAUGE:0\nbadmin value:GAUGE:abc:U\ntwo a:GAUGE:0:U, b:GAUGE:0:x\nalsogood value:DERIVE:0:U\n";
        let (db, errors) = TypesDb::parse(text, Path::new("/x/types.db"));
        assert_eq!(db.len(), 4);
        assert!(db.get("good").is_some() && db.get("alsogood").is_some());
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            vec![
                "/x/types.db:2: type `nods` has no data sources (expected `nods name:GAUGE:min:max, ...`)",
                "/x/types.db:3: types_list: parse_line: Cannot parse data source #0 of data set badtype: (fields[1] = FLOAT) != (GAUGE || COUNTER || DERIVE || ABSOLUTE)",
                "/x/types.db:4: types_list: parse_line: Cannot parse data source #0 of data set short: parse_ds: (fields_num = 3) != 4 (`value:GAUGE:0` should be `name:TYPE:min:max`)",
            ]
        );
        // Bounds are read as C's atof reads them, as collectd does.
        assert_eq!(db.get("badmin").unwrap().sources[0].min, 0.0);
        assert!(db.get("two").unwrap().sources[1].max == 0.0);
    }

    #[test]
    fn later_files_override_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.db");
        let b = dir.path().join("b.db");
        std::fs::write(&a, "x value:GAUGE:0:1\ny value:GAUGE:0:1\n").unwrap();
        std::fs::write(&b, "x value:DERIVE:0:U\n").unwrap();
        let missing = dir.path().join("missing.db");
        let (db, errors) = TypesDb::load_files(&[a, b, missing.clone()]);
        assert_eq!(db.len(), 2);
        assert_eq!(db.get("x").unwrap().sources[0].ds_type, DsType::Derive);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().starts_with(&format!(
            "cannot read types database {}: ",
            missing.display()
        )));
    }

    #[test]
    fn builtin_is_the_standard_file() {
        let db = TypesDb::builtin();
        assert!(db.len() > 300, "{}", db.len());
        let cpu = db.get("cpu").unwrap();
        assert_eq!(cpu.sources.len(), 1);
        assert_eq!(cpu.sources[0].ds_type, DsType::Derive);
        let octets = db.get("if_octets").unwrap();
        let names: Vec<&str> = octets.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["rx", "tx"]);
        // The built-in copy parses with no error at all.
        let (_, errors) = TypesDb::parse(BUILTIN, Path::new("b"));
        assert!(errors.is_empty());
    }

    #[test]
    fn system_types_db_matches_builtin_when_present() {
        let p = Path::new(SYSTEM_TYPES_DB);
        if !p.exists() {
            return;
        }
        let (sys, errors) = TypesDb::load_files(&[p.to_path_buf()]);
        assert!(errors.is_empty(), "{errors:?}");
        let builtin = TypesDb::builtin();
        assert_eq!(sys.len(), builtin.len());
        for ds in builtin.iter() {
            let other = sys.get(&ds.type_name).unwrap();
            assert_eq!(other.sources.len(), ds.sources.len(), "{}", ds.type_name);
        }
    }
}

#[cfg(test)]
mod random_tests {
    use super::*;
    use crate::testgen;

    /// Pseudo-random types.db text from a fixed seed: bad lines are errors,
    /// never panics. (The daemon checks the C round trip of the same texts;
    /// libFuzzer does both in `fuzz/fuzz_targets/types_db.rs`.)
    #[test]
    fn random_inputs_never_panic() {
        let (mut good, mut bad) = (0, 0);
        for text in testgen::types_db_texts() {
            let (db, errors) = TypesDb::parse(&text, Path::new("r.db"));
            bad += errors.len();
            good += db.iter().count();
        }
        assert!(good > 50 && bad > 50, "good {good}, bad {bad}");
    }
}
