//! Grammar of collectd.conf (options and `<Block>`s) and `Include` expansion.
//!
//! Grammar as collectd 5.12's liboconfig accepts it:
//! - an option is `Key value...` on one line, with at least one value; the key
//!   is a bare word;
//! - a block is `<Key value...>` alone on its line, its children, then
//!   `</Key>` alone on its line; the closing name must match exactly (case
//!   sensitive, as collectd compares with `strcmp`);
//! - a block with neither values nor children is dropped, as collectd does.
//!
//! `Include` (option or `<Include path> Filter "glob" </Include>` block) is
//! expanded in place, at any nesting level (collectd only expands it at the
//! top level of a file; no collectd plugin has an option named `Include`, so
//! expanding inside blocks accepts every config collectd accepts). Path rules:
//! - `~/` expands to `$HOME`; shell wildcards (`*`, `?`, `[...]`) are expanded
//!   and matches included in `strcmp` order, like collectd's `wordexp`
//!   (which also expands `$VARIABLES` and splits the path at spaces; those
//!   two are not done here: a path is taken literally apart from `~` and
//!   wildcards);
//! - a relative path is relative to the process's working directory for
//!   [`super::parse_file`] (collectd resolves it with `wordexp`/`stat` before
//!   changing to BaseDir) and to the including text's directory for
//!   [`super::parse_str`];
//! - a path or pattern that matches nothing is a warning and includes nothing
//!   (collectd: `stat` fails, WARNING, continue);
//! - a directory includes its files recursively, skipping names that start
//!   with `.`, in `strcmp` order of the full path; `Filter` applies to file
//!   names (not directories);
//! - an Include nested 8 levels deep is an error (collectd's CF_MAX_DEPTH),
//!   which stops include loops; directory recursion is bounded too.
//!
//! Mistakes collectd logs as errors and then ignores are "soft" errors here
//! ([`Ctx::soft`]): an `Include` without exactly one string (the item is
//! dropped), an option other than `Filter` inside `<Include>` (ignored), a
//! `Filter` without one string (no filter), and a file inside an included
//! directory that cannot be read or parsed (skipped; a file included by name
//! that cannot be parsed fails the whole config, in collectd too). The daemon
//! logs them with collectd's wording and runs on; `-t` fails on them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::lexer::{tokenize, Tok, Token};
use super::{ConfigError, Item, Location, Value};

/// collectd's CF_MAX_DEPTH: the deepest `Include` nesting accepted.
pub const MAX_INCLUDE_DEPTH: u32 = 8;
/// Deepest block nesting accepted (counting blocks of including files), so
/// that recursion in the parser and in every tree walk stays bounded.
pub const MAX_BLOCK_DEPTH: u32 = 128;
/// Deepest directory recursion below one `Include` of a directory (guards
/// against symlink loops, which would crash collectd).
const MAX_DIR_DEPTH: u32 = 16;

/// How relative `Include` paths are resolved.
#[derive(Debug, Clone)]
pub(crate) enum Base {
    /// Against the process's working directory (collectd's behaviour).
    Cwd,
    /// Against this directory.
    Dir(PathBuf),
}

impl Base {
    fn resolve(&self, p: &Path) -> PathBuf {
        match self {
            Base::Dir(d) if p.is_relative() => d.join(p),
            _ => p.to_path_buf(),
        }
    }
}

/// Parser state shared across included files.
pub(crate) struct Ctx {
    pub base: Base,
    /// Mistakes collectd logs as errors and then ignores: the config runs
    /// without the item, and `-t` reports them.
    pub soft: std::cell::RefCell<Vec<ConfigError>>,
}

impl Ctx {
    /// A context resolving relative paths against `base`.
    pub(crate) fn new(base: Base) -> Ctx {
        Ctx {
            base,
            soft: Default::default(),
        }
    }

    fn soft_error(&self, location: &Location, message: impl Into<String>) {
        self.soft
            .borrow_mut()
            .push(ConfigError::at(location, message));
    }
}

/// Reads and parses one file at include depth `depth`, nested in
/// `block_depth` blocks of including files.
pub(crate) fn parse_path(
    ctx: &Ctx,
    path: &Path,
    depth: u32,
    block_depth: u32,
    from: Option<&Location>,
) -> Result<Vec<Item>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        location: from.cloned(),
        message: format!("cannot read config file {}: {e}", path.display()),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    parse_text(ctx, &text, Arc::new(path.to_path_buf()), depth, block_depth)
}

/// Parses `text` (named `file` in messages) into its top-level items.
pub(crate) fn parse_text(
    ctx: &Ctx,
    text: &str,
    file: Arc<PathBuf>,
    depth: u32,
    block_depth: u32,
) -> Result<Vec<Item>, ConfigError> {
    let (toks, warnings) = tokenize(text).map_err(|e| ConfigError {
        location: Some(Location {
            file: file.clone(),
            line: e.line,
        }),
        message: e.message,
    })?;
    for w in warnings {
        log::warn!("{}:{}: {}", file.display(), w.line, w.message);
    }
    let mut p = Parser {
        ctx,
        toks,
        pos: 0,
        file,
        depth,
    };
    let items = p.statements(None, block_depth)?;
    Ok(items)
}

struct Parser<'a> {
    ctx: &'a Ctx,
    toks: Vec<Token>,
    pos: usize,
    file: Arc<PathBuf>,
    depth: u32,
}

/// The opening tag of the block being parsed, for "never closed" messages.
struct Opened<'k> {
    key: &'k str,
    line: u32,
    tag: String,
}

impl Parser<'_> {
    fn loc(&self, line: u32) -> Location {
        Location {
            file: self.file.clone(),
            line,
        }
    }

    fn err(&self, line: u32, message: impl Into<String>) -> ConfigError {
        ConfigError {
            location: Some(self.loc(line)),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_kind(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead).map(|t| &t.kind)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Statements until end of input (top level) or the closing tag of
    /// `open`, which is consumed and checked.
    fn statements(
        &mut self,
        open: Option<&Opened<'_>>,
        block_depth: u32,
    ) -> Result<Vec<Item>, ConfigError> {
        let mut items = Vec::new();
        loop {
            let Some(tok) = self.peek().cloned() else {
                return match open {
                    None => Ok(items),
                    Some(o) => Err(self.err(
                        o.line,
                        format!(
                            "{} opened here is never closed (expected </{}>)",
                            o.tag, o.key
                        ),
                    )),
                };
            };
            match tok.kind {
                Tok::Eol => {
                    self.pos += 1;
                }
                Tok::Open if self.peek_kind(1) == Some(&Tok::Slash) => {
                    self.pos += 2;
                    let name = match self.next() {
                        Some(Token {
                            kind: Tok::Unquoted(n),
                            ..
                        }) => n,
                        other => {
                            return Err(self.err(
                                tok.line,
                                format!(
                                    "expected a block name after `</`, found {}",
                                    describe(other.as_ref())
                                ),
                            ))
                        }
                    };
                    self.expect_close_eol(tok.line, &format!("</{name}"))?;
                    return match open {
                        None => Err(self.err(
                            tok.line,
                            format!("</{name}> closes a block that was never opened"),
                        )),
                        Some(o) if o.key == name => Ok(items),
                        Some(o) => Err(self.err(
                            tok.line,
                            format!(
                                "</{name}> does not match {} opened at line {} (expected </{}>)",
                                o.tag, o.line, o.key
                            ),
                        )),
                    };
                }
                Tok::Open => {
                    self.pos += 1;
                    let item = self.block(tok.line, block_depth)?;
                    self.push(&mut items, item, block_depth)?;
                }
                Tok::Unquoted(key) => {
                    self.pos += 1;
                    let values = self.values();
                    match self.next().map(|t| t.kind) {
                        Some(Tok::Eol) | None => {}
                        Some(other) => {
                            return Err(self.err(
                                tok.line,
                                format!(
                                    "unexpected {other} in option `{key}` (put values containing <, > or / in double quotes)"
                                ),
                            ))
                        }
                    }
                    if values.is_empty() {
                        return Err(
                            self.err(tok.line, format!("option `{key}` needs at least one value"))
                        );
                    }
                    let item = Item {
                        key,
                        values,
                        children: Vec::new(),
                        location: self.loc(tok.line),
                    };
                    self.push(&mut items, item, block_depth)?;
                }
                other => {
                    return Err(self.err(
                        tok.line,
                        format!("expected an option name or a <Block>, found {other}"),
                    ))
                }
            }
        }
    }

    /// Values of an option or block tag, up to (not including) the next
    /// token that is not a value.
    fn values(&mut self) -> Vec<Value> {
        let mut values = Vec::new();
        while let Some(t) = self.peek() {
            let v = match &t.kind {
                Tok::Number(n) => Value::Number(*n),
                Tok::Bool(b) => Value::Boolean(*b),
                Tok::Quoted(s) | Tok::Unquoted(s) => Value::String(s.clone()),
                _ => break,
            };
            values.push(v);
            self.pos += 1;
        }
        values
    }

    /// Expects `>` then end of line after a tag that started on `line`.
    fn expect_close_eol(&mut self, line: u32, tag: &str) -> Result<(), ConfigError> {
        match self.next().map(|t| t.kind) {
            Some(Tok::Close) => {}
            other => {
                return Err(self.err(
                    line,
                    format!(
                        "expected `>` to end the tag {tag}, found {}",
                        describe_kind(other.as_ref())
                    ),
                ))
            }
        }
        match self.next().map(|t| t.kind) {
            Some(Tok::Eol) | None => Ok(()),
            Some(other) => Err(self.err(
                line,
                format!("unexpected {other} after {tag}> (a block tag must be alone on its line)"),
            )),
        }
    }

    /// A block whose `<` was consumed on `line`.
    fn block(&mut self, line: u32, block_depth: u32) -> Result<Item, ConfigError> {
        let key = match self.next() {
            Some(Token {
                kind: Tok::Unquoted(k),
                ..
            }) => k,
            other => {
                return Err(self.err(
                    line,
                    format!(
                        "expected a block name after `<`, found {}",
                        describe(other.as_ref())
                    ),
                ))
            }
        };
        let values = self.values();
        let tag = format!("<{key}{}", render_tag_values(&values));
        self.expect_close_eol(line, &tag)?;
        if block_depth >= MAX_BLOCK_DEPTH {
            return Err(self.err(
                line,
                format!("blocks are nested more than {MAX_BLOCK_DEPTH} levels deep"),
            ));
        }
        let opened = Opened {
            key: &key,
            line,
            tag: format!("{tag}>"),
        };
        let children = self.statements(Some(&opened), block_depth + 1)?;
        Ok(Item {
            key,
            values,
            children,
            location: self.loc(line),
        })
    }

    /// Appends `item`, expanding `Include` in place and dropping blocks with
    /// neither values nor children (collectd drops them).
    fn push(&self, items: &mut Vec<Item>, item: Item, block_depth: u32) -> Result<(), ConfigError> {
        if item.values.is_empty() && item.children.is_empty() {
            return Ok(());
        }
        if item.key.eq_ignore_ascii_case("Include") {
            let included = include(self.ctx, &item, self.depth, block_depth)?;
            items.extend(included);
        } else {
            items.push(item);
        }
        Ok(())
    }
}

/// `value` rendered for a block tag in messages: `<Plugin "cpu">`.
fn render_tag_values(values: &[Value]) -> String {
    let mut s = String::new();
    for v in values {
        s.push(' ');
        match v {
            Value::String(x) => {
                s.push('"');
                s.push_str(x);
                s.push('"');
            }
            Value::Number(n) => s.push_str(&n.to_string()),
            Value::Boolean(b) => s.push_str(if *b { "true" } else { "false" }),
        }
    }
    s
}

fn describe(t: Option<&Token>) -> String {
    describe_kind(t.map(|t| &t.kind))
}

fn describe_kind(t: Option<&Tok>) -> String {
    match t {
        Some(k) => k.to_string(),
        None => "end of file".into(),
    }
}

/// Expands one `Include` item into the items of the files it names.
fn include(ctx: &Ctx, item: &Item, depth: u32, block_depth: u32) -> Result<Vec<Item>, ConfigError> {
    let err = |message: String| ConfigError {
        location: Some(item.location.clone()),
        message,
    };
    let path = match item.values.as_slice() {
        [Value::String(s)] => s.clone(),
        _ => {
            ctx.soft_error(
                &item.location,
                "configfile: `Include' needs exactly one string argument.",
            );
            return Ok(Vec::new());
        }
    };
    let mut filter: Option<String> = None;
    for child in &item.children {
        if !child.key.eq_ignore_ascii_case("Filter") {
            ctx.soft_error(
                &child.location,
                format!(
                    "configfile: Option `{}' not allowed in <Include> block.",
                    child.key
                ),
            );
            continue;
        }
        match child.values.as_slice() {
            [Value::String(p)] => filter = Some(p.clone()),
            _ => ctx.soft_error(
                &child.location,
                "cf_util_get_string: The Filter option requires exactly one string argument.",
            ),
        }
    }
    let filter = match filter.as_deref().map(glob::Pattern::new) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            // fnmatch matches nothing with a malformed pattern.
            ctx.soft_error(
                &item.location,
                format!(
                    "Include \"{path}\": Filter is not a valid pattern ({e}); nothing is included"
                ),
            );
            return Ok(Vec::new());
        }
    };
    let depth = depth + 1;
    if depth >= MAX_INCLUDE_DEPTH {
        return Err(err(format!(
            "Include \"{path}\": includes are nested more than {} levels deep (does a file include itself?)",
            MAX_INCLUDE_DEPTH - 1
        )));
    }
    let expanded = expand_tilde(&path);
    let full = ctx.base.resolve(Path::new(&expanded));
    let mut matches: Vec<PathBuf> = if has_wildcards(&expanded) {
        let pattern = full.to_string_lossy().into_owned();
        // Shell rules, as wordexp: `*` matches neither `/` nor a leading dot.
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        match glob::glob_with(&pattern, opts) {
            Ok(paths) => paths.filter_map(Result::ok).collect(),
            Err(e) => return Err(err(format!("Include \"{path}\": bad pattern: {e}"))),
        }
    } else if full.exists() {
        vec![full]
    } else {
        Vec::new()
    };
    if matches.is_empty() {
        log::warn!("{}: Include \"{path}\": no file matches", item.location);
        return Ok(Vec::new());
    }
    sort_strcmp(&mut matches);
    let mut out = Vec::new();
    for m in matches {
        include_one(
            ctx,
            &m,
            filter.as_ref(),
            depth,
            block_depth,
            &item.location,
            0,
            &mut out,
        )?;
    }
    Ok(out)
}

/// The items of every file below directory `dir` (sorted, recursive, dot
/// files skipped), for a main config path that is a directory.
pub(crate) fn read_dir_top(ctx: &Ctx, dir: &Path) -> Result<Vec<Item>, ConfigError> {
    let from = Location {
        file: Arc::new(dir.to_path_buf()),
        line: 0,
    };
    let mut out = Vec::new();
    include_one(ctx, dir, None, 0, 0, &from, 0, &mut out)?;
    Ok(out)
}

/// Includes one file or directory (recursively) into `out`.
#[allow(clippy::too_many_arguments)]
fn include_one(
    ctx: &Ctx,
    path: &Path,
    filter: Option<&glob::Pattern>,
    depth: u32,
    block_depth: u32,
    from: &Location,
    dir_depth: u32,
    out: &mut Vec<Item>,
) -> Result<(), ConfigError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            log::warn!("{from}: Include: cannot stat {}: {e}", path.display());
            return Ok(());
        }
    };
    if meta.is_file() {
        if let Some(f) = filter {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if !name.is_some_and(|n| f.matches(&n)) {
                return Ok(());
            }
        }
        match parse_path(ctx, path, depth, block_depth, Some(from)) {
            Ok(items) => out.extend(items),
            // collectd skips a broken file found in an included directory.
            Err(e) if dir_depth > 0 => ctx.soft.borrow_mut().push(ConfigError {
                message: format!(
                    "{}; configfile: Cannot read file `{}'.",
                    e.message,
                    path.display()
                ),
                ..e
            }),
            Err(e) => return Err(e),
        }
    } else if meta.is_dir() {
        if dir_depth >= MAX_DIR_DEPTH {
            return Err(ConfigError {
                location: Some(from.clone()),
                message: format!(
                    "Include: directory {} is nested more than {MAX_DIR_DEPTH} levels deep (is there a symlink loop?)",
                    path.display()
                ),
            });
        }
        let rd = std::fs::read_dir(path).map_err(|e| ConfigError {
            location: Some(from.clone()),
            message: format!("Include: cannot read directory {}: {e}", path.display()),
        })?;
        let mut entries: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        sort_strcmp(&mut entries);
        for e in entries {
            include_one(
                ctx,
                &e,
                filter,
                depth,
                block_depth,
                from,
                dir_depth + 1,
                out,
            )?;
        }
    } else {
        log::warn!(
            "{from}: Include: {} is neither a file nor a directory",
            path.display()
        );
    }
    Ok(())
}

/// Sorts paths by their bytes, as collectd's `strcmp` sort does.
fn sort_strcmp(paths: &mut [PathBuf]) {
    use std::os::unix::ffi::OsStrExt;
    paths.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
}

fn has_wildcards(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// `~` and `~/...` to `$HOME`, as `wordexp` does.
fn expand_tilde(p: &str) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            return format!("{}{}", home.to_string_lossy(), &p[1..]);
        }
    }
    p.to_string()
}
