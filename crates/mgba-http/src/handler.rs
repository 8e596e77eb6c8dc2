//! One request in, one reply out: parsing, the command families, and the
//! text of the reply. File commands (screenshots, savestate files) do
//! their I/O here, on the connection's thread, so the emulator thread only
//! ever copies memory. Range reads take their length from the server's
//! [`ReplyBudget`] before they run, and every byte reply is sent as hex a
//! piece at a time (see [`Handler::reply_streaming`]).

use std::io::Read;

use super::budget::{ReplyBudget, Reservation};
use super::command::Command;
use super::files::{FileArea, MAX_READ};
use super::hex;
use super::machine::{Job, MachineLink, Value};
use super::protocol::{parse_request, ERROR, SUCCESS, TERMINATOR};
use pmd_mgba::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// Replies are handed to the connection once they hold this many bytes
/// (so a 16 MiB range read never holds its 48 MiB of hex at once).
pub const FLUSH_AT: usize = 1 << 20;

/// Answers requests for one emulator.
#[derive(Debug, Clone)]
pub struct Handler {
    link: MachineLink,
    files: FileArea,
    budget: ReplyBudget,
}

/// Why a request got `<|ERROR|>` (logged, never sent: the protocol has no
/// error text).
#[derive(Debug)]
struct Refusal(String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal(e.to_string())
    }
}

impl Handler {
    /// A handler for the machine behind `link`, with file commands
    /// confined to `files` and range reads bounded by `budget` (shared by
    /// every connection of the server).
    pub fn new(link: MachineLink, files: FileArea, budget: ReplyBudget) -> Handler {
        Handler {
            link,
            files,
            budget,
        }
    }

    /// Appends the whole reply to the message `body` (terminator included)
    /// to `out`.
    pub fn reply(&self, body: &[u8], out: &mut Vec<u8>) {
        let _ = self.reply_streaming::<std::convert::Infallible>(body, out, &mut |_| Ok(()));
    }

    /// Appends the reply to `body` (terminator included) to `out`, handing
    /// `out` to `flush` (which sends and empties it) whenever it holds
    /// [`FLUSH_AT`] bytes or more while a large reply is made. Stops at
    /// `flush`'s first error.
    pub fn reply_streaming<E>(
        &self,
        body: &[u8],
        out: &mut Vec<u8>,
        flush: &mut dyn FnMut(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.answer(body) {
            Ok((value, _reservation)) => match value {
                Value::None => out.extend_from_slice(SUCCESS.as_bytes()),
                Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
                Value::Text(text) => out.extend_from_slice(text.as_bytes()),
                Value::Bytes(bytes) => hex::encode_streaming(&bytes, out, FLUSH_AT, flush)?,
                Value::Pixels(_) => {
                    // Never produced by `answer`.
                    out.extend_from_slice(ERROR.as_bytes());
                }
            },
            Err(Refusal(why)) => {
                tracing::debug!(target: "socket", request = %String::from_utf8_lossy(&body[..body.len().min(200)]), "refused: {why}");
                out.extend_from_slice(ERROR.as_bytes());
            }
        }
        out.extend_from_slice(TERMINATOR);
        Ok(())
    }

    /// Takes a range read's length from the budget, or refuses it.
    fn reserve(&self, length: u32) -> Result<Option<Reservation>, Refusal> {
        match self.budget.try_reserve(length as usize) {
            Some(r) => Ok(Some(r)),
            None => Err(Refusal(format!(
                "a {length}-byte read does not fit: range reads of all connections already hold {} of {} bytes",
                self.budget.used(),
                self.budget.limit()
            ))),
        }
    }

    /// The value of a request, with the budget its bytes hold until the
    /// reply is sent.
    fn answer(&self, body: &[u8]) -> Result<(Value, Option<Reservation>), Refusal> {
        let request = parse_request(body)?;
        let command = Command::from_request(&request)?;
        let reservation = match &command {
            Command::BusReadRange { length, .. } | Command::DomainReadRange { length, .. } => {
                self.reserve(*length)?
            }
            _ => None,
        };
        let value = match command {
            Command::Screenshot(path) => {
                let target = self.files.resolve(&path)?;
                let Value::Pixels(pixels) = self.call(Job::Frame)? else {
                    return Err(Refusal("no frame".into()));
                };
                write_png(&pixels, &target)?;
                Value::None
            }
            Command::SaveStateFile(path) => {
                let target = self.files.resolve(&path)?;
                let Value::Bytes(bytes) = self.call(Job::ExportState)? else {
                    return Err(Refusal("no state".into()));
                };
                pmd_util::atomic_file::write(&target, &bytes)?;
                Value::Text("true".to_string())
            }
            Command::LoadStateFile(path) => {
                let source = self.files.resolve(&path)?;
                let mut bytes = Vec::new();
                std::fs::File::open(&source)?
                    .take(MAX_READ)
                    .read_to_end(&mut bytes)?;
                self.call(Job::LoadState(bytes))?
            }
            Command::SaveStateBuffer => self.call(Job::ExportState)?,
            Command::LoadStateBuffer(bytes) => self.call(Job::LoadState(bytes))?,
            other => self.call(Job::Command(other))?,
        };
        if matches!(value, Value::Pixels(_)) {
            return Err(Refusal("pixels are not a reply".into()));
        }
        Ok((value, reservation))
    }

    fn call(&self, job: Job) -> Result<Value, Refusal> {
        self.link.call(job)?.map_err(Refusal)
    }
}

/// Encodes the frame as an RGB PNG (fast compression: the file is read
/// back at once) and writes it by rename, so a client never reads half a
/// picture.
fn write_png(pixels: &[u32], path: &std::path::Path) -> Result<(), Refusal> {
    if pixels.len() != SCREEN_WIDTH * SCREEN_HEIGHT {
        return Err(Refusal(format!("frame has {} pixels", pixels.len())));
    }
    let mut rgb = Vec::with_capacity(pixels.len() * 3);
    pmd_mgba::screenshot::frame_to_rgb(pixels, &mut rgb);
    let mut png_bytes = Vec::with_capacity(32 * 1024);
    {
        let mut encoder =
            png::Encoder::new(&mut png_bytes, SCREEN_WIDTH as u32, SCREEN_HEIGHT as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgb)?;
        writer.finish()?;
    }
    replace_file(path, &png_bytes)?;
    Ok(())
}

/// Writes a temporary file next to `path` and renames it over `path`:
/// readers see the old file or the whole new one. Unlike
/// `atomic_file::write` there is no fsync — a screenshot is read back at
/// once and worthless after a crash, and an fsync per agent step would
/// cost milliseconds the Lua server does not pay.
fn replace_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".pmd-agent-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::MAX_RANGE;
    use crate::machine::{Machine, MachineConfig};
    use pmd_mgba::pacing::Pace;

    fn handler(budget: usize) -> (Machine, Handler) {
        let machine = Machine::start(
            MachineConfig {
                rom: pmd_game::cartridge::rom().unwrap(),
                start_state: None,
                pace: Pace::Realtime,
            },
            "test".into(),
        )
        .unwrap();
        let handler = Handler::new(
            machine.link(),
            FileArea::disabled(),
            ReplyBudget::new(budget),
        );
        (machine, handler)
    }

    #[test]
    fn the_largest_range_read_is_handed_out_in_pieces() {
        let (machine, h) = handler(MAX_RANGE as usize);
        let request = format!("core.readRange,0x08000000,{MAX_RANGE}");
        let (mut out, mut total, mut largest) = (Vec::new(), 0usize, 0usize);
        h.reply_streaming::<()>(request.as_bytes(), &mut out, &mut |o| {
            largest = largest.max(o.len());
            total += o.len();
            o.clear();
            Ok(())
        })
        .unwrap();
        largest = largest.max(out.len());
        total += out.len();
        // 48 MiB of text, never more than about two pieces at once.
        assert_eq!(total, 3 * MAX_RANGE as usize - 1 + TERMINATOR.len());
        assert!(largest <= 2 * FLUSH_AT, "{largest} bytes held at once");
        assert!(out.ends_with(TERMINATOR));
        drop(h);
        machine.stop();
    }

    #[test]
    fn a_read_over_what_is_left_of_the_budget_is_refused() {
        let (machine, h) = handler(1000);
        let held = h.budget.try_reserve(600).unwrap();
        let mut out = Vec::new();
        h.reply(b"memoryDomain.readRange,wram,0,500", &mut out);
        assert_eq!(out, [ERROR.as_bytes(), TERMINATOR].concat());
        drop(held);
        out.clear();
        h.reply(b"memoryDomain.readRange,wram,0,500", &mut out);
        assert_eq!(out.len(), 3 * 500 - 1 + TERMINATOR.len());
        assert_eq!(h.budget.used(), 0, "given back after the reply");
        drop(h);
        machine.stop();
    }
}
