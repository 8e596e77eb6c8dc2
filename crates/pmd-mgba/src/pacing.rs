//! Frame pacing: run as fast as possible, or hold the GBA's real rate.

use std::time::{Duration, Instant};

use crate::GBA_FPS;

/// How fast frames are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// As fast as the host can (the default: what agents want).
    #[default]
    None,
    /// 59.73 frames per second, like the desktop app.
    Realtime,
}

impl std::str::FromStr for Pace {
    type Err = String;

    fn from_str(s: &str) -> Result<Pace, String> {
        match s {
            "none" => Ok(Pace::None),
            "realtime" => Ok(Pace::Realtime),
            other => Err(format!("unknown pace {other:?} (realtime or none)")),
        }
    }
}

/// Keeps frames on a real-time schedule when [`Pace::Realtime`].
#[derive(Debug)]
pub struct Pacer {
    pace: Pace,
    period: Duration,
    next: Instant,
}

/// How far behind schedule the pacer may fall before it stops catching up
/// (after a stall it resumes at the normal rate rather than racing).
const MAX_LAG: Duration = Duration::from_millis(100);

impl Pacer {
    /// A pacer starting now.
    pub fn new(pace: Pace) -> Pacer {
        Pacer {
            pace,
            period: Duration::from_secs_f64(1.0 / GBA_FPS),
            next: Instant::now(),
        }
    }

    /// The pace.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// When the next frame is due (now, when unpaced).
    pub fn deadline(&self) -> Instant {
        match self.pace {
            Pace::None => Instant::now(),
            Pace::Realtime => self.next,
        }
    }

    /// Records that a frame was run and schedules the next one.
    pub fn frame_done(&mut self) {
        if self.pace == Pace::Realtime {
            self.next += self.period;
            let now = Instant::now();
            if now > self.next + MAX_LAG {
                self.next = now;
            }
        }
    }

    /// Sleeps until the next frame is due.
    pub fn wait(&self) {
        if self.pace == Pace::Realtime {
            let now = Instant::now();
            if self.next > now {
                std::thread::sleep(self.next - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_paces() {
        assert_eq!("none".parse::<Pace>(), Ok(Pace::None));
        assert_eq!("realtime".parse::<Pace>(), Ok(Pace::Realtime));
        assert!("fast".parse::<Pace>().is_err());
    }

    #[test]
    fn realtime_schedule_advances_one_period_per_frame() {
        let mut pacer = Pacer::new(Pace::Realtime);
        let first = pacer.deadline();
        for _ in 0..3 {
            pacer.frame_done();
        }
        let period = Duration::from_secs_f64(1.0 / GBA_FPS);
        assert_eq!(pacer.deadline() - first, period * 3);
    }

    #[test]
    fn unpaced_is_always_due() {
        let mut pacer = Pacer::new(Pace::None);
        pacer.frame_done();
        assert!(pacer.deadline() <= Instant::now());
    }
}
