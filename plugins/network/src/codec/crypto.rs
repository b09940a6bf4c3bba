//! Signing (HMAC-SHA-256) and encryption (AES-256-OFB + SHA-1 checksum) of
//! whole packets, byte-compatible with collectd 5's network plugin.
//!
//! Keys are prepared once per user ([`UserKey`]) so the per-packet work is a
//! clone of a keyed HMAC state and one cipher setup, with no heap allocation.

use hmac::{Hmac, Mac};
use ofb::cipher::{KeyIvInit, StreamCipher};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{PART_ENCRYPTION_SIZE, PART_SIGNATURE_SIZE, TYPE_ENCR_AES256, TYPE_SIGN_SHA256};

type HmacSha256 = Hmac<Sha256>;
type Aes256Ofb = ofb::Ofb<aes::Aes256>;

/// Length of the AES initialisation vector carried in an encryption part.
pub const IV_LEN: usize = 16;
/// Length of the SHA-1 checksum that precedes the encrypted payload.
pub const CHECKSUM_LEN: usize = 20;
/// Length of the HMAC-SHA-256 in a signature part.
pub const MAC_LEN: usize = 32;

/// The secrets derived from one password: a keyed HMAC state for signatures
/// and the AES-256 key (SHA-256 of the password) for encryption.
#[derive(Clone)]
pub struct UserKey {
    mac: HmacSha256,
    aes_key: [u8; 32],
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserKey(<redacted>)")
    }
}

impl UserKey {
    /// Derives both keys from a password, as collectd does.
    pub fn new(password: &[u8]) -> UserKey {
        // HMAC accepts keys of any length, so this cannot fail; fall back to
        // an empty-key state rather than panic if the crate ever changes.
        let mac = HmacSha256::new_from_slice(password)
            .unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
        let aes_key: [u8; 32] = Sha256::digest(password).into();
        UserKey { mac, aes_key }
    }
}

/// Where a receiver looks up the key of a user named in a signed or
/// encrypted part (collectd's `AuthFile`).
pub trait Credentials {
    /// The key of `user`, or `None` if the user is unknown.
    fn key(&self, user: &[u8]) -> Option<&UserKey>;
}

/// Errors of the sending side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The user name is empty or longer than [`super::MAX_USERNAME_LEN`].
    BadUsername,
    /// The sealed packet would exceed 65535 bytes.
    TooLarge,
    /// The system random number generator failed.
    Random,
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::BadUsername => write!(f, "user name must be 1 to 64 bytes"),
            SealError::TooLarge => write!(f, "sealed packet exceeds 65535 bytes"),
            SealError::Random => write!(f, "random number generator failed"),
        }
    }
}

impl std::error::Error for SealError {}

fn check_username(user: &[u8]) -> Result<(), SealError> {
    if user.is_empty() || user.len() > super::MAX_USERNAME_LEN {
        Err(SealError::BadUsername)
    } else {
        Ok(())
    }
}

/// Bytes a signature adds in front of a packet for this user name.
pub fn sign_overhead(user: &[u8]) -> usize {
    PART_SIGNATURE_SIZE + user.len()
}

/// Bytes encryption adds around a packet for this user name.
pub fn encrypt_overhead(user: &[u8]) -> usize {
    PART_ENCRYPTION_SIZE + user.len()
}

/// Writes `[0x0200][len][HMAC-SHA-256(user || payload)][user][payload]` into `out`.
pub fn sign_into(
    out: &mut Vec<u8>,
    user: &[u8],
    key: &UserKey,
    payload: &[u8],
) -> Result<(), SealError> {
    check_username(user)?;
    let part_len = sign_overhead(user);
    if part_len + payload.len() > usize::from(u16::MAX) {
        return Err(SealError::TooLarge);
    }
    let mut mac = key.mac.clone();
    mac.update(user);
    mac.update(payload);
    let tag = mac.finalize().into_bytes();
    out.clear();
    out.extend_from_slice(&TYPE_SIGN_SHA256.to_be_bytes());
    out.extend_from_slice(&(part_len as u16).to_be_bytes());
    out.extend_from_slice(&tag);
    out.extend_from_slice(user);
    out.extend_from_slice(payload);
    Ok(())
}

/// Writes `[0x0210][len][user len][user][IV]` followed by the AES-256-OFB
/// encryption of `[SHA-1(payload)][payload]` into `out`, with a fresh random IV.
pub fn encrypt_into(
    out: &mut Vec<u8>,
    user: &[u8],
    key: &UserKey,
    payload: &[u8],
) -> Result<(), SealError> {
    let mut iv = [0u8; IV_LEN];
    getrandom::getrandom(&mut iv).map_err(|_| SealError::Random)?;
    encrypt_with_iv(out, user, key, &iv, payload)
}

/// [`encrypt_into`] with a caller-chosen IV (deterministic output for tests).
pub fn encrypt_with_iv(
    out: &mut Vec<u8>,
    user: &[u8],
    key: &UserKey,
    iv: &[u8; IV_LEN],
    payload: &[u8],
) -> Result<(), SealError> {
    check_username(user)?;
    let total = encrypt_overhead(user) + payload.len();
    if total > usize::from(u16::MAX) {
        return Err(SealError::TooLarge);
    }
    let checksum = Sha1::digest(payload);
    out.clear();
    out.extend_from_slice(&TYPE_ENCR_AES256.to_be_bytes());
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&(user.len() as u16).to_be_bytes());
    out.extend_from_slice(user);
    out.extend_from_slice(iv);
    let start = out.len();
    out.extend_from_slice(&checksum);
    out.extend_from_slice(payload);
    apply_keystream(key, iv, &mut out[start..]);
    Ok(())
}

/// Encrypts or decrypts `data` in place (OFB is symmetric).
pub fn apply_keystream(key: &UserKey, iv: &[u8; IV_LEN], data: &mut [u8]) {
    let mut cipher = Aes256Ofb::new(&key.aes_key.into(), iv.into());
    cipher.apply_keystream(data);
}

/// Checks an HMAC-SHA-256 in constant time; `signed` is user name followed
/// by the rest of the packet, exactly as the sender hashed it.
pub fn verify_signature(key: &UserKey, tag: &[u8], signed: &[u8]) -> bool {
    let mut mac = key.mac.clone();
    mac.update(signed);
    mac.verify_slice(tag).is_ok()
}

/// [`verify_signature`] over `user` followed by `rest`, without joining them.
pub fn verify_signature_parts(key: &UserKey, tag: &[u8], user: &[u8], rest: &[u8]) -> bool {
    let mut mac = key.mac.clone();
    mac.update(user);
    mac.update(rest);
    mac.verify_slice(tag).is_ok()
}

/// Whether `checksum` is the SHA-1 of `payload`.
pub fn checksum_matches(checksum: &[u8], payload: &[u8]) -> bool {
    Sha1::digest(payload).as_slice() == checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_layout() {
        let key = UserKey::new(b"secret");
        let mut out = Vec::new();
        sign_into(&mut out, b"alice", &key, b"PAYLOAD").unwrap();
        assert_eq!(&out[0..2], &[0x02, 0x00]);
        assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, 36 + 5);
        assert_eq!(&out[36..41], b"alice");
        assert_eq!(&out[41..], b"PAYLOAD");
        // Independent HMAC computation over user || payload.
        let mut mac = HmacSha256::new_from_slice(b"secret").unwrap();
        mac.update(b"alicePAYLOAD");
        assert_eq!(&out[4..36], mac.finalize().into_bytes().as_slice());
        assert!(verify_signature(&key, &out[4..36], &out[36..]));
        assert!(!verify_signature(
            &UserKey::new(b"other"),
            &out[4..36],
            &out[36..]
        ));
    }

    #[test]
    fn encrypt_layout_and_roundtrip() {
        let key = UserKey::new(b"pw");
        let iv = [7u8; 16];
        let mut out = Vec::new();
        encrypt_with_iv(&mut out, b"bob", &key, &iv, b"hello world").unwrap();
        assert_eq!(&out[0..2], &[0x02, 0x10]);
        assert_eq!(u16::from_be_bytes([out[2], out[3]]) as usize, out.len());
        assert_eq!(out.len(), 42 + 3 + 11);
        assert_eq!(&out[4..6], &[0, 3]);
        assert_eq!(&out[6..9], b"bob");
        assert_eq!(&out[9..25], &iv);
        let mut body = out[25..].to_vec();
        apply_keystream(&key, &iv, &mut body);
        assert!(checksum_matches(&body[..20], &body[20..]));
        assert_eq!(&body[20..], b"hello world");
    }

    #[test]
    fn username_limits() {
        let key = UserKey::new(b"pw");
        let mut out = Vec::new();
        assert_eq!(
            sign_into(&mut out, b"", &key, b"x"),
            Err(SealError::BadUsername)
        );
        assert_eq!(
            encrypt_into(&mut out, &[b'a'; 65], &key, b"x"),
            Err(SealError::BadUsername)
        );
        assert!(encrypt_into(&mut out, &[b'a'; 64], &key, b"x").is_ok());
        assert_eq!(
            sign_into(&mut out, b"u", &key, &vec![0; 65535]),
            Err(SealError::TooLarge)
        );
    }
}
