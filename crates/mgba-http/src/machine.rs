//! One emulator on its own thread, free-running frames like mGBA's desktop
//! app (clients of mGBA-http poll `core.currentFrame` and expect it to
//! advance), and serving requests between frames.
//!
//! The `Emulator` is not `Sync`, so it never leaves this thread:
//! connections send [`Job`]s through a channel and wait for the answer.
//! Key presses (`tap`, `hold`) are applied after each frame, the way the
//! Lua server's frame callback applies them, so both servers hold a key
//! for the same frames.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use super::command::{key_names, Command, ConsoleKind};
use pmd_mgba::pacing::{Pace, Pacer};
use pmd_mgba::{Domain, Emulator, Keys, Rom, Snapshot};

/// Presses (`tap`, `hold`) pending at once, per environment.
pub const MAX_PENDING_PRESSES: usize = 1024;

/// CPU cycles per GBA frame (mGBA's `frameCycles`).
const FRAME_CYCLES: u32 = 280_896;
/// The GBA's CPU clock in Hz (mGBA's `frequency`).
const FREQUENCY: u32 = 16_777_216;
/// Jobs served between two unpaced frames at most (more than the
/// connections a server normally has, so each gets a turn every frame).
const JOBS_PER_FRAME: usize = 64;

/// Work for the emulator thread.
#[derive(Debug)]
pub enum Job {
    /// A command that needs nothing but the emulator.
    Command(Command),
    /// A copy of the framebuffer (`0x00BBGGRR` pixels).
    Frame,
    /// The machine as an mGBA savestate file.
    ExportState,
    /// Load an mGBA savestate file.
    LoadState(Vec<u8>),
}

/// A job's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No value (`<|SUCCESS|>`).
    None,
    /// A number, sent in decimal.
    Number(u64),
    /// Text, sent as is.
    Text(String),
    /// Bytes, sent as comma-separated hex.
    Bytes(Vec<u8>),
    /// Framebuffer pixels.
    Pixels(Vec<u32>),
}

/// A job's answer: the value, or why it failed.
pub type Answer = Result<Value, String>;

type Envelope = (Job, SyncSender<Answer>);

/// How a machine starts.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// The game.
    pub rom: Rom,
    /// An mGBA savestate file to start from.
    pub start_state: Option<Vec<u8>>,
    /// Frame pacing.
    pub pace: Pace,
}

/// A running emulator thread. Dropping every [`MachineLink`] and the
/// handle stops it.
#[derive(Debug)]
pub struct Machine {
    link: MachineLink,
    thread: Option<JoinHandle<()>>,
}

/// A cloneable way to send jobs to a machine.
#[derive(Debug, Clone)]
pub struct MachineLink {
    tx: Sender<Envelope>,
}

/// The machine is gone (its thread stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the emulator thread has stopped")]
pub struct MachineGone;

impl MachineLink {
    /// Runs a job on the machine's thread and waits for its answer.
    pub fn call(&self, job: Job) -> Result<Answer, MachineGone> {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        self.tx.send((job, reply_tx)).map_err(|_| MachineGone)?;
        reply_rx.recv().map_err(|_| MachineGone)
    }
}

impl Machine {
    /// Boots the ROM on a new thread (named `name`). Fails when the
    /// emulator cannot be created or the start state is refused.
    pub fn start(config: MachineConfig, name: String) -> Result<Machine, String> {
        let (tx, rx) = mpsc::channel::<Envelope>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let mut state = match MachineState::new(&config) {
                    Ok(state) => {
                        let _ = ready_tx.send(Ok(()));
                        state
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                state.run(&rx, config.pace);
            })
            .map_err(|e| format!("cannot start the emulator thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Machine {
                link: MachineLink { tx },
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err("the emulator thread failed to start".to_string())
            }
        }
    }

    /// A link for a connection.
    pub fn link(&self) -> MachineLink {
        self.link.clone()
    }

    /// Stops the thread once every link is dropped, and waits for it.
    pub fn stop(mut self) {
        self.join();
    }

    fn join(&mut self) {
        // Replace our sender with a dead one so the channel can close.
        let (dead, _) = mpsc::channel();
        self.link.tx = dead;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A key press applied by the frame loop: held from the first frame end
/// at or after `from` until the frame end after `to`.
#[derive(Debug, Clone, Copy)]
struct Press {
    keys: Keys,
    from: u32,
    to: u32,
    down: bool,
}

struct MachineState {
    emu: Emulator,
    presses: Vec<Press>,
    slots: HashMap<u32, Snapshot>,
}

impl MachineState {
    fn new(config: &MachineConfig) -> Result<MachineState, String> {
        let mut emu = Emulator::new(&config.rom).map_err(|e| e.to_string())?;
        // Render every frame, as the desktop app does: a screenshot may be
        // asked for at any time.
        emu.set_rendering(true);
        if let Some(bytes) = &config.start_state {
            emu.load_mgba_state_file(bytes)
                .map_err(|e| format!("start savestate: {e}"))?;
        }
        Ok(MachineState {
            emu,
            presses: Vec::new(),
            slots: HashMap::new(),
        })
    }

    fn run(&mut self, rx: &Receiver<Envelope>, pace: Pace) {
        let mut pacer = Pacer::new(pace);
        loop {
            // Serve what is waiting between two frames. Frames must keep
            // coming however busy the clients are (their polling of
            // `core.currentFrame` depends on it): unpaced, at most
            // `JOBS_PER_FRAME` jobs run before the next frame; paced, jobs
            // run until the frame is due.
            let mut served = 0;
            loop {
                let next = match pacer.pace() {
                    Pace::None if served >= JOBS_PER_FRAME => break,
                    Pace::None => rx.try_recv().map_err(|e| match e {
                        TryRecvError::Empty => RecvTimeoutError::Timeout,
                        TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                    }),
                    Pace::Realtime => {
                        let now = Instant::now();
                        let due = pacer.deadline();
                        if now >= due {
                            break;
                        }
                        rx.recv_timeout(due - now)
                    }
                };
                match next {
                    Ok((job, reply)) => {
                        let answer = self.execute(job);
                        // A client that went away does not stop the machine.
                        let _ = reply.send(answer);
                        served += 1;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
            self.emu.run_frame();
            self.update_presses();
            pacer.frame_done();
        }
    }

    /// Applies the presses after a frame: starts those due, ends those
    /// over. A key that two presses overlap on stays down until the last
    /// of them ends (each press counts; the first to end does not release
    /// the other's key).
    fn update_presses(&mut self) {
        if self.presses.is_empty() {
            return;
        }
        let now = self.emu.frame_count();
        let mut keys = self.emu.keys();
        let mut ended = Keys::empty();
        let mut held = Keys::empty();
        self.presses.retain_mut(|p| {
            if now > p.to {
                ended.insert(p.keys);
                false
            } else {
                if now >= p.from && !p.down {
                    keys.insert(p.keys);
                    p.down = true;
                }
                if p.down {
                    held.insert(p.keys);
                }
                true
            }
        });
        keys.remove(ended - held);
        if keys != self.emu.keys() {
            self.emu.set_keys(keys);
        }
    }

    fn execute(&mut self, job: Job) -> Answer {
        match job {
            Job::Command(command) => self.command(command),
            Job::Frame => Ok(Value::Pixels(self.emu.frame().to_vec())),
            Job::ExportState => self
                .emu
                .export_mgba_state_file()
                .map(Value::Bytes)
                .map_err(|e| e.to_string()),
            Job::LoadState(bytes) => self
                .emu
                .load_mgba_state_file(&bytes)
                .map(|()| Value::Text("true".to_string()))
                .map_err(|e| e.to_string()),
        }
    }

    fn command(&mut self, command: Command) -> Answer {
        let emu = &mut self.emu;
        let value = match command {
            Command::AddKeys(keys) => {
                emu.set_keys(emu.keys() | keys);
                Value::None
            }
            Command::ClearKeys(keys) => {
                emu.set_keys(emu.keys() - keys);
                Value::None
            }
            Command::SetKeys(keys) => {
                emu.set_keys(keys);
                Value::None
            }
            Command::GetKey(key) => Value::Number(u64::from(emu.keys().contains(key))),
            Command::GetAllKeyNames => Value::Text(key_names(emu.keys())),
            Command::GetKeys => Value::Number(u64::from(emu.keys().bits())),
            Command::Press { keys, frames } => {
                // Each press lives until its last frame: bound how many a
                // client can leave pending.
                if self.presses.len() >= MAX_PENDING_PRESSES {
                    return Err(format!("{MAX_PENDING_PRESSES} presses are already pending"));
                }
                let from = emu.frame_count();
                self.presses.push(Press {
                    keys,
                    from,
                    to: from.saturating_add(frames).saturating_add(1),
                    down: false,
                });
                Value::None
            }
            Command::CurrentFrame => Value::Number(u64::from(emu.frame_count())),
            Command::FrameCycles => Value::Number(u64::from(FRAME_CYCLES)),
            Command::Frequency => Value::Number(u64::from(FREQUENCY)),
            Command::GameTitle => Value::Text(emu.game_title()),
            Command::GameCode => Value::Text(emu.game_code()),
            Command::Platform => Value::Number(0),
            Command::RomSize => Value::Number(emu.rom().bytes().len() as u64),
            Command::Checksum => Value::Number(u64::from(emu.rom().crc32())),
            Command::BusRead { width, address } => {
                Value::Number(u64::from(emu.bus_read(address, width.bytes())))
            }
            Command::BusReadRange { address, length } => {
                let mut out = vec![0u8; length as usize];
                emu.bus_read_range(address, &mut out);
                Value::Bytes(out)
            }
            Command::BusWrite {
                width,
                address,
                value,
            } => {
                emu.bus_write(address, width.bytes(), value);
                Value::None
            }
            Command::Reset => {
                emu.reset();
                Value::None
            }
            Command::DomainNames => Value::Text(
                Domain::ALL
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Command::DomainBase(d) => Value::Number(u64::from(d.base())),
            Command::DomainBound(d) => Value::Number(u64::from(d.bound())),
            Command::DomainName(d) => Value::Text(d.display_name().to_string()),
            Command::DomainSize(d) => Value::Number(u64::from(d.size())),
            Command::DomainRead {
                domain,
                width,
                offset,
            } => Value::Number(u64::from(emu.domain_read(domain, offset, width.bytes()))),
            Command::DomainReadRange {
                domain,
                offset,
                length,
            } => {
                let mut out = vec![0u8; length as usize];
                emu.domain_read_range(domain, offset, &mut out);
                Value::Bytes(out)
            }
            Command::DomainWrite {
                domain,
                width,
                offset,
                value,
            } => {
                emu.domain_write(domain, offset, width.bytes(), value);
                Value::None
            }
            Command::SaveStateSlot(slot) => {
                let snap = emu.snapshot().map_err(|e| e.to_string())?;
                self.slots.insert(slot, snap);
                Value::Text("true".to_string())
            }
            Command::LoadStateSlot(slot) => {
                let snap = self
                    .slots
                    .get(&slot)
                    .ok_or_else(|| format!("savestate slot {slot} is empty"))?;
                emu.restore(snap).map_err(|e| e.to_string())?;
                Value::Text("true".to_string())
            }
            Command::Console(kind, text) => {
                match kind {
                    ConsoleKind::Log => tracing::info!(target: "socket_console", "{text}"),
                    ConsoleKind::Warn => tracing::warn!(target: "socket_console", "{text}"),
                    ConsoleKind::Error => tracing::error!(target: "socket_console", "{text}"),
                }
                Value::None
            }
            Command::Screenshot(_)
            | Command::SaveStateFile(_)
            | Command::LoadStateFile(_)
            | Command::SaveStateBuffer
            | Command::LoadStateBuffer(_) => {
                return Err("file and buffer commands are handled by the connection".to_string())
            }
        };
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> MachineState {
        MachineState::new(&MachineConfig {
            rom: pmd_game::cartridge::rom().unwrap(),
            start_state: None,
            pace: Pace::None,
        })
        .unwrap()
    }

    fn frame(m: &mut MachineState) {
        m.emu.run_frame();
        m.update_presses();
    }

    fn press(m: &mut MachineState, keys: Keys, frames: u32) {
        assert_eq!(m.command(Command::Press { keys, frames }), Ok(Value::None));
    }

    #[test]
    fn overlapping_presses_of_one_key_hold_it_until_the_last_ends() {
        let mut m = machine();
        let start = m.emu.frame_count();
        press(&mut m, Keys::A, 10); // ends after frame start + 11
        for _ in 0..5 {
            frame(&mut m);
        }
        press(&mut m, Keys::A | Keys::B, 10); // ends after frame start + 16
        let mut a_down = Vec::new();
        while m.emu.frame_count() < start + 20 {
            frame(&mut m);
            a_down.push((m.emu.frame_count() - start, m.emu.keys().contains(Keys::A)));
        }
        // A is held through the end of the first press and released only
        // when the second ends, together with B.
        for &(at, down) in &a_down {
            assert_eq!(down, at <= 16, "frame {at}: A down = {down}");
        }
        assert!(!m.emu.keys().contains(Keys::B));
        assert!(m.presses.is_empty());
    }

    #[test]
    fn a_press_alone_lasts_duration_plus_one_frames() {
        let mut m = machine();
        let start = m.emu.frame_count();
        press(&mut m, Keys::START, 3);
        let mut down = 0;
        for _ in 0..10 {
            frame(&mut m);
            down += u32::from(m.emu.keys().contains(Keys::START));
        }
        assert_eq!(down, 4, "from frame {start}");
    }
}
