//! Filter chains, as collectd.conf(5) "FILTER CONFIGURATION" describes them:
//! `<Chain>` blocks of `<Rule>`s (all `<Match>`es hold → run the `<Target>`s)
//! plus default targets, the built-in targets `return`, `stop`, `write` and
//! `jump`, and the matches and targets plugins provide.
//!
//! The chains are generic over the data set `D` and value list `V` they run
//! on: the engine knows plugin matches and targets only as the [`Match`] and
//! [`Target`] traits, and gets them, and the writing the `write` target
//! does, from a [`Plugins`] the daemon supplies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::{ConfigError, Item, Value};

/// collectd's `FC_MATCH_NO_MATCH`.
pub const MATCH_NO_MATCH: i32 = 0;
/// collectd's `FC_MATCH_MATCHES`.
pub const MATCH_MATCHES: i32 = 1;
/// collectd's `FC_TARGET_CONTINUE`.
pub const TARGET_CONTINUE: i32 = 0;
/// collectd's `FC_TARGET_STOP`.
pub const TARGET_STOP: i32 = 1;
/// collectd's `FC_TARGET_RETURN`.
pub const TARGET_RETURN: i32 = 2;

/// How deep `jump` may nest before a chain loop is cut (collectd has no guard
/// and would overflow its stack).
const MAX_JUMP_DEPTH: usize = 32;

/// A configured `<Match>`: [`MATCH_MATCHES`], [`MATCH_NO_MATCH`], or a
/// negative error.
pub trait Match<D, V>: Send + Sync {
    /// Whether `vl` matches.
    fn matches(&self, ds: &D, vl: &V) -> i32;
}

/// A configured `<Target>` of a plugin: [`TARGET_CONTINUE`],
/// [`TARGET_STOP`], [`TARGET_RETURN`], or a negative error. It may change
/// the value list.
pub trait Target<D, V>: Send + Sync {
    /// Acts on `vl`.
    fn invoke(&self, ds: &D, vl: &mut V) -> i32;
}

/// Why a plugin's match or target could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No loaded plugin registered that name.
    Unknown,
    /// Its create callback failed with this status.
    Failed(i32),
}

/// What the chains need from the daemon: plugin matches and targets by
/// name, and the writing behind the built-in `write` target.
pub trait Plugins<D, V>: Send + Sync {
    /// A match of the registered type `name` (case-insensitive), set up
    /// from its `<Match>` block.
    fn new_match(&self, name: &str, item: &Item) -> Result<Box<dyn Match<D, V>>, Refused>;
    /// A target of the registered type `name` (case-insensitive), set up
    /// from its `<Target>` block, with the spelling it was registered under.
    fn new_target(&self, name: &str, item: &Item) -> Result<NamedTarget<D, V>, Refused>;
    /// Writes `vl` to the write plugin `plugin`, or to every writer: 0, or
    /// `ENOENT` when there is no such writer, or another error.
    fn write(&self, plugin: Option<&str>, ds: &D, vl: &V) -> i32;
}

/// One configured `<Target>`.
enum TargetKind<D, V> {
    Return,
    Stop,
    /// `write`, to the named plugins or (empty) to every writer.
    Write(Vec<String>),
    Jump(String),
    Plugin {
        name: String,
        target: Box<dyn Target<D, V>>,
    },
}

struct Rule<D, V> {
    matches: Vec<Box<dyn Match<D, V>>>,
    targets: Vec<TargetKind<D, V>>,
}

/// A configured `<Chain>`.
pub struct Chain<D, V> {
    name: String,
    rules: Vec<Rule<D, V>>,
    targets: Vec<TargetKind<D, V>>,
}

/// A plugin target with the spelling it was registered under.
pub type NamedTarget<D, V> = (String, Box<dyn Target<D, V>>);

/// The chains named by `PreCacheChain` and `PostCacheChain`.
type Active<D, V> = (Option<Arc<Chain<D, V>>>, Option<Arc<Chain<D, V>>>);

/// Every configured chain, the active pre- and post-cache chains, and the
/// daemon's side of them.
pub struct Chains<D: 'static, V: 'static> {
    plugins: &'static dyn Plugins<D, V>,
    chains: RwLock<Vec<Arc<Chain<D, V>>>>,
    active: RwLock<Active<D, V>>,
    /// Whether a pre-/post-cache chain is active: lets the dispatch path
    /// skip the lock for every value list when no chain is configured.
    has_pre: AtomicBool,
    has_post: AtomicBool,
}

/// What the dispatch path does after a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on with the value list.
    Continue,
    /// A `stop` target ended its processing: nothing more happens to it.
    Stop,
}

fn err(item: &Item, msg: impl Into<String>) -> ConfigError {
    ConfigError::at(&item.location, msg)
}

fn single_string_arg<'a>(item: &'a Item, what: &str) -> Result<&'a str, ConfigError> {
    match item.values.as_slice() {
        [Value::String(s)] => Ok(s),
        _ => Err(err(
            item,
            format!("`{what}' blocks require exactly one string argument"),
        )),
    }
}

/// The config error for a plugin match or target that could not be made.
fn refused(item: &Item, kind: &str, name: &str, why: Refused) -> ConfigError {
    let kind = kind.to_ascii_lowercase();
    match why {
        Refused::Unknown => err(
            item,
            format!(
                "cannot find a \"{name}\" {kind}; load the plugin that provides it \
                 (LoadPlugin {kind}_{name}) before this <Chain>"
            ),
        ),
        Refused::Failed(_) => err(item, format!("failed to create a \"{name}\" {kind}")),
    }
}

impl<D: 'static, V: 'static> Chains<D, V> {
    /// No chains yet; `plugins` provides what is not built in. A `const fn`,
    /// so the daemon's chains are a plain static that the dispatch path
    /// reads without a lazy-initialization check.
    pub const fn new(plugins: &'static dyn Plugins<D, V>) -> Self {
        Chains {
            plugins,
            chains: RwLock::new(Vec::new()),
            active: RwLock::new((None, None)),
            has_pre: AtomicBool::new(false),
            has_post: AtomicBool::new(false),
        }
    }

    fn new_match(&self, item: &Item) -> Result<Box<dyn Match<D, V>>, ConfigError> {
        let name = single_string_arg(item, "Match")?;
        self.plugins
            .new_match(name, item)
            .map_err(|why| refused(item, "Match", name, why))
    }

    fn new_target(&self, item: &Item) -> Result<TargetKind<D, V>, ConfigError> {
        let name = single_string_arg(item, "Target")?;
        match name.to_ascii_lowercase().as_str() {
            "return" | "stop" => {
                if let Some(child) = item.children.first() {
                    return Err(err(
                        child,
                        format!("the built-in target `{name}' takes no options"),
                    ));
                }
                return Ok(if name.eq_ignore_ascii_case("stop") {
                    TargetKind::Stop
                } else {
                    TargetKind::Return
                });
            }
            "write" => {
                let mut plugins = Vec::new();
                for child in &item.children {
                    if !child.key.eq_ignore_ascii_case("Plugin") {
                        return Err(err(
                            child,
                            format!(
                                "the `write' target accepts only the `Plugin' option, not `{}'",
                                child.key
                            ),
                        ));
                    }
                    for v in &child.values {
                        match v {
                            Value::String(s) => plugins.push(s.clone()),
                            _ => {
                                return Err(err(child, "`Plugin' expects plugin names as strings"))
                            }
                        }
                    }
                }
                return Ok(TargetKind::Write(plugins));
            }
            "jump" => {
                let chain = match item.children.as_slice() {
                    [child] if child.key.eq_ignore_ascii_case("Chain") => {
                        single_string_arg(child, "Chain")?.to_owned()
                    }
                    _ => {
                        return Err(err(
                            item,
                            "the `jump' target needs exactly one `Chain \"name\"' option",
                        ))
                    }
                };
                return Ok(TargetKind::Jump(chain));
            }
            _ => {}
        }
        let (name, target) = self
            .plugins
            .new_target(name, item)
            .map_err(|why| refused(item, "Target", name, why))?;
        Ok(TargetKind::Plugin { name, target })
    }

    fn new_rule(&self, item: &Item) -> Result<Rule<D, V>, ConfigError> {
        if item.values.len() > 1
            || matches!(item.values.first(), Some(v) if !matches!(v, Value::String(_)))
        {
            return Err(err(item, "`Rule' blocks take at most one string argument"));
        }
        let mut rule = Rule {
            matches: Vec::new(),
            targets: Vec::new(),
        };
        for child in &item.children {
            if child.key.eq_ignore_ascii_case("Match") {
                rule.matches.push(self.new_match(child)?);
            } else if child.key.eq_ignore_ascii_case("Target") {
                rule.targets.push(self.new_target(child)?);
            } else {
                return Err(err(
                    child,
                    format!(
                        "option `{}' is not allowed inside a <Rule> block",
                        child.key
                    ),
                ));
            }
        }
        if rule.targets.is_empty() {
            return Err(err(
                item,
                "this <Rule> has no target (add a <Target> block)",
            ));
        }
        Ok(rule)
    }

    /// Reads one `<Chain "name">` block; a second block of the same name
    /// adds to it.
    pub fn configure(&self, item: &Item) -> Result<(), ConfigError> {
        let name = single_string_arg(item, "Chain")?.to_owned();
        let mut rules = Vec::new();
        let mut targets = Vec::new();
        for child in &item.children {
            if child.key.eq_ignore_ascii_case("Rule") {
                rules.push(self.new_rule(child)?);
            } else if child.key.eq_ignore_ascii_case("Target") {
                targets.push(self.new_target(child)?);
            } else {
                return Err(err(
                    child,
                    format!(
                        "option `{}' is not allowed inside a <Chain> block",
                        child.key
                    ),
                ));
            }
        }
        let mut chains = self.chains.write().unwrap_or_else(|e| e.into_inner());
        match chains
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                let old = Arc::get_mut(&mut chains[i]).ok_or_else(|| {
                    err(
                        item,
                        format!("chain `{name}' is in use and cannot be extended"),
                    )
                })?;
                old.rules.extend(rules);
                old.targets.extend(targets);
            }
            None => chains.push(Arc::new(Chain {
                name,
                rules,
                targets,
            })),
        }
        Ok(())
    }

    /// Looks a chain up by name, case-insensitively as collectd does.
    pub fn chain_by_name(&self, name: &str) -> Option<Arc<Chain<D, V>>> {
        self.chains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    /// Selects `PreCacheChain`/`PostCacheChain` (empty = none). A name with
    /// no `<Chain>` behind it is reported (collectd silently runs without
    /// it), except collectd's defaults "PreCache"/"PostCache", which need
    /// no chain.
    pub fn activate(&self, pre: &str, post: &str) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut pick = |what: &str, name: &str| {
            if name.is_empty() {
                return None;
            }
            let chain = self.chain_by_name(name);
            let default = if what == "PreCacheChain" {
                "PreCache"
            } else {
                "PostCache"
            };
            if chain.is_none() && name != default {
                warnings.push(format!(
                    "{what} \"{name}\" names no <Chain> block; values pass as if it were not set"
                ));
            }
            chain
        };
        let active = (pick("PreCacheChain", pre), pick("PostCacheChain", post));
        self.has_pre.store(active.0.is_some(), Ordering::Release);
        self.has_post.store(active.1.is_some(), Ordering::Release);
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = active;
        warnings
    }

    /// Whether a `PreCacheChain` may change or stop value lists before the
    /// cache sees them.
    pub fn has_pre_cache_chain(&self) -> bool {
        self.has_pre.load(Ordering::Acquire)
    }

    /// Whether a `PostCacheChain` decides where values are written (else
    /// every writer gets every value list, collectd's default action).
    pub fn has_post_cache_chain(&self) -> bool {
        self.has_post.load(Ordering::Acquire)
    }

    /// Runs the `PreCacheChain`, if one is configured.
    pub fn pre_cache(&self, ds: &D, vl: &mut V) -> Verdict {
        if !self.has_pre_cache_chain() {
            return Verdict::Continue;
        }
        let chain = self
            .active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        let Some(c) = chain else {
            return Verdict::Continue;
        };
        match self.process(&c, ds, vl, 0) {
            TARGET_STOP => Verdict::Stop,
            status if status < 0 => {
                log::warn!(
                    "plugin_dispatch_values: Running the pre-cache chain failed with status {status} ({status:#x})."
                );
                Verdict::Continue
            }
            _ => Verdict::Continue,
        }
    }

    /// Runs the `PostCacheChain`; its `write` targets do the writing.
    /// Returns false when no chain is configured, so the caller writes to
    /// every writer.
    pub fn post_cache(&self, ds: &D, vl: &mut V) -> bool {
        if !self.has_post_cache_chain() {
            return false;
        }
        let chain = self
            .active
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone();
        match chain {
            Some(c) => {
                let status = self.process(&c, ds, vl, 0);
                if status < 0 {
                    log::warn!(
                        "plugin_dispatch_values: Running the post-cache chain failed with status {status} ({status:#x})."
                    );
                }
                true
            }
            None => false,
        }
    }

    fn run_target(
        &self,
        chain: &Chain<D, V>,
        target: &TargetKind<D, V>,
        ds: &D,
        vl: &mut V,
        depth: usize,
    ) -> i32 {
        match target {
            TargetKind::Return => TARGET_RETURN,
            TargetKind::Stop => TARGET_STOP,
            TargetKind::Write(plugins) => {
                self.write_to_plugins(plugins, ds, vl);
                TARGET_CONTINUE
            }
            TargetKind::Jump(name) => {
                if depth >= MAX_JUMP_DEPTH {
                    log::warn!(
                        "filter chain `{}': jump to `{name}' nested deeper than {MAX_JUMP_DEPTH}; \
                         is there a jump loop?",
                        chain.name
                    );
                    return -1;
                }
                match self.chain_by_name(name) {
                    // As collectd's jump target: a `return` in the chain
                    // jumped to ends that chain only, and processing goes on
                    // in this one.
                    Some(next) => match self.process(&next, ds, vl, depth + 1) {
                        status if status < 0 => status,
                        TARGET_STOP => TARGET_STOP,
                        _ => TARGET_CONTINUE,
                    },
                    None => {
                        log::error!(
                            "Filter subsystem: Built-in target `jump': There is no chain named `{name}'."
                        );
                        -1
                    }
                }
            }
            TargetKind::Plugin { name, target } => {
                let status = target.invoke(ds, vl);
                if status > TARGET_RETURN {
                    log::warn!(
                        "fc_process_chain ({}): Unknown return value from target `{name}': {status}",
                        chain.name
                    );
                    return TARGET_CONTINUE;
                }
                status
            }
        }
    }

    fn write_to_plugins(&self, plugins: &[String], ds: &D, vl: &V) {
        if plugins.is_empty() {
            let status = self.plugins.write(None, ds, vl);
            if status == libc::ENOENT {
                log::info!("filter chain: built-in target `write': no write plugin is loaded");
            }
            return;
        }
        for p in plugins {
            let status = self.plugins.write(Some(p), ds, vl);
            if status != 0 {
                log::info!(
                    "filter chain: built-in target `write': dispatching to the `{p}' plugin \
                     failed with status {status}"
                );
            }
        }
    }

    fn rule_matches(chain: &Chain<D, V>, rule: &Rule<D, V>, ds: &D, vl: &V) -> bool {
        for m in &rule.matches {
            let status = m.matches(ds, vl);
            if status < 0 {
                log::warn!("fc_process_chain ({}): A match failed.", chain.name);
                return false;
            }
            if status != MATCH_MATCHES {
                return false;
            }
        }
        true
    }

    /// `fc_process_chain`: rules in order, then the chain's default
    /// targets. Returns [`TARGET_STOP`], [`TARGET_RETURN`] (from a rule) or
    /// [`TARGET_CONTINUE`].
    pub fn process(&self, chain: &Chain<D, V>, ds: &D, vl: &mut V, depth: usize) -> i32 {
        for rule in &chain.rules {
            if !Self::rule_matches(chain, rule, ds, vl) {
                continue;
            }
            for target in &rule.targets {
                let status = self.run_target(chain, target, ds, vl, depth);
                if status < 0 {
                    log::warn!("fc_process_chain ({}): A target failed.", chain.name);
                } else if status == TARGET_STOP || status == TARGET_RETURN {
                    return status;
                }
            }
        }
        for target in &chain.targets {
            let status = self.run_target(chain, target, ds, vl, depth);
            if status < 0 {
                log::warn!(
                    "fc_process_chain ({}): The default target failed.",
                    chain.name
                );
            } else if status == TARGET_STOP {
                return TARGET_STOP;
            } else if status == TARGET_RETURN {
                return TARGET_CONTINUE;
            }
        }
        TARGET_CONTINUE
    }

    /// Forgets every chain (daemon shutdown); the last reference to a
    /// chain drops its matches and targets, each once.
    pub fn shutdown(&self) {
        self.has_pre.store(false, Ordering::Release);
        self.has_post.store(false, Ordering::Release);
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = (None, None);
        drop(std::mem::take(
            &mut *self.chains.write().unwrap_or_else(|e| e.into_inner()),
        ));
    }

    /// The address of the chain `name`, stable while the chains live: the
    /// handle `fc_chain_get_by_name` gives C callers.
    pub fn chain_addr(&self, name: &str) -> Option<*const Chain<D, V>> {
        self.chains
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(Arc::as_ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use std::path::Path;
    use std::sync::Mutex;

    /// A value list for the tests: a plugin name and a tag targets set.
    #[derive(Debug, Clone, Default, PartialEq)]
    struct Vl {
        plugin: String,
        tag: String,
    }

    /// `<Match "plugin_is"> Plugin "x" </Match>`.
    struct PluginIs(String);

    impl Match<(), Vl> for PluginIs {
        fn matches(&self, _: &(), vl: &Vl) -> i32 {
            if vl.plugin == self.0 {
                MATCH_MATCHES
            } else {
                MATCH_NO_MATCH
            }
        }
    }

    /// `<Target "tag"> Tag "t" </Target>`.
    struct Tag(String);

    impl Target<(), Vl> for Tag {
        fn invoke(&self, _: &(), vl: &mut Vl) -> i32 {
            vl.tag = self.0.clone();
            TARGET_CONTINUE
        }
    }

    /// The writes the `write` target made: (plugin, value list).
    type Written = Arc<Mutex<Vec<(Option<String>, Vl)>>>;

    /// The plugins of the tests: one match, one target, and a log of writes.
    #[derive(Default)]
    struct Fake {
        written: Written,
    }

    fn option(item: &Item, key: &str) -> String {
        item.children
            .iter()
            .find(|c| c.key.eq_ignore_ascii_case(key))
            .and_then(|c| match c.values.first() {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    impl Plugins<(), Vl> for Fake {
        fn new_match(&self, name: &str, item: &Item) -> Result<Box<dyn Match<(), Vl>>, Refused> {
            match name.to_ascii_lowercase().as_str() {
                "plugin_is" => Ok(Box::new(PluginIs(option(item, "Plugin")))),
                "broken" => Err(Refused::Failed(-1)),
                _ => Err(Refused::Unknown),
            }
        }

        fn new_target(&self, name: &str, item: &Item) -> Result<NamedTarget<(), Vl>, Refused> {
            match name.to_ascii_lowercase().as_str() {
                "tag" => Ok(("tag".into(), Box::new(Tag(option(item, "Tag"))))),
                _ => Err(Refused::Unknown),
            }
        }

        fn write(&self, plugin: Option<&str>, _: &(), vl: &Vl) -> i32 {
            self.written
                .lock()
                .unwrap()
                .push((plugin.map(str::to_owned), vl.clone()));
            0
        }
    }

    fn chains(text: &str) -> (Chains<(), Vl>, Written) {
        let fake = Fake::default();
        let written = fake.written.clone();
        let c = Chains::new(Box::leak(Box::new(fake)));
        let root = parse_str(text, Path::new("/t/chains.conf")).expect("parses");
        for item in &root.children {
            c.configure(item).expect("configures");
        }
        (c, written)
    }

    fn vl(plugin: &str) -> Vl {
        Vl {
            plugin: plugin.into(),
            tag: String::new(),
        }
    }

    const TEXT: &str = r#"
<Chain "Pre">
  <Rule "drop_cpu">
    <Match "plugin_is">
      Plugin "cpu"
    </Match>
    Target "stop"
  </Rule>
  <Rule "tag_load">
    <Match "plugin_is">
      Plugin "load"
    </Match>
    <Target "tag">
      Tag "L"
    </Target>
    <Target "jump">
      Chain "Sub"
    </Target>
  </Rule>
  Target "write"
</Chain>
<Chain "Sub">
  <Target "write">
    Plugin "csv"
  </Target>
  Target "return"
</Chain>
<Chain "Loop">
  <Target "jump">
    Chain "Loop"
  </Target>
</Chain>
"#;

    /// collectd's chain semantics, case by case: (value list, verdict of
    /// the pre-cache chain, writes it made).
    #[test]
    fn chains_follow_collectd_semantics() {
        let (c, written) = chains(TEXT);
        assert!(c.activate("pre", "").is_empty());
        assert!(c.has_pre_cache_chain() && !c.has_post_cache_chain());
        type Case<'a> = (&'a str, Verdict, &'a [(Option<&'a str>, &'a str)]);
        let cases: &[Case] = &[
            ("cpu", Verdict::Stop, &[]),
            // jump: Sub writes to csv and returns; Pre goes on to its
            // default target, which writes to every writer.
            (
                "load",
                Verdict::Continue,
                &[(Some("csv"), "L"), (None, "L")],
            ),
            ("memory", Verdict::Continue, &[(None, "")]),
        ];
        for (plugin, verdict, writes) in cases {
            written.lock().unwrap().clear();
            let mut v = vl(plugin);
            assert_eq!(c.pre_cache(&(), &mut v), *verdict, "{plugin}");
            let got: Vec<(Option<String>, String)> = written
                .lock()
                .unwrap()
                .iter()
                .map(|(p, v)| (p.clone(), v.tag.clone()))
                .collect();
            let want: Vec<(Option<String>, String)> = writes
                .iter()
                .map(|(p, t)| (p.map(str::to_owned), t.to_string()))
                .collect();
            assert_eq!(got, want, "{plugin}");
        }
        // A jump loop is cut (and logged) instead of overflowing the stack;
        // the chain then ends as if the jump had failed.
        let looping = c.chain_by_name("LOOP").unwrap();
        assert_eq!(c.process(&looping, &(), &mut vl("x"), 0), TARGET_CONTINUE);
        assert!(c.chain_addr("sub").is_some() && c.chain_addr("none").is_none());
        c.shutdown();
        assert!(!c.has_pre_cache_chain());
        assert!(c.chain_by_name("Pre").is_none());
    }

    #[test]
    fn bad_blocks_are_located_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "<Chain \"c\">\n<Rule>\n<Match \"nope\">\n</Match>\nTarget \"stop\"\n</Rule>\n</Chain>\n",
                "/t/c.conf:3: cannot find a \"nope\" match; load the plugin that provides it (LoadPlugin match_nope) before this <Chain>",
            ),
            (
                "<Chain \"c\">\n<Rule>\n<Match \"broken\">\n</Match>\nTarget \"stop\"\n</Rule>\n</Chain>\n",
                "/t/c.conf:3: failed to create a \"broken\" match",
            ),
            (
                "<Chain \"c\">\n<Rule>\n<Match \"plugin_is\">\n</Match>\n</Rule>\n</Chain>\n",
                "/t/c.conf:2: this <Rule> has no target (add a <Target> block)",
            ),
            (
                "<Chain \"c\">\n<Target \"stop\">\nX 1\n</Target>\n</Chain>\n",
                "/t/c.conf:3: the built-in target `stop' takes no options",
            ),
            (
                "<Chain \"c\">\nBogus 1\n</Chain>\n",
                "/t/c.conf:2: option `Bogus' is not allowed inside a <Chain> block",
            ),
            (
                "<Chain \"c\">\n<Target \"jump\">\n</Target>\n</Chain>\n",
                "/t/c.conf:2: the `jump' target needs exactly one `Chain \"name\"' option",
            ),
        ];
        for (text, want) in cases {
            let c: Chains<(), Vl> = Chains::new(Box::leak(Box::new(Fake::default())));
            let root = parse_str(text, Path::new("/t/c.conf")).unwrap();
            let e = c.configure(&root.children[0]).expect_err(text);
            assert_eq!(e.to_string(), *want);
        }
    }

    #[test]
    fn unknown_active_chains_are_reported_except_the_defaults() {
        let (c, _) = chains(TEXT);
        assert!(c.activate("PreCache", "PostCache").is_empty());
        let w = c.activate("nope", "");
        assert_eq!(
            w,
            ["PreCacheChain \"nope\" names no <Chain> block; values pass as if it were not set"]
        );
        assert!(!c.has_pre_cache_chain());
    }
}
