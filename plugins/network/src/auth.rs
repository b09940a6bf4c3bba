//! collectd's `AuthFile`: one `user: password` per line; reloaded when the
//! file's modification time changes, as collectd's fbhash does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::codec::crypto::{Credentials, UserKey};

/// Parsed user database with prepared keys.
#[derive(Debug, Default)]
pub struct AuthDb {
    users: HashMap<Vec<u8>, UserKey>,
}

impl AuthDb {
    /// Parses the file content. Lines without a colon, blank lines and
    /// lines starting with `#` are ignored; whitespace around user and
    /// password is trimmed.
    pub fn parse(text: &str) -> AuthDb {
        let mut users = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, pass)) = line.split_once(':') else {
                continue;
            };
            let (user, pass) = (user.trim(), pass.trim());
            if user.is_empty() {
                continue;
            }
            users.insert(user.as_bytes().to_vec(), UserKey::new(pass.as_bytes()));
        }
        AuthDb { users }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl Credentials for AuthDb {
    fn key(&self, user: &[u8]) -> Option<&UserKey> {
        self.users.get(user)
    }
}

/// An [`AuthDb`] backed by a file, re-read when it changes (checked at
/// most once per second).
#[derive(Debug)]
pub struct AuthFile {
    path: PathBuf,
    mtime: Option<SystemTime>,
    checked: Instant,
    db: AuthDb,
}

impl AuthFile {
    /// Reads the file; fails if it cannot be read.
    pub fn open(path: &Path) -> std::io::Result<AuthFile> {
        let meta = std::fs::metadata(path)?;
        let text = std::fs::read_to_string(path)?;
        Ok(AuthFile {
            path: path.to_path_buf(),
            mtime: meta.modified().ok(),
            checked: Instant::now(),
            db: AuthDb::parse(&text),
        })
    }

    /// Re-reads the file if its modification time changed. On error the
    /// previous users stay in effect; the error is returned for logging.
    pub fn refresh(&mut self) -> std::io::Result<bool> {
        if self.checked.elapsed() < Duration::from_secs(1) {
            return Ok(false);
        }
        self.checked = Instant::now();
        let mtime = std::fs::metadata(&self.path)?.modified().ok();
        if mtime == self.mtime {
            return Ok(false);
        }
        let text = std::fs::read_to_string(&self.path)?;
        self.db = AuthDb::parse(&text);
        self.mtime = mtime;
        Ok(true)
    }

    /// The current users.
    pub fn db(&self) -> &AuthDb {
        &self.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_collectd_format() {
        let db = AuthDb::parse(
            "alice: w0nderl4nd\n# comment: x\n\nbob:   bu1|der  \nnocolon\n: nouser\ncarol:a:b\n",
        );
        assert_eq!(db.len(), 3);
        assert!(db.key(b"alice").is_some());
        assert!(db.key(b"bob").is_some());
        assert!(db.key(b"# comment").is_none());
        assert!(db.key(b"carol").is_some());
        assert!(db.key(b"nocolon").is_none());
        // bob's password is "bu1|der" (trimmed): check through a signature.
        let mut out = Vec::new();
        crate::codec::crypto::sign_into(&mut out, b"bob", &UserKey::new(b"bu1|der"), b"x").unwrap();
        assert!(crate::codec::crypto::verify_signature(
            db.key(b"bob").unwrap(),
            &out[4..36],
            &out[36..]
        ));
    }

    #[test]
    fn file_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("auth");
        std::fs::write(&p, "a: 1\n").unwrap();
        let mut f = AuthFile::open(&p).unwrap();
        assert!(f.db().key(b"a").is_some());
        std::fs::write(&p, "b: 2\n").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(later)
            .unwrap();
        f.checked = Instant::now() - Duration::from_secs(2);
        assert!(f.refresh().unwrap());
        assert!(f.db().key(b"a").is_none());
        assert!(f.db().key(b"b").is_some());
        assert!(AuthFile::open(&dir.path().join("missing")).is_err());
    }
}
