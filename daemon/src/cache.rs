//! The value cache as the C ABI sees it: the core's [`Cache`] over
//! collectd's `value_list_t` identifier fields and `value_t` values, the
//! helpers the dispatch path and the exported `uc_*` functions share (the
//! instance is the runtime's).

use std::ffi::CStr;
use std::fmt;
use std::mem::MaybeUninit;
use std::os::raw::c_char;

use rcollectd_plugin::sys::{data_set_t, meta_data_t, value_list_t, value_t};

pub use rcollectd_core::cache::*;

use crate::meta::{self, MetaData};

/// Length of one identifier field (`DATA_MAX_NAME_LEN`).
const FIELD_LEN: usize = 128;
/// Room for five fields, four separators and two dashes plus the NUL, and
/// 16 bytes of slack for the block copies of [`NameBuf::from_vl`].
const NAME_CAP: usize = 5 * FIELD_LEN + 8 + 16;

/// Clamps a C char array to its first NUL.
fn field(f: &[c_char]) -> &[u8] {
    crate::abi::ffi::field_bytes(f)
}

/// An identifier formatted as collectd's `FORMAT_VL` does, on the stack.
/// The buffer is left uninitialised past the name and its NUL, so building
/// one costs only the bytes copied.
pub struct NameBuf {
    buf: [MaybeUninit<u8>; NAME_CAP],
    len: usize,
}

impl NameBuf {
    /// Appends the first `n` bytes of a C name field (`n < FIELD_LEN`) with
    /// whole 16-byte block copies: no call into `memcpy` for short names.
    #[inline(always)]
    fn push_field(&mut self, f: &[c_char; FIELD_LEN], n: usize) {
        let n = n.min(FIELD_LEN - 1);
        let blocks = n.div_ceil(16);
        // The last block may copy up to 15 bytes past `n`: they stay inside the
        // 128-byte source field and inside `buf` thanks to the slack in NAME_CAP.
        assert!(
            self.len + blocks * 16 <= NAME_CAP,
            "identifier longer than five fields"
        );
        for b in 0..blocks {
            let mut block = [0u8; 16];
            for (d, s) in block.iter_mut().zip(&f[b * 16..b * 16 + 16]) {
                *d = *s as u8;
            }
            for (d, s) in self.buf[self.len + b * 16..self.len + b * 16 + 16]
                .iter_mut()
                .zip(block)
            {
                *d = MaybeUninit::new(s);
            }
        }
        self.len += n;
    }

    /// Appends one separator byte.
    #[inline(always)]
    fn push_byte(&mut self, c: u8) {
        self.buf[self.len] = MaybeUninit::new(c);
        self.len += 1;
    }

    /// The name of a value list, as collectd's `FORMAT_VL` formats it.
    #[inline(always)]
    pub fn from_vl(vl: &value_list_t) -> Self {
        let mut n = NameBuf {
            buf: [MaybeUninit::uninit(); NAME_CAP],
            len: 0,
        };
        let len = |f: &[c_char; FIELD_LEN]| field(f).len();
        n.push_field(&vl.host, len(&vl.host));
        n.push_byte(b'/');
        n.push_field(&vl.plugin, len(&vl.plugin));
        let pi = len(&vl.plugin_instance);
        if pi > 0 {
            n.push_byte(b'-');
            n.push_field(&vl.plugin_instance, pi);
        }
        n.push_byte(b'/');
        n.push_field(&vl.type_, len(&vl.type_));
        let ti = len(&vl.type_instance);
        if ti > 0 {
            n.push_byte(b'-');
            n.push_field(&vl.type_instance, ti);
        }
        n.buf[n.len] = MaybeUninit::new(0);
        n
    }

    /// The formatted bytes (no NUL).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `push`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// The formatted name as a C string.
    pub fn as_c_str(&self) -> &CStr {
        // SAFETY: `len` bytes plus the NUL written by `from_parts` are initialised.
        let with_nul =
            unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len + 1) };
        CStr::from_bytes_until_nul(with_nul).unwrap_or(c"")
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The five identifier fields of a value list (see [`Fields`]).
#[inline(always)]
pub fn vl_fields(vl: &value_list_t) -> Fields<'_> {
    fn clamp(f: &[c_char; FIELD_LEN]) -> &[u8] {
        let b = field(f);
        &b[..b.len().min(FIELD_LEN - 1)]
    }
    [
        clamp(&vl.host),
        clamp(&vl.plugin),
        clamp(&vl.plugin_instance),
        clamp(&vl.type_),
        clamp(&vl.type_instance),
    ]
}

/// Copies five identifier fields (truncated to `DATA_MAX_NAME_LEN - 1`)
/// into the zeroed name fields of `vl`.
pub fn write_fields(vl: &mut value_list_t, fields: Fields<'_>) {
    let dests: [&mut [c_char; FIELD_LEN]; 5] = [
        &mut vl.host,
        &mut vl.plugin,
        &mut vl.plugin_instance,
        &mut vl.type_,
        &mut vl.type_instance,
    ];
    for (d, s) in dests.into_iter().zip(fields) {
        for (dc, sc) in d.iter_mut().zip(s.iter().take(FIELD_LEN - 1)) {
            *dc = *sc as c_char;
        }
    }
}

/// The value list collectd passes to missing callbacks for an expired
/// entry: identifier, time and interval, no values, no meta data.
pub fn expired_value_list(x: &ExpiredEntry) -> value_list_t {
    let mut vl = value_list_t {
        time: x.time,
        interval: x.interval,
        ..value_list_t::default()
    };
    write_fields(&mut vl, x.fields.each_ref().map(Vec::as_slice));
    vl
}

/// A value list's C meta data as the cache's [`MetaSource`]: copied only
/// when the cache creates an entry.
pub struct CMeta(pub *mut meta_data_t);

impl MetaSource for CMeta {
    fn snapshot(&self) -> Option<MetaData> {
        // SAFETY: a `CMeta` is made from a value list's `meta` for as long
        // as that value list is valid (the facade's invariant): NULL or live
        // meta data.
        unsafe { meta::to_owned(self.0) }
    }
}

/// `value_t`s as the cache's raw values.
pub fn raw_values(values: &[value_t]) -> &[RawValue] {
    // SAFETY: `value_t` is a C union of four 8-byte plain numbers (size 8,
    // align 8, no padding), so every `value_t` is a valid `u64` with the
    // same bits, and the slice keeps its length and lifetime.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<RawValue>(), values.len()) }
}

/// Raw values back as `value_t`s.
pub fn to_value_t(values: &[RawValue]) -> Vec<value_t> {
    values.iter().map(|&b| value_t { counter: b }).collect()
}

/// The data sources of a C data set as the cache reads them.
///
/// # Safety
/// `ds.ds` must point to `ds.ds_num` sources (or be NULL with 0).
pub unsafe fn sources_of(ds: &data_set_t) -> Vec<Source> {
    if ds.ds.is_null() || ds.ds_num == 0 {
        return Vec::new();
    }
    // SAFETY: per the caller contract.
    let srcs = unsafe { std::slice::from_raw_parts(ds.ds, ds.ds_num) };
    srcs.iter()
        .map(|s| Source {
            ds_type: s.type_,
            min: s.min,
            max: s.max,
        })
        .collect()
}

/// The sample of a value list whose `values` are `values_len` long, with
/// its meta data read through `meta` (made from `vl.meta`).
///
/// # Safety
/// `vl.values` must point to `vl.values_len` values (or be null with 0).
pub unsafe fn sample_of<'a>(vl: &'a value_list_t, meta: &'a CMeta) -> Sample<'a> {
    let values = if vl.values.is_null() || vl.values_len == 0 {
        &[][..]
    } else {
        // SAFETY: per the caller contract.
        unsafe { std::slice::from_raw_parts(vl.values, vl.values_len) }
    };
    Sample {
        fields: vl_fields(vl),
        time: vl.time,
        interval: vl.interval,
        values: raw_values(values),
        meta: (!vl.meta.is_null()).then_some(meta as &dyn MetaSource),
    }
}

/// `uc_update` of a C value list: computes rates, advances the history,
/// refreshes the expiry clock; `rates` as [`Cache::update_sample`].
///
/// # Safety
/// `ds.ds` and `vl.values` must point to `ds_num`/`values_len` elements;
/// `vl.meta` must be null or a live meta data pointer.
pub unsafe fn update(
    cache: &Cache,
    ds: &data_set_t,
    vl: &value_list_t,
    rates: Option<&mut SampleRates>,
) -> Result<Updated, CacheError> {
    // SAFETY: forwarded caller contract.
    let sources = unsafe { sources_of(ds) };
    if sources.len() != ds.ds_num {
        return Err(CacheError::ValuesMismatch {
            name: NameBuf::from_vl(vl).to_string(),
            expected: ds.ds_num,
            got: vl.values_len,
        });
    }
    let meta = CMeta(vl.meta);
    // SAFETY: forwarded caller contract.
    let sample = unsafe { sample_of(vl, &meta) };
    cache.update_sample(&sources, &sample, rates)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use rcollectd_core::time::cdtime_t;
    use rcollectd_plugin::sys::data_source_t;
    use std::os::raw::c_int;

    /// Copies `s` into a C name field.
    pub fn set_field(dst: &mut [c_char; FIELD_LEN], s: &str) {
        dst.fill(0);
        for (d, b) in dst.iter_mut().zip(s.bytes().take(FIELD_LEN - 1)) {
            *d = b as c_char;
        }
    }

    /// A data set with the given (type, min, max) sources; keep the Vec alive.
    pub fn data_set(name: &str, srcs: &[(c_int, f64, f64)]) -> (data_set_t, Vec<data_source_t>) {
        let mut v: Vec<data_source_t> = srcs
            .iter()
            .map(|&(t, min, max)| {
                // SAFETY: data_source_t is plain C data.
                let mut d: data_source_t = unsafe { std::mem::zeroed() };
                d.type_ = t;
                d.min = min;
                d.max = max;
                d
            })
            .collect();
        // SAFETY: data_set_t is plain C data.
        let mut ds: data_set_t = unsafe { std::mem::zeroed() };
        set_field(&mut ds.type_, name);
        ds.ds_num = v.len();
        ds.ds = v.as_mut_ptr();
        (ds, v)
    }

    /// A value list for `host/plugin-pi/type-ti` pointing at `values`.
    pub fn value_list(
        id: [&str; 5],
        time: cdtime_t,
        interval: cdtime_t,
        values: &mut [value_t],
    ) -> value_list_t {
        // SAFETY: value_list_t is plain C data.
        let mut vl: value_list_t = unsafe { std::mem::zeroed() };
        set_field(&mut vl.host, id[0]);
        set_field(&mut vl.plugin, id[1]);
        set_field(&mut vl.plugin_instance, id[2]);
        set_field(&mut vl.type_, id[3]);
        set_field(&mut vl.type_instance, id[4]);
        vl.time = time;
        vl.interval = interval;
        vl.values = values.as_mut_ptr();
        vl.values_len = values.len();
        vl
    }

    /// A value_t holding a gauge.
    pub fn gauge(g: f64) -> value_t {
        value_t { gauge: g }
    }

    /// A value_t holding a counter.
    pub fn counter(c: u64) -> value_t {
        value_t { counter: c }
    }

    /// A value_t holding a derive.
    pub fn derive(d: i64) -> value_t {
        value_t { derive: d }
    }

    /// A value_t holding an absolute.
    pub fn absolute(a: u64) -> value_t {
        value_t { absolute: a }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use rcollectd_core::time::{self, cdtime_t};
    use std::ffi::{c_int, CString};
    use std::sync::Arc;

    const DS_COUNTER: c_int = rcollectd_plugin::sys::DS_TYPE_COUNTER as c_int;
    const DS_GAUGE: c_int = rcollectd_plugin::sys::DS_TYPE_GAUGE as c_int;
    const DS_DERIVE: c_int = rcollectd_plugin::sys::DS_TYPE_DERIVE as c_int;
    const DS_ABSOLUTE: c_int = rcollectd_plugin::sys::DS_TYPE_ABSOLUTE as c_int;

    const ID: [&str; 5] = ["h", "p", "i", "t", "x"];

    /// The cache's hot-path name formatter agrees with the core's
    /// `format_name`, from the parts and from a value list.
    #[test]
    fn names_follow_the_identifier_rule() {
        let long = "n".repeat(127);
        let cases: [[&str; 5]; 5] = [
            ["h", "cpu", "0", "cpu", "idle"],
            ["h", "load", "", "load", ""],
            ["host-a.b", "p", "i-j", "t", "k-l"],
            ["", "p", "", "t", ""],
            [&long, &long, &long, &long, &long],
        ];
        for id in cases {
            let want = rcollectd_core::ident::Parts::of(id[0], id[1], id[2], id[3], id[4]).format();
            let mut values = [gauge(1.0)];
            let vl = value_list(id, 0, 0, &mut values);
            assert_eq!(NameBuf::from_vl(&vl).as_bytes(), want, "{id:?}");
        }
    }

    fn secs(s: u64) -> cdtime_t {
        time::from_secs(s)
    }

    fn upd(
        c: &Cache,
        ds: &data_set_t,
        id: [&str; 5],
        t: u64,
        v: value_t,
    ) -> Result<Updated, CacheError> {
        let mut vals = [v];
        let vl = value_list(id, secs(t), secs(10), &mut vals);
        // SAFETY: vl points into `vals`, ds into its Vec (kept alive by the caller).
        unsafe { update(c, ds, &vl, None) }
    }

    #[test]
    fn name_format_matches_format_vl() {
        let mut v = [gauge(0.0)];
        let n = NameBuf::from_vl(&value_list(["h", "p", "", "t", ""], 0, 0, &mut v));
        assert_eq!(n.as_bytes(), b"h/p/t");
        assert_eq!(n.as_c_str(), c"h/p/t");
        let n = NameBuf::from_vl(&value_list(["h", "p", "pi", "t", "ti"], 0, 0, &mut v));
        assert_eq!(n.to_string(), "h/p-pi/t-ti");
        // Fields longer than DATA_MAX_NAME_LEN - 1 count with 127 bytes.
        let long = "a".repeat(200);
        let n = NameBuf::from_vl(&value_list([&long; 5].map(String::as_str), 0, 0, &mut v));
        assert_eq!(n.as_bytes().len(), 5 * 127 + 4);
    }

    #[test]
    fn gauge_rates_and_range_check() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, 0.0, 100.0)]);
        let first = upd(&c, &ds, ID, 100, gauge(5.0)).unwrap();
        assert_eq!(
            first,
            Updated {
                is_new: true,
                callbacks_mask: 0
            }
        );
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [5.0]);
        assert!(!upd(&c, &ds, ID, 110, gauge(150.0)).unwrap().is_new);
        assert!(c.rates_by_name(b"h/p-i/t-x").unwrap()[0].is_nan());
        let raw = c.values_by_name(b"h/p-i/t-x").unwrap();
        // SAFETY: reading the gauge member written above.
        let g = f64::from_bits(raw[0]);
        assert_eq!(g, 150.0);
    }

    #[test]
    fn counter_rate_with_wraparound() {
        let c = Cache::new();
        let (ds, _keep) = data_set("c", &[(DS_COUNTER, 0.0, f64::NAN)]);
        upd(&c, &ds, ID, 100, counter(1000)).unwrap();
        assert!(c.rates_by_name(b"h/p-i/t-x").unwrap()[0].is_nan());
        upd(&c, &ds, ID, 110, counter(1500)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [50.0]);
        // 32-bit wrap: 4294967290 -> 4 is a difference of 10.
        upd(&c, &ds, ID, 120, counter(4_294_967_290)).unwrap();
        upd(&c, &ds, ID, 130, counter(4)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [1.0]);
        // 64-bit wrap.
        upd(&c, &ds, ID, 140, counter(u64::MAX - 9)).unwrap();
        upd(&c, &ds, ID, 150, counter(10)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [2.0]);
    }

    #[test]
    fn derive_and_absolute_rates() {
        let c = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, derive(100)).unwrap();
        upd(&c, &ds, ID, 104, derive(80)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [-5.0]);

        let (ds, _keep2) = data_set("a", &[(DS_ABSOLUTE, 0.0, f64::NAN)]);
        let id = ["h", "p", "", "a", ""];
        // New entry: value / interval (10 s).
        upd(&c, &ds, id, 100, absolute(30)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p/a").unwrap(), [3.0]);
        // Update: value / time since last.
        upd(&c, &ds, id, 102, absolute(30)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p/a").unwrap(), [15.0]);
    }

    #[test]
    fn too_old_is_rejected_with_collectds_message() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        let err = upd(&c, &ds, ID, 100, gauge(2.0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "uc_update: Value too old: name = h/p-i/t-x; value time = 100.000; last cache update = 100.000;"
        );
        assert!(matches!(
            upd(&c, &ds, ID, 99, gauge(2.0)),
            Err(CacheError::TooOld { .. })
        ));
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [1.0]);
    }

    #[test]
    fn mismatched_values_and_bad_types_are_errors() {
        let c = Cache::new();
        let (ds2, _keep) = data_set("two", &[(DS_GAUGE, f64::NAN, f64::NAN); 2]);
        let mut one = [gauge(1.0)];
        let vl = value_list(ID, secs(1), secs(10), &mut one);
        // SAFETY: pointers are valid; the count mismatch is the point.
        let r = unsafe { update(&c, &ds2, &vl, None) };
        assert!(matches!(
            r,
            Err(CacheError::ValuesMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let (bad, _keep2) = data_set("bad", &[(42, f64::NAN, f64::NAN)]);
        assert_eq!(
            upd(&c, &bad, ID, 1, gauge(1.0)),
            Err(CacheError::UnknownDsType(42))
        );
        assert!(c.is_empty());
    }

    #[test]
    fn expiry_reports_then_removes() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        upd(&c, &ds, ["h", "p", "", "t", ""], 100, gauge(1.0)).unwrap();
        c.set_callbacks_mask(b"h/p/t", 0b101);
        let now = time::now();
        // interval 10 s, timeout 2: fresh for 20 s.
        assert!(c.check_timeout(now + secs(19), 2).is_empty());
        let exp = c.check_timeout(now + secs(25), 2);
        assert_eq!(exp.len(), 2);
        assert_eq!(exp[0].name.as_bytes(), b"h/p-i/t-x");
        assert_eq!(exp[1].callbacks_mask, 0b101);
        let vl = expired_value_list(&exp[0]);
        assert_eq!(field(&vl.plugin_instance), b"i");
        assert_eq!(field(&vl.type_instance), b"x");
        assert_eq!(
            (vl.time, vl.interval, vl.values_len),
            (secs(100), secs(10), 0)
        );
        assert!(vl.values.is_null());
        // An update between detection and removal keeps the entry.
        upd(&c, &ds, ID, 110, gauge(1.0)).unwrap();
        assert_eq!(c.remove_expired(&exp), 1);
        assert_eq!(c.len(), 1);
        let mut seen = Vec::new();
        assert_eq!(
            c.expire(now + secs(3600), 2, |x| seen.push(x.name.clone())),
            1
        );
        assert_eq!(seen, [CString::new("h/p-i/t-x").unwrap()]);
        assert!(c.is_empty());
    }

    #[test]
    fn names_sorted_and_missing_hidden() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        for (i, h) in ["b", "a", "c"].iter().enumerate() {
            upd(&c, &ds, [h, "p", "", "t", ""], 100 + i as u64, gauge(1.0)).unwrap();
        }
        let mut vals = [gauge(0.0)];
        let vl = value_list(["c", "p", "", "t", ""], 0, 0, &mut vals);
        assert_eq!(c.set_state(vl_fields(&vl), STATE_MISSING), STATE_UNKNOWN);
        assert_eq!(c.state(vl_fields(&vl)), STATE_MISSING);
        let names = c.names();
        let got: Vec<_> = names
            .iter()
            .map(|(e, t)| (e.name().to_str().unwrap(), *t))
            .collect();
        assert_eq!(got, [("a/p/t", secs(101)), ("b/p/t", secs(100))]);
        assert!(c.rates_by_name(b"c/p/t").is_none());
        assert_eq!(c.snapshot().len(), 3);
        assert!(!c.snapshot()[2].is_visible());
    }

    #[test]
    fn hits_state_and_unknown_identifiers() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        let mut vals = [gauge(0.0)];
        let vl = value_list(ID, 0, 0, &mut vals);
        assert_eq!(c.hits(vl_fields(&vl)), 0);
        assert_eq!(c.inc_hits(vl_fields(&vl), 3), 0);
        assert_eq!(c.set_hits(vl_fields(&vl), 10), 3);
        assert_eq!(c.hits(vl_fields(&vl)), 10);
        let other = value_list(["nope", "p", "", "t", ""], 0, 0, &mut vals);
        assert_eq!(c.hits(vl_fields(&other)), STATE_ERROR);
        assert_eq!(c.state(vl_fields(&other)), STATE_ERROR);
        assert_eq!(c.set_hits(vl_fields(&other), 1), -1);
        assert_eq!(c.inc_hits(vl_fields(&other), 1), -1);
        assert_eq!(c.set_state(vl_fields(&other), 1), -1);
        assert_eq!(c.set_callbacks_mask(b"nope/p/t", 1), -1);
        assert!(c.with_meta(vl_fields(&other), |_| ()).is_none());
    }

    #[test]
    fn history_ring_newest_first() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN); 2]);
        let mut out = [0.0; 6];
        assert_eq!(
            c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2),
            -libc::ENOENT
        );
        let mut vals = [gauge(1.0), gauge(-1.0)];
        let vl = value_list(ID, secs(100), secs(10), &mut vals);
        // SAFETY: vl/ds point to live arrays.
        unsafe { update(&c, &ds, &vl, None) }.unwrap();
        assert_eq!(
            c.history_by_name(b"h/p-i/t-x", &mut out, 3, 1),
            -libc::EINVAL
        );
        assert_eq!(c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2), 0);
        assert!(out.iter().all(|v| v.is_nan()));
        for t in 1..=4 {
            let mut vals = [gauge(t as f64), gauge(-(t as f64))];
            let vl = value_list(ID, secs(100 + t), secs(10), &mut vals);
            // SAFETY: as above.
            unsafe { update(&c, &ds, &vl, None) }.unwrap();
        }
        assert_eq!(c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2), 0);
        assert_eq!(out, [4.0, -4.0, 3.0, -3.0, 2.0, -2.0]);
    }

    #[test]
    fn saved_state_continues_rates_in_a_new_cache() {
        let old = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, 0.0, f64::NAN)]);
        let id = ["h", "p", "i", "d", "x"];
        let mut values = [derive(1000)];
        let vl = value_list(id, secs(100), secs(10), &mut values);
        // SAFETY: ds and vl point at live arrays of one value.
        unsafe { update(&old, &ds, &vl, None) }.unwrap();
        let mut text = Vec::new();
        assert_eq!(old.save_state(&mut text).unwrap(), 1);

        let new = Cache::new();
        let bad = b"v1 zz 1 2 1 0 0\nv2 nonsense\n".to_vec();
        let input = [text.clone(), bad].concat();
        assert_eq!(
            new.restore_state(&mut &input[..], |t| (t == b"d").then_some(1)),
            1
        );
        // A type whose value count changed is not restored.
        assert_eq!(Cache::new().restore_state(&mut &text[..], |_| Some(2)), 0);
        let mut values = [derive(1100)];
        let vl = value_list(id, secs(110), secs(10), &mut values);
        // SAFETY: as above.
        unsafe { update(&new, &ds, &vl, None) }.unwrap();
        assert_eq!(
            new.rates(vl_fields(&vl)),
            Some(vec![10.0]),
            "no gap, no spike"
        );
    }

    #[test]
    fn each_update_records_the_rates_of_its_own_value_list() {
        let c = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, 0.0, f64::NAN)]);
        // (time, raw value, rates a writer of this value list must see)
        let burst: [(u64, i64, Option<f64>); 4] = [
            (1000, 0, None),
            (1010, 100, Some(10.0)),
            (1020, 300, Some(20.0)),
            // Refused as not newer: collectd's writer sees the cached rate.
            (1015, 999, Some(20.0)),
        ];
        let mut recorded = Vec::new();
        for (t, v, _) in burst {
            let mut values = [derive(v)];
            let vl = value_list(ID, secs(t), secs(10), &mut values);
            let mut rates = SampleRates::Unknown;
            // SAFETY: ds and vl point at live arrays of one value.
            let _ = unsafe { update(&c, &ds, &vl, Some(&mut rates)) };
            recorded.push(rates.as_slice().map(|r| r[0]));
        }
        for ((t, _, want), got) in burst.iter().zip(&recorded) {
            match want {
                None => assert!(got.unwrap().is_nan(), "t={t}: first derive rate is NaN"),
                Some(w) => assert_eq!(*got, Some(*w), "t={t}"),
            }
        }
    }

    #[test]
    fn meta_is_cloned_on_insert_and_editable() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        let mut md = MetaData::new();
        md.insert_str("origin", meta::MetaValue::SignedInt(7));
        let raw = meta::into_raw(md);
        let mut vals = [gauge(1.0)];
        let mut vl = value_list(ID, secs(100), secs(10), &mut vals);
        vl.meta = raw;
        // SAFETY: vl.meta is live until destroyed below.
        unsafe { update(&c, &ds, &vl, None) }.unwrap();
        // SAFETY: raw came from into_raw and is not used afterwards.
        unsafe { meta::destroy_raw(raw) };
        vl.meta = std::ptr::null_mut();
        let got = c
            .with_meta(vl_fields(&vl), |m| m.get(b"ORIGIN").cloned())
            .unwrap();
        assert_eq!(got, Some(meta::MetaValue::SignedInt(7)));
        c.with_meta(vl_fields(&vl), |m| {
            m.insert_str("k", meta::MetaValue::Boolean(true))
        });
        assert_eq!(c.snapshot()[0].meta().unwrap().len(), 2);
    }

    #[test]
    fn concurrent_updates_are_consistent() {
        const THREADS: u64 = 4;
        const IDS: u64 = 50;
        const ROUNDS: u64 = 200;
        let c = Arc::new(Cache::new());
        let handles: Vec<_> = (0..THREADS)
            .map(|th| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    let (ds, _keep) = data_set("d", &[(DS_DERIVE, f64::NAN, f64::NAN)]);
                    let mut news = 0u64;
                    let mut errors = 0u64;
                    for round in 1..=ROUNDS {
                        for id in 0..IDS {
                            // Every thread writes every identifier; times are
                            // unique per (round, thread) so exactly the newer
                            // ones are accepted.
                            let host = format!("host{id}");
                            let t = round * THREADS + th;
                            match upd(
                                &c,
                                &ds,
                                [&host, "p", "", "t", ""],
                                t,
                                derive((t * 10) as i64),
                            ) {
                                Ok(u) => news += u64::from(u.is_new),
                                Err(CacheError::TooOld { .. }) => errors += 1,
                                Err(e) => panic!("unexpected {e}"),
                            }
                        }
                    }
                    (news, errors)
                })
            })
            .collect();
        let mut news = 0;
        let mut accepted_or_rejected = 0;
        for h in handles {
            let (n, e) = h.join().unwrap();
            news += n;
            accepted_or_rejected += e;
        }
        assert_eq!(news, IDS, "each identifier is new exactly once");
        assert_eq!(c.len(), IDS as usize);
        assert!(accepted_or_rejected < THREADS * IDS * ROUNDS);
        for id in 0..IDS {
            let name = format!("host{id}/p/t");
            // SAFETY: derive member of a DERIVE source.
            let v = c.values_by_name(name.as_bytes()).unwrap()[0] as i64;
            // The newest time anyone wrote is ROUNDS*THREADS + THREADS-1.
            assert_eq!(v, ((ROUNDS * THREADS + THREADS - 1) * 10) as i64);
            let rate = c.rates_by_name(name.as_bytes()).unwrap()[0];
            // value is 10 * time (in s), so any accepted pair has rate 10.
            assert!((rate - 10.0).abs() < 1e-6, "{name}: rate {rate}");
        }
    }
}
