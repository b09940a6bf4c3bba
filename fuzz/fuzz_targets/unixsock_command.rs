//! Fuzzes rcollectd's unixsock command handling: any line gets a reply (or
//! none) without a panic, against a stand-in daemon that knows a few types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rcollectd_plugin::DsType;
use unixsock::core::{
    handle_line, line_text, Env, Identifier, Level, PutNotif, PutValue, Source, Threshold,
};

struct Fake;

impl Env for Fake {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        let s = |name: &str, kind| Source {
            name: name.into(),
            kind,
        };
        match type_ {
            b"gauge" => Some(vec![s("value", DsType::Gauge)]),
            b"counter" => Some(vec![s("value", DsType::Counter)]),
            b"if_octets" => Some(vec![s("rx", DsType::Derive), s("tx", DsType::Absolute)]),
            _ => None,
        }
    }
    fn now(&mut self) -> u64 {
        1 << 40
    }
    fn dispatch_values(&mut self, vl: &PutValue) {
        assert!(vl.identifier.host.len() < 128 && vl.identifier.type_.len() < 128);
    }
    fn dispatch_notification(&mut self, n: &PutNotif) {
        assert!(n.message.len() < 256 && !n.message.is_empty());
    }
    fn rates(&mut self, identifier: &[u8]) -> Option<Vec<f64>> {
        (identifier.len() % 3 != 0).then(|| vec![f64::NAN; identifier.len() % 3])
    }
    fn names(&mut self) -> Result<Vec<(Vec<u8>, u64)>, i32> {
        Ok(vec![(b"h/p/gauge".to_vec(), u64::MAX)])
    }
    fn flush(&mut self, plugin: Option<&[u8]>, _: u64, _: Option<&[u8]>) -> bool {
        plugin.is_none()
    }
    fn threshold(&mut self, id: &Identifier) -> Result<Option<Threshold>, i32> {
        Ok((id.type_ == b"gauge").then(Threshold::default))
    }
    fn log(&mut self, _: Level, _: String) {}
}

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for line in data.chunks(unixsock::core::LINE_MAX) {
        let _ = handle_line(line_text(line), &mut Fake, &mut out);
    }
});
