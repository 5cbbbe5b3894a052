//! The terminal table printed at the end of a scenario: one row per target and
//! latency series, then the scenario's extra figures and the compare ratios.

use super::{series_cells, ScenarioReport};
use std::fmt::Write;

/// Renders rows as left-aligned, space-padded columns.
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            let _ = write!(out, "{c}{}  ", " ".repeat(pad));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    out
}

/// The whole terminal block for one report.
pub fn render(r: &ScenarioReport) -> String {
    let mut rows = vec![[
        "scenario", "target", "series", "ops/s", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
        "max ms", "errors",
    ]
    .map(String::from)
    .to_vec()];
    for t in &r.targets {
        let rps = t.throughput_rps.map_or("-".into(), |x| format!("{x:.0}"));
        if t.series.is_empty() {
            rows.push(vec![
                r.scenario.clone(),
                t.label.clone(),
                "-".into(),
                rps.clone(),
                t.ok.to_string(),
            ]);
        }
        for (i, s) in t.series.iter().enumerate() {
            let mut row = vec![r.scenario.clone(), t.label.clone()];
            row.extend(series_cells(t, i, s));
            rows.push(row);
        }
    }
    let mut out = format!("\n== {} ({:.1} s) ==\n", r.title, r.duration_s);
    out.push_str(&columns(&rows));
    for t in &r.targets {
        for (k, v) in &t.extra {
            let _ = writeln!(out, "  {:<8} {k}: {}", t.label, fmt_num(*v));
        }
    }
    for q in &r.ratios {
        let _ = writeln!(
            out,
            "  ratio compare/base  {}: {} / {} = {:.3}",
            q.figure,
            fmt_num(q.base),
            fmt_num(q.compare),
            q.ratio
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out
}

/// Numbers with sensible precision for a report line.
pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}
