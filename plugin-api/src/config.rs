//! The `<Plugin>` configuration block as an owned tree, with typed getters
//! and serde deserialization into the plugin's own struct.
//!
//! collectd frees its `oconfig_item_t` tree after the configuration phase,
//! so the tree is copied into [`ConfigItem`]s when the daemon hands it over.

use std::ffi::CStr;
use std::fmt;

use crate::sys;

mod de;

/// One value of a config line: `Key "string" 1.5 true`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A quoted or bare word.
    String(String),
    /// A number.
    Number(f64),
    /// `true`/`false` (and collectd's `yes`/`no`/`on`/`off` when unquoted).
    Boolean(bool),
}

impl ConfigValue {
    /// A short description for error messages: `the string "x"`.
    pub fn describe(&self) -> String {
        match self {
            ConfigValue::String(s) => format!("the string \"{s}\""),
            ConfigValue::Number(n) => format!("the number {n}"),
            ConfigValue::Boolean(b) => format!("the boolean {b}"),
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::String(s) => {
                write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
            ConfigValue::Number(n) => write!(f, "{n}"),
            ConfigValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// One config line or block: key, values, and (for blocks) children.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigItem {
    /// The option name as written (`ReportByCpu`, `Server`, ...).
    pub key: String,
    /// Its values, in order.
    pub values: Vec<ConfigValue>,
    /// Nested items of a `<Key values>` block.
    pub children: Vec<ConfigItem>,
}

/// A configuration error naming the offending option and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where: `<Plugin example> / Server "a" "b" / Port`.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A new error located at `item` (described by its path string).
    pub fn at(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: Some(path.into()),
            message: message.into(),
        }
    }

    /// Sets the location if none is known yet (inner locations win).
    pub(crate) fn located(mut self, path: impl FnOnce() -> String) -> ConfigError {
        if self.path.is_none() {
            self.path = Some(path());
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Normalises a key for matching: ASCII-lowercase without `_` and `-`.
pub(crate) fn key_eq(a: &str, b: &str) -> bool {
    let mut x = a
        .bytes()
        .filter(|c| *c != b'_' && *c != b'-')
        .map(|c| c.to_ascii_lowercase());
    let mut y = b
        .bytes()
        .filter(|c| *c != b'_' && *c != b'-')
        .map(|c| c.to_ascii_lowercase());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

impl ConfigItem {
    /// A leaf item `key values...` (handy in tests).
    pub fn new(key: &str, values: Vec<ConfigValue>) -> ConfigItem {
        ConfigItem {
            key: key.to_owned(),
            values,
            children: Vec::new(),
        }
    }

    /// A block `<key values...> children </key>`.
    pub fn block(key: &str, values: Vec<ConfigValue>, children: Vec<ConfigItem>) -> ConfigItem {
        ConfigItem {
            key: key.to_owned(),
            values,
            children,
        }
    }

    /// Deep-copies a raw `oconfig_item_t` tree.
    ///
    /// # Safety
    /// `raw` must be a valid tree: `key` NULL or NUL-terminated, `values`
    /// and `children` pointing to `values_num`/`children_num` elements,
    /// string values NUL-terminated.
    pub unsafe fn from_raw(raw: &sys::oconfig_item_t) -> ConfigItem {
        // SAFETY: guaranteed by the caller.
        let key = unsafe { cstr_lossy(raw.key) };
        let mut values = Vec::new();
        if !raw.values.is_null() && raw.values_num > 0 {
            // SAFETY: guaranteed by the caller.
            let vals = unsafe { std::slice::from_raw_parts(raw.values, raw.values_num as usize) };
            for v in vals {
                // SAFETY: the union member read is selected by `type_`.
                values.push(unsafe {
                    match v.type_ as u32 {
                        sys::OCONFIG_TYPE_NUMBER => ConfigValue::Number(v.value.number),
                        sys::OCONFIG_TYPE_BOOLEAN => ConfigValue::Boolean(v.value.boolean != 0),
                        _ => ConfigValue::String(cstr_lossy(v.value.string)),
                    }
                });
            }
        }
        let mut children = Vec::new();
        if !raw.children.is_null() && raw.children_num > 0 {
            // SAFETY: guaranteed by the caller.
            let kids =
                unsafe { std::slice::from_raw_parts(raw.children, raw.children_num as usize) };
            for k in kids {
                // SAFETY: children of a valid tree are valid trees.
                children.push(unsafe { ConfigItem::from_raw(k) });
            }
        }
        ConfigItem {
            key,
            values,
            children,
        }
    }

    /// How this item is shown in error messages: `Key "v1" 2`, or
    /// `<Key "v1">` for blocks.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let block = !self.children.is_empty();
        if block {
            s.push('<');
        }
        s.push_str(&self.key);
        for v in &self.values {
            s.push(' ');
            s.push_str(&v.to_string());
        }
        if block {
            s.push('>');
        }
        s
    }

    /// Children whose key matches `key` (case-insensitively).
    pub fn children_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a ConfigItem> + 'a {
        self.children
            .iter()
            .filter(move |c| c.key.eq_ignore_ascii_case(key))
    }

    /// The last child with this key (collectd's "last one wins").
    pub fn child(&self, key: &str) -> Option<&ConfigItem> {
        self.children
            .iter()
            .rev()
            .find(|c| c.key.eq_ignore_ascii_case(key))
    }

    fn single(&self) -> Result<&ConfigValue, ConfigError> {
        match self.values.as_slice() {
            [v] => Ok(v),
            vs => Err(ConfigError::at(
                self.describe(),
                format!(
                    "option \"{}\" needs exactly one value, got {}",
                    self.key,
                    vs.len()
                ),
            )),
        }
    }

    fn wrong(&self, want: &str, got: &ConfigValue) -> ConfigError {
        ConfigError::at(
            self.describe(),
            format!(
                "option \"{}\" expects {want}, got {}",
                self.key,
                got.describe()
            ),
        )
    }

    /// The single string value (`cf_util_get_string`).
    pub fn get_string(&self) -> Result<&str, ConfigError> {
        match self.single()? {
            ConfigValue::String(s) => Ok(s),
            v => Err(self.wrong("a string", v)),
        }
    }

    /// The single boolean (`cf_util_get_boolean`: also the strings
    /// true/yes/on and false/no/off).
    pub fn get_bool(&self) -> Result<bool, ConfigError> {
        match self.single()? {
            ConfigValue::Boolean(b) => Ok(*b),
            ConfigValue::String(s) => {
                parse_bool(s).ok_or_else(|| self.wrong("a boolean", self.single().unwrap()))
            }
            v => Err(self.wrong("a boolean", v)),
        }
    }

    /// The single number (`cf_util_get_double`; numeric strings accepted).
    pub fn get_f64(&self) -> Result<f64, ConfigError> {
        match self.single()? {
            ConfigValue::Number(n) => Ok(*n),
            ConfigValue::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.wrong("a number", self.single().unwrap())),
            v => Err(self.wrong("a number", v)),
        }
    }

    /// The single integer (`cf_util_get_int`; must be integral).
    pub fn get_i64(&self) -> Result<i64, ConfigError> {
        let n = self.get_f64()?;
        if n.fract() != 0.0 || !(-9.2e18..=9.2e18).contains(&n) {
            return Err(self.wrong("an integer", self.single()?));
        }
        Ok(n as i64)
    }

    /// A port number 1..=65535 given as number or service string
    /// (`cf_util_get_port_number`; service names are not resolved).
    pub fn get_port(&self) -> Result<u16, ConfigError> {
        let n = self.get_i64().map_err(|_| {
            self.wrong(
                "a port number",
                self.single().unwrap_or(&ConfigValue::Number(0.0)),
            )
        })?;
        if (1..=65535).contains(&n) {
            Ok(n as u16)
        } else {
            Err(ConfigError::at(
                self.describe(),
                format!("option \"{}\": port {n} is out of range 1..65535", self.key),
            ))
        }
    }

    /// The values as strings (all must be strings).
    pub fn get_strings(&self) -> Result<Vec<&str>, ConfigError> {
        self.values
            .iter()
            .map(|v| match v {
                ConfigValue::String(s) => Ok(s.as_str()),
                v => Err(self.wrong("strings", v)),
            })
            .collect()
    }
}

/// collectd's IS_TRUE / IS_FALSE spellings.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if ["true", "yes", "on"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
    {
        Some(true)
    } else if ["false", "no", "off"]
        .iter()
        .any(|t| s.eq_ignore_ascii_case(t))
    {
        Some(false)
    } else {
        None
    }
}

/// # Safety
/// `p` must be NULL or a NUL-terminated string.
unsafe fn cstr_lossy(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The plugin's configuration: the children of every `<Plugin name>` block
/// for this plugin, in file order (several blocks are merged).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// Name of the plugin (for messages).
    pub plugin: String,
    /// All options of all the plugin's blocks, in order.
    pub items: Vec<ConfigItem>,
}

impl Config {
    /// An empty configuration for `plugin` (no `<Plugin>` block given).
    pub fn new(plugin: &str) -> Config {
        Config {
            plugin: plugin.to_owned(),
            items: Vec::new(),
        }
    }

    /// Options whose key matches `key` (case-insensitively).
    pub fn items_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a ConfigItem> + 'a {
        self.items
            .iter()
            .filter(move |c| c.key.eq_ignore_ascii_case(key))
    }

    /// The last option with this key.
    pub fn get(&self, key: &str) -> Option<&ConfigItem> {
        self.items
            .iter()
            .rev()
            .find(|c| c.key.eq_ignore_ascii_case(key))
    }

    /// `<Plugin name>`, the root of error paths.
    pub fn path(&self) -> String {
        format!("<Plugin {}>", self.plugin)
    }

    /// Deserializes the options into the plugin's settings struct. Keys match
    /// field names case-insensitively, ignoring `_` (so `report_by_cpu`
    /// matches `ReportByCpu`), or by `#[serde(rename)]`; see the crate docs
    /// for the full mapping.
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, ConfigError> {
        de::from_items(&self.path(), &self.items)
    }

    /// Fails on the first option whose key is not in `known` (for plugins
    /// that read the tree by hand).
    pub fn check_known(&self, known: &[&str]) -> Result<(), ConfigError> {
        for it in &self.items {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(&it.key)) {
                return Err(ConfigError::at(
                    format!("{} / {}", self.path(), it.describe()),
                    format!("unknown option \"{}\"", it.key),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }

    #[test]
    fn copies_raw_tree() {
        let key = CString::new("Server").unwrap();
        let child_key = CString::new("Port").unwrap();
        let host = CString::new("localhost").unwrap();
        let mut child_vals = [sys::oconfig_value_t {
            value: sys::oconfig_value_s__bindgen_ty_1 { number: 25826.0 },
            type_: sys::OCONFIG_TYPE_NUMBER as i32,
        }];
        let mut children = [sys::oconfig_item_t {
            key: child_key.as_ptr() as *mut _,
            values: child_vals.as_mut_ptr(),
            values_num: 1,
            ..Default::default()
        }];
        let mut vals = [
            sys::oconfig_value_t {
                value: sys::oconfig_value_s__bindgen_ty_1 {
                    string: host.as_ptr() as *mut _,
                },
                type_: sys::OCONFIG_TYPE_STRING as i32,
            },
            sys::oconfig_value_t {
                value: sys::oconfig_value_s__bindgen_ty_1 { boolean: 1 },
                type_: sys::OCONFIG_TYPE_BOOLEAN as i32,
            },
        ];
        let raw = sys::oconfig_item_t {
            key: key.as_ptr() as *mut _,
            values: vals.as_mut_ptr(),
            values_num: 2,
            children: children.as_mut_ptr(),
            children_num: 1,
            ..Default::default()
        };
        // SAFETY: the tree above is valid and outlives the call.
        let item = unsafe { ConfigItem::from_raw(&raw) };
        assert_eq!(
            item,
            ConfigItem::block(
                "Server",
                vec![s("localhost"), ConfigValue::Boolean(true)],
                vec![ConfigItem::new("Port", vec![ConfigValue::Number(25826.0)])]
            )
        );
        assert_eq!(item.describe(), "<Server \"localhost\" true>");
        assert_eq!(item.child("port").unwrap().get_port(), Ok(25826));
    }

    #[test]
    fn typed_getters() {
        let b = ConfigItem::new("ReportByCpu", vec![s("yes")]);
        assert_eq!(b.get_bool(), Ok(true));
        let b = ConfigItem::new("ReportByCpu", vec![s("maybe")]);
        assert_eq!(
            b.get_bool().unwrap_err().to_string(),
            "ReportByCpu \"maybe\": option \"ReportByCpu\" expects a boolean, got the string \"maybe\""
        );
        let n = ConfigItem::new("Count", vec![ConfigValue::Number(2.5)]);
        assert_eq!(n.get_f64(), Ok(2.5));
        assert_eq!(
            n.get_i64().unwrap_err().to_string(),
            "Count 2.5: option \"Count\" expects an integer, got the number 2.5"
        );
        let two = ConfigItem::new("Disk", vec![s("a"), s("b")]);
        assert_eq!(
            two.get_string().unwrap_err().to_string(),
            "Disk \"a\" \"b\": option \"Disk\" needs exactly one value, got 2"
        );
        assert_eq!(two.get_strings(), Ok(vec!["a", "b"]));
        let p = ConfigItem::new("Port", vec![ConfigValue::Number(70000.0)]);
        assert_eq!(
            p.get_port().unwrap_err().message,
            "option \"Port\": port 70000 is out of range 1..65535"
        );
    }

    #[test]
    fn key_matching() {
        assert!(key_eq("ReportByCpu", "report_by_cpu"));
        assert!(key_eq("REPORTBYCPU", "ReportByCpu"));
        assert!(!key_eq("ReportByCpus", "ReportByCpu"));
    }

    #[test]
    fn check_known_names_the_key() {
        let cfg = Config {
            plugin: "cpu".into(),
            items: vec![ConfigItem::new("Bogus", vec![s("x")])],
        };
        assert_eq!(
            cfg.check_known(&["ReportByCpu"]).unwrap_err().to_string(),
            "<Plugin cpu> / Bogus \"x\": unknown option \"Bogus\""
        );
    }
}
