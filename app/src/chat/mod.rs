//! The chat in the browser: the client logic ([`machine`]), its driver
//! ([`browser`], compiled into the WASM bundle only), the server functions
//! the chat pages need ([`api`]), and view pieces the widget and the desk
//! share ([`view`]).
//!
//! On the server the pages render without a socket (there is no browser);
//! [`Live`] is the handle they hold: the real client after hydration, and an
//! inert placeholder during server rendering that sends nothing.

pub mod alert;
pub mod api;
pub mod machine;
pub mod view;

#[cfg(feature = "hydrate")]
pub mod browser;

pub use machine::{Conn, MsgState, OutMsg};

/// What the connection indicator shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnView {
    pub conn: Conn,
    /// Seconds until the next reconnect try, while waiting for it.
    pub retry_in: Option<u64>,
    pub fallback: bool,
    pub gave_up: bool,
    pub auth_failed: bool,
    pub online: bool,
}

impl Default for ConnView {
    fn default() -> Self {
        ConnView {
            conn: Conn::Unknown,
            retry_in: None,
            fallback: false,
            gave_up: false,
            auth_failed: false,
            online: true,
        }
    }
}

#[cfg(feature = "hydrate")]
pub use browser::ChatHandle as Live;

#[cfg(not(feature = "hydrate"))]
pub use inert::Live;

#[cfg(not(feature = "hydrate"))]
mod inert {
    use leptos::prelude::*;

    use super::{ConnView, OutMsg};

    /// The handle during server rendering: no socket exists there.
    #[derive(Clone, Copy)]
    pub struct Live {
        pub view: RwSignal<ConnView>,
        pub outbox: RwSignal<Vec<OutMsg>>,
    }

    impl Live {
        pub fn inert() -> Self {
            Live {
                view: RwSignal::new(ConnView::default()),
                outbox: RwSignal::new(Vec::new()),
            }
        }
        pub fn send_message(&self, _session_id: &str, _content: &str) {}
        pub fn retry(&self, _client_msg_id: &str) {}
        pub fn reconnect_now(&self) {}
        pub fn forget_sent(&self) {}
        pub fn send_frame(&self, _frame: serde_json::Value) -> bool {
            false
        }
        pub fn seen_upto(&self, _session: &str, _seq: i64) {}
        pub fn focus(&self, _session: Option<&str>) {}
    }
}
