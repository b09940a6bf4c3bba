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
use std::path::PathBuf;
use std::sync::Arc;

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
