//! The REST API of API.md, one router per module.

pub mod auth;

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(auth::router())
}
