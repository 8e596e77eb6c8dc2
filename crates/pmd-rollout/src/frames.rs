//! Downsampled pixel observations: the 240x160 framebuffer averaged over
//! 2x2 blocks into 120x80 grey levels.

use pmd_mgba::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// Width of a downsampled frame.
pub const WIDTH: usize = SCREEN_WIDTH / 2;
/// Height of a downsampled frame.
pub const HEIGHT: usize = SCREEN_HEIGHT / 2;
/// Bytes of one downsampled frame (`[1, 80, 120]`).
pub const LEN: usize = WIDTH * HEIGHT;

fn grey(pixel: u32) -> u32 {
    let [r, g, b, _] = pixel.to_le_bytes();
    // integer luma, weights 0.299/0.587/0.114 scaled by 256
    (77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8
}

/// Writes the grey 120x80 version of `frame` (240x160 `0x00BBGGRR`) into
/// `out` (`LEN` bytes), row-major.
pub fn downsample(frame: &[u32], out: &mut [u8]) {
    for (y, row) in out[..LEN].chunks_exact_mut(WIDTH).enumerate() {
        let top = &frame[2 * y * SCREEN_WIDTH..(2 * y + 1) * SCREEN_WIDTH];
        let bottom = &frame[(2 * y + 1) * SCREEN_WIDTH..(2 * y + 2) * SCREEN_WIDTH];
        for (x, dst) in row.iter_mut().enumerate() {
            let sum = grey(top[2 * x])
                + grey(top[2 * x + 1])
                + grey(bottom[2 * x])
                + grey(bottom[2 * x + 1]);
            *dst = (sum / 4) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_two_by_two_blocks() {
        let mut frame = vec![0u32; SCREEN_WIDTH * SCREEN_HEIGHT];
        // top-left block: two white pixels of four
        frame[0] = 0x00FF_FFFF;
        frame[SCREEN_WIDTH + 1] = 0x00FF_FFFF;
        let mut out = vec![0u8; LEN];
        downsample(&frame, &mut out);
        assert_eq!(out[0], 127);
        assert!(out[1..].iter().all(|&v| v == 0));
    }
}
