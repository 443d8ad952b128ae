//! What Kefu does and remembers.
//!
//! `domain` owns the store (sqlx over SQLite or PostgreSQL), authentication
//! (passwords, tokens, sign-in throttling), staff accounts and the error type
//! every entry point maps to its own wire shape. It knows nothing of HTTP,
//! Leptos or JSON envelopes: `server` and `app` call into it.

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod demo;
pub mod error;
pub mod listing;
pub mod money;
pub mod players;
pub mod replies;
pub mod secrets;
pub mod staff;
pub mod store;
pub mod system;
pub mod time;
pub mod uploads;

use std::sync::Arc;

pub use auth::{Principal, Role};
pub use error::{Error, Result};
pub use store::Store;

/// Everything a request handler needs: the store and the auth machinery.
/// Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Kefu(Arc<KefuInner>);

pub struct KefuInner {
    pub store: Store,
    pub tokens: auth::token::TokenKeys,
    /// Signs the device cookies of sign-in (a key of their own, so a
    /// device cookie can never pass for an access token).
    pub(crate) devices: auth::token::TokenKeys,
    pub throttle: auth::throttle::LoginThrottle,
    pub clock: time::BusinessClock,
    /// Who is connected to the chat, with their outboxes.
    pub hub: chat::hub::Hub,
    /// How fast each person may send chat messages over HTTP.
    pub(crate) http_sends: chat::rate::SendRate,
    /// Auto-accept runs one at a time.
    pub dispatching: tokio::sync::Mutex<()>,
    /// A background auto-accept run is waiting to start (it will see any
    /// change made before it starts, so no second one is needed).
    pub dispatch_waiting: std::sync::atomic::AtomicBool,
    /// The chat's group-commit writer, started on first use.
    pub(crate) writer: std::sync::OnceLock<chat::writer::Queue>,
    /// When this process made its `Kefu` (ms since epoch).
    pub started_at: i64,
    /// The browser service to watch, when one is configured.
    pub(crate) browser_service: std::sync::OnceLock<Arc<dyn system::BrowserServiceProbe>>,
}

impl Kefu {
    pub fn new(store: Store, jwt_secret: &[u8], clock: time::BusinessClock) -> Self {
        Kefu(Arc::new(KefuInner {
            store,
            tokens: auth::token::TokenKeys::new(jwt_secret),
            devices: auth::token::TokenKeys::new(&[jwt_secret, b"|device"].concat()),
            throttle: auth::throttle::LoginThrottle::default(),
            clock,
            hub: chat::hub::Hub::new(),
            http_sends: chat::rate::SendRate::default(),
            dispatching: tokio::sync::Mutex::new(()),
            dispatch_waiting: std::sync::atomic::AtomicBool::new(false),
            writer: std::sync::OnceLock::new(),
            started_at: time::now_ms(),
            browser_service: std::sync::OnceLock::new(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// How many chat messages a second each person may send over HTTP
    /// (`KEFU_CHAT_HTTP_RATE`; 0: no limit). See [`chat::rate`].
    pub fn set_http_send_rate(&self, per_second: u32) {
        self.0.http_sends.set_per_second(per_second);
    }

    /// One chat message sent over HTTP by `who` (see [`chat::rate`]).
    pub fn take_http_send(&self, who: &chat::Actor) -> Result<()> {
        let key = match who {
            chat::Actor::Player(account) => format!("player:{account}"),
            chat::Actor::Staff(p) => format!("staff:{}", p.id),
        };
        self.0.http_sends.take(&key)
    }

    pub fn tokens(&self) -> &auth::token::TokenKeys {
        &self.0.tokens
    }

    pub fn throttle(&self) -> &auth::throttle::LoginThrottle {
        &self.0.throttle
    }

    pub fn clock(&self) -> &time::BusinessClock {
        &self.0.clock
    }
}
