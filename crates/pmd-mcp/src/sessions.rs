//! The sessions: emulators by id, bounded in number, closed when idle.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pmd_game::env::{EnvConfig, EnvSnapshot};
use pmd_mgba::Rom;
use pmd_rollout::{AutoReset, VecEnv, VecEnvConfig};

/// How much the server holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open sessions at most (each an emulator of a few MB).
    pub max_sessions: usize,
    /// Named branches per session at most (each a ~400 KB savestate).
    pub max_branches: usize,
    /// A session unused this long is closed when the next session opens.
    pub idle: Duration,
    /// Whether `write_memory` may write (off by default).
    pub allow_writes: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 8,
            max_branches: 64,
            idle: Duration::from_secs(30 * 60),
            allow_writes: false,
        }
    }
}

/// One emulator and its branches.
pub(crate) struct Session {
    pub(crate) env: VecEnv,
    pub(crate) branches: BTreeMap<String, EnvSnapshot>,
    pub(crate) rom: Rom,
    pub(crate) rom_title: String,
    pub(crate) seed: u64,
    /// Emulators `lookahead` plays its candidates on in parallel, made on
    /// first use (as many as the largest lookahead asked, at most 16).
    pub(crate) scratch: Option<VecEnv>,
    last_used: Instant,
}

impl Session {
    /// A session: the ROM (the bundled cartridge by default), reset with
    /// episode 0 of `seed`, from `savestate` if given. Slow (boots the
    /// game): called without the table's lock.
    pub(crate) fn build(req: NewSession<'_>) -> Result<Session, String> {
        let rom = match req.rom {
            Some(path) => Rom::from_path(path).map_err(|e| e.to_string())?,
            None => pmd_game::cartridge::rom().map_err(|e| e.to_string())?,
        };
        let config = VecEnvConfig {
            envs: 1,
            seed: req.seed,
            threads: Some(1),
            autoreset: AutoReset::Disabled,
            env: EnvConfig {
                render: true,
                max_episode_steps: req.max_episode_steps,
                ..EnvConfig::default()
            },
            ..VecEnvConfig::default()
        };
        let state = match req.savestate {
            Some(path) => Some(read_bounded(path)?),
            None => None,
        };
        let env = VecEnv::new(&rom, config, |env| match &state {
            Some(bytes) => env.start_from_state_file(bytes),
            None => Ok(()),
        })
        .map_err(|e| e.to_string())?;
        Ok(Session {
            env,
            branches: BTreeMap::new(),
            rom_title: rom.title().to_owned(),
            rom,
            scratch: None,
            seed: req.seed,
            last_used: Instant::now(),
        })
    }

    /// Marks the session used now (idle sessions are closed).
    pub(crate) fn touch(&mut self) {
        self.last_used = Instant::now();
    }

    /// At least `n` scratch emulators of this session's ROM and settings,
    /// stepped on a pool of every core; their episodes reset on the step
    /// after they end, so finished candidates never stop the others.
    pub(crate) fn scratch(&mut self, n: usize) -> Result<&mut VecEnv, String> {
        if self.scratch.as_ref().is_none_or(|s| s.len() < n) {
            let config = VecEnvConfig {
                envs: n,
                threads: None,
                autoreset: AutoReset::NextStep,
                env: EnvConfig {
                    render: false,
                    ..self.env.config().env
                },
                ..VecEnvConfig::default()
            };
            self.scratch = None;
            self.scratch =
                Some(VecEnv::new(&self.rom, config, |_| Ok(())).map_err(|e| e.to_string())?);
        }
        self.scratch
            .as_mut()
            .ok_or_else(|| "no scratch emulators".to_owned())
    }
}

/// What `session_new` asks for.
pub(crate) struct NewSession<'a> {
    pub(crate) rom: Option<&'a str>,
    pub(crate) savestate: Option<&'a str>,
    pub(crate) seed: u64,
    pub(crate) max_episode_steps: Option<u32>,
}

/// The most bytes a savestate file may have (mGBA's are well under 1 MB).
const MAX_STATE_FILE: u64 = 16 << 20;

/// A savestate file's bytes, refusing one larger than any savestate.
fn read_bounded(path: &str) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("{path}: {e}"))?
        .len();
    if len > MAX_STATE_FILE {
        return Err(format!(
            "{path}: {len} bytes is not a savestate (at most {MAX_STATE_FILE})"
        ));
    }
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

/// Every open session.
pub(crate) struct Sessions {
    map: BTreeMap<String, Arc<Mutex<Session>>>,
    next: u64,
    pub(crate) limits: Limits,
}

impl Sessions {
    pub(crate) fn new(limits: Limits) -> Sessions {
        Sessions {
            map: BTreeMap::new(),
            next: 1,
            limits,
        }
    }

    /// Opens a session: the ROM (the bundled cartridge by default), reset
    /// with episode 0 of `seed`.
    /// Closes idle sessions, then says whether another fits.
    pub(crate) fn check_room(&mut self) -> Result<(), String> {
        self.close_idle();
        if self.map.len() >= self.limits.max_sessions {
            return Err(format!(
                "{} sessions are open, the most this server holds; close one (session_close)",
                self.map.len()
            ));
        }
        Ok(())
    }

    /// Adds a session built outside the table's lock (room is checked
    /// again: another client may have filled it meanwhile).
    pub(crate) fn insert(&mut self, session: Session) -> Result<String, String> {
        self.check_room()?;
        let id = format!("s{}", self.next);
        self.next += 1;
        self.map.insert(id.clone(), Arc::new(Mutex::new(session)));
        Ok(id)
    }

    /// The session `id` (locked by the caller, after the table is
    /// released: a busy session never holds up the table).
    pub(crate) fn get(&self, id: &str) -> Result<Arc<Mutex<Session>>, String> {
        self.map.get(id).cloned().ok_or_else(|| {
            format!(
                "no session {id:?} (open: {}); session_new opens one",
                self.ids().join(", ")
            )
        })
    }

    /// Every session, by id.
    pub(crate) fn all(&self) -> Vec<(String, Arc<Mutex<Session>>)> {
        self.map
            .iter()
            .map(|(id, s)| (id.clone(), Arc::clone(s)))
            .collect()
    }

    pub(crate) fn close(&mut self, id: &str) -> Result<(), String> {
        self.map
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| format!("no session {id:?}"))
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    /// Closes the sessions unused for `limits.idle` (a session busy in a
    /// tool call right now is in use; one whose lock was poisoned by a
    /// panic is closed).
    pub(crate) fn close_idle(&mut self) {
        let idle = self.limits.idle;
        self.map.retain(|id, s| {
            let keep = match s.try_lock() {
                Ok(s) => s.last_used.elapsed() < idle,
                Err(std::sync::TryLockError::WouldBlock) => true,
                Err(std::sync::TryLockError::Poisoned(_)) => false,
            };
            if !keep {
                tracing::info!(session = %id, "closing an idle session");
            }
            keep
        });
    }
}
