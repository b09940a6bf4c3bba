//! Fuzzes the types.db parser: any text gives data sets plus errors, never a
//! panic; every data set converts to the C view and back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcollectd::types_db::{from_c, ToC, TypesDb};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (db, _errors) = TypesDb::parse(&text, Path::new("fuzz.db"));
    for ds in db.iter() {
        let c = ds.to_c();
        // SAFETY: `c` is alive and was built by to_c.
        let back = unsafe { from_c(c.as_ptr()) }.expect("round trip");
        assert_eq!(back.sources.len(), ds.sources.len());
    }
});
