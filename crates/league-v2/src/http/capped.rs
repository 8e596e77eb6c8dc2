//! A listener that keeps at most a fixed number of connections open, and
//! closes a connection on which nothing was read or written for a while.
//!
//! Without it the servers accept sockets without bound, and a socket that
//! never finishes its request head holds its file descriptor and task for
//! ever (the request timeout starts only once the head is read, and
//! `axum::serve` sets no header timeout). With it, a connection beyond the
//! cap waits in the kernel's backlog until one closes, and an idle one
//! (a silent socket, or a keep-alive connection nobody uses) closes after
//! the idle timeout, so the cap cannot be held by silent sockets for long.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// `TcpListener` with a cap on open connections and an idle timeout.
pub struct CappedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    idle: Duration,
}

impl CappedListener {
    /// At most `max` connections at once (at least 1), each closed after
    /// `idle` without traffic.
    pub fn new(inner: TcpListener, max: usize, idle: Duration) -> CappedListener {
        CappedListener {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            idle,
        }
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = IdleIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (IdleIo, SocketAddr) {
        // The semaphore is never closed: acquiring only waits.
        let slot = loop {
            if let Ok(p) = self.slots.clone().acquire_owned().await {
                break p;
            }
        };
        let (io, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        (IdleIo::new(io, slot, self.idle), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl IdleIo {
    /// Sets `TCP_NODELAY` (league messages are one small write each way).
    pub fn set_nodelay(&self) {
        if let Err(e) = self.io.set_nodelay(true) {
            tracing::trace!("TCP_NODELAY: {e}");
        }
    }
}

/// A connection that fails with `TimedOut` once nothing has moved on it for
/// its idle timeout, and gives its slot back when dropped.
pub struct IdleIo {
    io: TcpStream,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    _slot: OwnedSemaphorePermit,
}

impl IdleIo {
    fn new(io: TcpStream, slot: OwnedSemaphorePermit, idle: Duration) -> IdleIo {
        IdleIo {
            io,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            _slot: slot,
        }
    }

    /// Something moved: the idle clock starts again.
    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.timer.as_mut().reset(next);
    }

    /// Nothing moved: fails once the idle timeout has passed (the timer
    /// wakes the task when it does).
    fn idle_check<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn settle<T>(&mut self, cx: &mut Context<'_>, p: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match p {
            Poll::Ready(r) => {
                self.touch();
                Poll::Ready(r)
            }
            Poll::Pending => self.idle_check(cx),
        }
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_read(cx, buf);
        this.settle(cx, p)
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_write(cx, buf);
        this.settle(cx, p)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.settle(cx, p)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let p = Pin::new(&mut this.io).poll_flush(cx);
        this.settle(cx, p)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
