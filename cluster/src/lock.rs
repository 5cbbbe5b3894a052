//! A lock held through `flock(2)` on a file: one world at a time on this machine
//! (tests in separate processes, `cargo test` threads, two test runs), one
//! `synckairos-cluster` command at a time on a state dir. The kernel drops the lock
//! with the last descriptor, so a killed holder never leaves it stuck. Locks
//! nothing else.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use anyhow::Context;

/// Held until dropped.
pub struct FileLock {
    _file: File,
}

fn open(path: &Path) -> anyhow::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

fn flock(file: &File, op: i32) -> std::io::Result<()> {
    loop {
        // SAFETY: flock(2) on a descriptor this function borrows; no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl FileLock {
    /// Waits for the lock on `path`. Every call opens the file anew, so two threads
    /// of one process exclude each other too.
    pub fn acquire(path: &Path) -> anyhow::Result<FileLock> {
        let file = open(path)?;
        flock(&file, libc::LOCK_EX).with_context(|| format!("locking {}", path.display()))?;
        Ok(FileLock { _file: file })
    }

    /// The lock if it is free now, else `None`.
    pub fn try_acquire(path: &Path) -> anyhow::Result<Option<FileLock>> {
        let file = open(path)?;
        match flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e).with_context(|| format!("locking {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_holder_waits_for_the_first() {
        let path = std::env::temp_dir().join(format!("synckairos-lock-{}", std::process::id()));
        let first = super::FileLock::acquire(&path).unwrap();
        assert!(super::FileLock::try_acquire(&path).unwrap().is_none());
        drop(first);
        assert!(super::FileLock::try_acquire(&path).unwrap().is_some());
        let _ = std::fs::remove_file(path);
    }
}
