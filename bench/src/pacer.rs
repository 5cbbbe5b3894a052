//! Precise sleeping inside tokio for the open loop: a `timerfd` (ns resolution)
//! registered with the reactor, so waking at an intended send instant costs an
//! epoll event on the same thread instead of tokio's 1 ms timer tick or a
//! cross-thread wake from an OS pacing thread.

use anyhow::{bail, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;
use tokio::io::unix::AsyncFd;

pub struct Pacer {
    fd: AsyncFd<OwnedFd>,
}

impl Pacer {
    /// A monotonic, non-blocking timerfd registered with the current runtime.
    pub fn new() -> Result<Pacer> {
        // SAFETY: timerfd_create has no memory preconditions; the fd is owned below.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            bail!("timerfd_create: {}", std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd stays open and owned by the AsyncFd for its whole life.
        let fd = unsafe { AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE) }
            .map_err(|e| anyhow::anyhow!("registering the timerfd: {e}"))?;
        Ok(Pacer { fd })
    }

    /// Returns at `t` (at once when `t` has passed).
    pub async fn sleep_until(&self, t: Instant) -> Result<()> {
        let now = Instant::now();
        if t <= now {
            return Ok(());
        }
        let d = t - now;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: valid fd and a fully initialised itimerspec.
        if unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
            != 0
        {
            bail!("timerfd_settime: {}", std::io::Error::last_os_error());
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let r = guard.try_io(|fd| {
                let mut buf = [0u8; 8];
                // SAFETY: reading 8 bytes into an 8-byte buffer.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            if let Ok(res) = r {
                res?;
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_precisely() {
        let p = Pacer::new().unwrap();
        let mut worst = Duration::ZERO;
        for _ in 0..20 {
            let t = Instant::now() + Duration::from_micros(300);
            p.sleep_until(t).await.unwrap();
            let late = Instant::now().saturating_duration_since(t);
            assert!(Instant::now() >= t);
            worst = worst.max(late);
        }
        assert!(worst < Duration::from_millis(20), "{worst:?}");
    }
}
