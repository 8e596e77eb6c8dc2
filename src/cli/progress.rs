//! A progress bar that stays hidden for the first second, so short runs
//! print nothing but their result.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress bar on stderr, shown only once a run has lasted a second.
pub struct DelayedProgress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl DelayedProgress {
    /// A hidden bar counting up to `total` of `unit`.
    pub fn new(total: u64, unit: &str) -> DelayedProgress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let template =
            format!("{{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left) {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        DelayedProgress {
            bar,
            started: Instant::now(),
            shown: false,
        }
    }

    /// Moves the bar to `position`, showing it once a second has passed.
    pub fn set_position(&mut self, position: u64) {
        if !self.shown && self.started.elapsed() >= SHOW_AFTER {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        self.bar.set_position(position);
    }

    /// Sets the text shown after the bar.
    pub fn set_message(&mut self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the bar from the terminal.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
