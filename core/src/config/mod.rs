//! collectd.conf: lexer, parser, `Include` expansion and global options.
//!
//! CONTRACT (shared with the runtime; the config owner fills in the rest):
//! - `parse_file(path) -> Result<Item, ConfigError>` returns the root item
//!   (key "", no values) whose children are the top-level lines and blocks, in
//!   file order, with every `Include` already expanded in place.
//! - `Item` mirrors collectd's `oconfig_item_t` (key, typed values, children)
//!   and remembers where it came from for error messages.
//! - `ConfigError` displays as `file:line: what was expected`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod globals;
mod lexer;
mod parser;

pub use parser::{MAX_BLOCK_DEPTH, MAX_INCLUDE_DEPTH};

/// Parses a collectd.conf file with every `Include` expanded in place.
///
/// Returns the root item (key "", no values, location `path:0`) whose
/// children are the file's top-level items in order. As in collectd, `path`
/// may also be a directory, read like `Include "dir"`. Relative `Include`
/// paths resolve against the process's working directory, as in collectd.
/// See the `parser` module for the exact grammar and include rules.
pub fn parse_file(path: &Path) -> Result<Item, ConfigError> {
    parse_file_checked(path).map(Parsed::logging_soft_errors)
}

/// [`parse_file`], with the mistakes collectd logs and ignores returned
/// beside the tree instead of logged, so `-t` can fail on them.
pub fn parse_file_checked(path: &Path) -> Result<Parsed, ConfigError> {
    let ctx = parser::Ctx::new(parser::Base::Cwd);
    let children = if path.is_dir() {
        // collectd's cf_read accepts a directory too: its files, sorted.
        parser::read_dir_top(&ctx, path)?
    } else {
        parser::parse_path(&ctx, path, 0, 0, None)?
    };
    Ok(Parsed {
        root: root(path, children),
        soft_errors: ctx.soft.into_inner(),
    })
}

/// A parsed config and the mistakes in it that collectd would log as errors
/// and then run without (e.g. `Include` with two arguments).
#[derive(Debug)]
pub struct Parsed {
    /// The root item, as [`parse_file`] returns it.
    pub root: Item,
    /// Logged-and-ignored mistakes, in file order.
    pub soft_errors: Vec<ConfigError>,
}

impl Parsed {
    /// Logs every soft error at collectd's severity (error) and returns the tree.
    pub fn logging_soft_errors(self) -> Item {
        for e in &self.soft_errors {
            log::error!("{e}");
        }
        self.root
    }
}

/// Parses config text named `name` in messages (tests, fuzzing, embedded
/// defaults); relative `Include` paths resolve against `name`'s directory.
pub fn parse_str(text: &str, name: &Path) -> Result<Item, ConfigError> {
    parse_str_checked(text, name).map(Parsed::logging_soft_errors)
}

/// [`parse_str`], with the logged-and-ignored mistakes returned (see
/// [`parse_file_checked`]).
pub fn parse_str_checked(text: &str, name: &Path) -> Result<Parsed, ConfigError> {
    let dir = name
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let ctx = parser::Ctx::new(parser::Base::Dir(dir));
    let file = Arc::new(name.to_path_buf());
    let children = parser::parse_text(&ctx, text, file, 0, 0)?;
    Ok(Parsed {
        root: root(name, children),
        soft_errors: ctx.soft.into_inner(),
    })
}

/// Appends `s` in double quotes with `"` and `\\` escaped by a backslash:
/// how collectd.conf quotes a string, and collectd's `escape_string`.
pub fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// C's `%lf` for a double: how collectd prints a number option's value
/// (`global_option_get`, simple config callbacks).
pub fn format_lf(n: f64) -> String {
    let mut s = String::new();
    crate::sys::push_double(&mut s, c"%lf", n);
    s
}

/// An option's values as one string, the way collectd hands options to
/// plugins registered with `plugin_register_config`: strings as they are,
/// numbers with `%lf`, booleans `true`/`false`, joined by single spaces.
pub fn render_values(values: &[Value]) -> String {
    let mut out = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match v {
            Value::String(s) => out.push_str(s),
            Value::Number(n) => out.push_str(&format_lf(*n)),
            Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
    out
}

/// `item` written back as collectd.conf text (an option line, or a block
/// with its children), which parses to the same tree.
pub fn render(item: &Item) -> String {
    fn value(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => push_quoted(out, s),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
    fn go(item: &Item, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let mut head = item.key.clone();
        for v in &item.values {
            head.push(' ');
            value(v, &mut head);
        }
        if item.children.is_empty() {
            out.push_str(&format!("{pad}{head}\n"));
        } else {
            out.push_str(&format!("{pad}<{head}>\n"));
            for c in &item.children {
                go(c, depth + 1, out);
            }
            out.push_str(&format!("{pad}</{}>\n", item.key));
        }
    }
    let mut out = String::new();
    go(item, 0, &mut out);
    out
}

fn root(path: &Path, children: Vec<Item>) -> Item {
    Item {
        key: String::new(),
        values: Vec::new(),
        children,
        location: Location {
            file: Arc::new(path.to_path_buf()),
            line: 0,
        },
    }
}

/// One typed argument of a config line, as `oconfig_value_t` holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(f64),
    Boolean(bool),
}

/// Where an item was written, so every error can point at `file:line`.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub file: Arc<PathBuf>,
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A config line or block: the shape collectd hands to plugins as `oconfig_item_t`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: String,
    pub values: Vec<Value>,
    pub children: Vec<Item>,
    pub location: Location,
}

/// A config problem a sysadmin can act on: where, and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub location: Option<Location>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error pointing at `location`.
    pub fn at(location: &Location, message: impl Into<String>) -> Self {
        ConfigError {
            location: Some(location.clone()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Value {
    /// Config-file spelling: strings quoted, numbers shortest, booleans bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
            Value::Number(n) => write!(f, "{n}"),
            Value::Boolean(b) => write!(f, "{b}"),
        }
    }
}

impl Item {
    /// The child items whose key equals `key` case-insensitively (collectd
    /// compares option names with `strcasecmp`).
    pub fn children_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
        self.children
            .iter()
            .filter(move |c| c.key.eq_ignore_ascii_case(key))
    }

    /// The single string value, if the item has exactly one and it is a string.
    pub fn single_string(&self) -> Option<&str> {
        match self.values.as_slice() {
            [Value::String(s)] => Some(s),
            _ => None,
        }
    }

    /// The single number value, if the item has exactly one and it is a number.
    pub fn single_number(&self) -> Option<f64> {
        match self.values.as_slice() {
            [Value::Number(n)] => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
