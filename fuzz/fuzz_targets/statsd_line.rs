//! Fuzzes rcollectd's statsd parser and aggregation: any datagram is
//! parsed (or rejected with collectd's message) and read back without a
//! panic, and every type instance fits collectd's 128-byte field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statsd::core::{parse_line, Aggregator, Options};

fuzz_target!(|data: &[u8]| {
    let _ = parse_line(data);
    let mut agg = Aggregator::new(Options {
        timer_percentiles: vec![50.0, 99.9],
        timer_lower: true,
        timer_upper: true,
        timer_sum: true,
        timer_count: true,
        counter_sum: true,
        ..Options::default()
    });
    for chunk in data.chunks(statsd::core::DATAGRAM_MAX) {
        let _ = agg.handle_datagram(chunk);
    }
    for out in agg.read().into_iter().chain(agg.read()) {
        assert!(out.type_instance.len() < 128);
    }
});
