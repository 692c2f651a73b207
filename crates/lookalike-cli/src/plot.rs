//! Plots, as SVG files (plotters' SVG backend: no fonts or system libraries).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

/// One row of the sweep: (ngram, threshold, precision, recall, F1).
type Row = (usize, f64, f64, f64, f64);
/// A line of the plot: its name, colour, and the value it takes from a row.
type Series = (&'static str, RGBColor, fn(&Row) -> f64);

/// Precision, recall and F1 against the threshold, one set of lines for the
/// recommended n-gram size (solid) and thin lines for the others; a vertical
/// rule at the recommended threshold. `rows`: (ngram, threshold, P, R, F1).
pub fn tune_svg(path: &Path, rows: &[Row], best_n: usize, best_t: f64) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("cannot draw {}: {e}", path.display());
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (lo, hi) = rows
        .iter()
        .fold((1.0f64, 0.0f64), |(l, h), r| (l.min(r.1), h.max(r.1)));
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.05, hi + 0.05)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("lookalike tune: precision and recall against the threshold (best: {best_n}-grams at {best_t:.2})"), ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi, 0.0f64..1.02)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("threshold (Jaccard similarity of shingle sets)")
        .y_desc("score")
        .draw()
        .map_err(|e| err(&e))?;
    let mut ngrams: Vec<usize> = rows.iter().map(|r| r.0).collect();
    ngrams.dedup();
    let series: [Series; 3] = [
        ("precision", RGBColor(31, 119, 180), |r| r.2),
        ("recall", RGBColor(255, 127, 14), |r| r.3),
        ("F1", RGBColor(44, 160, 44), |r| r.4),
    ];
    for &n in &ngrams {
        let width = if n == best_n { 3 } else { 1 };
        for (name, colour, get) in &series {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.0 == n)
                .map(|r| (r.1, get(r)))
                .collect();
            let style = ShapeStyle::from(colour).stroke_width(width);
            let drawn = chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| err(&e))?;
            if n == best_n {
                let c = *colour;
                drawn
                    .label(format!("{name} ({n}-grams)"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                    });
            }
        }
    }
    chart
        .draw_series(LineSeries::new(
            vec![(best_t, 0.0), (best_t, 1.02)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?
        .label(format!("recommended threshold {best_t:.2}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
