//! Kefu's wire types: what goes over HTTP between the server and its clients
//! (the browser panel, the game backend, the tests).
//!
//! `API.md` is the authority for every name here. This crate has no I/O and
//! compiles to WASM, so the browser and the server share one definition.

pub mod analytics;
pub mod auth;
pub mod chat;
pub mod envelope;
pub mod players;
pub mod staff;
pub mod system;

pub use auth::{LoginRequest, LoginResponse, RefreshResponse, UserInfo, UserType};
pub use envelope::{ErrorBody, Success};
