//! Plots (SVG, plotters, no C dependencies): the latency percentile spectrum of
//! every series of every target (`<scenario>-latency.svg`), and the per-second
//! throughput timeline where a scenario recorded one (`<scenario>-timeline.svg`).

use super::ScenarioReport;
use anyhow::{anyhow, Result};
use plotters::coord::combinators::IntoLogRange;
use plotters::prelude::*;
use std::path::Path;

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// x position of a percentile: log10(1 / (1 − p)), so 90% → 1, 99% → 2, 99.9% → 3.
fn nines(p: f64) -> f64 {
    (100.0 / (100.0 - p.min(99.9999))).log10()
}

fn e<T: std::fmt::Debug>(x: T) -> anyhow::Error {
    anyhow!("{x:?}")
}

/// Writes the plots of one report into `out`.
pub fn write_plots(r: &ScenarioReport, out: &Path) -> Result<()> {
    latency(r, &out.join(format!("{}-latency.svg", r.scenario)))?;
    if r.targets.iter().any(|t| t.timeline.len() > 1) {
        timeline(r, &out.join(format!("{}-timeline.svg", r.scenario)))?;
    }
    Ok(())
}

fn latency(r: &ScenarioReport, path: &Path) -> Result<()> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = r
        .targets
        .iter()
        .flat_map(|t| {
            t.series
                .iter()
                .filter(|s| !s.spectrum.is_empty())
                .map(move |s| {
                    // Past 1/count the percentiles carry no information: stop there.
                    let reach = (s.summary.count.max(10) as f64).log10().ceil().min(5.0);
                    let mut pts: Vec<(f64, f64)> = s
                        .spectrum
                        .iter()
                        .map(|(p, us)| (nines(*p), (*us).max(1) as f64 / 1000.0))
                        .filter(|(x, _)| *x < reach)
                        .collect();
                    pts.push((reach, s.summary.max_us.max(1) as f64 / 1000.0));
                    (format!("{} {}", t.label, s.name), pts)
                })
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let all = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut lo, mut hi, mut xmax) = (f64::MAX, 0f64, 1f64);
    for (x, y) in all {
        lo = lo.min(*y);
        hi = hi.max(*y);
        xmax = xmax.max(*x);
    }
    let root = SVGBackend::new(path, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: latency by percentile", r.scenario),
            ("sans-serif", 22),
        )
        .margin(12)
        .margin_right(36)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..xmax, ((lo / 1.3).max(0.001)..hi * 1.3).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms, log)")
        .x_labels(xmax as usize + 1)
        .x_label_formatter(&|x| {
            let p = format!("{:.4}", 100.0 - 100.0 / 10f64.powf(*x));
            format!("{}%", p.trim_end_matches('0').trim_end_matches('.'))
        })
        .y_label_formatter(&|y| format!("{y}"))
        .draw()
        .map_err(e)?;
    for (i, (name, pts)) in lines.into_iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

fn timeline(r: &ScenarioReport, path: &Path) -> Result<()> {
    let secs = r
        .targets
        .iter()
        .map(|t| t.timeline.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let top = r
        .targets
        .iter()
        .flat_map(|t| t.timeline.iter().map(|p| p.count))
        .max()
        .unwrap_or(1) as f64;
    let root = SVGBackend::new(path, (900, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: completions per second", r.scenario),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..secs, 0f64..top * 1.15)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("second of run")
        .y_desc("ops in that second")
        .y_labels(8)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(e)?;
    for (i, t) in r.targets.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = t
            .timeline
            .iter()
            .map(|p| (p.second as f64 + 0.5, p.count as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
            .map_err(e)?
            .label(t.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
