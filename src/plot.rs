//! Line charts as PNG files, drawn by the project (plotters' bitmap
//! backend): what BENCHMARKS.md shows and what training logs plot.
//!
//! Text is drawn with a TrueType font read at run time (plotters'
//! `ab_glyph` feature: no system font library is linked): `PMD_PLOT_FONT`
//! when set, else DejaVu Sans or Liberation Sans where Debian puts them
//! (`make setup` installs `fonts-dejavu-core`). Without a font the chart is
//! drawn without its labels. Files are written atomically.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

const FONTS: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a font once per process; whether one was found.
fn font_available() -> bool {
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
    for &(x, y) in points {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if !x0.is_finite() || !x1.is_finite() {
        return Err(PlotError::Empty);
    }
    let tx = |x: f64| if chart.log2_x { x.max(1e-9).log2() } else { x };
    let (lo, hi) = (tx(x0), tx(x1).max(tx(x0) + 1e-9));
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
            .build_cartesian_2d(lo..hi, 0.0..(y1 * 1.1).max(1e-9))
            .map_err(|e| draw(&e))?;
        if labels {
            let log2 = chart.log2_x;
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
                .y_label_formatter(&|v| format!("{v:.0}"))
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
            let line = s.points.iter().map(|&(x, y)| (tx(x), y));
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
                    .map(|&(x, y)| Circle::new((tx(x), y), 4, colour.filled())),
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
    let shown = path.display().to_string();
    crate::atomic_file::write_with(path, |file| {
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
    .map_err(|source| PlotError::Io {
        path: shown,
        source,
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
}
