//! Facts read from the OS: machine description for reports, a process's resident
//! memory and CPU time from `/proc/<pid>`, and gauges scraped from `/metrics`.

use crate::http::HttpConn;
use crate::target::Target;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The machine a run happened on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub mem_total_gib: f64,
    pub git_rev: String,
    pub harness_version: String,
    /// 1-minute load average when the report was written (other work competing for the cores).
    #[serde(default)]
    pub load_avg_1m: f64,
}

impl Machine {
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("unknown")
            .trim()
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib = field_kib(&meminfo, "MemTotal:").unwrap_or(0);
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            mem_total_gib: mem_kib as f64 / (1024.0 * 1024.0),
            git_rev: git_rev(),
            harness_version: env!("CARGO_PKG_VERSION").to_string(),
            load_avg_1m: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|l| l.split_whitespace().next()?.parse().ok())
                .unwrap_or(0.0),
        }
    }
}

fn git_rev() -> String {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let rev = run(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "no-commit".into());
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{rev}+dirty")
    } else {
        rev
    }
}

fn field_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident memory of a process in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    Ok(field_kib(&s, "VmRSS:").context("no VmRSS")? * 1024)
}

/// User+system CPU seconds used so far by a process (`/proc/<pid>/stat`).
pub fn cpu_secs(pid: u32) -> Result<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let after = s.rsplit_once(')').context("bad stat")?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        f.get(11).context("utime")?.parse::<f64>()? + f.get(12).context("stime")?.parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz.max(1.0))
}

/// CPU seconds used by this harness process.
pub fn self_cpu_secs() -> f64 {
    cpu_secs(std::process::id()).unwrap_or(0.0)
}

/// Sums the samples of a gauge in `/metrics` (all label sets); `None` when absent.
pub async fn scrape_gauge(target: &Target, name: &str) -> Option<f64> {
    let mut conn = HttpConn::new(target, Duration::from_secs(5));
    let r = conn.request("GET", "/metrics", None).await.ok()?;
    if r.status != 200 {
        return None;
    }
    parse_gauge(&String::from_utf8_lossy(&r.body), name)
}

fn parse_gauge(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let value = rest
            .rsplit_once('}')
            .map_or(rest, |(_, v)| v)
            .split_whitespace()
            .next()?;
        *found.get_or_insert(0.0) += value.parse::<f64>().ok()?;
    }
    found
}

/// Raises this process's open-file limit to its hard limit (for many sockets).
pub fn raise_nofile() -> u64 {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur
    }
}

/// Puts the calling thread (and the threads it starts afterwards) in a non-realtime
/// scheduling class: `libc::SCHED_BATCH` (woken, it waits for its turn instead of
/// preempting the running thread) or `libc::SCHED_IDLE` (it runs only on a core
/// nothing else wants).
pub fn set_sched(policy: libc::c_int) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; param is a valid sched_param.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges() {
        let t = "# HELP x\nsynckairos_websocket_connections{region=\"local\"} 12\nsynckairos_websocket_connections_total 5\nsynckairos_process_resident_memory_bytes{region=\"a\"} 1e6\n";
        assert_eq!(
            parse_gauge(t, "synckairos_websocket_connections"),
            Some(12.0)
        );
        assert_eq!(
            parse_gauge(t, "synckairos_process_resident_memory_bytes"),
            Some(1e6)
        );
        assert_eq!(parse_gauge(t, "nope"), None);
    }

    #[test]
    fn own_process() {
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
        assert!(cpu_secs(std::process::id()).is_ok());
    }
}
