//! A blocking mGBA-http client: one request, one reply, over one TCP
//! connection. Works with either server (the Lua one inside mGBA or
//! ours).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::hex;
use super::protocol::{find_terminator, ERROR, TERMINATOR};

/// Largest reply accepted (a 16 MiB `readRange` is 48 MiB of text).
pub const MAX_REPLY: usize = 64 << 20;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// The server answered `<|ERROR|>`.
    #[error("{0}: the server answered <|ERROR|>")]
    Refused(String),
    /// A reply that is not what the command returns.
    #[error("{command}: unexpected reply {reply:?}")]
    BadReply {
        /// The command.
        command: String,
        /// The start of the reply.
        reply: String,
    },
    /// A reply longer than [`MAX_REPLY`].
    #[error("reply longer than {MAX_REPLY} bytes")]
    TooLong,
}

/// One connection to an mGBA-http server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    inbox: Vec<u8>,
    reply: Vec<u8>,
    chunk: Vec<u8>,
}

fn command_name(command: &str) -> String {
    command.chars().take(80).collect()
}

impl Client {
    /// Connects, retrying until `timeout` passes (the server may still be
    /// starting).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Client, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Client {
                        stream,
                        inbox: Vec::with_capacity(1 << 16),
                        reply: Vec::with_capacity(1 << 16),
                        chunk: vec![0; 1 << 16],
                    });
                }
                Err(e) if Instant::now() >= deadline => return Err(e.into()),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Limits how long one reply may take.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), ClientError> {
        self.stream.set_read_timeout(timeout)?;
        self.stream.set_write_timeout(timeout)?;
        Ok(())
    }

    /// Sends raw bytes (a request without its terminator, a partial one,
    /// anything).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Reads the next reply (terminator removed), borrowed until the next
    /// call.
    pub fn read_reply(&mut self) -> Result<&[u8], ClientError> {
        let mut scanned = 0usize;
        loop {
            let from = scanned.saturating_sub(TERMINATOR.len() - 1);
            if let Some(end) = find_terminator(&self.inbox, from) {
                self.reply.clear();
                self.reply.extend_from_slice(&self.inbox[..end]);
                self.inbox.drain(..end + TERMINATOR.len());
                return Ok(&self.reply);
            }
            scanned = self.inbox.len();
            if self.inbox.len() > MAX_REPLY {
                return Err(ClientError::TooLong);
            }
            let n = self.stream.read(&mut self.chunk)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            self.inbox.extend_from_slice(&self.chunk[..n]);
        }
    }

    /// Sends `command` and returns its reply as sent (`<|ERROR|>`
    /// included).
    pub fn request(&mut self, command: &str) -> Result<&[u8], ClientError> {
        let mut message = Vec::with_capacity(command.len() + TERMINATOR.len());
        message.extend_from_slice(command.as_bytes());
        message.extend_from_slice(TERMINATOR);
        self.stream.write_all(&message)?;
        self.read_reply()
    }

    /// The reply as text; `<|ERROR|>` is an error.
    pub fn text(&mut self, command: &str) -> Result<String, ClientError> {
        let reply = self.request(command)?;
        if reply == ERROR.as_bytes() {
            return Err(ClientError::Refused(command_name(command)));
        }
        Ok(String::from_utf8_lossy(reply).into_owned())
    }

    /// The reply as a decimal number.
    pub fn number(&mut self, command: &str) -> Result<u64, ClientError> {
        let reply = self.request(command)?;
        if reply == ERROR.as_bytes() {
            return Err(ClientError::Refused(command_name(command)));
        }
        std::str::from_utf8(reply)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| ClientError::BadReply {
                command: command_name(command),
                reply: String::from_utf8_lossy(&reply[..reply.len().min(80)]).into_owned(),
            })
    }

    /// The reply as hex bytes, decoded into `out`.
    pub fn bytes(&mut self, command: &str, out: &mut Vec<u8>) -> Result<(), ClientError> {
        let reply = self.request(command)?;
        if reply == ERROR.as_bytes() {
            return Err(ClientError::Refused(command_name(command)));
        }
        if hex::decode(reply, out).is_err() {
            let reply = String::from_utf8_lossy(&reply[..reply.len().min(80)]).into_owned();
            return Err(ClientError::BadReply {
                command: command_name(command),
                reply,
            });
        }
        Ok(())
    }

    /// Sends `command` and expects anything but `<|ERROR|>`.
    pub fn ok(&mut self, command: &str) -> Result<(), ClientError> {
        self.text(command).map(drop)
    }
}
