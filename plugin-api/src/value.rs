//! Values, data sets, value lists, and the builder that dispatches them.

use std::ffi::{c_char, CStr};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::host::{host, need, HostError};
use crate::sys;
use crate::util::{copy_to_array, str_from_array, NameError};

/// Time in collectd's `cdtime_t` units (2^-30 seconds since the epoch, or a
/// span for intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CdTime(pub u64);

impl CdTime {
    /// Zero: in a value list, "let the daemon fill in the default".
    pub const ZERO: CdTime = CdTime(0);

    /// The current wall-clock time.
    pub fn now() -> CdTime {
        SystemTime::now().into()
    }

    /// Seconds as a float, the way collectd prints times (`%.3f`).
    pub fn as_secs_f64(self) -> f64 {
        rcollectd_core::time::to_f64(self.0)
    }

    /// Whole seconds, rounded to nearest as collectd's `CDTIME_T_TO_TIME_T`.
    pub fn as_time_t(self) -> i64 {
        rcollectd_core::time::to_time_t(self.0)
    }

    /// As a `Duration` (for intervals and timeouts).
    pub fn as_duration(self) -> Duration {
        rcollectd_core::time::to_duration(self.0)
    }

    /// From a `Duration`, rounding to the nearest unit.
    pub fn from_duration(d: Duration) -> CdTime {
        CdTime(rcollectd_core::time::from_duration(d))
    }

    /// From float seconds (negative and NaN become zero).
    pub fn from_secs_f64(s: f64) -> CdTime {
        if s.is_nan() || s <= 0.0 {
            CdTime(0)
        } else {
            CdTime(rcollectd_core::time::from_f64(s))
        }
    }
}

impl From<SystemTime> for CdTime {
    fn from(t: SystemTime) -> CdTime {
        CdTime::from_duration(t.duration_since(UNIX_EPOCH).unwrap_or_default())
    }
}

impl From<CdTime> for SystemTime {
    fn from(t: CdTime) -> SystemTime {
        UNIX_EPOCH + t.as_duration()
    }
}

/// How a data source's values are interpreted (types.db's second column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DsType {
    /// Wrapping unsigned counter, stored as a rate.
    Counter,
    /// A value as is.
    Gauge,
    /// Signed counter, stored as a rate.
    Derive,
    /// Counter reset on every read, stored as a rate.
    Absolute,
}

impl DsType {
    /// From the ABI's `DS_TYPE_*` constant.
    pub fn from_raw(t: i32) -> Option<DsType> {
        match t as u32 {
            sys::DS_TYPE_COUNTER => Some(DsType::Counter),
            sys::DS_TYPE_GAUGE => Some(DsType::Gauge),
            sys::DS_TYPE_DERIVE => Some(DsType::Derive),
            sys::DS_TYPE_ABSOLUTE => Some(DsType::Absolute),
            _ => None,
        }
    }

    /// The ABI's `DS_TYPE_*` constant.
    pub fn to_raw(self) -> i32 {
        (match self {
            DsType::Counter => sys::DS_TYPE_COUNTER,
            DsType::Gauge => sys::DS_TYPE_GAUGE,
            DsType::Derive => sys::DS_TYPE_DERIVE,
            DsType::Absolute => sys::DS_TYPE_ABSOLUTE,
        }) as i32
    }

    /// The types.db spelling ("GAUGE", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DsType::Counter => "COUNTER",
            DsType::Gauge => "GAUGE",
            DsType::Derive => "DERIVE",
            DsType::Absolute => "ABSOLUTE",
        }
    }
}

/// One value of a value list, tagged with its data-source type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// `GAUGE`
    Gauge(f64),
    /// `DERIVE`
    Derive(i64),
    /// `COUNTER`
    Counter(u64),
    /// `ABSOLUTE`
    Absolute(u64),
}

impl Value {
    /// The data-source type this value carries.
    pub fn ds_type(&self) -> DsType {
        match self {
            Value::Gauge(_) => DsType::Gauge,
            Value::Derive(_) => DsType::Derive,
            Value::Counter(_) => DsType::Counter,
            Value::Absolute(_) => DsType::Absolute,
        }
    }

    /// The raw union as the ABI stores it.
    pub fn to_raw(self) -> sys::value_t {
        match self {
            Value::Gauge(g) => sys::value_t { gauge: g },
            Value::Derive(d) => sys::value_t { derive: d },
            Value::Counter(c) => sys::value_t { counter: c },
            Value::Absolute(a) => sys::value_t { absolute: a },
        }
    }

    /// Reads the raw union according to `ds_type`.
    pub fn from_raw(ds_type: DsType, v: sys::value_t) -> Value {
        // SAFETY: every member of the union is a plain 8-byte number, so
        // reading any of them is defined; `ds_type` picks the meaningful one.
        unsafe {
            match ds_type {
                DsType::Gauge => Value::Gauge(v.gauge),
                DsType::Derive => Value::Derive(v.derive),
                DsType::Counter => Value::Counter(v.counter),
                DsType::Absolute => Value::Absolute(v.absolute),
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Gauge(g) => write!(f, "{g}"),
            Value::Derive(d) => write!(f, "{d}"),
            Value::Counter(c) | Value::Absolute(c) => write!(f, "{c}"),
        }
    }
}

/// One data source of a data set (a column of a types.db line).
#[derive(Debug, Clone, Copy)]
pub struct DataSource<'a> {
    raw: &'a sys::data_source_t,
}

impl<'a> DataSource<'a> {
    /// The data source's name ("value", "rx", ...).
    pub fn name(&self) -> &'a str {
        str_from_array(&self.raw.name)
    }
    /// Its type; unknown raw types read as `Gauge`.
    pub fn ds_type(&self) -> DsType {
        DsType::from_raw(self.raw.type_).unwrap_or(DsType::Gauge)
    }
    /// Lower bound (NaN: none).
    pub fn min(&self) -> f64 {
        self.raw.min
    }
    /// Upper bound (NaN: none).
    pub fn max(&self) -> f64 {
        self.raw.max
    }
}

/// A type from types.db: its name and data sources.
#[derive(Debug, Clone, Copy)]
pub struct DataSet<'a> {
    raw: &'a sys::data_set_t,
}

impl<'a> DataSet<'a> {
    /// Wraps a raw data set.
    ///
    /// # Safety
    /// `raw.ds` must point to `raw.ds_num` valid data sources living as long
    /// as `'a`.
    pub unsafe fn from_raw(raw: &'a sys::data_set_t) -> DataSet<'a> {
        DataSet { raw }
    }

    /// Looks a type up in the daemon's types.db.
    pub fn lookup(type_: &str) -> Option<DataSet<'static>> {
        let get_ds = host().get_ds?;
        let name = std::ffi::CString::new(type_).ok()?;
        // SAFETY: `name` is NUL-terminated; the daemon returns NULL or a data
        // set it keeps for the rest of its life.
        let p = unsafe { get_ds(name.as_ptr()) };
        // SAFETY: non-NULL pointers from plugin_get_ds are valid data sets.
        unsafe { p.as_ref() }.map(|raw| DataSet { raw })
    }

    /// The type name.
    pub fn type_name(&self) -> &'a str {
        str_from_array(&self.raw.type_)
    }

    /// The data sources, in order.
    pub fn sources(&self) -> impl ExactSizeIterator<Item = DataSource<'a>> + 'a {
        self.raw_sources().iter().map(|raw| DataSource { raw })
    }

    /// Number of data sources.
    pub fn len(&self) -> usize {
        self.raw_sources().len()
    }

    /// True when the set has no data sources.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn raw_sources(&self) -> &'a [sys::data_source_t] {
        if self.raw.ds.is_null() || self.raw.ds_num == 0 {
            return &[];
        }
        // SAFETY: guaranteed by `from_raw`'s contract.
        unsafe { std::slice::from_raw_parts(self.raw.ds, self.raw.ds_num) }
    }

    /// The raw struct, for calling host functions directly.
    pub fn as_raw(&self) -> &'a sys::data_set_t {
        self.raw
    }
}

/// A value list as write and missing callbacks see it: identifier, time,
/// interval, values paired with their data sources, and meta data.
#[derive(Clone, Copy)]
pub struct ValueList<'a> {
    ds: DataSet<'a>,
    raw: &'a sys::value_list_t,
}

impl fmt::Debug for ValueList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueList")
            .field("identifier", &self.identifier())
            .field("time", &self.time())
            .field("interval", &self.interval())
            .field("values", &self.values().map(|(_, v)| v).collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> ValueList<'a> {
    /// Wraps the raw pointers a write callback receives.
    ///
    /// # Safety
    /// Both structs must be valid for `'a`, `raw.values` must point to
    /// `raw.values_len` values, and `ds` must describe them.
    pub unsafe fn from_raw(ds: &'a sys::data_set_t, raw: &'a sys::value_list_t) -> ValueList<'a> {
        ValueList {
            ds: DataSet { raw: ds },
            raw,
        }
    }

    /// Host name.
    pub fn host(&self) -> &'a str {
        str_from_array(&self.raw.host)
    }
    /// Plugin name.
    pub fn plugin(&self) -> &'a str {
        str_from_array(&self.raw.plugin)
    }
    /// Plugin instance ("" if none).
    pub fn plugin_instance(&self) -> &'a str {
        str_from_array(&self.raw.plugin_instance)
    }
    /// Type name (a types.db entry).
    pub fn type_(&self) -> &'a str {
        str_from_array(&self.raw.type_)
    }
    /// Type instance ("" if none).
    pub fn type_instance(&self) -> &'a str {
        str_from_array(&self.raw.type_instance)
    }
    /// Time of the measurement.
    pub fn time(&self) -> CdTime {
        CdTime(self.raw.time)
    }
    /// Interval the values are collected at.
    pub fn interval(&self) -> CdTime {
        CdTime(self.raw.interval)
    }
    /// The data set describing the values.
    pub fn data_set(&self) -> DataSet<'a> {
        self.ds
    }

    /// `host/plugin[-pi]/type[-ti]`, collectd's identifier string.
    pub fn identifier(&self) -> String {
        rcollectd_core::ident::Parts::of(
            self.host(),
            self.plugin(),
            self.plugin_instance(),
            self.type_(),
            self.type_instance(),
        )
        .to_text()
    }

    fn raw_values(&self) -> &'a [sys::value_t] {
        if self.raw.values.is_null() {
            return &[];
        }
        // SAFETY: guaranteed by `from_raw`'s contract.
        unsafe { std::slice::from_raw_parts(self.raw.values, self.raw.values_len) }
    }

    /// The values paired with their data sources (as many as both have).
    pub fn values(&self) -> impl ExactSizeIterator<Item = (DataSource<'a>, Value)> + 'a {
        self.ds
            .raw_sources()
            .iter()
            .zip(self.raw_values())
            .map(|(ds, v)| {
                let ds = DataSource { raw: ds };
                (ds, Value::from_raw(ds.ds_type(), *v))
            })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.raw.values_len
    }

    /// True when the list carries no values.
    pub fn is_empty(&self) -> bool {
        self.raw.values_len == 0
    }

    /// Per-second rates from the daemon's value cache (`uc_get_rate`):
    /// gauges as they are, counters/derives/absolutes as rates.
    pub fn rates(&self) -> Result<Rates, RateError> {
        let get_rate = need(host().get_rate, "uc_get_rate")?;
        // SAFETY: both pointers are valid (from_raw); the host returns NULL
        // or a malloc'ed array of ds_num gauges that we now own.
        let p = unsafe { get_rate(self.ds.raw, self.raw) };
        if p.is_null() {
            return Err(RateError::NotCached(self.identifier()));
        }
        Ok(Rates {
            ptr: p,
            len: self.ds.raw.ds_num,
        })
    }

    /// The meta data attached to the value list.
    pub fn meta(&self) -> Meta<'a> {
        Meta {
            raw: self.raw.meta,
            _life: std::marker::PhantomData,
        }
    }

    /// The raw struct, for calling host functions directly.
    pub fn as_raw(&self) -> &'a sys::value_list_t {
        self.raw
    }
}

/// Why [`ValueList::rates`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateError {
    /// No host daemon.
    Host(HostError),
    /// The daemon's cache has no entry for this identifier.
    NotCached(String),
}

impl From<HostError> for RateError {
    fn from(e: HostError) -> Self {
        RateError::Host(e)
    }
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateError::Host(e) => e.fmt(f),
            RateError::NotCached(id) => write!(f, "uc_get_rate failed for \"{id}\""),
        }
    }
}

impl std::error::Error for RateError {}

/// Rates returned by `uc_get_rate`, freed on drop.
pub struct Rates {
    ptr: *mut f64,
    len: usize,
}

impl std::ops::Deref for Rates {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        // SAFETY: `ptr` points to `len` gauges allocated by the host.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl fmt::Debug for Rates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Drop for Rates {
    fn drop(&mut self) {
        // SAFETY: the host allocated the array with malloc and handed it over.
        unsafe { libc::free(self.ptr.cast()) }
    }
}

/// Read access to a value list's meta data.
#[derive(Clone, Copy)]
pub struct Meta<'a> {
    raw: *mut sys::meta_data_t,
    _life: std::marker::PhantomData<&'a ()>,
}

/// One typed meta-data value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `MD_TYPE_STRING`
    String(String),
    /// `MD_TYPE_SIGNED_INT`
    SignedInt(i64),
    /// `MD_TYPE_UNSIGNED_INT`
    UnsignedInt(u64),
    /// `MD_TYPE_DOUBLE`
    Double(f64),
    /// `MD_TYPE_BOOLEAN`
    Boolean(bool),
}

impl Meta<'_> {
    /// True when there is no meta data at all.
    pub fn is_empty(&self) -> bool {
        self.raw.is_null()
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<MetaValue> {
        if self.raw.is_null() {
            return None;
        }
        let h = host();
        let key = std::ffi::CString::new(key).ok()?;
        // SAFETY: `raw` is the live meta data of the value list we borrow,
        // `key` is NUL-terminated (same for the getters below, whose
        // out-pointers are valid locals).
        let t = unsafe { (h.meta_type?)(self.raw, key.as_ptr()) };
        match t as u32 {
            sys::MD_TYPE_STRING => {
                let mut out: *mut c_char = std::ptr::null_mut();
                // SAFETY: see above; the returned string is a malloc'ed copy.
                if unsafe { (h.meta_get_string?)(self.raw, key.as_ptr(), &mut out) } != 0
                    || out.is_null()
                {
                    return None;
                }
                // SAFETY: `out` is a NUL-terminated copy we own and free.
                let s = unsafe { CStr::from_ptr(out) }
                    .to_string_lossy()
                    .into_owned();
                // SAFETY: allocated by the host's malloc.
                unsafe { libc::free(out.cast()) };
                Some(MetaValue::String(s))
            }
            sys::MD_TYPE_SIGNED_INT => {
                let mut v = 0i64;
                // SAFETY: see above.
                (unsafe { (h.meta_get_signed_int?)(self.raw, key.as_ptr(), &mut v) } == 0)
                    .then_some(MetaValue::SignedInt(v))
            }
            sys::MD_TYPE_UNSIGNED_INT => {
                let mut v = 0u64;
                // SAFETY: see above.
                (unsafe { (h.meta_get_unsigned_int?)(self.raw, key.as_ptr(), &mut v) } == 0)
                    .then_some(MetaValue::UnsignedInt(v))
            }
            sys::MD_TYPE_DOUBLE => {
                let mut v = 0f64;
                // SAFETY: see above.
                (unsafe { (h.meta_get_double?)(self.raw, key.as_ptr(), &mut v) } == 0)
                    .then_some(MetaValue::Double(v))
            }
            sys::MD_TYPE_BOOLEAN => {
                let mut v = false;
                // SAFETY: see above.
                (unsafe { (h.meta_get_boolean?)(self.raw, key.as_ptr(), &mut v) } == 0)
                    .then_some(MetaValue::Boolean(v))
            }
            _ => None,
        }
    }

    /// All keys present.
    pub fn keys(&self) -> Vec<String> {
        let Some(toc) = host().meta_toc.filter(|_| !self.raw.is_null()) else {
            return Vec::new();
        };
        let mut arr: *mut *mut c_char = std::ptr::null_mut();
        // SAFETY: `raw` is live; the host returns the count and a malloc'ed
        // array of malloc'ed strings that we free.
        let n = unsafe { toc(self.raw, &mut arr) };
        if n <= 0 || arr.is_null() {
            return Vec::new();
        }
        let mut keys = Vec::with_capacity(n as usize);
        for i in 0..n as usize {
            // SAFETY: `arr` has `n` entries, each a NUL-terminated string.
            unsafe {
                let p = *arr.add(i);
                if !p.is_null() {
                    keys.push(CStr::from_ptr(p).to_string_lossy().into_owned());
                    libc::free(p.cast());
                }
            }
        }
        // SAFETY: the array itself was malloc'ed by the host.
        unsafe { libc::free(arr.cast()) };
        keys
    }
}

/// Meta data owned by the plugin, to attach to dispatched value lists
/// (the daemon copies it on dispatch). Created by the host's
/// `meta_data_create`, destroyed on drop.
pub struct MetaData {
    raw: std::ptr::NonNull<sys::meta_data_t>,
}

// SAFETY: the object is exclusively owned; the host's meta data functions
// lock internally and may be called from any thread.
unsafe impl Send for MetaData {}

impl fmt::Debug for MetaData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.view().keys()).finish()
    }
}

impl MetaData {
    /// An empty set.
    pub fn new() -> Result<MetaData, HostError> {
        let create = need(host().meta_create, "meta_data_create")?;
        // SAFETY: no arguments; returns NULL or a new object we now own.
        let p = unsafe { create() };
        std::ptr::NonNull::new(p)
            .map(|raw| MetaData { raw })
            .ok_or(HostError {
                symbol: "meta_data_create",
            })
    }

    fn key(key: &str) -> Result<std::ffi::CString, DispatchError> {
        std::ffi::CString::new(key)
            .map_err(|_| DispatchError::Name(NameError::Nul { field: "meta key" }))
    }

    fn status(r: i32) -> Result<(), DispatchError> {
        if r == 0 {
            Ok(())
        } else {
            Err(DispatchError::Rejected(r))
        }
    }

    /// Adds or replaces a string; the bytes need not be UTF-8 (C plugins
    /// see them as they are), but may not contain NUL.
    pub fn add_string(&mut self, key: &str, value: impl AsRef<[u8]>) -> Result<(), DispatchError> {
        let f = need(host().meta_add_string, "meta_data_add_string")?;
        let k = Self::key(key)?;
        let v = std::ffi::CString::new(value.as_ref()).map_err(|_| {
            DispatchError::Name(NameError::Nul {
                field: "meta value",
            })
        })?;
        // SAFETY: owned live object, NUL-terminated key and value (copied).
        Self::status(unsafe { f(self.raw.as_ptr(), k.as_ptr(), v.as_ptr()) })
    }

    /// Adds or replaces a signed integer.
    pub fn add_signed_int(&mut self, key: &str, value: i64) -> Result<(), DispatchError> {
        let f = need(host().meta_add_signed_int, "meta_data_add_signed_int")?;
        let k = Self::key(key)?;
        // SAFETY: owned live object, NUL-terminated key.
        Self::status(unsafe { f(self.raw.as_ptr(), k.as_ptr(), value) })
    }

    /// Adds or replaces an unsigned integer.
    pub fn add_unsigned_int(&mut self, key: &str, value: u64) -> Result<(), DispatchError> {
        let f = need(host().meta_add_unsigned_int, "meta_data_add_unsigned_int")?;
        let k = Self::key(key)?;
        // SAFETY: owned live object, NUL-terminated key.
        Self::status(unsafe { f(self.raw.as_ptr(), k.as_ptr(), value) })
    }

    /// Adds or replaces a double.
    pub fn add_double(&mut self, key: &str, value: f64) -> Result<(), DispatchError> {
        let f = need(host().meta_add_double, "meta_data_add_double")?;
        let k = Self::key(key)?;
        // SAFETY: owned live object, NUL-terminated key.
        Self::status(unsafe { f(self.raw.as_ptr(), k.as_ptr(), value) })
    }

    /// Adds or replaces a boolean.
    pub fn add_boolean(&mut self, key: &str, value: bool) -> Result<(), DispatchError> {
        let f = need(host().meta_add_boolean, "meta_data_add_boolean")?;
        let k = Self::key(key)?;
        // SAFETY: owned live object, NUL-terminated key.
        Self::status(unsafe { f(self.raw.as_ptr(), k.as_ptr(), value) })
    }

    /// Read access.
    pub fn view(&self) -> Meta<'_> {
        Meta {
            raw: self.raw.as_ptr(),
            _life: std::marker::PhantomData,
        }
    }

    /// The raw pointer (still owned by `self`).
    pub fn as_ptr(&self) -> *mut sys::meta_data_t {
        self.raw.as_ptr()
    }
}

impl Drop for MetaData {
    fn drop(&mut self) {
        if let Some(destroy) = host().meta_destroy {
            // SAFETY: we own the object and nobody else holds it.
            unsafe { destroy(self.raw.as_ptr()) }
        }
    }
}

/// Why dispatching failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchError {
    /// An identifier field does not fit or has a NUL byte.
    Name(NameError),
    /// No host daemon to dispatch to.
    Host(HostError),
    /// No values were given.
    NoValues,
    /// The daemon refused the value list with this status.
    Rejected(i32),
}

impl fmt::Display for DispatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DispatchError::Name(e) => e.fmt(f),
            DispatchError::Host(e) => e.fmt(f),
            DispatchError::NoValues => f.write_str("value list has no values"),
            DispatchError::Rejected(s) => {
                write!(f, "the daemon rejected the value list (status {s})")
            }
        }
    }
}

impl std::error::Error for DispatchError {}

impl From<NameError> for DispatchError {
    fn from(e: NameError) -> Self {
        DispatchError::Name(e)
    }
}

impl From<HostError> for DispatchError {
    fn from(e: HostError) -> Self {
        DispatchError::Host(e)
    }
}

/// Builds and dispatches one value list. Host, time and interval default to
/// empty/zero, which the daemon replaces with its hostname, the current time
/// and the plugin's interval. Dispatching copies into a stack-allocated
/// `value_list_t`: no heap allocation for up to 16 values.
///
/// ```no_run
/// use rcollectd_plugin::{Value, ValueListBuilder};
/// ValueListBuilder::new("cpu", "percent")
///     .plugin_instance("0")
///     .type_instance("idle")
///     .values(&[Value::Gauge(3.2)])
///     .dispatch()?;
/// # Ok::<(), rcollectd_plugin::DispatchError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a value list does nothing until dispatched"]
pub struct ValueListBuilder<'a> {
    plugin: &'a str,
    type_: &'a str,
    plugin_instance: &'a str,
    type_instance: &'a str,
    host: &'a str,
    time: CdTime,
    interval: CdTime,
    values: &'a [Value],
    meta: Option<&'a MetaData>,
}

impl<'a> ValueListBuilder<'a> {
    /// A value list for `plugin` of type `type_` (a types.db entry).
    pub fn new(plugin: &'a str, type_: &'a str) -> Self {
        ValueListBuilder {
            plugin,
            type_,
            plugin_instance: "",
            type_instance: "",
            host: "",
            time: CdTime::ZERO,
            interval: CdTime::ZERO,
            values: &[],
            meta: None,
        }
    }
    /// Sets the plugin instance.
    pub fn plugin_instance(mut self, s: &'a str) -> Self {
        self.plugin_instance = s;
        self
    }
    /// Sets the type instance.
    pub fn type_instance(mut self, s: &'a str) -> Self {
        self.type_instance = s;
        self
    }
    /// Overrides the host name (default: the daemon's `Hostname`).
    pub fn host(mut self, s: &'a str) -> Self {
        self.host = s;
        self
    }
    /// Sets the time (default: now, filled in by the daemon).
    pub fn time(mut self, t: impl Into<CdTime>) -> Self {
        self.time = t.into();
        self
    }
    /// Sets the interval (default: the plugin's interval).
    pub fn interval(mut self, d: Duration) -> Self {
        self.interval = CdTime::from_duration(d);
        self
    }
    /// Attaches meta data (the daemon copies it).
    pub fn meta(mut self, meta: &'a MetaData) -> Self {
        self.meta = Some(meta);
        self
    }
    /// Sets the values, one per data source of the type, in order.
    pub fn values(mut self, v: &'a [Value]) -> Self {
        self.values = v;
        self
    }

    /// Fills a raw `value_list_t` (without the values pointer).
    pub(crate) fn fill(&self, vl: &mut sys::value_list_t) -> Result<(), NameError> {
        copy_to_array(&mut vl.host, self.host, "host")?;
        copy_to_array(&mut vl.plugin, self.plugin, "plugin")?;
        copy_to_array(
            &mut vl.plugin_instance,
            self.plugin_instance,
            "plugin_instance",
        )?;
        copy_to_array(&mut vl.type_, self.type_, "type")?;
        copy_to_array(&mut vl.type_instance, self.type_instance, "type_instance")?;
        vl.time = self.time.0;
        vl.interval = self.interval.0;
        vl.meta = self.meta.map_or(std::ptr::null_mut(), MetaData::as_ptr);
        Ok(())
    }

    /// Hands the value list to the daemon (`plugin_dispatch_values`).
    pub fn dispatch(&self) -> Result<(), DispatchError> {
        if self.values.is_empty() {
            return Err(DispatchError::NoValues);
        }
        let mut vl = sys::value_list_t::default();
        self.fill(&mut vl)?;
        let mut stack = [sys::value_t { gauge: 0.0 }; 16];
        let mut heap = Vec::new();
        let raw_values: &mut [sys::value_t] = if self.values.len() <= stack.len() {
            &mut stack[..self.values.len()]
        } else {
            heap.resize(self.values.len(), sys::value_t { gauge: 0.0 });
            &mut heap[..]
        };
        for (d, v) in raw_values.iter_mut().zip(self.values) {
            *d = v.to_raw();
        }
        vl.values = raw_values.as_mut_ptr();
        vl.values_len = raw_values.len();
        dispatch_raw(&vl)
    }
}

/// Dispatches a raw value list (for plugins that fill `value_list_t`
/// themselves, e.g. a network receiver).
pub fn dispatch_raw(vl: &sys::value_list_t) -> Result<(), DispatchError> {
    #[cfg(any(test, feature = "testing"))]
    if let Some(status) = crate::capture::capture_values(vl) {
        return if status == 0 {
            Ok(())
        } else {
            Err(DispatchError::Rejected(status))
        };
    }
    let f = need(host().dispatch_values, "plugin_dispatch_values")?;
    // SAFETY: `vl` is a fully initialised value list whose `values` pointer
    // is valid for the duration of the call; the daemon copies what it keeps.
    let status = unsafe { f(vl) };
    if status == 0 {
        Ok(())
    } else {
        Err(DispatchError::Rejected(status))
    }
}

/// Gathers the value lists this thread dispatches while it lives and hands
/// them to rcollectd's write threads in batches (one queue handoff per batch
/// instead of per value list). For plugins that dispatch from threads of
/// their own, e.g. one batch per received packet; read callbacks are
/// batched by rcollectd already. Under collectd 5.12 it does nothing. Drop
/// it before the thread blocks, or the values wait with it.
#[derive(Debug)]
#[must_use = "the batch is handed over when the guard is dropped"]
pub struct DispatchBatch {
    end: Option<unsafe extern "C" fn()>,
    // Tied to the thread that opened it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl DispatchBatch {
    /// Opens a batch on the calling thread.
    pub fn begin() -> DispatchBatch {
        let h = host();
        let end = match (h.batch_begin, h.batch_end) {
            (Some(begin), Some(end)) => {
                // SAFETY: rcollectd's extension, no arguments, callable from
                // any thread; paired with `end` in `Drop`.
                unsafe { begin() };
                Some(end)
            }
            _ => None,
        };
        DispatchBatch {
            end,
            _not_send: std::marker::PhantomData,
        }
    }
}

impl Drop for DispatchBatch {
    fn drop(&mut self) {
        if let Some(end) = self.end {
            // SAFETY: closes the batch `begin` opened on this same thread.
            unsafe { end() };
        }
    }
}

/// The interval of the plugin whose callback is running
/// (`plugin_get_interval`): its `Interval` option or the global one.
pub fn plugin_interval() -> Result<Duration, HostError> {
    let f = need(host().get_interval, "plugin_get_interval")?;
    // SAFETY: takes no arguments and only reads the thread's plugin context.
    Ok(CdTime(unsafe { f() }).as_duration())
}

/// The daemon's `Hostname` (`hostname_g`).
pub fn hostname() -> Result<String, HostError> {
    let p = need(host().hostname_g, "hostname_g")?;
    // SAFETY: `hostname_g` is a `char *` global set during configuration
    // and not changed while plugins run.
    let s = unsafe { *p };
    if s.is_null() {
        return Ok(String::new());
    }
    // SAFETY: non-NULL `hostname_g` is a NUL-terminated string.
    Ok(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdtime_conversions() {
        let t = CdTime::from_duration(Duration::from_millis(1500));
        assert_eq!(t.0, (1 << 30) + (1 << 29));
        assert_eq!(t.as_secs_f64(), 1.5);
        assert_eq!(t.as_duration(), Duration::from_millis(1500));
        assert_eq!(t.as_time_t(), 2);
        assert_eq!(CdTime(10 << 30).as_time_t(), 10);
        assert_eq!(CdTime::from_secs_f64(2.25).0, (2 << 30) + (1 << 28));
        assert_eq!(CdTime::from_secs_f64(-1.0), CdTime::ZERO);
    }

    #[test]
    fn value_raw_round_trip() {
        for v in [
            Value::Gauge(-1.5),
            Value::Derive(-7),
            Value::Counter(u64::MAX),
            Value::Absolute(42),
        ] {
            assert_eq!(Value::from_raw(v.ds_type(), v.to_raw()), v);
        }
        assert_eq!(
            DsType::from_raw(DsType::Derive.to_raw()),
            Some(DsType::Derive)
        );
        assert_eq!(DsType::from_raw(9), None);
    }

    fn ds(name: &str, t: DsType) -> sys::data_source_t {
        let mut d = sys::data_source_t {
            type_: t.to_raw(),
            min: 0.0,
            max: f64::NAN,
            ..Default::default()
        };
        copy_to_array(&mut d.name, name, "name").unwrap();
        d
    }

    #[test]
    fn value_list_view() {
        let mut sources = [ds("rx", DsType::Derive), ds("tx", DsType::Derive)];
        let mut set = sys::data_set_t {
            ds_num: 2,
            ds: sources.as_mut_ptr(),
            ..Default::default()
        };
        copy_to_array(&mut set.type_, "if_octets", "type").unwrap();
        let mut values = [Value::Derive(10).to_raw(), Value::Derive(-20).to_raw()];
        let mut vl = sys::value_list_t::default();
        ValueListBuilder::new("interface", "if_octets")
            .host("h")
            .type_instance("eth0")
            .time(CdTime(3 << 30))
            .interval(Duration::from_secs(10))
            .fill(&mut vl)
            .unwrap();
        vl.values = values.as_mut_ptr();
        vl.values_len = 2;
        // SAFETY: all pointers refer to the locals above.
        let view = unsafe { ValueList::from_raw(&set, &vl) };
        assert_eq!(view.identifier(), "h/interface/if_octets-eth0");
        assert_eq!(view.time().as_time_t(), 3);
        assert_eq!(view.interval().as_duration(), Duration::from_secs(10));
        let got: Vec<_> = view
            .values()
            .map(|(d, v)| (d.name(), d.ds_type(), v))
            .collect();
        assert_eq!(
            got,
            vec![
                ("rx", DsType::Derive, Value::Derive(10)),
                ("tx", DsType::Derive, Value::Derive(-20))
            ]
        );
        assert!(view.meta().is_empty());
        assert_eq!(view.meta().get("x"), None);
        assert_eq!(view.data_set().type_name(), "if_octets");
    }

    #[test]
    fn meta_data_needs_a_host() {
        assert_eq!(
            MetaData::new().unwrap_err(),
            HostError {
                symbol: "meta_data_create"
            }
        );
    }

    #[test]
    fn builder_rejects_bad_names_and_empty_values() {
        let long = "x".repeat(128);
        let err = ValueListBuilder::new("p", "gauge")
            .type_instance(&long)
            .values(&[Value::Gauge(1.0)])
            .dispatch();
        assert!(matches!(
            err,
            Err(DispatchError::Name(NameError::TooLong {
                field: "type_instance",
                ..
            }))
        ));
        let err = ValueListBuilder::new("p", "gauge").dispatch();
        assert_eq!(err, Err(DispatchError::NoValues));
    }
}
