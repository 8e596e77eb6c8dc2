//! Line charts as PNG files, drawn by the project (plotters' bitmap
//! backend): what BENCHMARKS.md shows and what training logs plot.
//!
//! Text is drawn with a TrueType font read at run time (plotters'
//! `ab_glyph` feature: no system font library is linked): `PMD_PLOT_FONT`
//! when set, else DejaVu Sans or Liberation Sans where Debian puts them
//! (`make setup` installs `fonts-dejavu-core`). Without a font the chart is
//! drawn without its labels. Files are written atomically.
//!
//! **Depends on** pmd-util only (atomic writes); no game or emulator types.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font once per process (for every chart the project draws,
/// here and in pmd-torch's training plot); whether one was found.
pub fn font_available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let candidates = std::env::var("PMD_PLOT_FONT")
            .ok()
            .into_iter()
            .chain(FONTS.iter().map(|s| s.to_string()));
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                // plotters keeps registered fonts for the life of the
                // process: the one font is leaked on purpose.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed.
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Nothing to draw.
    #[error("no data points to plot")]
    Empty,
}

/// One named line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// Its points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// A chart's labels and axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// The x axis label.
    pub x_label: String,
    /// The y axis label.
    pub y_label: String,
    /// A log₂ x axis (environment counts 1, 2, 4, …).
    pub log2_x: bool,
    /// A log₁₀ y axis in whole decades, for series that differ by orders
    /// of magnitude (a linear axis would flatten the slow ones onto zero).
    /// Points at or below zero are drawn at the bottom decade.
    pub log10_y: bool,
}

const WIDTH: u32 = 900;
const HEIGHT: u32 = 560;
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

/// Draws `series` as a line chart into the PNG file `path`.
pub fn line_chart(path: &Path, chart: &Chart, series: &[Series]) -> Result<(), PlotError> {
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    let mut y0_positive = f64::INFINITY;
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
        if y > 0.0 {
            y0_positive = y0_positive.min(y);
        }
    }
    if !x0.is_finite() || !x1.is_finite() {
        return Err(PlotError::Empty);
    }
    let tx = |x: f64| if chart.log2_x { x.max(1e-9).log2() } else { x };
    let (lo, hi) = (tx(x0), tx(x1).max(tx(x0) + 1e-9));
    // Whole decades on a log axis, so the gridlines fall on round numbers.
    let (y_lo, y_hi) = if chart.log10_y && y0_positive.is_finite() {
        let lo = y0_positive.log10().floor();
        (lo, y1.log10().ceil().max(lo + 1.0))
    } else if chart.log10_y {
        (0.0, 1.0)
    } else {
        (0.0, (y1 * 1.1).max(1e-9))
    };
    let ty = |y: f64| {
        if chart.log10_y {
            if y > 0.0 {
                y.log10().max(y_lo)
            } else {
                y_lo
            }
        } else {
            y
        }
    };
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    let labels = font_available();
    {
        let draw = |e: &dyn std::fmt::Display| PlotError::Draw(e.to_string());
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw(&e))?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(70);
        if labels {
            builder.caption(&chart.title, ("sans-serif", 22));
        }
        let mut ctx = builder
            .build_cartesian_2d(lo..hi, y_lo..y_hi)
            .map_err(|e| draw(&e))?;
        if labels {
            let log2 = chart.log2_x;
            let log10 = chart.log10_y;
            // On a log₂ axis, one tick per power of two, labelled with it.
            let ticks = if log2 {
                ((hi - lo).round() as usize + 1).max(2)
            } else {
                10
            };
            ctx.configure_mesh()
                .x_desc(&chart.x_label)
                .y_desc(&chart.y_label)
                .x_labels(ticks)
                .x_label_formatter(&|v| {
                    if !log2 {
                        format!("{v:.0}")
                    } else if (v - v.round()).abs() < 0.05 {
                        format!("{:.0}", 2f64.powf(v.round()))
                    } else {
                        String::new()
                    }
                })
                .y_labels(if log10 {
                    (y_hi - y_lo).round() as usize + 1
                } else {
                    10
                })
                .y_label_formatter(&|v| {
                    if !log10 {
                        format!("{v:.0}")
                    } else if (v - v.round()).abs() < 0.05 {
                        format!("{}", 10f64.powf(v.round()))
                    } else {
                        String::new()
                    }
                })
                .draw()
                .map_err(|e| draw(&e))?;
        } else {
            ctx.configure_mesh()
                .disable_x_mesh()
                .disable_y_mesh()
                .x_labels(0)
                .y_labels(0)
                .draw()
                .map_err(|e| draw(&e))?;
        }
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let line = s.points.iter().map(|&(x, y)| (tx(x), ty(y)));
            let drawn = ctx
                .draw_series(LineSeries::new(line, colour.stroke_width(3)))
                .map_err(|e| draw(&e))?;
            if labels {
                drawn.label(s.name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
            }
            ctx.draw_series(
                s.points
                    .iter()
                    .map(|&(x, y)| Circle::new((tx(x), ty(y)), 4, colour.filled())),
            )
            .map_err(|e| draw(&e))?;
        }
        if labels {
            ctx.configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.9))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    write_png(path, &pixels, (WIDTH, HEIGHT)).map_err(|source| PlotError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes an RGB pixel buffer of `size` (width, height) as a PNG file,
/// atomically.
pub fn write_png(path: &Path, pixels: &[u8], size: (u32, u32)) -> std::io::Result<()> {
    pmd_util::atomic_file::write_with(path, |file| {
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_with_the_lines_in_colour() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let chart = Chart {
            title: "steps/s".into(),
            x_label: "envs".into(),
            y_label: "steps/s".into(),
            log2_x: true,
            log10_y: false,
        };
        let series = [
            Series {
                name: "a".into(),
                points: vec![(1.0, 100.0), (2.0, 190.0), (4.0, 200.0)],
            },
            Series {
                name: "b".into(),
                points: vec![(1.0, 50.0), (4.0, 60.0)],
            },
        ];
        line_chart(&path, &chart, &series).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let blue = buf.chunks_exact(3).filter(|p| p == &[31, 119, 180]).count();
        let red = buf.chunks_exact(3).filter(|p| p == &[214, 39, 40]).count();
        assert!(blue > 500 && red > 300, "blue {blue}, red {red}");
        assert!(matches!(
            line_chart(&path, &chart, &[]),
            Err(PlotError::Empty)
        ));
    }

    /// Median row of the pixels of one colour (the legend's few pixels do
    /// not move it).
    fn median_row(path: &Path, rgb: [u8; 3]) -> usize {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let mut rows: Vec<usize> = buf
            .chunks_exact(3)
            .enumerate()
            .filter(|(_, p)| *p == rgb)
            .map(|(i, _)| i / WIDTH as usize)
            .collect();
        assert!(!rows.is_empty(), "no pixel of {rgb:?}");
        rows.sort_unstable();
        rows[rows.len() / 2]
    }

    #[test]
    fn a_log_y_axis_lifts_a_slow_series_off_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        // Two flat series three decades apart.
        let series = [
            Series {
                name: "fast".into(),
                points: vec![(1.0, 5000.0), (4.0, 5000.0)],
            },
            Series {
                name: "slow".into(),
                points: vec![(1.0, 5.0), (4.0, 5.0)],
            },
        ];
        let mut chart = Chart {
            title: "steps/s".into(),
            x_label: "envs".into(),
            y_label: "steps/s".into(),
            log2_x: true,
            log10_y: false,
        };
        let linear = dir.path().join("linear.png");
        line_chart(&linear, &chart, &series).unwrap();
        chart.log10_y = true;
        let log = dir.path().join("log.png");
        line_chart(&log, &chart, &series).unwrap();
        let red = [214, 39, 40];
        let (on_linear, on_log) = (median_row(&linear, red), median_row(&log, red));
        // Linear: 5 of 5,500 lies on the x axis. Log (1 to 10,000): 5 is
        // 17% of the way up, some 75 rows higher.
        assert!(
            on_linear > on_log + 50,
            "slow line at row {on_linear} (linear), {on_log} (log)"
        );
        // Fast above slow on both.
        let blue = [31, 119, 180];
        assert!(median_row(&log, blue) + 200 < on_log);
        // Zero and negative values have no logarithm: drawn at the bottom
        // decade rather than failing.
        let with_zero = [Series {
            name: "zero".into(),
            points: vec![(1.0, 0.0), (2.0, 10.0)],
        }];
        line_chart(&log, &chart, &with_zero).unwrap();
    }
}
