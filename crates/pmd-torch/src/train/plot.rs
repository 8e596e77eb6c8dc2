//! A PNG of the training curves: episode return, progress (floor),
//! entropy and approximate KL against environment steps, four panels.
//!
//! plotters draws into a pixel buffer that is PNG-encoded and written
//! atomically; the font and the PNG writing are [`pmd_plot`]'s (without
//! a font the curves are drawn without labels).

use std::path::Path;

use plotters::prelude::*;

use super::driver::UpdateReport;
use super::TrainError;

/// Plot size in pixels.
pub const SIZE: (u32, u32) = (1200, 800);

/// Writes the four curves of `reports` to `path` (PNG), atomically. NaN
/// points (rollouts where no episode ended) are left out.
pub fn plot_training(reports: &[UpdateReport], path: &Path) -> Result<(), TrainError> {
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    draw(reports, &mut pixels, pmd_plot::font_available()).map_err(TrainError::Plot)?;
    pmd_plot::write_png(path, &pixels, SIZE).map_err(|e| TrainError::io(path, e))
}

type Series = (&'static str, fn(&UpdateReport) -> f64);

fn draw(reports: &[UpdateReport], pixels: &mut [u8], text: bool) -> Result<(), String> {
    let series: [Series; 4] = [
        ("episode return", |r| r.mean_return),
        ("deepest floor (episode progress)", |r| r.mean_progress),
        ("entropy", |r| r.stats.entropy),
        ("approx. KL", |r| r.stats.approx_kl),
    ];
    let root = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let x_max = reports
        .iter()
        .map(|r| r.env_steps as f64)
        .fold(1.0, f64::max);
    for (area, (title, value)) in root.split_evenly((2, 2)).iter().zip(series) {
        let points: Vec<(f64, f64)> = reports
            .iter()
            .map(|r| (r.env_steps as f64, value(r)))
            .filter(|(_, y)| y.is_finite())
            .collect();
        let (lo, hi) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.05).max(1e-6);
        let mut builder = ChartBuilder::on(area);
        builder.margin(12);
        if text {
            builder
                .caption(title, ("sans-serif", 22))
                .x_label_area_size(32)
                .y_label_area_size(60);
        }
        let mut chart = builder
            .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_desc("environment steps");
        } else {
            mesh.x_labels(0).y_labels(0);
        }
        mesh.draw().map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_the_curves() {
        let dir = tempfile::tempdir().unwrap();
        let reports: Vec<UpdateReport> = (1..=20)
            .map(|u| UpdateReport {
                update: u,
                env_steps: u as u64 * 256,
                episodes: 3,
                mean_return: if u == 4 { f64::NAN } else { (u as f64).sqrt() },
                mean_progress: u as f64 / 5.0,
                ..Default::default()
            })
            .collect();
        let path = dir.path().join("curves.png");
        plot_training(&reports, &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), SIZE);
        let blue = buf.chunks_exact(3).filter(|p| p == &[0, 0, 255]).count();
        assert!(blue > 1000, "{blue} blue pixels: no curves drawn");
        // Unlabelled drawing works too (machines without fonts).
        let mut bare = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        draw(&reports, &mut bare, false).unwrap();
        assert!(bare.chunks_exact(3).any(|p| p == [0, 0, 255]));
        // Only the plot is left in the directory: no temporary file.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
