//! A served TCP connection that an injected fault can reset (RST) instead of answering.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Handed to every request of a connection through the request extensions.
pub struct Connection {
    /// A duplicate of the connection's socket: setting linger on it and closing sends the RST.
    socket: std::net::TcpStream,
    reset: Notify,
}

impl Connection {
    /// Splits an accepted stream into the stream to serve and its reset handle.
    pub fn accept(stream: TcpStream) -> std::io::Result<(TcpStream, Arc<Connection>)> {
        let std_stream = stream.into_std()?;
        let socket = std_stream.try_clone()?;
        let stream = TcpStream::from_std(std_stream)?;
        let connection = Connection {
            socket,
            reset: Notify::new(),
        };
        Ok((stream, Arc::new(connection)))
    }

    /// Makes the connection close with a reset; the server drops it as soon as it is notified.
    pub fn reset(&self) {
        // With linger 0, the last close of the socket sends RST rather than FIN.
        let _ = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO));
        self.reset.notify_one();
    }

    pub async fn reset_requested(&self) {
        self.reset.notified().await;
    }
}
