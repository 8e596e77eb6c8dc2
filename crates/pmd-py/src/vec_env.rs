//! `pmd_agent._native.VecEnv`: the rollout crate's [`VecEnv`] for Python.
//!
//! The environments sit behind a mutex so the object can be shared between
//! Python threads; every call takes it without waiting (a second thread
//! calling while one steps gets [`PmdAgentError`](crate::errors::PmdAgentError)
//! at once instead of a deadlock with the GIL). `step` and `reset` release
//! the GIL while the pool works.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, TryLockError};

use numpy::{PyArray1, PyArray3, PyReadonlyArray1};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::errors::{runtime, value};
use crate::views;
use pmd_game::env::{Action, EnvConfig, EnvError, EnvSnapshot, ACTION_COUNT};
use pmd_mgba::Rom;
use pmd_rollout::{AutoReset, VecEnv, VecEnvConfig};

/// The most environments one object may hold: each is an emulator of a
/// few MB, so more is a mistake, not a workload.
pub(crate) const MAX_ENVS: usize = 4096;

/// What the mutex guards.
pub(crate) struct Inner {
    pub(crate) env: VecEnv,
    /// One action per environment, reused by every step.
    actions: Vec<Action>,
}

/// N environments stepped in lockstep, with their batch buffers.
#[pyclass(module = "pmd_agent._native", name = "VecEnv", frozen)]
pub(crate) struct NativeVecEnv {
    pub(crate) inner: Mutex<Inner>,
    num_envs: usize,
    frames: bool,
}

impl NativeVecEnv {
    /// The environments, if no other thread is using them.
    pub(crate) fn lock(&self) -> PyResult<MutexGuard<'_, Inner>> {
        match self.inner.try_lock() {
            Ok(guard) => Ok(guard),
            Err(TryLockError::WouldBlock) => Err(runtime(
                "the environments are busy: another thread is stepping or resetting them",
            )),
            Err(TryLockError::Poisoned(_)) => Err(runtime(
                "an earlier native call panicked; the environments are in an unknown state",
            )),
        }
    }

    fn check_index(&self, i: usize) -> PyResult<()> {
        if i >= self.num_envs {
            return Err(PyIndexError::new_err(format!(
                "environment {i} of {} (indices 0..{})",
                self.num_envs, self.num_envs
            )));
        }
        Ok(())
    }
}

fn parse_autoreset(mode: &str) -> PyResult<AutoReset> {
    match mode {
        "next_step" => Ok(AutoReset::NextStep),
        "same_step" => Ok(AutoReset::SameStep),
        "disabled" => Ok(AutoReset::Disabled),
        other => Err(value(format!(
            "unknown autoreset mode {other:?} (next_step, same_step or disabled)"
        ))),
    }
}

#[pymethods]
impl NativeVecEnv {
    /// Builds `num_envs` environments over `rom` (a path; the bundled test
    /// cartridge when None), optionally all starting from `savestate`
    /// (bytes of an mGBA savestate or a pmd-agent snapshot), and resets
    /// environment i with episode 0 of run seed `seed`. With `first_index`
    /// k, environment i plays as environment k + i of one larger run (its
    /// seeds and random stream), for runs split over processes.
    #[new]
    #[pyo3(signature = (num_envs, *, seed=0, threads=None, frames=false, render=false,
        rom=None, savestate=None, max_episode_steps=Some(1000), frame_cap=600,
        autoreset="next_step", first_index=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        num_envs: usize,
        seed: u64,
        threads: Option<usize>,
        frames: bool,
        render: bool,
        rom: Option<PathBuf>,
        savestate: Option<Vec<u8>>,
        max_episode_steps: Option<u32>,
        frame_cap: u32,
        autoreset: &str,
        first_index: usize,
    ) -> PyResult<Self> {
        if num_envs == 0 || num_envs > MAX_ENVS {
            return Err(value(format!(
                "num_envs must be 1..={MAX_ENVS}, not {num_envs}"
            )));
        }
        if threads == Some(0) {
            return Err(value("threads must be at least 1 (None: one per core)"));
        }
        if frame_cap == 0 {
            return Err(value("frame_cap must be at least 1"));
        }
        if max_episode_steps == Some(0) {
            return Err(value(
                "max_episode_steps must be at least 1 (None: no limit)",
            ));
        }
        let autoreset = parse_autoreset(autoreset)?;
        let rom = match rom {
            Some(path) => Rom::from_path(&path).map_err(value)?,
            None => pmd_game::cartridge::rom().map_err(value)?,
        };
        let config = VecEnvConfig {
            envs: num_envs,
            seed,
            frames,
            threads,
            autoreset,
            first_index,
            env: EnvConfig {
                frame_cap,
                render,
                max_episode_steps,
            },
            ..VecEnvConfig::default()
        };
        let built = py.detach(|| {
            VecEnv::new(&rom, config, |env| match &savestate {
                Some(bytes) => env.start_from_state_file(bytes),
                None => Ok(()),
            })
        });
        let env = built.map_err(|e| match e {
            pmd_rollout::VecEnvError::Env {
                source: EnvError::Emu(_) | EnvError::UnsupportedGame(_),
                ..
            } => value(e),
            other => runtime(other),
        })?;
        Ok(NativeVecEnv {
            inner: Mutex::new(Inner {
                env,
                actions: vec![Action::Wait; num_envs],
            }),
            num_envs,
            frames,
        })
    }

    /// Number of environments.
    #[getter]
    fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// Whether frame rows are made.
    #[getter]
    fn frames(&self) -> bool {
        self.frames
    }

    /// Steps every environment with its action (an int64 array of
    /// `num_envs` action indices), the GIL released. The batch views see
    /// the new rows when it returns.
    fn step(&self, py: Python<'_>, actions: PyReadonlyArray1<'_, i64>) -> PyResult<()> {
        let mut guard = self.lock()?;
        let inner = &mut *guard;
        let given = actions.as_array();
        if given.len() != self.num_envs {
            return Err(value(format!(
                "{} actions for {} environments",
                given.len(),
                self.num_envs
            )));
        }
        for (slot, &a) in inner.actions.iter_mut().zip(given.iter()) {
            *slot = usize::try_from(a)
                .ok()
                .and_then(Action::from_index)
                .ok_or_else(|| value(format!("action {a} is out of range (0..{ACTION_COUNT})")))?;
        }
        let (env, acts) = (&mut inner.env, &inner.actions);
        py.detach(|| env.step(acts).map(|_| ())).map_err(runtime)
    }

    /// Resets the environments `mask` selects (all when None), the GIL
    /// released: each starts its next episode, or with `seed` the run
    /// starts over from that seed (environment i gets episode 0 of it, as
    /// a new VecEnv with that seed would).
    #[pyo3(signature = (seed=None, mask=None))]
    fn reset(
        &self,
        py: Python<'_>,
        seed: Option<u64>,
        mask: Option<PyReadonlyArray1<'_, bool>>,
    ) -> PyResult<()> {
        let mut guard = self.lock()?;
        let mask: Option<Vec<bool>> = mask.map(|m| m.as_array().to_vec());
        let env = &mut guard.env;
        py.detach(|| env.reset_envs(seed, mask.as_deref()).map(|_| ()))
            .map_err(value)
    }

    /// The feature rows, `(num_envs, FEATURES)` float32: a read-only view
    /// of the native buffer, overwritten by the next step.
    #[getter]
    fn features<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::Features)
    }

    /// The terminal feature rows of the episodes the last step ended
    /// (`same_step` autoreset), same shape; valid where an episode ended.
    #[getter]
    fn final_features<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::FinalFeatures)
    }

    /// The legal actions, `(num_envs, ACTION_COUNT)` bool view.
    #[getter]
    fn masks<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::Masks)
    }

    /// The last step's rewards, `(num_envs,)` float32 view.
    #[getter]
    fn rewards<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::Rewards)
    }

    /// Whether the last step terminated each episode, bool view.
    #[getter]
    fn terminated<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::Terminated)
    }

    /// Whether the last step truncated each episode, bool view.
    #[getter]
    fn truncated<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        views::view(slf, views::Buffer::Truncated)
    }

    /// The downsampled grey frames, `(num_envs, 1, 80, 120)` uint8 view,
    /// or None without frames.
    #[getter]
    fn frame_rows<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !slf.get().frames {
            return Ok(None);
        }
        views::view(slf, views::Buffer::Frames).map(Some)
    }

    /// The terminal frames (as `final_features`), or None without frames.
    #[getter]
    fn final_frame_rows<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !slf.get().frames {
            return Ok(None);
        }
        views::view(slf, views::Buffer::FinalFrames).map(Some)
    }

    /// What each environment's last step (or reset) was, as arrays:
    /// episode, step, seed, step_floor and step_max_floor (where the step
    /// left the episode and its deepest floor: the terminal values when it
    /// ended one), hp, frames, rolled_back, quarantined, awaiting_reset,
    /// `reason` (a list: the end reason's code, or None); and where each
    /// environment is now (after a same-step reset: the new episode's):
    /// floor and max_floor.
    fn infos<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let guard = self.lock()?;
        let infos = guard.env.infos();
        let out = PyDict::new(py);
        macro_rules! column {
            ($name:literal, $f:expr) => {
                out.set_item($name, PyArray1::from_iter(py, infos.iter().map($f)))?;
            };
        }
        column!("episode", |i| i.episode);
        column!("step", |i| i.step);
        column!("seed", |i| i.seed);
        column!("step_floor", |i| i.state.floor);
        column!("step_max_floor", |i| i.max_floor);
        let n = self.num_envs;
        let env = &guard.env;
        let floor: Vec<u8> = (0..n).map(|i| env.env(i).state().floor).collect();
        out.set_item("floor", PyArray1::from_vec(py, floor))?;
        let max_floor: Vec<u8> = (0..n).map(|i| env.max_floor(i)).collect();
        out.set_item("max_floor", PyArray1::from_vec(py, max_floor))?;
        column!("hp", |i| i.state.hp);
        column!("frames", |i| i.frames);
        column!("rolled_back", |i| i.rolled_back);
        column!("quarantined", |i| i.quarantined);
        let waiting: Vec<bool> = (0..self.num_envs)
            .map(|i| guard.env.awaiting_reset(i))
            .collect();
        out.set_item("awaiting_reset", PyArray1::from_vec(py, waiting))?;
        let reasons: Vec<Option<&str>> = infos.iter().map(|i| i.reason.map(|r| r.code())).collect();
        out.set_item("reason", reasons)?;
        Ok(out)
    }

    /// Environment `i`'s state as self-checking bytes (a pmd-agent
    /// environment snapshot: the machine and the episode's bookkeeping).
    fn snapshot<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyBytes>> {
        self.check_index(i)?;
        let snap = self.lock()?.env.snapshot_env(i).map_err(runtime)?;
        Ok(PyBytes::new(py, &snap.to_bytes()))
    }

    /// Returns environment `i` to `data` (from `snapshot`, of any
    /// environment on the same ROM) and rewrites its rows. Damaged bytes or
    /// a state of another ROM raise ValueError and change nothing.
    fn restore(&self, i: usize, data: &[u8]) -> PyResult<()> {
        self.check_index(i)?;
        let snap = EnvSnapshot::from_bytes(data).map_err(value)?;
        self.lock()?.env.restore_env(i, &snap).map_err(value)
    }

    /// Environment `i`'s decoded game state as JSON (leader, team,
    /// monsters, items, traps, stairs, the map's rows).
    fn decode_state_json(&self, i: usize) -> PyResult<String> {
        self.check_index(i)?;
        let guard = self.lock()?;
        let state = guard.env.env(i).state();
        Ok(pmd_game::state_json(Some(state)).to_string())
    }

    /// Environment `i`'s screen, `(160, 240, 3)` uint8 RGB (a copy). Needs
    /// rendering (`render=True` or `frames=True`).
    fn render<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyArray3<u8>>> {
        self.check_index(i)?;
        let guard = self.lock()?;
        let emu = guard.env.env(i).emulator();
        if !emu.frame_is_current() {
            return Err(runtime(
                "no current picture: build the environments with render=True (render_mode=\"rgb_array\")",
            ));
        }
        let mut rgb = Vec::new();
        pmd_mgba::screenshot::frame_to_rgb(emu.frame(), &mut rgb);
        let shape = (pmd_mgba::SCREEN_HEIGHT, pmd_mgba::SCREEN_WIDTH, 3);
        let array = numpy::ndarray::Array3::from_shape_vec(shape, rgb).map_err(runtime)?;
        Ok(PyArray3::from_owned_array(py, array))
    }

    /// Counters summed over every environment: steps, frames, episodes,
    /// terminated, truncated, mean_max_floor, best_floor, failures,
    /// quarantined.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.lock()?.env.stats();
        let out = PyDict::new(py);
        out.set_item("steps", s.steps)?;
        out.set_item("frames", s.frames)?;
        out.set_item("episodes", s.episodes)?;
        out.set_item("terminated", s.terminated)?;
        out.set_item("truncated", s.truncated)?;
        out.set_item("mean_max_floor", s.mean_max_floor())?;
        out.set_item("best_floor", s.best_floor)?;
        out.set_item("failures", s.failures)?;
        out.set_item("quarantined", s.quarantined)?;
        Ok(out)
    }
}
