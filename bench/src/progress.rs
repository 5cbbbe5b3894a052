//! Progress display: indicatif bars for setup phases (counted) and timed runs
//! (elapsed against duration, with a live message such as the request rate).

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::sync::OnceLock;
use std::time::Duration;

fn multi() -> &'static MultiProgress {
    static M: OnceLock<MultiProgress> = OnceLock::new();
    M.get_or_init(MultiProgress::new)
}

/// A bar counting `len` items (sessions created, sockets opened…).
pub fn counter(len: u64, what: &str) -> ProgressBar {
    let pb = multi().add(ProgressBar::new(len));
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// A bar that fills over `secs` seconds; callers update the message with live figures.
pub fn timed(secs: f64, what: &str) -> ProgressBar {
    let pb = multi().add(ProgressBar::new((secs * 10.0).ceil() as u64));
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:30}] {elapsed:>4} {msg}")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// Prints a line above the bars (or plainly when there are none).
pub fn println(line: impl AsRef<str>) {
    let _ = multi().println(line.as_ref());
}
