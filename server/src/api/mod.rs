//! The REST API of API.md, one router per module.

pub mod analytics;
pub mod auth;
pub mod chat;
pub mod players;
pub mod staff;
pub mod uploads;

use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(analytics::router())
        .merge(auth::router())
        .merge(chat::router())
        .route("/ws/chat", get(crate::chat::upgrade))
        .merge(players::router())
        .merge(staff::router())
}
