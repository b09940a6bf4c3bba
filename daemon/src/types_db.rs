//! The C view of types.db data sets: `data_set_t` as plugins receive it.
//!
//! types.db parsing and the Rust [`DataSet`] are the core's `types_db`; this
//! module converts between them and collectd's layout.

use std::ffi::CStr;

use rcollectd_plugin::sys::{data_set_t, data_source_t};

pub use rcollectd_core::types_db::*;

/// Copies `s` into a C name buffer, truncated at a character boundary to
/// leave room for the terminating NUL (embedded NULs end the name early).
fn fill_name(dst: &mut [libc::c_char; NAME_LEN], s: &str) {
    let s = s.split('\0').next().unwrap_or("");
    let mut end = s.len().min(NAME_LEN - 1);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    for (d, b) in dst.iter_mut().zip(s.as_bytes()[..end].iter()) {
        *d = *b as libc::c_char;
    }
    dst[end] = 0;
}

/// Reads a NUL-terminated name from a C buffer; `None` if unterminated.
fn read_name(buf: &[libc::c_char; NAME_LEN]) -> Option<String> {
    let bytes: Vec<u8> = buf.iter().map(|&c| c as u8).collect();
    let c = CStr::from_bytes_until_nul(&bytes).ok()?;
    Some(c.to_string_lossy().into_owned())
}

/// A `data_set_t` built from a [`DataSet`] for C callers; `ds` points into
/// memory this value owns, so the pointer from [`CDataSet::as_ptr`] is valid
/// while the `CDataSet` lives (keep it boxed: it must not move).
pub struct CDataSet {
    raw: data_set_t,
    _sources: Box<[data_source_t]>,
}

impl std::fmt::Debug for CDataSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CDataSet")
            .field("type", &read_name(&self.raw.type_))
            .field("ds_num", &self.raw.ds_num)
            .finish()
    }
}

// SAFETY: a CDataSet is never mutated after construction; its only pointer
// (`raw.ds`) points into the boxed slice it owns, so sharing or moving it
// between threads is as safe as sharing the slice itself.
unsafe impl Send for CDataSet {}
// SAFETY: see `Send` above: immutable after construction.
unsafe impl Sync for CDataSet {}

impl CDataSet {
    /// The `const data_set_t *` to hand to plugins.
    pub fn as_ptr(&self) -> *const data_set_t {
        &self.raw
    }

    /// The struct itself, for Rust callers that need the C layout.
    pub fn raw(&self) -> &data_set_t {
        &self.raw
    }
}

/// The C view of a [`DataSet`].
pub trait ToC {
    /// Builds the C view; names longer than DATA_MAX_NAME_LEN - 1 bytes are
    /// truncated.
    fn to_c(&self) -> Box<CDataSet>;
}

impl ToC for DataSet {
    fn to_c(&self) -> Box<CDataSet> {
        let mut sources: Box<[data_source_t]> = self
            .sources
            .iter()
            .map(|s| {
                let mut d = data_source_t {
                    name: [0; NAME_LEN],
                    type_: s.ds_type.as_c(),
                    min: s.min,
                    max: s.max,
                };
                fill_name(&mut d.name, &s.name);
                d
            })
            .collect();
        let mut raw = data_set_t {
            type_: [0; NAME_LEN],
            ds_num: sources.len(),
            ds: if sources.is_empty() {
                std::ptr::null_mut()
            } else {
                sources.as_mut_ptr()
            },
        };
        fill_name(&mut raw.type_, &self.type_name);
        Box::new(CDataSet {
            raw,
            _sources: sources,
        })
    }
}

/// Copies a data set a plugin passes in (`plugin_register_data_set`),
/// checking it: non-empty type name, 1..=1024 data sources, NUL-terminated
/// names and known `DS_TYPE_*` values.
///
/// # Safety
/// `ds` must be null or point to a readable `data_set_t` whose `ds`
/// points to `ds_num` readable `data_source_t`.
pub unsafe fn from_c(ds: *const data_set_t) -> Result<DataSet, String> {
    if ds.is_null() {
        return Err("data set is NULL".into());
    }
    // SAFETY: non-null and readable per the caller's contract.
    let raw = unsafe { &*ds };
    let type_name = read_name(&raw.type_)
        .ok_or_else(|| "data set type name is not NUL-terminated".to_string())?;
    if type_name.is_empty() {
        return Err("data set has an empty type name".into());
    }
    if raw.ds_num == 0 || raw.ds_num > 1024 || raw.ds.is_null() {
        return Err(format!(
            "data set `{type_name}` has {} data sources (expected 1 to 1024)",
            raw.ds_num
        ));
    }
    // SAFETY: `ds` points to `ds_num` readable elements per the contract,
    // and was checked non-null with a bounded count above.
    let srcs = unsafe { std::slice::from_raw_parts(raw.ds, raw.ds_num) };
    let mut sources = Vec::with_capacity(srcs.len());
    for (i, s) in srcs.iter().enumerate() {
        let name = read_name(&s.name).ok_or_else(|| {
            format!("data source #{i} of `{type_name}`: name is not NUL-terminated")
        })?;
        let ds_type = DsType::from_c(s.type_).ok_or_else(|| {
            format!(
                "data source #{i} of `{type_name}`: unknown type {}",
                s.type_
            )
        })?;
        sources.push(DataSource {
            name,
            ds_type,
            min: s.min,
            max: s.max,
        });
    }
    Ok(DataSet { type_name, sources })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_view_round_trips() {
        let db = TypesDb::builtin();
        let ds = db.get("load").unwrap();
        let c = ds.to_c();
        // SAFETY: `c` is alive and built by to_c, so the pointer is valid.
        let back = unsafe { from_c(c.as_ptr()) }.unwrap();
        assert_eq!(back.type_name, "load");
        assert_eq!(back.sources.len(), 3);
        assert_eq!(back.sources[0].name, ds.sources[0].name);
        assert_eq!(c.raw().ds_num, 3);
        // SAFETY: ds points to ds_num elements owned by `c`.
        let first = unsafe { &*c.raw().ds };
        assert_eq!(first.type_, DsType::Gauge.as_c());
        assert_eq!(first.max, 5000.0);
    }

    #[test]
    fn c_view_truncates_long_names() {
        let long = "é".repeat(100); // 200 bytes, 2 bytes per char
        let ds = DataSet {
            type_name: long.clone(),
            sources: vec![DataSource {
                name: "x".repeat(300),
                ds_type: DsType::Gauge,
                min: 0.0,
                max: f64::NAN,
            }],
        };
        let c = ds.to_c();
        // SAFETY: valid pointer from a live CDataSet.
        let back = unsafe { from_c(c.as_ptr()) }.unwrap();
        assert_eq!(back.type_name, "é".repeat(63));
        assert_eq!(back.sources[0].name, "x".repeat(127));
    }

    #[test]
    fn from_c_rejects_bad_structs() {
        // SAFETY: null is allowed by the contract.
        assert!(unsafe { from_c(std::ptr::null()) }.is_err());
        let mut src = data_source_t {
            name: [b'a' as libc::c_char; NAME_LEN],
            type_: 1,
            min: 0.0,
            max: 1.0,
        };
        let mut raw = data_set_t {
            type_: [0; NAME_LEN],
            ds_num: 1,
            ds: &mut src,
        };
        fill_name(&mut raw.type_, "t");
        // SAFETY: raw and src are live locals.
        let e = unsafe { from_c(&raw) }.unwrap_err();
        assert_eq!(e, "data source #0 of `t`: name is not NUL-terminated");
        src.name[5] = 0;
        src.type_ = 9;
        raw.ds = &mut src;
        // SAFETY: as above.
        let e = unsafe { from_c(&raw) }.unwrap_err();
        assert_eq!(e, "data source #0 of `t`: unknown type 9");
        raw.ds_num = 0;
        // SAFETY: as above.
        let e = unsafe { from_c(&raw) }.unwrap_err();
        assert_eq!(e, "data set `t` has 0 data sources (expected 1 to 1024)");
    }

    /// The core's seeded types.db texts: every accepted data set survives the
    /// C round trip. (libFuzzer does the same in `fuzz/fuzz_targets/types_db.rs`.)
    #[test]
    fn random_data_sets_round_trip_through_c() {
        let mut good = 0;
        for text in rcollectd_core::testgen::types_db_texts() {
            let (db, _) = TypesDb::parse(&text, std::path::Path::new("r.db"));
            for ds in db.iter() {
                good += 1;
                let c = ds.to_c();
                // SAFETY: `c` is alive and built by to_c.
                let back = unsafe { from_c(c.as_ptr()) }.unwrap();
                assert_eq!(back.sources.len(), ds.sources.len());
            }
        }
        assert!(good > 50, "good {good}");
    }
}
