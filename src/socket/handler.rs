//! One request in, one reply out: parsing, the command families, and the
//! text of the reply. File commands (screenshots, savestate files) do
//! their I/O here, on the connection's thread, so the emulator thread only
//! ever copies memory.

use std::io::Read;

use super::command::Command;
use super::files::{FileArea, MAX_READ};
use super::hex;
use super::machine::{Job, MachineLink, Value};
use super::protocol::{parse_request, ERROR, SUCCESS, TERMINATOR};
use crate::emu::{SCREEN_HEIGHT, SCREEN_WIDTH};

/// Answers requests for one emulator.
#[derive(Debug, Clone)]
pub struct Handler {
    link: MachineLink,
    files: FileArea,
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
    /// confined to `files`.
    pub fn new(link: MachineLink, files: FileArea) -> Handler {
        Handler { link, files }
    }

    /// Appends the reply to the message `body` (terminator included) to
    /// `out`.
    pub fn reply(&self, body: &[u8], out: &mut Vec<u8>) {
        match self.answer(body, out) {
            Ok(()) => {}
            Err(Refusal(why)) => {
                tracing::debug!(target: "socket", request = %String::from_utf8_lossy(&body[..body.len().min(200)]), "refused: {why}");
                out.extend_from_slice(ERROR.as_bytes());
            }
        }
        out.extend_from_slice(TERMINATOR);
    }

    fn answer(&self, body: &[u8], out: &mut Vec<u8>) -> Result<(), Refusal> {
        let request = parse_request(body)?;
        let command = Command::from_request(&request)?;
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
                crate::atomic_file::write(&target, &bytes)?;
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
        match value {
            Value::None => out.extend_from_slice(SUCCESS.as_bytes()),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::Text(text) => out.extend_from_slice(text.as_bytes()),
            Value::Bytes(bytes) => hex::encode(&bytes, out),
            Value::Pixels(_) => return Err(Refusal("pixels are not a reply".into())),
        }
        Ok(())
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
    crate::screenshot::frame_to_rgb(pixels, &mut rgb);
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
