//! The dispatch path: `plugin_dispatch_values` -> pre-cache chain -> value
//! cache -> one bounded queue per output ([`outputs`]), each with its own
//! writer; with a `PostCacheChain`, the chain runs first on the `WriteThreads`
//! routing threads and its `write` targets pick the outputs. Also flush,
//! notifications and missing values.
//!
//! Each queue is bounded by collectd's rule: below `WriteQueueLimitLow`
//! nothing is dropped, between Low and High a value is dropped with a
//! probability rising linearly, at High everything is dropped. When neither
//! limit is configured rcollectd still bounds each queue at
//! [`DEFAULT_QUEUE_LIMIT`] value lists instead of growing without limit like
//! collectd. Every drop is counted ([`Dispatch::stats`], and per output).

pub mod chains;
pub mod outputs;

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rcollectd_plugin::sys::{
    cdtime_t, data_set_t, meta_data_clone, meta_data_destroy, meta_data_t, notification_t,
    value_list_t, value_t,
};

use crate::abi::ffi::cstr_field_ref;
use crate::cache::{vl_fields, CMeta, Cache, Fields, Sample, SampleRates};
use crate::plugins::ctx::{self, Ctx};
use crate::plugins::registry::{Callback, OwnedDataSet, Registry, WriteFn};

/// The write-queue limits, as the core's output queues keep them.
pub use rcollectd_core::outputs::{QueueLimits, DEFAULT_QUEUE_LIMIT};

/// Counters the daemon reports about itself (`CollectInternalStats`).
pub use rcollectd_core::dispatch::Stats;
pub use rcollectd_core::dispatch::BATCH_MAX;
use rcollectd_core::dispatch::{Batch, Flow, Pushed, Route};
use rcollectd_core::filter::Chains;

/// What dispatching threads hand over.
type Msg = rcollectd_core::dispatch::Msg<QueuedVl>;

pub use rcollectd_core::outputs::drop_probability;

/// The dispatch path of one runtime: the core's flow over queued value
/// lists, one queue per output, the filter chains, and the registry and
/// cache it works with. Built once per runtime and never freed, because its
/// writer threads and the plugins' callbacks hold references into it.
pub struct Dispatch {
    registry: &'static Registry,
    cache: &'static Cache,
    flow: Flow<QueuedVl, DispatchRoute>,
    outputs: outputs::Queues,
    chains: Chains<data_set_t, value_list_t>,
    filter: &'static chains::CPlugins,
    /// In an isolated plugin's host process, the one notification callback
    /// its notifications go to (the channel to the daemon).
    notify_only: OnceLock<String>,
    /// In an isolated plugin's host process: missing values are only those
    /// the daemon reports.
    missing_from_daemon: AtomicBool,
    /// Called with an output's name after it has written a batch (an
    /// isolated plugin's stand-in sends what it gathered then).
    after_payload: OnceLock<AfterPayload>,
}

/// What runs after an output has written a batch, with the output's name.
pub type AfterPayload = Box<dyn Fn(&str) + Send + Sync>;

/// How a part of the dispatch path built before the whole (the flow's
/// route, the outputs' host, the chains' plugins) reaches it: set by
/// [`Dispatch::new`] before the dispatch path is handed to anyone.
#[derive(Default)]
struct Up(OnceLock<&'static Dispatch>);

impl Up {
    fn bind(&self, d: &'static Dispatch) {
        let _ = self.0.set(d);
    }

    fn get(&self) -> &'static Dispatch {
        self.0.get().expect("bound by Dispatch::new before use")
    }
}

impl Dispatch {
    /// The dispatch path of a runtime whose callbacks are in `registry` and
    /// whose value cache is `cache`.
    pub fn new(registry: &'static Registry, cache: &'static Cache) -> &'static Dispatch {
        let filter: &'static chains::CPlugins = Box::leak(Box::default());
        let d: &'static Dispatch = Box::leak(Box::new(Dispatch {
            registry,
            cache,
            flow: Flow::new(DispatchRoute(Up::default())),
            outputs: outputs::Queues::new(outputs::DispatchHost(Up::default())),
            chains: Chains::new(filter),
            filter,
            notify_only: OnceLock::new(),
            missing_from_daemon: AtomicBool::new(false),
            after_payload: OnceLock::new(),
        }));
        d.flow.route().0.bind(d);
        d.outputs.host().0.bind(d);
        filter.up.bind(d);
        d
    }

    /// The dispatch counters.
    pub fn stats(&self) -> &Stats {
        self.flow.stats()
    }

    /// Sets the write-queue limits (each output's, and the routing queue's).
    pub fn set_limits(&self, l: QueueLimits) {
        self.outputs.set_limits(l);
    }

    /// Decides whether the next value list is dropped before the cache (and
    /// counts it if so); see [`Flow::check_drop`].
    pub fn check_drop(&self) -> bool {
        self.flow.check_drop(pending_len(), self.outputs.limits())
    }

    /// The filter chains (`<Chain>`, `PreCacheChain`, `PostCacheChain`).
    pub fn chains(&self) -> &Chains<data_set_t, value_list_t> {
        &self.chains
    }
}

/// Value lists with at most this many values keep them inline, so queueing
/// them allocates nothing (the channel allocates a block per 31 items).
const INLINE_VALUES: usize = 4;

/// The values of a queued value list: inline when few, else on the heap.
enum Values {
    Inline([value_t; INLINE_VALUES]),
    Heap(Box<[value_t]>),
}

impl Values {
    fn copy_of(src: &[value_t]) -> Values {
        if src.len() <= INLINE_VALUES {
            let mut a = [value_t { gauge: 0.0 }; INLINE_VALUES];
            a[..src.len()].copy_from_slice(src);
            Values::Inline(a)
        } else {
            Values::Heap(src.into())
        }
    }

    fn as_slice(&self, n: usize) -> &[value_t] {
        match self {
            Values::Inline(a) => &a[..n.min(INLINE_VALUES)],
            Values::Heap(b) => b,
        }
    }

    fn as_mut_ptr(&mut self) -> *mut value_t {
        match self {
            Values::Inline(a) => a.as_mut_ptr(),
            Values::Heap(b) => b.as_mut_ptr(),
        }
    }

    fn as_ptr(&self) -> *const value_t {
        match self {
            Values::Inline(a) => a.as_ptr(),
            Values::Heap(b) => b.as_ptr(),
        }
    }
}

/// Identifier bytes a queued value list carries inline: room for nearly
/// every real identifier in a 208-byte item.
const INLINE_IDENT: usize = 91;

/// A queued identifier's five fields, back to back. Copying them costs a
/// few dozen bytes and, unlike a reference to the cache entry, shares no
/// cache line between the dispatching and the writing thread: a shared
/// reference count made every cache update wait for the writer's core.
struct InlineIdent {
    lens: [u8; 5],
    bytes: [u8; INLINE_IDENT],
}

impl InlineIdent {
    /// The fields, if they fit together in [`INLINE_IDENT`] bytes.
    fn new(fields: Fields<'_>) -> Option<InlineIdent> {
        if fields.iter().map(|f| f.len()).sum::<usize>() > INLINE_IDENT {
            return None;
        }
        let mut out = InlineIdent {
            lens: [0; 5],
            bytes: [0; INLINE_IDENT],
        };
        let mut at = 0;
        for (len, f) in out.lens.iter_mut().zip(fields) {
            out.bytes[at..at + f.len()].copy_from_slice(f);
            // Each field is at most DATA_MAX_NAME_LEN - 1 = 127 bytes.
            *len = f.len() as u8;
            at += f.len();
        }
        Some(out)
    }

    fn fields(&self) -> Fields<'_> {
        let mut out: Fields<'_> = [b""; 5];
        let mut rest = &self.bytes[..];
        for (slot, &len) in out.iter_mut().zip(&self.lens) {
            let (f, r) = rest.split_at(usize::from(len));
            *slot = f;
            rest = r;
        }
        out
    }
}

/// Where a queued value list's identifier lives.
enum Ident {
    /// Inline in the queued item: the usual case.
    Inline(InlineIdent),
    /// In a copy of the whole value list, for identifiers too long to fit.
    Own(Box<value_list_t>),
}

impl Ident {
    /// `fields` inline if they fit, else a copy of `vl`, whose fields they
    /// are (`to_vl` replaces the copy's time, interval, values and meta).
    fn of(fields: Fields<'_>, vl: &value_list_t) -> Ident {
        InlineIdent::new(fields).map_or_else(|| Ident::Own(Box::new(*vl)), Ident::Inline)
    }
}

/// A value list in the write queue, owning its values and meta data; the C
/// view is rebuilt on the write thread ([`QueuedVl::to_vl`]).
pub struct QueuedVl {
    ident: Ident,
    time: cdtime_t,
    interval: cdtime_t,
    meta: *mut meta_data_t,
    values: Values,
    /// The rates the cache computed for this value list as it passed.
    rates: SampleRates,
    ds: &'static OwnedDataSet,
    ctx: Ctx,
}

// SAFETY: the meta data pointer is owned by this struct and travels with it;
// it is only touched by the thread holding the item.
unsafe impl Send for QueuedVl {}

// SAFETY: outputs share a batch only to read it: `view` hands write
// callbacks a `const value_list_t *`, and the meta data object's own lock
// serializes what they do with it.
unsafe impl Sync for QueuedVl {}

impl QueuedVl {
    /// The C view for write callbacks, which take it as `const`; its values
    /// and meta data pointers point into this item, which outlives the call.
    pub fn view(&self) -> value_list_t {
        let mut vl = self.ident_vl();
        vl.time = self.time;
        vl.interval = self.interval;
        vl.meta = self.meta;
        vl.values = self.values.as_ptr().cast_mut();
        vl.values_len = self.ds.ds_num();
        vl
    }

    fn ident_vl(&self) -> value_list_t {
        match &self.ident {
            Ident::Inline(id) => {
                let mut vl = value_list_t::default();
                crate::cache::write_fields(&mut vl, id.fields());
                vl
            }
            Ident::Own(v) => **v,
        }
    }

    /// A copy of `vl` (as a chain has made it) that writes like the value
    /// list it came from (`like`: its data set, context and recorded rates);
    /// `None` if its meta data cannot be copied.
    fn copy_of(vl: &value_list_t, like: &Template) -> Option<QueuedVl> {
        let meta = if vl.meta.is_null() {
            std::ptr::null_mut()
        } else {
            // SAFETY: the chain's value list holds live meta data.
            let m = unsafe { meta_data_clone(vl.meta) };
            if m.is_null() {
                return None;
            }
            m
        };
        let n = like.ds.ds_num();
        // SAFETY: the chain's value list has the data set's `n` values.
        let values = Values::copy_of(unsafe { std::slice::from_raw_parts(vl.values, n) });
        Some(QueuedVl {
            ident: Ident::of(vl_fields(vl), vl),
            time: vl.time,
            interval: vl.interval,
            meta,
            values,
            rates: like.rates.clone(),
            ds: like.ds,
            ctx: Ctx(like.ctx),
        })
    }

    /// The C value list for the routing threads, which run the chain on it;
    /// its values and meta data pointers point into this item, which must
    /// stay put while it is used.
    pub fn to_vl(&mut self) -> value_list_t {
        let mut vl = match &self.ident {
            Ident::Inline(id) => {
                let mut vl = value_list_t::default();
                crate::cache::write_fields(&mut vl, id.fields());
                vl
            }
            Ident::Own(v) => **v,
        };
        vl.time = self.time;
        vl.interval = self.interval;
        vl.meta = self.meta;
        vl.values = self.values.as_mut_ptr();
        vl.values_len = self.ds.ds_num();
        vl
    }
}

impl Drop for QueuedVl {
    fn drop(&mut self) {
        if !self.meta.is_null() {
            // SAFETY: the meta data was cloned for this copy and is owned by it.
            unsafe { meta_data_destroy(self.meta) };
            self.meta = std::ptr::null_mut();
        }
    }
}

/// A thread's open batch and the dispatch path its value lists go to.
struct Pending {
    batch: Batch<QueuedVl>,
    to: Option<&'static Dispatch>,
}

impl Pending {
    /// The gathered value lists with where they go, if any.
    fn take(&mut self) -> Option<(Vec<QueuedVl>, &'static Dispatch)> {
        Some((self.batch.take()?, self.to?))
    }
}

thread_local! {
    /// The value lists this thread has dispatched inside a [`batch_scope`]
    /// and not yet handed over.
    static PENDING: RefCell<Pending> = const {
        RefCell::new(Pending {
            batch: Batch::new(),
            to: None,
        })
    };
}

/// Value lists this thread holds in its open batch (they count towards the
/// queue limits before they reach the queue).
fn pending_len() -> usize {
    PENDING.with(|p| p.try_borrow().map_or(0, |p| p.batch.len()))
}

impl Dispatch {
    /// How many value lists a batch gathers ([`rcollectd_core::dispatch::batch_cap`]).
    fn batch_cap(&self) -> usize {
        rcollectd_core::dispatch::batch_cap(self.outputs.limits())
    }

    /// Makes the coming shutdown keep late value lists (a reload hands them on).
    pub fn keep_late_value_lists(&self) {
        self.flow.keep_late();
    }
}

/// A value list as plain data: what a reload hands to the next process,
/// and what crosses an isolated plugin's channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PlainValueList {
    /// host, plugin, plugin instance, type, type instance.
    pub fields: [Vec<u8>; 5],
    /// `vl.time`.
    pub time: cdtime_t,
    /// `vl.interval`.
    pub interval: cdtime_t,
    /// The raw bits of each `value_t`.
    pub values: Vec<u64>,
    /// Its meta data, if any.
    pub meta: Option<crate::meta::MetaData>,
}

impl Dispatch {
    /// Takes the value lists dispatched after the writers stopped at shutdown.
    pub fn take_late(&self) -> Vec<PlainValueList> {
        let items = self.flow.take_late();
        items
            .iter()
            // SAFETY: `view` points into the live item: its values and meta data.
            .map(|item| unsafe { PlainValueList::of(&item.view()) })
            .collect()
    }

    /// Dispatches plain value lists (from a previous process at a reload, or
    /// from an isolated plugin) in one batch; returns how many were accepted.
    pub fn dispatch_plain(&'static self, lists: &[PlainValueList]) -> usize {
        let _batch = batch_scope();
        lists
            .iter()
            // SAFETY: `with_vl` hands out a value list valid for the call.
            .filter(|l| l.with_vl(|vl| unsafe { self.dispatch_values(vl) }) == 0)
            .count()
    }

    /// Queues one value list: into the thread's open batch if it has one
    /// (handing the batch over once it is full), else straight to the writers.
    fn submit(&'static self, item: QueuedVl) {
        let mut other = None;
        let pushed = PENDING.with(|p| match p.try_borrow_mut() {
            Ok(mut p) => {
                if !p.to.is_some_and(|to| std::ptr::eq(to, self)) {
                    // A batch holds one dispatch path's value lists.
                    other = p.take();
                    p.to = Some(self);
                }
                p.batch
                    .push(item, self.batch_cap(), || self.flow.spare_batch())
            }
            Err(_) => Pushed::Alone(item),
        });
        if let Some((batch, to)) = other {
            to.flow.send_batch(batch);
        }
        match pushed {
            Pushed::Full(batch) => self.flow.send_batch(batch),
            Pushed::Held => {}
            Pushed::Alone(item) => self.flow.send(Msg::One(item)),
        }
    }
}

impl PlainValueList {
    /// A copy of `vl`.
    ///
    /// # Safety
    /// `vl.values` points at `vl.values_len` values; `vl.meta` is null or
    /// live meta data.
    pub unsafe fn of(vl: &value_list_t) -> PlainValueList {
        let values = (0..vl.values_len)
            // SAFETY: per the contract; every value_t variant is 8 plain bytes.
            .map(|i| unsafe { (*vl.values.add(i)).counter })
            .collect();
        PlainValueList {
            fields: vl_fields(vl).map(<[u8]>::to_vec),
            time: vl.time,
            interval: vl.interval,
            values,
            // SAFETY: per the contract.
            meta: unsafe { crate::meta::to_owned(vl.meta) },
        }
    }

    /// Calls `f` with a `value_list_t` view of this value list (and C meta
    /// data made for the call).
    pub fn with_vl<R>(&self, f: impl FnOnce(&value_list_t) -> R) -> R {
        let mut vl = value_list_t::default();
        let [h, p, pi, t, ti] = &self.fields;
        crate::cache::write_fields(&mut vl, [h, p, pi, t, ti].map(|f| f.as_slice()));
        let mut values: Vec<value_t> = self
            .values
            .iter()
            .map(|&b| value_t { counter: b })
            .collect();
        vl.values = values.as_mut_ptr();
        vl.values_len = values.len();
        vl.time = self.time;
        vl.interval = self.interval;
        vl.meta = self
            .meta
            .clone()
            .map_or(std::ptr::null_mut(), crate::meta::into_raw);
        let r = f(&vl);
        // SAFETY: the meta data made above, no longer referenced.
        unsafe { crate::meta::destroy_raw(vl.meta) };
        r
    }
}

/// Hands this thread's open batch, if any, to the write threads.
fn flush_pending() {
    let taken = PENDING.with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()));
    if let Some((batch, to)) = taken {
        to.flow.send_batch(batch);
    }
}

/// While alive, value lists this thread dispatches are gathered into
/// batches of up to [`batch_cap`] value lists; the rest is handed over when the
/// outermost scope ends. The daemon opens one around every read callback;
/// plugins with threads of their own open one through
/// `rcollectd_dispatch_batch_begin`/`_end`.
#[must_use = "the batch is handed over when the scope is dropped"]
pub struct BatchScope {
    // Tied to the thread whose batch it is.
    _not_send: std::marker::PhantomData<*const ()>,
}

/// Opens a [`BatchScope`] on the calling thread (scopes nest).
pub fn batch_scope() -> BatchScope {
    batch_begin();
    BatchScope {
        _not_send: std::marker::PhantomData,
    }
}

impl Drop for BatchScope {
    fn drop(&mut self) {
        batch_end();
    }
}

/// Opens a batch on the calling thread (see [`BatchScope`]).
pub fn batch_begin() {
    PENDING.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            p.batch.begin();
        }
    });
}

/// Closes a batch opened by [`batch_begin`]; the outermost close hands the
/// gathered value lists over. An unmatched close is harmless.
pub fn batch_end() {
    let taken = PENDING.with(|p| {
        let mut p = p.try_borrow_mut().ok()?;
        let batch = p.batch.end()?;
        Some((batch, p.to?))
    });
    if let Some((batch, to)) = taken {
        to.flow.send_batch(batch);
    }
}

/// collectd's `escape_slashes` on a `value_list_t` field.
fn escape_slashes(field: &mut [c_char]) {
    // SAFETY: c_char and u8 have the same size and alignment; the slice is
    // reinterpreted in place for the byte-level rule.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(field.as_mut_ptr().cast::<u8>(), field.len()) };
    crate::ident::escape_slashes(bytes);
}

/// The identifier of `vl` for log messages (the cache's formatting).
fn ident(vl: &value_list_t) -> String {
    crate::cache::NameBuf::from_vl(vl).to_string()
}

impl Dispatch {
    /// Updates the value cache and sends cache events. collectd 5.12 logs a
    /// refused value list (e.g. not newer than the cached one) but still writes
    /// it (`plugin_dispatch_values_internal` ignores `uc_update`'s status), so
    /// rcollectd does the same.
    /// `vl`, the sample's value list, is there for the cache-event callbacks:
    /// without them the dispatch path builds no `value_list_t` before queueing.
    fn update_cache(
        &self,
        ds: &OwnedDataSet,
        sample: &Sample<'_>,
        vl: Option<&value_list_t>,
        rates: &mut SampleRates,
    ) {
        let result = self.cache.update_sample(ds.sources(), sample, Some(rates));
        match result {
            Ok(u) => {
                if let (true, Some(vl)) = (self.registry.has_cache_event_callbacks(), vl) {
                    let name = crate::cache::NameBuf::from_vl(vl);
                    if u.is_new {
                        self.dispatch_cache_event(CE_VALUE_NEW, 0, name.as_c_str(), vl);
                    } else if u.callbacks_mask != 0 {
                        self.dispatch_cache_event(
                            CE_VALUE_UPDATE,
                            u.callbacks_mask,
                            name.as_c_str(),
                            vl,
                        );
                    }
                }
            }
            Err(e @ crate::cache::CacheError::TooOld { .. }) => {
                crate::plugins::log::notice(&e.to_string())
            }
            Err(e) => log::error!("{e}"),
        }
    }
}

/// `CE_VALUE_NEW`.
pub const CE_VALUE_NEW: u32 = rcollectd_plugin::sys::cache_event_type_e_CE_VALUE_NEW;
/// `CE_VALUE_UPDATE`.
pub const CE_VALUE_UPDATE: u32 = rcollectd_plugin::sys::cache_event_type_e_CE_VALUE_UPDATE;
/// `CE_VALUE_EXPIRED`.
pub const CE_VALUE_EXPIRED: u32 = rcollectd_plugin::sys::cache_event_type_e_CE_VALUE_EXPIRED;

impl Dispatch {
    /// `plugin_dispatch_cache_event`: for NEW every callback may subscribe by
    /// setting `event->ret`, and the subscriptions are stored in the cache entry's
    /// mask. Like collectd 5.12 (whose mask test is a no-op), UPDATE and EXPIRED
    /// go to every active callback.
    pub fn dispatch_cache_event(
        &self,
        event_type: u32,
        _mask: u64,
        name: &std::ffi::CStr,
        vl: *const value_list_t,
    ) {
        let slots: Vec<_> = self
            .registry
            .cache_event
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut mask: u64 = 0;
        for (i, slot) in slots.iter().enumerate() {
            let Some(s) = slot else { continue };
            let mut ev = rcollectd_plugin::sys::cache_event_t {
                type_: event_type,
                value_list: vl,
                value_list_name: name.as_ptr(),
                ret: 0,
            };
            let _g = ctx::enter(s.ctx.0);
            let status = s.cache_event(&mut ev);
            if status != 0 {
                log::error!(
                    "plugin_dispatch_cache_event: Callback \"{}\" failed with status {status}.",
                    s.name
                );
            } else if ev.ret != 0 {
                mask |= 1 << i;
            }
        }
        if event_type == CE_VALUE_NEW && mask != 0 {
            self.cache.set_callbacks_mask(name.to_bytes(), mask);
        }
    }

    /// Missing-value detection (collectd's `uc_check_timeout`, run once per
    /// interval): each expired cache entry goes to the missing callbacks and, if
    /// subscribed, to the cache-event callbacks, then leaves the cache.
    pub fn check_missing(&self) -> usize {
        self.cache
            .expire(crate::time::now(), crate::abi::globals::timeout(), |x| {
                self.on_expired(x)
            })
    }

    fn on_expired(&self, x: &crate::cache::ExpiredEntry) {
        let vl = crate::cache::expired_value_list(x);
        // SAFETY: a valid value list on our stack.
        unsafe { self.dispatch_missing(&vl) };
        if x.callbacks_mask != 0 {
            self.dispatch_cache_event(CE_VALUE_EXPIRED, x.callbacks_mask, &x.name, &vl);
        }
    }

    /// Validates, fills in defaults, runs chains and cache, and queues a copy of
    /// `vl` for the write threads (no drop check: see [`Dispatch::check_drop`]).
    ///
    /// # Safety
    /// `vl` must point to a valid value list whose `values` holds `values_len` entries.
    pub unsafe fn enqueue(&'static self, vl: *const value_list_t) -> c_int {
        if vl.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: caller guarantees validity.
        let src = unsafe { &*vl };
        let type_bytes = crate::abi::ffi::field_bytes(&src.type_);
        if type_bytes.is_empty() || src.values.is_null() || src.values_len < 1 {
            log::error!(
                "plugin_dispatch_values: Invalid value list from plugin {}.",
                cstr_field_ref(&src.plugin)
            );
            self.flow
                .stats()
                .rejected_invalid
                .fetch_add(1, Ordering::Relaxed);
            return -1;
        }
        let Some(ds) = self.registry.data_set_static(type_bytes) else {
            let type_name = String::from_utf8_lossy(type_bytes);
            if self.registry.data_set_count() == 0 {
                log::error!(
                    "plugin_dispatch_values: No data sets registered. Could the types database be \
                 read? Check your `TypesDB' setting!"
                );
            } else {
                log::info!(
                "plugin_dispatch_values: Dataset not found: {type_name} (from \"{}\"), check your types.db!",
                ident(src)
            );
            }
            self.flow
                .stats()
                .rejected_invalid
                .fetch_add(1, Ordering::Relaxed);
            return -1;
        };
        if ds.ds_num() != src.values_len {
            log::error!(
            "plugin_dispatch_values: <{}> ds->type = {}: (ds->ds_num = {}) != (vl->values_len = {})",
            ident(src),
            String::from_utf8_lossy(type_bytes),
            ds.ds_num(),
            src.values_len
        );
            self.flow
                .stats()
                .rejected_invalid
                .fetch_add(1, Ordering::Relaxed);
            return -1;
        }

        // SAFETY: caller guarantees `values_len` values.
        let mut values =
            Values::copy_of(unsafe { std::slice::from_raw_parts(src.values, src.values_len) });
        let meta = if src.meta.is_null() {
            std::ptr::null_mut()
        } else {
            // SAFETY: the plugin's meta data is valid for the duration of the call.
            let m = unsafe { meta_data_clone(src.meta) };
            if m.is_null() {
                log::error!("plugin_dispatch_values: meta_data_clone failed.");
                return libc::ENOMEM;
            }
            m
        };
        let ctx_now = ctx::get();
        let time = if src.time == 0 {
            crate::time::now()
        } else {
            src.time
        };
        let interval = if src.interval == 0 {
            effective_interval(&ctx_now)
        } else {
            src.interval
        };
        let fields = vl_fields(src);
        let mut rates = SampleRates::Unknown;
        let as_sent = src.host[0] != 0
            && !fields.iter().any(|f| f.contains(&b'/'))
            && !self.chains.has_pre_cache_chain()
            && !self.registry.has_cache_event_callbacks();
        let (time, interval, meta, ident) = if as_sent {
            // The usual case: nothing to fill in, escape or filter, so the
            // plugin's value list is read where it is, never copied whole.
            let cmeta = CMeta(meta);
            let sample = Sample {
                fields,
                time,
                interval,
                values: crate::cache::raw_values(values.as_slice(src.values_len)),
                meta: (!meta.is_null()).then_some(&cmeta as &dyn crate::cache::MetaSource),
            };
            self.update_cache(ds, &sample, None, &mut rates);
            (time, interval, meta, Ident::of(fields, src))
        } else {
            let mut vl = *src;
            vl.meta = meta;
            vl.time = time;
            vl.interval = interval;
            if vl.host[0] == 0 {
                crate::abi::globals::copy_hostname(&mut vl.host);
            }
            escape_slashes(&mut vl.host);
            escape_slashes(&mut vl.plugin);
            escape_slashes(&mut vl.plugin_instance);
            escape_slashes(&mut vl.type_);
            escape_slashes(&mut vl.type_instance);
            vl.values = values.as_mut_ptr();
            if self.chains.pre_cache(ds.raw(), &mut vl) == chains::Verdict::Stop {
                if !vl.meta.is_null() {
                    // SAFETY: the clone made above (or what the chain left in its
                    // place) belongs to this call.
                    unsafe { meta_data_destroy(vl.meta) };
                }
                return 0;
            }
            let cmeta = CMeta(vl.meta);
            // SAFETY: `vl.values` points to `values`, `values_len` long.
            let sample = unsafe { crate::cache::sample_of(&vl, &cmeta) };
            self.update_cache(ds, &sample, Some(&vl), &mut rates);
            // A chain may have changed any of these.
            (vl.time, vl.interval, vl.meta, Ident::of(sample.fields, &vl))
        };
        self.submit(QueuedVl {
            ident,
            time,
            interval,
            meta,
            values,
            rates,
            ds,
            ctx: Ctx(ctx_now),
        });
        0
    }
}

/// `plugin_get_interval` semantics: the context's interval, else the global.
pub fn effective_interval(c: &rcollectd_plugin::sys::plugin_ctx_t) -> cdtime_t {
    if c.interval > 0 {
        c.interval
    } else {
        crate::abi::globals::interval()
    }
}

impl Dispatch {
    /// `plugin_dispatch_values`.
    ///
    /// # Safety
    /// As [`Dispatch::enqueue`].
    pub unsafe fn dispatch_values(&'static self, vl: *const value_list_t) -> c_int {
        if self.check_drop() {
            return 0;
        }
        // SAFETY: forwarded contract.
        unsafe { self.enqueue(vl) }
    }

    /// Calls every write callback (or only `target`, matched case-insensitively)
    /// for one value list; 0 if at least one succeeded or none failed.
    pub fn write_to(&self, target: Option<&str>, ds: &data_set_t, vl: &value_list_t) -> c_int {
        if let Some(status) = self.route_copy(target, vl) {
            return status;
        }
        let writers = self.registry.write.snapshot();
        if writers.is_empty() {
            return libc::ENOENT;
        }
        match target {
            Some(name) => {
                let Some(cb) = writers.iter().find(|c| c.name.eq_ignore_ascii_case(name)) else {
                    return libc::ENOENT;
                };
                // The caller's context is kept, as collectd does for targeted writes.
                cb.write(ds, vl)
            }
            None => write_all(&writers, ds, vl),
        }
    }
}

/// Calls each of `writers` for one value list, each under its own plugin
/// name; 0 if at least one succeeded or none failed.
fn write_all(writers: &[Arc<Callback<WriteFn>>], ds: &data_set_t, vl: &value_list_t) -> c_int {
    let (mut ok, mut failed) = (0, 0);
    for cb in writers {
        let mut c = ctx::get();
        c.name = cb.ctx.0.name;
        let _g = ctx::enter(c);
        let status = cb.write(ds, vl);
        if status == 0 {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    if ok == 0 && failed > 0 {
        -1
    } else {
        0
    }
}

thread_local! {
    /// The value list this write thread is handing to write callbacks, and
    /// the rates recorded for it when it passed the cache.
    static WRITING: Cell<(*const value_list_t, *const SampleRates)> =
        const { Cell::new((std::ptr::null(), std::ptr::null())) };
}

/// Marks a value list as being written by this thread until dropped.
struct Writing;

impl Writing {
    fn enter(vl: &value_list_t, rates: &SampleRates) -> Writing {
        WRITING.with(|w| w.set((vl, rates)));
        Writing
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.with(|w| w.set((std::ptr::null(), std::ptr::null())));
    }
}

/// For `uc_get_rate` called from a write callback: when `vl` is the value
/// list this thread is writing, `f` gets the rates the cache computed for it
/// as it passed (collectd's writer updates the cache right before writing,
/// so a burst of one identifier is written with each value's own rate).
/// `None` when `vl` is not being written here.
pub fn with_written_rates<R>(
    vl: *const value_list_t,
    f: impl FnOnce(Option<&[f64]>) -> R,
) -> Option<R> {
    let (current, rates) = WRITING.with(Cell::get);
    if current.is_null() || current != vl {
        return None;
    }
    // SAFETY: set by `Writing::enter` from a live item that outlives the
    // guard, which is dropped before the item moves; same thread.
    Some(f(unsafe { &*rates }.as_slice()))
}

/// What a routing thread copies a chain's value list from.
struct Template {
    ds: &'static OwnedDataSet,
    ctx: rcollectd_plugin::sys::plugin_ctx_t,
    rates: SampleRates,
}

/// A routing thread's state while it runs the chain over one batch.
struct Routing {
    like: Template,
    /// Copies queued by `write` targets, per output name.
    routed: Vec<(String, Vec<QueuedVl>)>,
}

thread_local! {
    static ROUTING: RefCell<Option<Routing>> = const { RefCell::new(None) };
}

impl Dispatch {
    /// A chain's `write` target on a routing thread: queues a copy of `vl` for
    /// the output named `target` (every output for `None`). `None` when this
    /// thread is not routing, so the caller writes synchronously.
    fn route_copy(&self, target: Option<&str>, vl: &value_list_t) -> Option<c_int> {
        ROUTING.with(|r| {
            let mut r = r.try_borrow_mut().ok()?;
            let r = r.as_mut()?;
            let outputs = self.outputs();
            let names: Vec<&str> = match target {
                Some(t) => match outputs.iter().find(|o| o.name().eq_ignore_ascii_case(t)) {
                    Some(o) => vec![o.name()],
                    None => return Some(libc::ENOENT),
                },
                None if outputs.is_empty() => return Some(libc::ENOENT),
                None => outputs.iter().map(|o| o.name()).collect(),
            };
            for name in names {
                let Some(copy) = QueuedVl::copy_of(vl, &r.like) else {
                    log::error!("plugin_dispatch_values: meta_data_clone failed.");
                    return Some(libc::ENOMEM);
                };
                match r.routed.iter_mut().find(|(n, _)| n == name) {
                    Some((_, items)) => items.push(copy),
                    None => r.routed.push((name.to_owned(), vec![copy])),
                }
            }
            Some(0)
        })
    }
}

/// The engine around the core's flow: the outputs, the `PostCacheChain`,
/// the heap.
struct DispatchRoute(Up);

impl Route<QueuedVl> for DispatchRoute {
    fn has_post_cache_chain(&self) -> bool {
        self.0.get().chains.has_post_cache_chain()
    }

    fn deliver(&self, payload: outputs::Payload<QueuedVl>) -> bool {
        self.0.get().deliver(payload)
    }

    /// Runs the `PostCacheChain` over a batch on a routing thread and hands
    /// what its `write` targets chose to the outputs.
    fn route(&self, batch: &mut Vec<QueuedVl>) {
        let d = self.0.get();
        for item in batch.iter_mut() {
            let _g = ctx::enter(item.ctx.0);
            let mut vl = item.to_vl();
            let ds = item.ds;
            let like = Template {
                ds: item.ds,
                ctx: item.ctx.0,
                rates: item.rates.clone(),
            };
            ROUTING.with(|r| {
                let mut r = r.borrow_mut();
                let routed = r.take().map(|r| r.routed).unwrap_or_default();
                *r = Some(Routing { like, routed });
            });
            d.chains.post_cache(ds.raw(), &mut vl);
            // A chain may have replaced the meta data: own what is there now.
            item.meta = vl.meta;
        }
        let routed = ROUTING.with(|r| r.borrow_mut().take().map(|r| r.routed));
        for (name, items) in routed.unwrap_or_default() {
            d.deliver_to(&name, items);
        }
        batch.clear();
    }

    fn output_backlog(&self) -> i64 {
        self.0.get().output_backlog()
    }

    fn trim(&self) {
        crate::trim::heap();
    }
}

/// How long shutdown waits for a writer still inside its callback:
/// `Timeout` intervals, the time after which collectd calls a value missing.
fn shutdown_grace() -> std::time::Duration {
    let interval = crate::time::to_f64(crate::abi::globals::interval());
    let timeout = f64::from(crate::abi::globals::timeout().max(1));
    std::time::Duration::from_secs_f64((interval * timeout).clamp(1.0, 3600.0))
}

/// How long a flush waits for an output to write what was queued for it.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Dispatch {
    /// Starts the writers: one thread per output (up to `n` while it has a
    /// backlog) and, when a `PostCacheChain` is configured, `n` routing threads
    /// that run it (collectd's `writer#N`, which run the chain too). What was
    /// dispatched before goes to the outputs first.
    pub fn start_writers(&'static self, n: usize) {
        self.start_outputs(n);
        self.flow.start(n);
    }

    /// Stops the routing threads and then every output's writers after they
    /// have written everything queued before this call, then writes whatever
    /// arrived meanwhile on the calling thread, so nothing accepted is lost
    /// (except by an output whose writer never returns: see
    /// [`rcollectd_core::outputs::Outputs::stop_and_drain`]). Returns how
    /// many lists were written here.
    pub fn stop_writers_and_drain(&self) -> usize {
        let threads = self.flow.routers() + self.outputs().len();
        if threads > 0 {
            log::info!("collectd: Stopping {threads} write threads.");
        }
        flush_pending();
        self.flow.stop_routers();
        let mut n = 0;
        let (here, _lost) = self.stop_and_drain_outputs(shutdown_grace());
        n += here;
        n += self.drain_here();
        self.flow.capture_from_now();
        n
    }

    /// Writes every queued value list on the calling thread (used by `-T` and
    /// at shutdown); returns how many.
    pub fn drain_here(&self) -> usize {
        flush_pending();
        self.flow.route_here();
        self.drain_outputs_here()
    }

    /// Drops whatever is still queued once the writers have shut down (value
    /// lists dispatched by shutdown callbacks); returns how many.
    pub fn discard_queued(&self) -> usize {
        flush_pending();
        self.flow.discard() + self.discard_outputs()
    }

    /// Value lists waiting to be written: in the routing queue and in every
    /// output's queue (collectd's `write_queue/queue_length`).
    pub fn queue_length(&self) -> i64 {
        self.flow.queue_length()
    }

    /// `plugin_flush`: calls the flush callback of `plugin` (exact name; all if
    /// `None`) with its own context, once its output wrote what was queued.
    pub fn flush(
        &self,
        plugin: Option<&str>,
        timeout: cdtime_t,
        identifier: Option<&str>,
    ) -> c_int {
        let ident_c = identifier.and_then(|s| CString::new(s).ok());
        let callbacks = self.registry.flush.snapshot();
        rcollectd_core::registry::flush(&callbacks, plugin, timeout, ident_c.as_deref(), |cb| {
            self.wait_written(&cb.name, FLUSH_WAIT)
        });
        0
    }

    /// `plugin_dispatch_notification`: -1 when nobody listens, as collectd.
    ///
    /// # Safety
    /// `n` must point to a valid notification.
    pub unsafe fn dispatch_notification(&self, n: *const notification_t) -> c_int {
        // SAFETY: forwarded contract.
        unsafe {
            self.notify(n, |name| {
                self.notify_only.get().map_or(true, |only| only == name)
            })
        }
    }

    /// Makes `name` the only callback `plugin_dispatch_notification` calls.
    pub fn notify_only(&self, name: &str) {
        let _ = self.notify_only.set(name.to_owned());
    }

    /// Calls the notification callbacks whose names `pick` accepts; -1 when
    /// there are none at all, as collectd.
    ///
    /// # Safety
    /// `n` must point to a valid notification.
    pub unsafe fn notify(&self, n: *const notification_t, pick: impl Fn(&str) -> bool) -> c_int {
        // SAFETY: valid per the caller's contract.
        let n = unsafe { &*n };
        // The caller's context is kept, as collectd does.
        rcollectd_core::registry::dispatch_notification(
            &self.registry.notification.snapshot(),
            n,
            pick,
        )
    }

    /// `plugin_dispatch_missing`: stops at the first callback returning
    /// non-zero (negative is an error), as collectd.
    ///
    /// # Safety
    /// `vl` must be valid.
    pub unsafe fn dispatch_missing(&self, vl: *const value_list_t) -> c_int {
        if self.missing_from_daemon.load(Ordering::Relaxed) {
            // An isolated plugin's host: the daemon, which sees every value,
            // decides what is missing.
            return 0;
        }
        // SAFETY: forwarded contract.
        unsafe { self.call_missing(vl) }
    }

    /// In an isolated plugin's host process: missing values are only those
    /// the daemon reports.
    pub fn missing_from_daemon_only(&self) {
        self.missing_from_daemon.store(true, Ordering::Relaxed);
    }

    /// Calls the missing callbacks as `plugin_dispatch_missing` does.
    ///
    /// # Safety
    /// `vl` must be valid.
    pub unsafe fn call_missing(&self, vl: *const value_list_t) -> c_int {
        // SAFETY: valid per the caller's contract.
        let vl = unsafe { &*vl };
        rcollectd_core::registry::dispatch_missing(&self.registry.missing.snapshot(), vl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Runtime;
    use std::sync::LazyLock;

    #[test]
    fn values_are_inline_when_few_and_copied_exactly() {
        for n in [1usize, 4, 5, 9] {
            let src: Vec<value_t> = (0..n)
                .map(|i| value_t {
                    derive: i as i64 * 7 - 3,
                })
                .collect();
            let mut v = Values::copy_of(&src);
            assert_eq!(
                matches!(v, Values::Inline(_)),
                n <= INLINE_VALUES,
                "n = {n}"
            );
            let p = v.as_mut_ptr();
            for (i, want) in src.iter().enumerate() {
                // SAFETY: `p` points to at least `n` values; derive is the member written.
                assert_eq!(unsafe { (*p.add(i)).derive }, unsafe { want.derive });
            }
        }
    }

    /// A data set named `name` with one unbounded gauge.
    fn gauge_data_set(name: &str) -> Arc<OwnedDataSet> {
        let (ds, keep) = crate::cache::testutil::data_set(
            name,
            &[(
                rcollectd_plugin::sys::DS_TYPE_GAUGE as c_int,
                f64::NAN,
                f64::NAN,
            )],
        );
        // SAFETY: `ds` points into `keep`, alive for the call.
        let owned = unsafe { OwnedDataSet::copy_from(&ds) }.expect("copy");
        drop(keep);
        owned
    }

    /// A queued value list of a leaked one-gauge data set (tests only).
    fn queued(n: i64) -> QueuedVl {
        static DS: LazyLock<&'static OwnedDataSet> = LazyLock::new(|| {
            let leaked: &'static Arc<OwnedDataSet> =
                Box::leak(Box::new(gauge_data_set("batch_test")));
            leaked.as_ref()
        });
        let values = Values::copy_of(&[value_t { derive: n }]);
        QueuedVl {
            ident: Ident::Own(Box::default()),
            time: 0,
            interval: 0,
            meta: std::ptr::null_mut(),
            values,
            rates: SampleRates::Unknown,
            ds: *DS,
            ctx: Ctx(ctx::EMPTY),
        }
    }

    #[test]
    fn a_scope_holds_value_lists_until_it_ends_or_fills() {
        // Runs on its own test thread, so the thread-local batch is ours;
        // the queue is only observed through this thread's batch.
        let d = Runtime::new().dispatch;
        assert_eq!(pending_len(), 0);
        {
            let _outer = batch_scope();
            for i in 0..3 {
                d.submit(queued(i));
            }
            assert_eq!(pending_len(), 3);
            {
                let _inner = batch_scope();
                d.submit(queued(3));
            }
            // Closing the inner scope hands nothing over.
            assert_eq!(pending_len(), 4);
            for i in 4..BATCH_MAX as i64 {
                d.submit(queued(i));
            }
            // The batch was full: it went to the queue at once.
            assert_eq!(pending_len(), 0);
            d.submit(queued(99));
            assert_eq!(pending_len(), 1);
        }
        assert_eq!(pending_len(), 0);
        // Outside a scope nothing is held back.
        d.submit(queued(100));
        assert_eq!(pending_len(), 0);
        // An unmatched end is harmless.
        batch_end();
        d.submit(queued(101));
        assert_eq!(pending_len(), 0);
    }

    #[test]
    fn queued_identifiers_keep_their_own_fields() {
        let rt = Runtime::new();
        rt.registry
            .add_data_set(gauge_data_set("dispatch_ident_test"));
        let _scope = batch_scope();
        // Both format as "h/a-b/dispatch_ident_test": one cache entry, but
        // each must be written with its own fields.
        for (i, (plugin, pi)) in [("a-b", ""), ("a", "b"), ("a-b", "")].iter().enumerate() {
            let mut value = value_t { gauge: i as f64 };
            let mut vl = value_list_t {
                values: &mut value,
                values_len: 1,
                time: (100 + i as u64) << 30,
                interval: 10 << 30,
                ..Default::default()
            };
            crate::abi::ffi::set_cstr_field(&mut vl.host, "h");
            crate::abi::ffi::set_cstr_field(&mut vl.plugin, plugin);
            crate::abi::ffi::set_cstr_field(&mut vl.plugin_instance, pi);
            crate::abi::ffi::set_cstr_field(&mut vl.type_, "dispatch_ident_test");
            // SAFETY: a valid value list with one value, on our stack.
            assert_eq!(unsafe { rt.dispatch.enqueue(&vl) }, 0);
        }
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let got: Vec<(String, String, f64)> = p
                .batch
                .items_mut()
                .iter_mut()
                .map(|q| {
                    let vl = q.to_vl();
                    (
                        cstr_field_ref(&vl.plugin).to_owned(),
                        cstr_field_ref(&vl.plugin_instance).to_owned(),
                        // SAFETY: one gauge value.
                        unsafe { vl.values.read().gauge },
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("a-b".into(), "".into(), 0.0),
                    ("a".into(), "b".into(), 1.0),
                    ("a-b".into(), "".into(), 2.0)
                ]
            );
            assert!(p
                .batch
                .items_mut()
                .iter()
                .all(|q| matches!(q.ident, Ident::Inline(_))));
        });
    }

    #[test]
    fn long_identifiers_travel_in_a_copy_of_the_value_list() {
        let rt = Runtime::new();
        rt.registry
            .add_data_set(gauge_data_set("dispatch_long_ident_test"));
        let _scope = batch_scope();
        let long_pi = "p".repeat(100);
        for pi in ["short", long_pi.as_str()] {
            let mut value = value_t { gauge: 1.0 };
            let mut vl = value_list_t {
                values: &mut value,
                values_len: 1,
                time: 100 << 30,
                interval: 10 << 30,
                ..Default::default()
            };
            crate::abi::ffi::set_cstr_field(&mut vl.host, "h");
            crate::abi::ffi::set_cstr_field(&mut vl.plugin, "long");
            crate::abi::ffi::set_cstr_field(&mut vl.plugin_instance, pi);
            crate::abi::ffi::set_cstr_field(&mut vl.type_, "dispatch_long_ident_test");
            crate::abi::ffi::set_cstr_field(&mut vl.type_instance, "ti");
            // SAFETY: a valid value list with one value, on our stack.
            assert_eq!(unsafe { rt.dispatch.enqueue(&vl) }, 0);
        }
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            assert!(matches!(p.batch.items_mut()[0].ident, Ident::Inline(_)));
            assert!(matches!(p.batch.items_mut()[1].ident, Ident::Own(_)));
            for (q, pi) in p
                .batch
                .items_mut()
                .iter_mut()
                .zip(["short", long_pi.as_str()])
            {
                let vl = q.to_vl();
                assert_eq!(cstr_field_ref(&vl.host), "h");
                assert_eq!(cstr_field_ref(&vl.plugin), "long");
                assert_eq!(cstr_field_ref(&vl.plugin_instance), pi);
                assert_eq!(cstr_field_ref(&vl.type_), "dispatch_long_ident_test");
                assert_eq!(cstr_field_ref(&vl.type_instance), "ti");
            }
        });
    }

    #[test]
    fn value_lists_needing_changes_are_filled_in_and_escaped() {
        let rt = Runtime::new();
        rt.registry
            .add_data_set(gauge_data_set("dispatch_fill_test"));
        let _scope = batch_scope();
        let mut value = value_t { gauge: 1.0 };
        let mut vl = value_list_t {
            values: &mut value,
            values_len: 1,
            ..Default::default()
        };
        // No host (the global one is filled in), no time, no interval, and
        // a slash that collectd's escaping turns into an underscore.
        crate::abi::ffi::set_cstr_field(&mut vl.plugin, "fill");
        crate::abi::ffi::set_cstr_field(&mut vl.plugin_instance, "a/b");
        crate::abi::ffi::set_cstr_field(&mut vl.type_, "dispatch_fill_test");
        // SAFETY: a valid value list with one value, on our stack.
        assert_eq!(unsafe { rt.dispatch.enqueue(&vl) }, 0);
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            let q = p.batch.items_mut().last_mut().expect("queued");
            let out = q.to_vl();
            assert_eq!(cstr_field_ref(&out.host), crate::abi::globals::hostname());
            assert_eq!(cstr_field_ref(&out.plugin_instance), "a_b");
            assert_ne!(out.time, 0);
            assert_ne!(out.interval, 0);
        });
    }

    #[test]
    fn inline_identifiers_hold_exactly_what_fits() {
        let full = [&[b'a'; 50][..], &[b'b'; 41][..], b"", b"", b""];
        let id = InlineIdent::new(full).expect("91 bytes fit");
        assert_eq!(id.fields(), full);
        let over = [&[b'a'; 50][..], &[b'b'; 41][..], b"", b"", b"c"];
        assert!(InlineIdent::new(over).is_none());
    }

    #[test]
    fn batches_keep_their_order_and_values() {
        let d = Runtime::new().dispatch;
        let mut b = d.flow.spare_batch();
        for i in 0..5 {
            b.push(queued(i * 10));
        }
        let got: Vec<i64> = b
            .iter_mut()
            // SAFETY: every item holds one value, written as a derive.
            .map(|q| unsafe { q.to_vl().values.read().derive })
            .collect();
        assert_eq!(got, vec![0, 10, 20, 30, 40]);
        d.flow.recycle(b);
    }

    fn field(s: &str) -> [c_char; 16] {
        let mut f = [0 as c_char; 16];
        crate::abi::ffi::set_cstr_field(&mut f, s);
        f
    }

    #[test]
    fn dispatch_escapes_fields_with_collectds_rule() {
        let mut f = field("/");
        escape_slashes(&mut f);
        assert_eq!(cstr_field_ref(&f), "root");
        let mut f = field("/a/b");
        escape_slashes(&mut f);
        assert_eq!(cstr_field_ref(&f), "a_b");
    }
}
