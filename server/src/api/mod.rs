//! The REST API of API.md, one router per module.

pub mod auth;
pub mod players;
pub mod staff;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(players::router())
        .merge(staff::router())
}
