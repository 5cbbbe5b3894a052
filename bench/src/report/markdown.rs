//! `summary.md`: rebuilt from every `<scenario>.json` in a results folder, one
//! section per scenario (with the exact command), machine facts at the top.

use super::table::fmt_num;
use super::{errors_text, ms, series_cells, ScenarioReport};
use anyhow::{Context, Result};
use std::fmt::Write;
use std::path::Path;

/// Preferred section order; other scenarios follow alphabetically.
const ORDER: &[&str] = &[
    "switch-closed",
    "switch-open",
    "harness-capacity",
    "fanout",
    "idle",
    "deadline",
    "regions",
];

fn rank(name: &str) -> (usize, String) {
    let base = ORDER
        .iter()
        .position(|o| name == *o || name.starts_with(&format!("{o}-")));
    (base.unwrap_or(ORDER.len()), name.to_string())
}

/// Loads every scenario report in `dir`, in section order.
pub fn load_reports(dir: &Path) -> Result<Vec<ScenarioReport>> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "json") {
            let text = std::fs::read(&p)?;
            if let Ok(r) = serde_json::from_slice::<ScenarioReport>(&text) {
                out.push(r);
            }
        }
    }
    out.sort_by_key(|r| rank(&r.scenario));
    Ok(out)
}

/// Regenerates `<dir>/summary.md`.
pub fn write_summary(dir: &Path) -> Result<()> {
    let reports = load_reports(dir)?;
    let mut md = String::from("# SyncKairos benchmark summary\n\n");
    if let Some(m) = reports.first().map(|r| &r.machine) {
        let _ = writeln!(
            md,
            "Machine: {} cores ({}), {:.1} GiB RAM, Linux {}, git `{}`, harness {}.\n",
            m.nproc, m.cpu_model, m.mem_total_gib, m.kernel, m.git_rev, m.harness_version
        );
        if let Ok(ctx) = std::fs::read_to_string(dir.join("context.md")) {
            md.push_str(&ctx);
            md.push('\n');
        }
        md.push_str("Harness and server share this machine, so absolute figures include their contention for the cores. Latencies are in milliseconds.\n\n");
    }
    md.push_str("| scenario | target | ops/s | p50 | p99 | p99.9 | max | errors |\n|---|---|---|---|---|---|---|---|\n");
    for r in &reports {
        for t in &r.targets {
            let Some(s) = t.series.first() else { continue };
            let _ = writeln!(
                md,
                "| [{}](#{}) | {} | {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.scenario,
                t.label,
                t.throughput_rps.map_or("-".into(), |x| format!("{x:.0}")),
                ms(s.summary.p50_us),
                ms(s.summary.p99_us),
                ms(s.summary.p999_us),
                ms(s.summary.max_us),
                errors_text(&t.errors)
            );
        }
    }
    for r in &reports {
        section(&mut md, r, dir);
    }
    std::fs::write(dir.join("summary.md"), md).context("writing summary.md")?;
    Ok(())
}

fn section(md: &mut String, r: &ScenarioReport, dir: &Path) {
    let _ = writeln!(
        md,
        "\n<a id=\"{}\"></a>\n## {}: {}\n",
        r.scenario, r.scenario, r.title
    );
    let _ = writeln!(
        md,
        "Started {} and ran {:.1} s (1-min load average at the end: {:.2}). Command:\n\n```sh\n{}\n```\n",
        r.started_at, r.duration_s, r.machine.load_avg_1m, r.command
    );
    let _ = writeln!(md, "Parameters: `{}`\n", r.params);
    md.push_str("| target | series | ops/s | count | p50 | p90 | p99 | p99.9 | max | errors |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for t in &r.targets {
        for (i, s) in t.series.iter().enumerate() {
            let cells = series_cells(t, i, s).join(" | ");
            let _ = writeln!(md, "| {} ({}) | {cells} |", t.label, t.url);
        }
    }
    let extras: Vec<_> = r
        .targets
        .iter()
        .flat_map(|t| t.extra.iter().map(move |(k, v)| (t, k, v)))
        .collect();
    if !extras.is_empty() {
        md.push('\n');
        for (t, k, v) in extras {
            let _ = writeln!(md, "- {}: {k} = {}", t.label, fmt_num(*v));
        }
    }
    if !r.ratios.is_empty() {
        md.push_str("\n| figure (compare ÷ base) | base | compare | ratio |\n|---|---|---|---|\n");
        for q in &r.ratios {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.3} |",
                q.figure,
                fmt_num(q.base),
                fmt_num(q.compare),
                q.ratio
            );
        }
    }
    if !r.notes.is_empty() {
        md.push('\n');
        for n in &r.notes {
            let _ = writeln!(md, "> {n}\n");
        }
    }
    for suffix in ["latency", "timeline"] {
        let f = format!("{}-{suffix}.svg", r.scenario);
        if dir.join(&f).exists() {
            let _ = writeln!(md, "\n![{} {suffix}]({f})", r.scenario);
        }
    }
}
