//! The in-process design: [`Env`] in this process, one thread per
//! environment, frames read through the framebuffer pointer.

use super::*;

/// Which frames the in-process design renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    /// Every frame, as the servers do.
    EveryFrame,
    /// Only one frame per step, the one the agent fetches.
    ObservedOnly,
}

/// The in-process design: `envs` threads, each an [`Env`] played by the
/// heuristic for `steps` steps. Kept in one function so it can be
/// re-pointed at another rollout API.
pub fn inprocess_path(
    rom: &Rom,
    seed: u32,
    envs: usize,
    steps: u64,
    rendering: Rendering,
) -> Result<PathReport, BenchError> {
    reset_peak_rss();
    let cpu_before = cpu_seconds(None);
    let started = Instant::now();
    let results: Vec<Result<EnvRun, BenchError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..envs)
            .map(|i| {
                scope.spawn(move || {
                    inprocess_env(rom, seed.wrapping_add(i as u32), steps, rendering)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(BenchError::NoRss)))
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(None).map(|after| after - cpu_before.unwrap_or(after));
    let mut all = EnvRun::default();
    for run in results {
        all.merge(run?);
    }
    let peak = peak_rss(None).unwrap_or(0);
    Ok(all.report(envs, seconds, cpu.unwrap_or(0.0), peak))
}

pub(super) fn inprocess_env(
    rom: &Rom,
    seed: u32,
    steps: u64,
    rendering: Rendering,
) -> Result<EnvRun, BenchError> {
    let config = EnvConfig {
        render: rendering == Rendering::EveryFrame,
        ..EnvConfig::default()
    };
    let mut env = Env::new(rom, config)?;
    env.reset(seed)?;
    let policy = Heuristic::default();
    let mut state = DungeonState::new();
    let mut rgb = vec![0u8; crate::emu::SCREEN_WIDTH * crate::emu::SCREEN_HEIGHT * 3];
    let mut run = EnvRun::default();
    let mut episode = 0u32;
    for _ in 0..steps {
        let t0 = Instant::now();
        // The state read: the decoder over live EWRAM (what the socket
        // client does over received bytes).
        let decoded = DungeonView::of(env.emulator())
            .and_then(|view| state.decode(&view))
            .is_ok();
        let t1 = Instant::now();
        if rendering == Rendering::ObservedOnly {
            // The game waits for input; one more frame, drawn.
            let emu = env.emulator_mut();
            emu.set_rendering(true);
            emu.run_frame();
            emu.set_rendering(false);
            run.frames += 1;
        }
        rgb_into(env.emulator().frame(), &mut rgb);
        // The pixels are the output: without this the compiler may drop
        // the conversion, since nothing here reads them.
        std::hint::black_box(&mut rgb);
        let t2 = Instant::now();
        let action = if decoded {
            legal_or_fallback(env.action_mask(), policy.decide(&state, env.action_mask()))
        } else {
            Action::Wait
        };
        let t3 = Instant::now();
        let result = env.step(action)?;
        let t4 = Instant::now();
        run.record(&StepTimes {
            state_read: t1 - t0,
            frame_fetch: t2 - t1,
            press: t4 - t3,
            total: t4 - t0,
            action,
            ram_bytes: crate::game::ram_map::dungeon::SIZE,
            decoded,
        });
        run.frames += u64::from(result.frames);
        if result.done() {
            episode += 1;
            env.reset(seed.wrapping_add(episode.wrapping_mul(7919)))?;
        }
    }
    Ok(run)
}

/// The framebuffer (`0x00BBGGRR` pixels) as packed RGB into a buffer of
/// exactly three bytes per pixel: what the socket client gets from its
/// PNG, without the PNG.
pub fn rgb_into(frame: &[u32], out: &mut [u8]) {
    // Four pixels (the low three bytes of each word) make three words.
    let mut quads = out.chunks_exact_mut(12).zip(frame.chunks_exact(4));
    for (dst, px) in &mut quads {
        let p = |i: usize| px[i] & 0x00FF_FFFF;
        let words = [
            p(0) | p(1) << 24,
            p(1) >> 8 | p(2) << 16,
            p(2) >> 16 | p(3) << 8,
        ];
        for (d, w) in dst.chunks_exact_mut(4).zip(words) {
            d.copy_from_slice(&w.to_le_bytes());
        }
    }
    let done = frame.len() / 4 * 4;
    for (rgb, &pixel) in out[done * 3..].chunks_exact_mut(3).zip(&frame[done..]) {
        rgb.copy_from_slice(&pixel.to_le_bytes()[..3]);
    }
}

// ---------------------------------------------------------------------------
// Socket designs

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_matches_the_png_path() {
        let frame: Vec<u32> = (0..240 * 160u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .collect();
        let mut slow = Vec::new();
        crate::screenshot::frame_to_rgb(&frame, &mut slow);
        let mut fast = vec![0u8; slow.len()];
        rgb_into(&frame, &mut fast);
        assert_eq!(fast, slow);
    }
}
