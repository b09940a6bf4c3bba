//! Re-reading small kernel-generated files (`/proc`, `/sys`) every interval
//! without reopening them.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// First buffer size: most `/proc` files a read plugin parses fit in a page.
const INITIAL_CAPACITY: usize = 4096;

/// A kernel-generated text file (`/proc/stat`, `/proc/meminfo`, ...) kept open
/// and re-read from offset 0 with `pread(2)` into a buffer kept between
/// reads, so that a read plugin's per-interval read costs a couple of
/// syscalls and no allocation instead of an open, a series of growing reads
/// and a close. Files that are not on procfs or sysfs (a regular
/// `/etc/mtab`, test fixtures) are reopened for every read, so a replaced
/// file is always seen, as with `std::fs::read_to_string`.
#[derive(Debug)]
pub struct ProcFile {
    path: PathBuf,
    /// The descriptor kept between reads (only for procfs and sysfs).
    file: Option<File>,
    /// The last content in `buf[..len]`; `buf` is zero-filled beyond it.
    buf: Vec<u8>,
    len: usize,
}

impl ProcFile {
    /// A reader for `path`; nothing is opened before the first read.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ProcFile {
            path: path.into(),
            file: None,
            buf: Vec::new(),
            len: 0,
        }
    }

    /// The path this reads, for error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's whole current content (opened on first use, or again
    /// after an error on the kept descriptor).
    pub fn read(&mut self) -> io::Result<&[u8]> {
        let (file, fresh) = match self.file.take() {
            Some(f) => (f, false),
            None => (File::open(&self.path)?, true),
        };
        match self.fill(&file) {
            Ok(()) => {
                if !fresh || on_kernel_fs(&file) {
                    self.file = Some(file);
                }
                Ok(&self.buf[..self.len])
            }
            // A kept descriptor that fails is dropped and the file reopened
            // once; a fresh one reports its error.
            Err(_) if !fresh => {
                drop(file);
                self.read()
            }
            Err(e) => Err(e),
        }
    }

    /// The content if it may have changed since the last read, `None` if the
    /// kernel says it has not. Only for the files that signal a change with
    /// `POLLPRI` (the mount tables `/proc/self/mounts` and `mountinfo`,
    /// `/proc/swaps`, `/proc/mdstat`): on any other kept file it would never
    /// read again. Files that are not kept open are read every time.
    pub fn read_if_changed(&mut self) -> io::Result<Option<&[u8]>> {
        if let Some(f) = &self.file {
            let mut pfd = libc::pollfd {
                fd: f.as_raw_fd(),
                events: libc::POLLPRI,
                revents: 0,
            };
            // SAFETY: one valid pollfd on a descriptor `self.file` keeps
            // open; a zero timeout never blocks.
            let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
            let signalled = pfd.revents & (libc::POLLPRI | libc::POLLERR) != 0;
            if rc >= 0 && !signalled {
                return Ok(None);
            }
        }
        self.read().map(Some)
    }

    /// Like [`ProcFile::read`], as text; invalid UTF-8 is an error, as with
    /// `std::fs::read_to_string`.
    pub fn read_str(&mut self) -> io::Result<&str> {
        utf8(self.read()?)
    }

    /// Like [`ProcFile::read_if_changed`], as text.
    pub fn read_str_if_changed(&mut self) -> io::Result<Option<&str>> {
        self.read_if_changed()?.map(utf8).transpose()
    }

    /// Reads from offset 0 to end of file into `buf`, growing it as needed.
    fn fill(&mut self, file: &File) -> io::Result<()> {
        if self.buf.is_empty() {
            self.buf.resize(INITIAL_CAPACITY, 0);
        }
        self.len = 0;
        loop {
            if self.len == self.buf.len() {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
            match file.read_at(&mut self.buf[self.len..], self.len as u64) {
                Ok(0) => return Ok(()),
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.len = 0;
                    return Err(e);
                }
            }
        }
    }
}

fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// True for files on procfs or sysfs, whose content the kernel regenerates
/// on every read from offset 0, so keeping the descriptor is safe.
fn on_kernel_fs(file: &File) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: fstatfs writes a `struct statfs` into the zeroed, properly
    // sized and aligned buffer, on a descriptor `file` keeps open.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: fstatfs succeeded, so the struct is initialised.
    let st = unsafe { st.assume_init() };
    st.f_type == libc::PROC_SUPER_MAGIC || st.f_type == libc::SYSFS_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_mount_is_signalled() {
        // In a mount namespace of this thread alone; needs CAP_SYS_ADMIN.
        let seen = std::thread::spawn(|| -> Option<bool> {
            // SAFETY: unshare and mount with valid NUL-terminated strings;
            // they only change this thread's own new mount namespace.
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return None;
                }
                let private = libc::MS_REC | libc::MS_PRIVATE;
                let root = c"/".as_ptr();
                if libc::mount(
                    c"none".as_ptr(),
                    root,
                    std::ptr::null(),
                    private,
                    std::ptr::null(),
                ) != 0
                {
                    return None;
                }
            }
            let dir = std::env::temp_dir().join(format!("rcollectd-pf-mnt-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut f = ProcFile::new("/proc/thread-self/mounts");
            assert!(f.read_if_changed().unwrap().is_some());
            assert_eq!(f.read_if_changed().unwrap(), None);
            let target = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
            // SAFETY: as above.
            let rc = unsafe {
                libc::mount(
                    c"tmpfs".as_ptr(),
                    target.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                )
            };
            assert_eq!(rc, 0, "mount tmpfs");
            let text = f.read_if_changed().unwrap().map(|b| b.to_vec());
            // SAFETY: unmounting what this thread mounted.
            unsafe { libc::umount(target.as_ptr()) };
            let _ = std::fs::remove_dir(&dir);
            let text = String::from_utf8(text.expect("the mount is signalled")).unwrap();
            Some(text.contains(dir.to_str().unwrap()))
        })
        .join()
        .unwrap();
        match seen {
            Some(found) => assert!(found, "the new mount is in the table read"),
            None => eprintln!("skipped: no CAP_SYS_ADMIN for a private mount namespace"),
        }
    }

    #[test]
    fn the_mount_table_is_read_again_only_when_it_changes() {
        let mut f = ProcFile::new("/proc/self/mounts");
        let first = f.read_if_changed().unwrap().expect("the first read reads");
        assert!(!first.is_empty());
        assert_eq!(f.read_if_changed().unwrap(), None, "nothing was mounted");
        // A file that is not kept open is read every time.
        let path = std::env::temp_dir().join(format!("rcollectd-pf-{}", std::process::id()));
        std::fs::write(&path, "a\n").unwrap();
        let mut g = ProcFile::new(&path);
        assert_eq!(g.read_if_changed().unwrap(), Some(&b"a\n"[..]));
        std::fs::write(&path, "bb\n").unwrap();
        assert_eq!(g.read_if_changed().unwrap(), Some(&b"bb\n"[..]));
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn rereads_proc_files_through_the_kept_descriptor() {
        let mut f = ProcFile::new("/proc/self/stat");
        let first = f.read_str().unwrap().to_owned();
        assert!(f.file.is_some(), "a procfs descriptor is kept");
        let second = f.read_str().unwrap().to_owned();
        let pid = std::process::id().to_string();
        assert!(first.starts_with(&pid) && second.starts_with(&pid));
    }

    #[test]
    fn larger_than_the_first_buffer_is_read_whole() {
        let dir = tempfile_dir();
        let path = dir.join("big");
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        assert!(text.len() > 2 * INITIAL_CAPACITY);
        std::fs::write(&path, &text).unwrap();
        let mut f = ProcFile::new(&path);
        assert_eq!(f.read_str().unwrap(), text);
        // procfs returns at most a page per read: smaps takes several.
        let mut f = ProcFile::new("/proc/self/smaps");
        let smaps = f.read_str().unwrap();
        assert!(smaps.len() > INITIAL_CAPACITY && smaps.ends_with('\n'));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn regular_files_are_reopened_and_changes_seen() {
        let dir = tempfile_dir();
        let path = dir.join("mtab");
        std::fs::write(&path, "one\n").unwrap();
        let mut f = ProcFile::new(&path);
        assert_eq!(f.read_str().unwrap(), "one\n");
        assert!(f.file.is_none(), "a regular file is not kept open");
        // Replaced, as a rewritten /etc/mtab would be.
        let tmp = dir.join("mtab.new");
        std::fs::write(&tmp, "two lines\nhere\n").unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(f.read_str().unwrap(), "two lines\nhere\n");
        std::fs::write(&path, "1").unwrap();
        assert_eq!(f.read_str().unwrap(), "1");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_and_invalid_utf8_are_errors() {
        let mut f = ProcFile::new("/nonexistent/rcollectd-procfile");
        assert_eq!(f.read().unwrap_err().kind(), io::ErrorKind::NotFound);
        let dir = tempfile_dir();
        let path = dir.join("bin");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let mut f = ProcFile::new(&path);
        assert_eq!(f.read_str().unwrap_err().kind(), io::ErrorKind::InvalidData);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rcollectd-procfile-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
