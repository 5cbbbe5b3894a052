//! Reports: the result of one scenario run (`ScenarioReport`, serialised as
//! `<out>/<scenario>.json`), the compare ratios, and `finish`, which writes the
//! JSON, the plots, prints the terminal table and regenerates `summary.md`.

mod markdown;
mod plot;
mod table;

use crate::stats::{Series, TimelinePoint};
use crate::sysinfo::Machine;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub use markdown::write_summary;

/// What one target (server) did in a scenario.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TargetResult {
    pub label: String,
    pub url: String,
    /// Successful operations per second of owned time (None where rate is meaningless).
    pub throughput_rps: Option<f64>,
    pub ok: u64,
    pub series: Vec<Series>,
    pub errors: BTreeMap<String, u64>,
    /// Scenario-specific figures (memory per connection, CPU per request…).
    pub extra: BTreeMap<String, f64>,
    pub timeline: Vec<TimelinePoint>,
}

/// compare ÷ base for one figure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ratio {
    pub figure: String,
    pub base: f64,
    pub compare: f64,
    pub ratio: f64,
}

/// One run of one scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// File stem: `switch-closed`, `fanout`, `harness-capacity`…
    pub scenario: String,
    pub title: String,
    /// The exact command line that produced it.
    pub command: String,
    pub started_at: String,
    pub duration_s: f64,
    pub params: serde_json::Value,
    pub targets: Vec<TargetResult>,
    pub ratios: Vec<Ratio>,
    pub notes: Vec<String>,
    pub machine: Machine,
}

impl ScenarioReport {
    /// A report with the command line, start time and machine facts filled in.
    pub fn new(scenario: &str, title: &str, params: serde_json::Value) -> Self {
        ScenarioReport {
            scenario: scenario.into(),
            title: title.into(),
            command: command_line(),
            started_at: crate::clock::iso_ms(crate::clock::now_us() / 1000),
            duration_s: 0.0,
            params,
            targets: vec![],
            ratios: vec![],
            notes: vec![],
            machine: Machine::read(),
        }
    }

    /// Fills `ratios` (compare ÷ base) when there are exactly two targets.
    pub fn compute_ratios(&mut self) {
        self.ratios.clear();
        let [a, b] = &self.targets[..] else { return };
        let mut push = |figure: String, x: f64, y: f64| {
            if x > 0.0 {
                self.ratios.push(Ratio {
                    figure,
                    base: x,
                    compare: y,
                    ratio: y / x,
                });
            }
        };
        if let (Some(x), Some(y)) = (a.throughput_rps, b.throughput_rps) {
            push("throughput (ops/s)".into(), x, y);
        }
        for sa in &a.series {
            if let Some(sb) = b.series.iter().find(|s| s.name == sa.name) {
                push(
                    format!("{} p50 (µs)", sa.name),
                    sa.summary.p50_us as f64,
                    sb.summary.p50_us as f64,
                );
                push(
                    format!("{} p99 (µs)", sa.name),
                    sa.summary.p99_us as f64,
                    sb.summary.p99_us as f64,
                );
            }
        }
        // Only the extras that are costs or sizes (not counts) get a ratio.
        let costly = |k: &str| {
            ["per ", "CPU", "MiB", "bytes"]
                .iter()
                .any(|w| k.contains(w))
        };
        for (k, x) in a.extra.iter().filter(|(k, _)| costly(k)) {
            if let Some(y) = b.extra.get(k) {
                push(k.clone(), *x, *y);
            }
        }
    }
}

fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes `<out>/<scenario>.json` and its plots, prints the table, regenerates summary.md.
pub fn finish(mut report: ScenarioReport, out: &Path) -> Result<()> {
    report.compute_ratios();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let json = out.join(format!("{}.json", report.scenario));
    std::fs::write(&json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    if let Err(e) = plot::write_plots(&report, out) {
        crate::progress::println(format!(
            "warning: plots for {} failed: {e:#}",
            report.scenario
        ));
    }
    println!("{}", table::render(&report));
    write_summary(out)?;
    println!("results: {} (summary.md updated)", json.display());
    Ok(())
}

/// Formats µs as milliseconds with 3 decimals.
/// The cells of one series row after the target: series, ops/s and errors (on the
/// target's first row only), count and the latency percentiles. Shared by the terminal
/// table and the Markdown summary.
pub fn series_cells(t: &TargetResult, i: usize, s: &Series) -> Vec<String> {
    let m = &s.summary;
    let first = |text: String| if i == 0 { text } else { String::new() };
    vec![
        s.name.clone(),
        first(t.throughput_rps.map_or("-".into(), |x| format!("{x:.0}"))),
        m.count.to_string(),
        ms(m.p50_us),
        ms(m.p90_us),
        ms(m.p99_us),
        ms(m.p999_us),
        ms(m.max_us),
        first(errors_text(&t.errors)),
    ]
}

pub fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// Formats an error map as `kind=count, …` (or `-`).
pub fn errors_text(e: &BTreeMap<String, u64>) -> String {
    if e.is_empty() {
        return "-".into();
    }
    e.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
