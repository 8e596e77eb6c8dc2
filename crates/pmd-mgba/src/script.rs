//! mGBA Lua scripts run headless: mGBA's own scripting engine (Lua 5.4,
//! from Debian's libmgba) attached to an in-process [`Emulator`], with no
//! window.
//!
//! [`ScriptHost`] does what mGBA's desktop frontend does around a script:
//! it loads and runs the file, fires `start` and `reset`, then after every
//! frame the `frame` callbacks (which is also when the `socket` library
//! polls its sockets); callbacks mGBA fires from inside a frame (`keysRead`,
//! `crashed`, `sleep`, `stop`, `savedataUpdated`, `alarm`) run from the
//! core. `emu:*`, `socket.*`, `console:*`, `callbacks:*` and the `C`
//! constants behave as in the desktop app.
//!
//! Differences, all deliberate:
//!
//! * A Lua error — at load time or in any callback — stops the run with
//!   the script's file and line ([`ScriptError`]); the desktop app logs
//!   callback errors and goes on.
//! * `error()`/`assert()` with a non-string value raise its `tostring`
//!   (mGBA 0.10.1 crashes on a non-string error).
//! * `emu:runFrame()`/`emu:step()` from a callback fired in the middle of a
//!   frame are refused (counted in [`ScriptHost::refused_reentry`]) rather
//!   than re-entering mGBA's CPU loop.
//! * `console:createBuffer` buffers exist but nothing draws them: their text
//!   goes to the console sink as [`ConsoleLevel::Buffer`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::pacing::{Pace, Pacer};
use crate::script_ffi::{LoadFailure, Scripted};
use crate::{EmuError, Emulator};

pub use crate::script_ffi::ConsoleLevel;

/// Why a script stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read or does not compile.
    #[error("{0}")]
    Load(String),
    /// A Lua error while the script ran (top level or a callback); the
    /// message starts with `file:line:`.
    #[error("{0}")]
    Runtime(String),
    /// mGBA's scripting engine could not be set up.
    #[error("cannot start mGBA's scripting engine: {0}")]
    Engine(String),
    /// The start savestate was refused.
    #[error(transparent)]
    State(#[from] EmuError),
}

/// Receives what the script prints (`console:log` …).
pub type ConsoleSink = Box<dyn FnMut(ConsoleLevel, &str)>;

/// Where savestate slots (`emu:saveStateSlot`) and unnamed screenshots go,
/// as in the desktop app: a directory and the ROM's base name.
#[derive(Debug, Clone)]
pub struct SlotFiles {
    /// The directory (the ROM's, or the working directory).
    pub dir: PathBuf,
    /// The file name stem (`<stem>.ss1`, `<stem>-0.png`).
    pub stem: String,
}

/// An [`Emulator`] with a Lua script attached.
pub struct ScriptHost {
    inner: Scripted,
    frames: u64,
    started: bool,
}

impl std::fmt::Debug for ScriptHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptHost")
            .field("emulator", self.inner.emulator())
            .field("frames", &self.frames)
            .finish()
    }
}

/// What a finished run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSummary {
    /// Frames run.
    pub frames: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether a stop signal (SIGINT/SIGTERM) ended it.
    pub stopped_by_signal: bool,
}

impl ScriptHost {
    /// Attaches mGBA's scripting engine to `emu` (renderer on: scripts may
    /// take screenshots at any time). `console` receives what it prints.
    pub fn new(
        mut emu: Emulator,
        slots: Option<&SlotFiles>,
        console: ConsoleSink,
    ) -> Result<ScriptHost, ScriptError> {
        emu.set_rendering(true);
        let stem = slots.map_or("script", |s| s.stem.as_str());
        let inner = Scripted::new(emu, slots.map(|s| s.dir.as_path()), stem, console)
            .map_err(ScriptError::Engine)?;
        Ok(ScriptHost {
            inner,
            frames: 0,
            started: false,
        })
    }

    /// Loads and runs a Lua file (its top level runs now; callbacks later).
    pub fn load_file(&mut self, path: &Path) -> Result<(), ScriptError> {
        if let Err(e) = std::fs::metadata(path) {
            return Err(ScriptError::Load(format!(
                "{}: cannot read the script: {e}",
                path.display()
            )));
        }
        self.inner.load_file(path).map_err(classify)
    }

    /// Loads and runs Lua source held in memory, named `name` in errors.
    pub fn load_source(&mut self, name: &str, source: &str) -> Result<(), ScriptError> {
        self.inner.load_source(name, source).map_err(classify)
    }

    /// Starts emulation as the desktop app does once a game is running:
    /// fires `start`, resets the machine, fires `reset`, then loads the
    /// savestate file `state` if given.
    pub fn start(&mut self, state: Option<&[u8]>) -> Result<(), ScriptError> {
        self.inner.trigger("start").map_err(ScriptError::Runtime)?;
        self.inner.reset();
        self.inner.trigger("reset").map_err(ScriptError::Runtime)?;
        if let Some(bytes) = state {
            self.inner.load_mgba_state_file(bytes)?;
        }
        self.started = true;
        Ok(())
    }

    /// Runs one frame, then the `frame` callbacks.
    pub fn run_frame(&mut self) -> Result<(), ScriptError> {
        self.inner.run_frame();
        self.frames += 1;
        if let Some(message) = self.inner.take_pending_error() {
            return Err(ScriptError::Runtime(message));
        }
        self.inner.trigger("frame").map_err(ScriptError::Runtime)
    }

    /// Fires `shutdown` (the end of the run).
    pub fn shutdown(&mut self) -> Result<(), ScriptError> {
        self.inner.trigger("shutdown").map_err(ScriptError::Runtime)
    }

    /// Runs `frames` frames (forever when `None`) at `pace`, until a stop
    /// signal when `stop_on_signal`; fires `shutdown` at the end.
    pub fn run(
        &mut self,
        frames: Option<u64>,
        pace: Pace,
        stop_on_signal: bool,
    ) -> Result<RunSummary, ScriptError> {
        if !self.started {
            self.start(None)?;
        }
        if stop_on_signal {
            crate::stop_signal::install()?;
        }
        let mut pacer = Pacer::new(pace);
        let began = Instant::now();
        let first = self.frames;
        let mut stopped_by_signal = false;
        while frames.is_none_or(|n| self.frames - first < n) {
            if stop_on_signal && crate::stop_signal::requested() {
                stopped_by_signal = true;
                break;
            }
            pacer.wait();
            self.run_frame()?;
            pacer.frame_done();
        }
        self.shutdown()?;
        Ok(RunSummary {
            frames: self.frames - first,
            seconds: began.elapsed().as_secs_f64(),
            stopped_by_signal,
        })
    }

    /// The emulator, read-only.
    pub fn emulator(&self) -> &Emulator {
        self.inner.emulator()
    }

    /// A savestate of the machine as the script left it (to carry it back
    /// into another emulator of the same ROM).
    pub fn snapshot(&mut self) -> Result<crate::Snapshot, EmuError> {
        self.inner.snapshot()
    }

    /// Frames run so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Nested emulation calls refused so far (process-wide count).
    pub fn refused_reentry(&self) -> u64 {
        self.inner.refused_reentry()
    }
}

fn classify(failure: LoadFailure) -> ScriptError {
    match failure {
        LoadFailure::Compile(message) => ScriptError::Load(message),
        LoadFailure::Run(message) => ScriptError::Runtime(message),
    }
}
