//! Framebuffer pictures: PNG encoding and atomic writes to disk.

use std::io;
use std::path::Path;

use crate::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// Why a screenshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScreenshotError {
    /// The frame does not have 240x160 pixels.
    #[error("frame has {0} pixels, expected 240x160")]
    WrongSize(usize),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
    /// Writing the file failed.
    #[error("{path}: cannot write: {source}")]
    Io {
        /// The file being written.
        path: String,
        /// The operating system's reason.
        source: io::Error,
    },
}

/// Converts a framebuffer (`0x00BBGGRR` pixels) to packed RGB bytes.
pub fn frame_to_rgb(frame: &[u32], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(frame.len() * 3);
    for &pixel in frame {
        let [r, g, b, _] = pixel.to_le_bytes();
        out.extend_from_slice(&[r, g, b]);
    }
}

/// Encodes a 240x160 framebuffer as a PNG image.
pub fn encode_png(frame: &[u32]) -> Result<Vec<u8>, ScreenshotError> {
    if frame.len() != SCREEN_WIDTH * SCREEN_HEIGHT {
        return Err(ScreenshotError::WrongSize(frame.len()));
    }
    let mut rgb = Vec::new();
    frame_to_rgb(frame, &mut rgb);
    let mut png_bytes = Vec::new();
    {
        let mut encoder =
            png::Encoder::new(&mut png_bytes, SCREEN_WIDTH as u32, SCREEN_HEIGHT as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
    }
    Ok(png_bytes)
}

/// Writes a framebuffer as a PNG file atomically (temporary file in the
/// same directory, then rename): a reader never sees half a picture.
pub fn write_png(frame: &[u32], path: &Path) -> Result<(), ScreenshotError> {
    let bytes = encode_png(frame)?;
    pmd_util::atomic_file::write(path, &bytes).map_err(|source| ScreenshotError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_pixels() {
        let mut frame = vec![0u32; SCREEN_WIDTH * SCREEN_HEIGHT];
        frame[0] = 0x00_33_22_11; // r=0x11 g=0x22 b=0x33
        frame[SCREEN_WIDTH * SCREEN_HEIGHT - 1] = 0x00_FF_FF_FF;
        let bytes = encode_png(&frame).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (240, 160));
        assert_eq!(&buf[..3], &[0x11, 0x22, 0x33]);
        assert_eq!(&buf[buf.len() - 3..], &[0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn wrong_size_is_an_error() {
        assert!(matches!(
            encode_png(&[0u32; 10]),
            Err(ScreenshotError::WrongSize(10))
        ));
    }
}
