//! Fuzzes the network packet decoder: raw, signed and encrypted wrappings
//! of the input, at every security level.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    network::codec::fuzzing::fuzz_one(data);
});
