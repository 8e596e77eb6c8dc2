//! Line charts as PNG files for BENCHMARKS.md, drawn with `plotters`'
//! raster backend. `plotters` needs a font library (and system fonts) to
//! draw text; to need neither, labels are drawn here from a small 5x7
//! pixel font.

use std::path::Path;

use plotters::prelude::*;

/// One line of the chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text (lowercase letters, digits, ` ./-()`).
    pub name: String,
    /// Line colour.
    pub color: (u8, u8, u8),
    /// Points, x ascending; y must be positive (log scale).
    pub points: Vec<(f64, f64)>,
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No positive data.
    #[error("nothing to plot")]
    Empty,
    /// Drawing failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// Encoding or writing the PNG failed.
    #[error("{0}")]
    Write(String),
}

const WIDTH: u32 = 800;
/// Height of the chart without its legend (which goes underneath).
const CHART_HEIGHT: u32 = 480;
/// Height of one legend row.
const LEGEND_ROW: u32 = 22;
const SCALE: i32 = 2;

/// Draws `series` (x linear, y logarithmic) with a title and axis labels
/// and writes it as a PNG file (atomically).
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points.filter(|p| p.1 > 0.0) {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        return Err(PlotError::Empty);
    }
    if x_min == x_max {
        x_min -= 1.0;
        x_max += 1.0;
    }
    // Whole decades, so the gridlines fall on round numbers.
    let y_lo = 10f64.powf(y_min.log10().floor());
    let y_hi = 10f64.powf(y_max.log10().ceil().max(y_lo.log10() + 1.0));
    let height = CHART_HEIGHT + LEGEND_ROW * series.len() as u32 + 10;
    let mut buffer = vec![0u8; (WIDTH * height * 3) as usize];
    {
        let draw = |e: DrawingAreaErrorKind<_>| PlotError::Draw(format!("{e:?}"));
        let root = BitMapBackend::with_buffer(&mut buffer, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw)?;
        let (left, right, top) = (90, 30, 50);
        let bottom = 60 + (height - CHART_HEIGHT) as i32;
        let mut chart = ChartBuilder::on(&root)
            .margin_left(left)
            .margin_right(right)
            .margin_top(top)
            .margin_bottom(bottom)
            .build_cartesian_2d(x_min..x_max, (y_lo..y_hi).log_scale())
            .map_err(draw)?;
        let grey = RGBColor(220, 220, 220);
        // Gridlines and axes by hand: the mesh's labels would need a font.
        let mut decade = y_lo;
        while decade <= y_hi * 1.0001 {
            chart
                .draw_series(LineSeries::new([(x_min, decade), (x_max, decade)], grey))
                .map_err(draw)?;
            let (px, py) = chart.backend_coord(&(x_min, decade));
            let label = format_number(decade);
            text(&root, px - 8 - text_width(&label), py - 7, &label, &BLACK);
            decade *= 10.0;
        }
        let ticks: Vec<f64> = {
            let mut xs: Vec<f64> = series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0))
                .collect();
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            xs
        };
        for &x in &ticks {
            chart
                .draw_series(LineSeries::new([(x, y_lo), (x, y_hi)], grey))
                .map_err(draw)?;
            let (px, py) = chart.backend_coord(&(x, y_lo));
            let label = format_number(x);
            text(&root, px - text_width(&label) / 2, py + 8, &label, &BLACK);
        }
        chart
            .draw_series(LineSeries::new([(x_min, y_lo), (x_max, y_lo)], BLACK))
            .map_err(draw)?;
        chart
            .draw_series(LineSeries::new([(x_min, y_lo), (x_min, y_hi)], BLACK))
            .map_err(draw)?;
        for s in series {
            let color = RGBColor(s.color.0, s.color.1, s.color.2);
            let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| p.1 > 0.0).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))
                .map_err(draw)?;
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 5, color.filled())))
                .map_err(draw)?;
        }
        // Title, axis labels, legend.
        text(
            &root,
            (WIDTH as i32 - text_width(title)) / 2,
            14,
            title,
            &BLACK,
        );
        text(
            &root,
            (WIDTH as i32 - text_width(x_label)) / 2,
            CHART_HEIGHT as i32 - 26,
            x_label,
            &BLACK,
        );
        vertical_text(
            &root,
            12,
            (CHART_HEIGHT as i32 + text_width(y_label)) / 2,
            y_label,
            &BLACK,
        );
        // The legend goes under the chart, where it hides no data.
        let mut ly = CHART_HEIGHT as i32 + 4;
        for s in series {
            let color = RGBColor(s.color.0, s.color.1, s.color.2);
            let lx = left + 20;
            root.draw(&Rectangle::new(
                [(lx, ly + 4), (lx + 24, ly + 9)],
                color.filled(),
            ))
            .map_err(draw)?;
            text(&root, lx + 32, ly, &s.name, &BLACK);
            ly += LEGEND_ROW as i32;
        }
        root.present().map_err(draw)?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| PlotError::Write(e.to_string()))?;
        writer
            .write_image_data(&buffer)
            .map_err(|e| PlotError::Write(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| PlotError::Write(e.to_string()))?;
    }
    crate::atomic_file::write(path, &png_bytes)
        .map_err(|e| PlotError::Write(format!("{}: {e}", path.display())))
}

/// `1000` → "1000", `0.5` → "0.5", `20000` → "20000".
fn format_number(v: f64) -> String {
    if v >= 1.0 && v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Pixels a label takes horizontally.
fn text_width(s: &str) -> i32 {
    s.chars().count() as i32 * 6 * SCALE
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn text(area: &Area<'_>, x: i32, y: i32, s: &str, color: &RGBColor) {
    for (i, c) in s.chars().enumerate() {
        let rows = glyph(c);
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let px = x + (i as i32 * 6 + col) * SCALE;
                    let py = y + row as i32 * SCALE;
                    let _ = area.draw(&Rectangle::new(
                        [(px, py), (px + SCALE - 1, py + SCALE - 1)],
                        color.filled(),
                    ));
                }
            }
        }
    }
}

/// Text rotated a quarter turn anticlockwise, read bottom to top from
/// (`x`, `y`).
fn vertical_text(area: &Area<'_>, x: i32, y: i32, s: &str, color: &RGBColor) {
    for (i, c) in s.chars().enumerate() {
        let rows = glyph(c);
        for (row, bits) in rows.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) != 0 {
                    let px = x + row as i32 * SCALE;
                    let py = y - (i as i32 * 6 + col) * SCALE;
                    let _ = area.draw(&Rectangle::new(
                        [(px, py), (px + SCALE - 1, py + SCALE - 1)],
                        color.filled(),
                    ));
                }
            }
        }
    }
}

/// A 5x7 glyph, one byte per row, bit 4 the leftmost pixel. Unknown
/// characters draw as a small box.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_lowercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'b' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        'c' => [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'g' => [0x00, 0x00, 0x0F, 0x11, 0x0F, 0x01, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        'i' => [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E],
        'j' => [0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'n' => [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
        'o' => [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E],
        'p' => [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        'q' => [0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        's' => [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        'u' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D],
        'v' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'w' => [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A],
        'x' => [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        'y' => [0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'z' => [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        ' ' => [0; 7],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        '=' => [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        _ => [0x00, 0x1F, 0x11, 0x11, 0x11, 0x1F, 0x00],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        let series = vec![
            Series {
                name: "fast".into(),
                color: (200, 0, 0),
                points: vec![(1.0, 1000.0), (2.0, 1900.0), (4.0, 2000.0)],
            },
            Series {
                name: "slow".into(),
                color: (0, 0, 200),
                points: vec![(1.0, 10.0), (2.0, 18.0), (4.0, 19.0)],
            },
        ];
        line_chart(&path, "steps/s", "envs", "steps/s (log)", &series).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (info.width, info.height),
            (WIDTH, CHART_HEIGHT + 2 * LEGEND_ROW + 10)
        );
        let count = |rgb: [u8; 3]| pixels.chunks(3).filter(|p| *p == rgb).count();
        // Both lines are drawn, and so is black text.
        assert!(count([200, 0, 0]) > 100);
        assert!(count([0, 0, 200]) > 100);
        assert!(count([0, 0, 0]) > 500);
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = line_chart(&dir.path().join("p.png"), "t", "x", "y", &[]);
        assert!(matches!(err, Err(PlotError::Empty)));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(format_number(1000.0), "1000");
        assert_eq!(format_number(0.1), "0.1");
        assert_eq!(format_number(10.0), "10");
    }
}
