//! Screenshots as PNG, optionally scaled up (nearest neighbour).

use pmd_mgba::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// The most a screenshot is scaled.
pub(crate) const MAX_SCALE: u32 = 4;

/// `frame` (240 x 160 `0x00BBGGRR` pixels) as a PNG, each pixel `scale` x
/// `scale`.
pub(crate) fn png(frame: &[u32], scale: u32) -> Result<Vec<u8>, String> {
    let s = scale.clamp(1, MAX_SCALE) as usize;
    let (w, h) = (SCREEN_WIDTH * s, SCREEN_HEIGHT * s);
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = &frame[(y / s) * SCREEN_WIDTH..(y / s + 1) * SCREEN_WIDTH];
        for x in 0..w {
            let [r, g, b, _] = row[x / s].to_le_bytes();
            rgb.extend_from_slice(&[r, g, b]);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}
