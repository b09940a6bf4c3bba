//! Filter chains for the daemon: the core's [`Chains`] over collectd's C
//! `data_set_t`/`value_list_t`, the matches and targets plugins (Debian's
//! `match_*.so`, `target_*.so`) register through
//! `fc_register_match`/`fc_register_target`, and the dispatch path's
//! writing behind the built-in `write` target.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::Mutex;

use rcollectd_core::filter::{Match, NamedTarget, Plugins, Refused, Target};
use rcollectd_plugin::sys::{data_set_t, match_proc_t, target_proc_t, value_list_t};

use super::{Dispatch, Up};
use crate::abi::callbacks::{CMatch, CTarget};
use crate::abi::oconfig::OconfigTree;
use crate::config::Item;

pub use rcollectd_core::filter::{
    Verdict, MATCH_MATCHES, MATCH_NO_MATCH, TARGET_CONTINUE, TARGET_RETURN, TARGET_STOP,
};

/// A configured chain over collectd's structs.
pub type Chain = rcollectd_core::filter::Chain<data_set_t, value_list_t>;

/// The matches and targets plugins registered, by name.
#[derive(Default)]
struct Kinds {
    matches: Vec<(String, match_proc_t)>,
    targets: Vec<(String, target_proc_t)>,
}

/// The chains' view of the plugins: registered C matches and targets, and
/// the dispatch path's writers.
#[derive(Default)]
pub(super) struct CPlugins {
    kinds: Mutex<Kinds>,
    pub(super) up: Up,
}

impl CPlugins {
    fn kinds(&self) -> std::sync::MutexGuard<'_, Kinds> {
        self.kinds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The match or target type registered as `name` (case-insensitively)
    /// that has the callback it needs (`usable`), with its registered spelling.
    fn registered<P: Copy>(
        &self,
        list: fn(&Kinds) -> &[(String, P)],
        name: &str,
        usable: fn(&P) -> bool,
    ) -> Result<(String, P), Refused> {
        list(&self.kinds())
            .iter()
            .find(|(n, p)| n.eq_ignore_ascii_case(name) && usable(p))
            .map(|(n, p)| (n.clone(), *p))
            .ok_or(Refused::Unknown)
    }
}

impl Dispatch {
    /// `fc_register_match`: makes a match type available to `<Match "name">`.
    pub fn register_match(&self, name: &str, proc_: match_proc_t) -> c_int {
        let mut kinds = self.filter.kinds();
        kinds.matches.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        kinds.matches.push((name.to_owned(), proc_));
        0
    }

    /// `fc_register_target`: makes a target type available to `<Target "name">`.
    pub fn register_target(&self, name: &str, proc_: target_proc_t) -> c_int {
        let mut kinds = self.filter.kinds();
        kinds.targets.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        kinds.targets.push((name.to_owned(), proc_));
        0
    }

    /// The chain behind an `fc_chain_t *` handed out by `fc_chain_get_by_name`.
    pub fn chain_ptr(&self, name: &str) -> *mut c_void {
        self.chains
            .chain_addr(name)
            .map_or(ptr::null_mut(), |p| p.cast_mut().cast())
    }
}

impl Match<data_set_t, value_list_t> for CMatch {
    fn matches(&self, ds: &data_set_t, vl: &value_list_t) -> i32 {
        CMatch::matches(self, ds, vl)
    }
}

impl Target<data_set_t, value_list_t> for CTarget {
    fn invoke(&self, ds: &data_set_t, vl: &mut value_list_t) -> i32 {
        CTarget::invoke(self, ds, vl)
    }
}

impl Plugins<data_set_t, value_list_t> for CPlugins {
    fn new_match(
        &self,
        name: &str,
        item: &Item,
    ) -> Result<Box<dyn Match<data_set_t, value_list_t>>, Refused> {
        let (_, proc_) = self.registered(|r| &r.matches, name, |p| p.match_.is_some())?;
        let tree = OconfigTree::new(item);
        // SAFETY: `tree` is a valid config tree that outlives the call.
        let m = unsafe { CMatch::create(proc_, tree.as_ptr()) }.map_err(Refused::Failed)?;
        Ok(Box::new(m))
    }

    fn new_target(
        &self,
        name: &str,
        item: &Item,
    ) -> Result<NamedTarget<data_set_t, value_list_t>, Refused> {
        let (name, proc_) = self.registered(|r| &r.targets, name, |p| p.invoke.is_some())?;
        let tree = OconfigTree::new(item);
        // SAFETY: `tree` is a valid config tree that outlives the call.
        let t = unsafe { CTarget::create(proc_, tree.as_ptr()) }.map_err(Refused::Failed)?;
        Ok((name, Box::new(t)))
    }

    fn write(&self, plugin: Option<&str>, ds: &data_set_t, vl: &value_list_t) -> i32 {
        self.up.get().write_to(plugin, ds, vl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_str, ConfigError};
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

    fn chain_from(d: &Dispatch, text: &str) -> Result<(), ConfigError> {
        let root = parse_str(text, Path::new("/test/chains.conf")).expect("parses");
        for item in &root.children {
            d.chains().configure(item)?;
        }
        Ok(())
    }

    #[test]
    fn chains_follow_collectd_semantics() {
        let rt = crate::runtime::Runtime::new();
        let d = rt.dispatch;
        d.register_match(
            "is_cpu",
            match_proc_t {
                create: None,
                destroy: None,
                match_: Some(match_plugin_cpu),
            },
        );
        d.register_target(
            "rename",
            target_proc_t {
                create: None,
                destroy: None,
                invoke: Some(target_rename),
            },
        );
        chain_from(
            d,
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
            d,
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
        let main = d
            .chains()
            .chain_by_name("T_MAIN")
            .expect("case-insensitive lookup");

        let mut cpu = vl_for("cpu");
        assert_eq!(
            d.chains().process(&main, &empty_ds(), &mut cpu, 0),
            TARGET_STOP
        );
        assert_eq!(cpu.plugin_instance[0], b'X' as _, "target ran before stop");
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);

        // Not cpu: falls to the default target, jumps to t_sub whose rule
        // returns, so the chain goes on to its end: continue.
        let mut mem = vl_for("memory");
        assert_eq!(
            d.chains().process(&main, &empty_ds(), &mut mem, 0),
            TARGET_CONTINUE
        );
        assert_eq!(SEEN.load(Ordering::Relaxed), 1);

        // A `return` in a chain reached by a rule's jump ends that chain
        // only: the calling chain goes on to its default target.
        let rule_jump = d.chains().chain_by_name("t_rule_jump").unwrap();
        let mut mem = vl_for("memory");
        assert_eq!(
            d.chains().process(&rule_jump, &empty_ds(), &mut mem, 0),
            TARGET_CONTINUE
        );
        assert_eq!(
            SEEN.load(Ordering::Relaxed),
            2,
            "default target ran after the return"
        );
        assert_eq!(mem.plugin_instance[0], b'X' as _);

        let looping = d.chains().chain_by_name("t_loop").unwrap();
        assert_eq!(
            d.chains().process(&looping, &empty_ds(), &mut mem, 0),
            TARGET_CONTINUE
        );

        let err = chain_from(d, "<Chain \"bad\">\n  <Rule>\n    <Match \"nope\">\n    </Match>\n    Target \"stop\"\n  </Rule>\n</Chain>\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/test/chains.conf:3: cannot find a \"nope\" match; load the plugin that provides it (LoadPlugin match_nope) before this <Chain>"
        );
        let err = chain_from(d, "<Chain \"bad2\">\n  <Rule>\n    <Match \"is_cpu\">\n    </Match>\n  </Rule>\n</Chain>\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/test/chains.conf:2: this <Rule> has no target (add a <Target> block)"
        );

        assert!(d.chains().activate("t_main", "").is_empty());
        assert!(!d.chains().has_post_cache_chain());
        let mut cpu = vl_for("cpu");
        assert_eq!(d.chains().pre_cache(&empty_ds(), &mut cpu), Verdict::Stop);
        assert_eq!(d.chains().activate("", "missing").len(), 1);
        assert!(
            d.chains().activate("PreCache", "PostCache").is_empty(),
            "collectd's defaults"
        );
        assert!(!d.chains().has_post_cache_chain());
        d.chains().activate("", "");
    }
}
