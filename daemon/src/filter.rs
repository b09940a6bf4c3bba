//! Filter chains, as collectd.conf(5) "FILTER CONFIGURATION" describes them:
//! `<Chain>` blocks of `<Rule>`s (all `<Match>`es hold → run the `<Target>`s)
//! plus default targets, the built-in targets `return`, `stop`, `write` and
//! `jump`, and the matches and targets that plugins (Debian's `match_*.so`,
//! `target_*.so`) register through `fc_register_match`/`fc_register_target`.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rcollectd_plugin::sys::{
    data_set_t, match_proc_t, oconfig_item_t, target_proc_t, value_list_t,
};

use crate::abi::callbacks::{CMatch, CTarget};
use crate::abi::oconfig::OconfigTree;
use crate::config::{ConfigError, Item, Value};

/// collectd's `FC_MATCH_MATCHES`.
pub const MATCH_MATCHES: c_int = 1;
/// collectd's `FC_TARGET_CONTINUE`.
pub const TARGET_CONTINUE: c_int = 0;
/// collectd's `FC_TARGET_STOP`.
pub const TARGET_STOP: c_int = 1;
/// collectd's `FC_TARGET_RETURN`.
pub const TARGET_RETURN: c_int = 2;

/// How deep `jump` may nest before a chain loop is cut (collectd has no guard
/// and would overflow its stack).
const MAX_JUMP_DEPTH: usize = 32;

/// One configured `<Target>`.
enum Target {
    Return,
    Stop,
    /// `write`, to the named plugins or (empty) to every writer.
    Write(Vec<String>),
    Jump(String),
    Plugin {
        name: String,
        target: CTarget,
    },
}

struct Rule {
    matches: Vec<CMatch>,
    targets: Vec<Target>,
}

/// A configured `<Chain>`.
pub struct Chain {
    name: String,
    rules: Vec<Rule>,
    targets: Vec<Target>,
}

#[derive(Default)]
struct Registry {
    matches: Vec<(String, match_proc_t)>,
    targets: Vec<(String, target_proc_t)>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    matches: Vec::new(),
    targets: Vec::new(),
});
static CHAINS: RwLock<Vec<Arc<Chain>>> = RwLock::new(Vec::new());
/// The chains named by `PreCacheChain` and `PostCacheChain`.
type ActiveChains = (Option<Arc<Chain>>, Option<Arc<Chain>>);
static ACTIVE: RwLock<ActiveChains> = RwLock::new((None, None));
/// Whether a pre-/post-cache chain is active: lets the dispatch path skip
/// the lock for every value list when no chain is configured (the usual case).
static HAS_PRE: AtomicBool = AtomicBool::new(false);
static HAS_POST: AtomicBool = AtomicBool::new(false);

/// `fc_register_match`: makes a match type available to `<Match "name">`.
pub fn register_match(name: &str, proc_: match_proc_t) -> c_int {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    reg.matches.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    reg.matches.push((name.to_owned(), proc_));
    0
}

/// `fc_register_target`: makes a target type available to `<Target "name">`.
pub fn register_target(name: &str, proc_: target_proc_t) -> c_int {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    reg.targets.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    reg.targets.push((name.to_owned(), proc_));
    0
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

/// Finds a registered match or target by name (case-insensitively) and runs
/// its `create` callback on the block, through `create`.
fn instantiate<P: Copy, T>(
    item: &Item,
    kind: &str,
    registered: impl Fn(&Registry) -> Option<(String, P)>,
    create: impl FnOnce(P, *const oconfig_item_t) -> Result<T, c_int>,
) -> Result<(String, T), ConfigError> {
    let wanted = single_string_arg(item, kind)?;
    let found = registered(&REGISTRY.lock().unwrap_or_else(|e| e.into_inner()));
    let Some((name, proc_)) = found else {
        let kind = kind.to_ascii_lowercase();
        return Err(err(
            item,
            format!(
                "cannot find a \"{wanted}\" {kind}; load the plugin that provides it \
                 (LoadPlugin {kind}_{wanted}) before this <Chain>"
            ),
        ));
    };
    let tree = OconfigTree::new(item);
    match create(proc_, tree.as_ptr()) {
        Ok(inst) => Ok((name, inst)),
        Err(_) => Err(err(
            item,
            format!(
                "failed to create a \"{name}\" {}",
                kind.to_ascii_lowercase()
            ),
        )),
    }
}

fn find_named<P: Copy>(list: &[(String, P)], name: &str) -> Option<(String, P)> {
    list.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, p)| (n.clone(), *p))
}

fn new_match(item: &Item) -> Result<CMatch, ConfigError> {
    let wanted = single_string_arg(item, "Match")?;
    let (_, m) = instantiate(
        item,
        "Match",
        |reg| find_named(&reg.matches, wanted).filter(|(_, p)| p.match_.is_some()),
        // SAFETY: the tree is valid while `instantiate` holds it.
        |p, ci| unsafe { CMatch::create(p, ci) },
    )?;
    Ok(m)
}

fn new_target(item: &Item) -> Result<Target, ConfigError> {
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
                Target::Stop
            } else {
                Target::Return
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
                        _ => return Err(err(child, "`Plugin' expects plugin names as strings")),
                    }
                }
            }
            return Ok(Target::Write(plugins));
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
            return Ok(Target::Jump(chain));
        }
        _ => {}
    }
    let (name, target) = instantiate(
        item,
        "Target",
        |reg| find_named(&reg.targets, name).filter(|(_, p)| p.invoke.is_some()),
        // SAFETY: the tree is valid while `instantiate` holds it.
        |p, ci| unsafe { CTarget::create(p, ci) },
    )?;
    Ok(Target::Plugin { name, target })
}

fn new_rule(item: &Item) -> Result<Rule, ConfigError> {
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
            rule.matches.push(new_match(child)?);
        } else if child.key.eq_ignore_ascii_case("Target") {
            rule.targets.push(new_target(child)?);
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

/// Reads one `<Chain "name">` block; a second block of the same name adds to it.
pub fn configure(item: &Item) -> Result<(), ConfigError> {
    let name = single_string_arg(item, "Chain")?.to_owned();
    let mut rules = Vec::new();
    let mut targets = Vec::new();
    for child in &item.children {
        if child.key.eq_ignore_ascii_case("Rule") {
            rules.push(new_rule(child)?);
        } else if child.key.eq_ignore_ascii_case("Target") {
            targets.push(new_target(child)?);
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
    let mut chains = CHAINS.write().unwrap_or_else(|e| e.into_inner());
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
pub fn chain_by_name(name: &str) -> Option<Arc<Chain>> {
    CHAINS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .cloned()
}

/// Selects `PreCacheChain`/`PostCacheChain` (empty = none). A name with no
/// `<Chain>` behind it is reported (collectd silently runs without it),
/// except collectd's defaults "PreCache"/"PostCache", which need no chain.
pub fn activate(pre: &str, post: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut pick = |what: &str, name: &str| {
        if name.is_empty() {
            return None;
        }
        let chain = chain_by_name(name);
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
    HAS_PRE.store(active.0.is_some(), Ordering::Release);
    HAS_POST.store(active.1.is_some(), Ordering::Release);
    *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = active;
    warnings
}

/// What the dispatch path does after a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on with the value list.
    Continue,
    /// A `stop` target ended its processing: nothing more happens to it.
    Stop,
}

/// Runs the `PreCacheChain`, if one is configured.
pub fn pre_cache(ds: &data_set_t, vl: &mut value_list_t) -> Verdict {
    if !HAS_PRE.load(Ordering::Acquire) {
        return Verdict::Continue;
    }
    let chain = ACTIVE.read().unwrap_or_else(|e| e.into_inner()).0.clone();
    let Some(c) = chain else {
        return Verdict::Continue;
    };
    match process(&c, ds, vl, 0) {
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

/// Whether a `PreCacheChain` may change or stop value lists before the
/// cache sees them.
pub fn has_pre_cache_chain() -> bool {
    HAS_PRE.load(Ordering::Acquire)
}

/// Whether a `PostCacheChain` decides where values are written (else every
/// writer gets every value list, collectd's default action).
pub fn has_post_cache_chain() -> bool {
    HAS_POST.load(Ordering::Acquire)
}

/// Runs the `PostCacheChain`; its `write` targets do the writing. Returns
/// false when no chain is configured, so the caller writes to every writer.
pub fn post_cache(ds: &data_set_t, vl: &mut value_list_t) -> bool {
    if !HAS_POST.load(Ordering::Acquire) {
        return false;
    }
    let chain = ACTIVE.read().unwrap_or_else(|e| e.into_inner()).1.clone();
    match chain {
        Some(c) => {
            let status = process(&c, ds, vl, 0);
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
    chain: &Chain,
    target: &Target,
    ds: &data_set_t,
    vl: &mut value_list_t,
    depth: usize,
) -> c_int {
    match target {
        Target::Return => TARGET_RETURN,
        Target::Stop => TARGET_STOP,
        Target::Write(plugins) => {
            write_to_plugins(plugins, ds, vl);
            TARGET_CONTINUE
        }
        Target::Jump(name) => {
            if depth >= MAX_JUMP_DEPTH {
                log::warn!(
                    "filter chain `{}': jump to `{name}' nested deeper than {MAX_JUMP_DEPTH}; \
                     is there a jump loop?",
                    chain.name
                );
                return -1;
            }
            match chain_by_name(name) {
                // As collectd's jump target: a `return` in the chain jumped to
                // ends that chain only, and processing goes on in this one.
                Some(next) => match process(&next, ds, vl, depth + 1) {
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
        Target::Plugin { name, target } => {
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

fn write_to_plugins(plugins: &[String], ds: &data_set_t, vl: &value_list_t) {
    if plugins.is_empty() {
        let status = crate::dispatch::write_to(None, ds, vl);
        if status == libc::ENOENT {
            log::info!("filter chain: built-in target `write': no write plugin is loaded");
        }
        return;
    }
    for p in plugins {
        let status = crate::dispatch::write_to(Some(p), ds, vl);
        if status != 0 {
            log::info!(
                "filter chain: built-in target `write': dispatching to the `{p}' plugin \
                 failed with status {status}"
            );
        }
    }
}

fn rule_matches(chain: &Chain, rule: &Rule, ds: &data_set_t, vl: &value_list_t) -> bool {
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

/// `fc_process_chain`: rules in order, then the chain's default targets.
/// Returns `FC_TARGET_STOP`, `FC_TARGET_RETURN` (from a rule) or `FC_TARGET_CONTINUE`.
pub fn process(chain: &Chain, ds: &data_set_t, vl: &mut value_list_t, depth: usize) -> c_int {
    for rule in &chain.rules {
        if !rule_matches(chain, rule, ds, vl) {
            continue;
        }
        for target in &rule.targets {
            let status = run_target(chain, target, ds, vl, depth);
            if status < 0 {
                log::warn!("fc_process_chain ({}): A target failed.", chain.name);
            } else if status == TARGET_STOP || status == TARGET_RETURN {
                return status;
            }
        }
    }
    for target in &chain.targets {
        let status = run_target(chain, target, ds, vl, depth);
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

/// Calls every destroy callback and forgets all chains (daemon shutdown).
pub fn shutdown() {
    HAS_PRE.store(false, Ordering::Release);
    HAS_POST.store(false, Ordering::Release);
    *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = (None, None);
    // The last reference to a chain destroys its matches' and targets'
    // instances (`CMatch`, `CTarget`), each once.
    drop(std::mem::take(
        &mut *CHAINS.write().unwrap_or_else(|e| e.into_inner()),
    ));
}

/// The chain behind an `fc_chain_t *` handed out by `fc_chain_get_by_name`.
pub fn chain_ptr(name: &str) -> *mut c_void {
    let chains = CHAINS.read().unwrap_or_else(|e| e.into_inner());
    chains
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| Arc::as_ptr(c) as *mut c_void)
        .unwrap_or(ptr::null_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static SEEN: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn match_plugin_cpu(
        _ds: *const data_set_t,
        vl: *const value_list_t,
        _meta: *mut *mut rcollectd_plugin::sys::notification_meta_t,
        _ud: *mut *mut c_void,
    ) -> c_int {
        // SAFETY: the chain passes a valid value list.
        let plugin = unsafe { std::ffi::CStr::from_ptr((*vl).plugin.as_ptr()) };
        (plugin.to_bytes() == b"cpu") as c_int
    }

    unsafe extern "C" fn target_rename(
        _ds: *const data_set_t,
        vl: *mut value_list_t,
        _meta: *mut *mut rcollectd_plugin::sys::notification_meta_t,
        _ud: *mut *mut c_void,
    ) -> c_int {
        SEEN.fetch_add(1, Ordering::Relaxed);
        // SAFETY: valid, writable value list from the chain.
        unsafe { (*vl).plugin_instance[0] = b'X' as _ };
        TARGET_CONTINUE
    }

    fn empty_ds() -> data_set_t {
        data_set_t {
            type_: [0; 128],
            ds_num: 0,
            ds: ptr::null_mut(),
        }
    }

    fn vl_for(plugin: &str) -> value_list_t {
        let mut vl = value_list_t::default();
        for (i, b) in plugin.bytes().enumerate() {
            vl.plugin[i] = b as _;
        }
        vl
    }

    fn chain_from(text: &str) -> Result<(), ConfigError> {
        let root = parse_str(text, Path::new("/test/chains.conf")).expect("parses");
        for item in &root.children {
            configure(item)?;
        }
        Ok(())
    }

    // One test drives the shared registry end to end, so tests cannot race on it.
    #[test]
    fn chains_follow_collectd_semantics() {
        register_match(
            "is_cpu",
            match_proc_t {
                create: None,
                destroy: None,
                match_: Some(match_plugin_cpu),
            },
        );
        register_target(
            "rename",
            target_proc_t {
                create: None,
                destroy: None,
                invoke: Some(target_rename),
            },
        );
        chain_from(
            r#"
<Chain "t_main">
  <Rule "drop_cpu">
    <Match "is_cpu">
    </Match>
    <Target "rename">
    </Target>
    Target "stop"
  </Rule>
  <Rule>
    Target "jump"
  </Rule>
</Chain>
"#,
        )
        .expect_err("jump without Chain is an error");

        chain_from(
            r#"
<Chain "t_main">
  <Rule "drop_cpu">
    <Match "is_cpu">
    </Match>
    <Target "rename">
    </Target>
    Target "stop"
  </Rule>
  <Target "jump">
    Chain "t_sub"
  </Target>
</Chain>
<Chain "t_sub">
  <Rule>
    Target "return"
  </Rule>
  Target "stop"
</Chain>
<Chain "t_loop">
  <Target "jump">
    Chain "t_loop"
  </Target>
</Chain>
<Chain "t_rule_jump">
  <Rule>
    <Target "jump">
      Chain "t_returns"
    </Target>
  </Rule>
  <Target "rename">
  </Target>
</Chain>
<Chain "t_returns">
  <Rule "first">
    Target "return"
  </Rule>
  Target "stop"
</Chain>
"#,
        )
        .expect("valid chains");
        let main = chain_by_name("T_MAIN").expect("case-insensitive lookup");

        let mut cpu = vl_for("cpu");
        assert_eq!(process(&main, &empty_ds(), &mut cpu, 0), TARGET_STOP);
        assert_eq!(cpu.plugin_instance[0], b'X' as _, "target ran before stop");
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);

        // Not cpu: falls to the default target, jumps to t_sub whose rule
        // returns, so the chain goes on to its end: continue.
        let mut mem = vl_for("memory");
        assert_eq!(process(&main, &empty_ds(), &mut mem, 0), TARGET_CONTINUE);
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);

        // A `return` in a chain reached by a rule's jump ends that chain
        // only: the calling chain goes on to its default target.
        let rule_jump = chain_by_name("t_rule_jump").unwrap();
        let mut mem = vl_for("memory");
        assert_eq!(
            process(&rule_jump, &empty_ds(), &mut mem, 0),
            TARGET_CONTINUE
        );
        assert_eq!(
            SEEN.load(Ordering::Relaxed),
            2,
            "default target ran after the return"
        );
        assert_eq!(mem.plugin_instance[0], b'X' as _);

        let looping = chain_by_name("t_loop").unwrap();
        assert_eq!(process(&looping, &empty_ds(), &mut mem, 0), TARGET_CONTINUE);

        let err = chain_from("<Chain \"bad\">\n  <Rule>\n    <Match \"nope\">\n    </Match>\n    Target \"stop\"\n  </Rule>\n</Chain>\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/test/chains.conf:3: cannot find a \"nope\" match; load the plugin that provides it (LoadPlugin match_nope) before this <Chain>"
        );
        let err = chain_from("<Chain \"bad2\">\n  <Rule>\n    <Match \"is_cpu\">\n    </Match>\n  </Rule>\n</Chain>\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/test/chains.conf:2: this <Rule> has no target (add a <Target> block)"
        );

        assert!(activate("t_main", "").is_empty());
        assert!(!has_post_cache_chain());
        let mut cpu = vl_for("cpu");
        assert_eq!(pre_cache(&empty_ds(), &mut cpu), Verdict::Stop);
        assert_eq!(activate("", "missing").len(), 1);
        assert!(
            activate("PreCache", "PostCache").is_empty(),
            "collectd's defaults"
        );
        assert!(!has_post_cache_chain());
        activate("", "");
    }
}
