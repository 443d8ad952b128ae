//! A WebSocket chat client for tests, over real loopback sockets.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::chat::ServerFrame;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What a socket read produced.
#[derive(Debug)]
pub enum Read {
    Frame(ServerFrame),
    Closed(Option<CloseFrame>),
}

impl Ws {
    /// Connects to `/api/ws/chat` on `base` (`http://host:port`).
    pub async fn connect(base: &str, token: &str, user_type: &str) -> Ws {
        let url = format!(
            "{}/api/ws/chat?token={token}&user_type={user_type}",
            base.replacen("http://", "ws://", 1)
        );
        let (stream, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket connect");
        Ws { stream }
    }

    /// Connects and reads past the greeting (`connected`, and for staff the
    /// session list and unread counts).
    pub async fn open(base: &str, token: &str, user_type: &str) -> Ws {
        let mut ws = Ws::connect(base, token, user_type).await;
        let first = ws.next().await;
        assert!(matches!(first, ServerFrame::Connected(_)), "{first:?}");
        if user_type == "customer_service" {
            ws.until(|f| matches!(f, ServerFrame::UnreadCountsSynced(_)))
                .await;
        }
        ws
    }

    pub async fn send(&mut self, frame: serde_json::Value) {
        self.stream
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send frame");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send frame");
    }

    /// The next frame or close, within 10 s.
    pub async fn read(&mut self) -> Read {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("a frame within 10 s");
            match next {
                Some(Ok(Message::Text(t))) => {
                    return Read::Frame(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|e| panic!("{e}: {}", t.as_str())),
                    )
                }
                Some(Ok(Message::Close(c))) => return Read::Closed(c),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Read::Closed(None),
            }
        }
    }

    pub async fn next(&mut self) -> ServerFrame {
        match self.read().await {
            Read::Frame(f) => f,
            Read::Closed(c) => panic!("socket closed: {c:?}"),
        }
    }

    /// Reads until a frame matches, dropping the others.
    pub async fn until(&mut self, want: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
        loop {
            let f = self.next().await;
            if want(&f) {
                return f;
            }
        }
    }

    /// Sends and answers the next `error` frame or the frame that matches.
    pub async fn ask(
        &mut self,
        frame: serde_json::Value,
        want: impl Fn(&ServerFrame) -> bool,
    ) -> ServerFrame {
        self.send(frame).await;
        self.until(|f| want(f) || matches!(f, ServerFrame::Error(_)))
            .await
    }

    /// Reads until the socket closes; answers the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Read::Closed(c) = self.read().await {
                return c.map(|c| u16::from(c.code));
            }
        }
    }

    /// No frame arrives within `ms`.
    pub async fn quiet(&mut self, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), self.stream.next())
            .await
            .is_err()
    }
}
