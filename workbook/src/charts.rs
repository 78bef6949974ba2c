//! Line charts as SVG (text stays text, so no font files are needed): the beta
//! schedules, alpha_bar, and the training loss.

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// One named series of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const COLOURS: [RGBColor; 6] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44), RGBColor(214, 39, 40), RGBColor(148, 103, 189), RGBColor(140, 86, 75)];

/// A chart of the series, as SVG text; `log_y` plots log10(y).
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log_y: bool) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e:?}"))?;
        let tf = |y: f64| if log_y { y.max(1e-12).log10() } else { y };
        let all = series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in all {
            let y = tf(y);
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            return Err(anyhow!("{title}: nothing to plot"));
        }
        let pad = ((y1 - y0) * 0.05).max(1e-9);
        let y_desc = if log_y { format!("log10 {y_label}") } else { y_label.to_string() };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), (y0 - pad)..(y1 + pad))
            .map_err(|e| anyhow!("{e:?}"))?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_desc).draw().map_err(|e| anyhow!("{e:?}"))?;
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().map(|&(x, y)| (x, tf(y))), colour.stroke_width(2)))
                .map_err(|e| anyhow!("{e:?}"))?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        if series.len() > 1 {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| anyhow!("{e:?}"))?;
        }
        root.present().map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(svg)
}

/// A moving average, so a noisy loss curve shows its trend.
pub fn smooth(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let w = window.max(1);
    (0..points.len())
        .map(|i| {
            let lo = i.saturating_sub(w - 1);
            let mean = points[lo..=i].iter().map(|p| p.1).sum::<f64>() / (i - lo + 1) as f64;
            (points[i].0, mean)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_svg_with_title_and_legend() {
        let s = vec![
            Series { name: "linear".into(), points: (0..10).map(|i| (i as f64, 0.1 * i as f64)).collect() },
            Series { name: "cosine".into(), points: (0..10).map(|i| (i as f64, 0.05 * i as f64)).collect() },
        ];
        let svg = line_chart("betas", "t", "beta", &s, false).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("betas") && svg.contains("cosine"));
        assert!(line_chart("empty", "x", "y", &[], false).is_err());
    }

    #[test]
    fn moving_average_by_hand() {
        let p = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)];
        assert_eq!(smooth(&p, 2), vec![(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)]);
    }
}
