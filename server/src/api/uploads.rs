//! Images for chat (the rules are `domain::uploads`'s):
//! `POST /api/chat/upload` (player chat token) and `POST /api/cs/upload`
//! (staff token or the panel's cookie) take an image's bytes as the body,
//! as they are, and answer `{upload_id, content_type, size, url}`;
//! `GET /api/uploads/{id}` serves it. This router sits outside the API's
//! 1 MiB body limit: its own is [`MAX_UPLOAD_BYTES`] (413 past it).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::chat::Actor;
use domain::uploads::MAX_UPLOAD_BYTES;
use protocol::chat::Uploaded;
use protocol::Success;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPlayer, AuthStaff};
use crate::middleware::announced_over;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/upload", post(player_upload))
        .route("/cs/upload", post(staff_upload))
        .route("/uploads/{id}", get(serve))
}

const TOO_LARGE: ApiError = ApiError::TooLarge(MAX_UPLOAD_BYTES >> 20);

/// The body, refused with 413 when it announces or turns out to be larger
/// than an upload may be (nothing past the limit is read).
async fn read_body(headers: &HeaderMap, body: Body) -> ApiResult<Vec<u8>> {
    if announced_over(headers, MAX_UPLOAD_BYTES) {
        return Err(TOO_LARGE);
    }
    axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map(Vec::from)
        .map_err(|_| TOO_LARGE)
}

async fn player_upload(
    State(s): State<AppState>,
    who: AuthPlayer,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Success<Uploaded>>> {
    let bytes = read_body(&headers, body).await?;
    let actor = Actor::Player(who.account);
    Ok(Json(Success::data(
        s.kefu.store_upload(&actor, bytes).await?,
    )))
}

async fn staff_upload(
    State(s): State<AppState>,
    who: AuthStaff,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Success<Uploaded>>> {
    let bytes = read_body(&headers, body).await?;
    let actor = Actor::Staff(who.principal);
    Ok(Json(Success::data(
        s.kefu.store_upload(&actor, bytes).await?,
    )))
}

/// The image as stored, with the kind read from its bytes. An upload never
/// changes, so the browser may keep it; opened on its own it runs nothing.
async fn serve(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let (kind, bytes) = s.kefu.upload(&id).await?;
    let kind = HeaderValue::from_str(&kind).map_err(domain::Error::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
        ],
        bytes,
    )
        .into_response())
}
