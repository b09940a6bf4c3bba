//! One fuzzing step shared by the libFuzzer target (`fuzz/`) and the stable
//! randomized test (`tests/decode_fuzz.rs`): the input is decoded as a raw
//! packet and, so that the parser behind the crypto is reached too, as the
//! plaintext of a validly signed and a validly encrypted packet.

use super::crypto::{encrypt_with_iv, sign_into, Credentials, UserKey};
use super::{decode, DecodeSummary, NotificationRef, Origin, SecurityLevel, Sink, ValueListRef};

struct Check {
    items: usize,
}

impl Sink for Check {
    fn value_list(&mut self, vl: &ValueListRef<'_>, _o: &Origin<'_>) {
        assert!(!vl.is_empty() && vl.values().len() == vl.type_codes().len());
        assert!(vl.host.len() < 128 && vl.plugin.len() < 128 && vl.type_.len() < 128);
        assert!(vl.time != 0);
        self.items += 1;
    }
    fn notification(&mut self, n: &NotificationRef<'_>, _o: &Origin<'_>) {
        assert!(matches!(n.severity, 1 | 2 | 4) && !n.message.is_empty() && n.message.len() < 256);
        self.items += 1;
    }
}

struct One(UserKey);

impl Credentials for One {
    fn key(&self, user: &[u8]) -> Option<&UserKey> {
        (user == b"fuzz").then_some(&self.0)
    }
}

/// Decodes `data` three ways at every security level; panics only if an
/// invariant of the decoder is broken (a bug).
pub fn fuzz_one(data: &[u8]) {
    let creds = One(UserKey::new(b"fuzzpass"));
    let mut signed = Vec::new();
    let mut encrypted = Vec::new();
    let _ = sign_into(&mut signed, b"fuzz", &creds.0, data);
    let _ = encrypt_with_iv(&mut encrypted, b"fuzz", &creds.0, &[0x5a; 16], data);
    for packet in [data, &signed[..], &encrypted[..]] {
        for level in [
            SecurityLevel::None,
            SecurityLevel::Sign,
            SecurityLevel::Encrypt,
        ] {
            for c in [Some(&creds as &dyn Credentials), None] {
                let mut buf = packet.to_vec();
                let mut sink = Check { items: 0 };
                let mut sum = DecodeSummary::default();
                let _ = decode(&mut buf, level, c, &mut sink, &mut sum);
                // Every item needs at least one 5-byte part.
                assert!(sink.items <= packet.len() / 5);
                assert_eq!(sink.items as u64, sum.value_lists + sum.notifications);
            }
        }
    }
}
