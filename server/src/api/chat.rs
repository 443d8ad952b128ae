//! Chat over HTTP (seed 000 §5, API.md "Chat over HTTP"): the player's
//! endpoints under `/chat/…` (player chat token), the desk's under `/cs/…`
//! (staff token), `cs_recharge`, and the API-key endpoint that issues player
//! tokens. The same domain calls as the WebSocket, so a client that cannot
//! open a socket sends and reads the same messages.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use protocol::chat::{
    AcceptRequest, Accepted, CreateSessionRequest, CreatedSession, CsRechargeRequest,
    CsRechargeResult, History, HistoryRequest, MembershipInfo, MembershipInfoRequest, MessageAck,
    SendMessageRequest, UnreadCount, UnreadCountRequest, UserToken, UserTokenRequest,
};
use protocol::Success;

use crate::error::ApiResult;
use crate::extract::{ApiJson, AuthPlayer, AuthStaff};
use crate::AppState;
use domain::chat::Actor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/chat/user_token", post(user_token))
        .route("/chat/create_session", post(create_session))
        .route("/chat/send_message", post(player_send))
        .route("/chat/get_history", post(player_history))
        .route("/chat/unread_count", post(unread_count))
        .route("/chat/get_user_membership_info", post(membership_info))
        .route("/cs/send_message", post(staff_send))
        .route("/cs/get_chat_history", post(staff_history))
        .route("/cs/accept_session", post(accept))
        .route("/cs_recharge", post(cs_recharge))
}

/// `X-Api-Key` must equal `KEFU_API_KEY`; without a configured key the
/// endpoint is off (403), so no default key can leak.
async fn user_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<UserTokenRequest>,
) -> ApiResult<Json<Success<UserToken>>> {
    let Some(expected) = s.api_key.as_deref().filter(|k| !k.is_empty()) else {
        return Err(domain::Error::Forbidden(
            "player tokens are disabled: KEFU_API_KEY is not configured".to_owned(),
        )
        .into());
    };
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(domain::Error::Unauthenticated("invalid X-Api-Key".to_owned()).into());
    }
    Ok(Json(Success::data(
        s.kefu.player_token(&req.account).await?,
    )))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn create_session(
    State(s): State<AppState>,
    who: AuthPlayer,
    ApiJson(req): ApiJson<CreateSessionRequest>,
) -> ApiResult<Json<Success<CreatedSession>>> {
    s.kefu
        .require_own_account(&who.account, &req.user_account)?;
    Ok(Json(Success::data(
        s.kefu.create_session(&who.account).await?,
    )))
}

async fn player_send(
    State(s): State<AppState>,
    who: AuthPlayer,
    ApiJson(req): ApiJson<SendMessageRequest>,
) -> ApiResult<Json<Success<MessageAck>>> {
    let actor = Actor::Player(who.account);
    s.kefu.take_http_send(&actor)?;
    Ok(Json(Success::data(
        s.kefu.send_message(&actor, &req, None).await?,
    )))
}

async fn player_history(
    State(s): State<AppState>,
    who: AuthPlayer,
    ApiJson(req): ApiJson<HistoryRequest>,
) -> ApiResult<Json<Success<History>>> {
    let actor = Actor::Player(who.account);
    Ok(Json(Success::data(
        s.kefu.chat_history(&actor, &req).await?,
    )))
}

async fn unread_count(
    State(s): State<AppState>,
    who: AuthPlayer,
    ApiJson(req): ApiJson<UnreadCountRequest>,
) -> ApiResult<Json<Success<UnreadCount>>> {
    s.kefu
        .require_own_account(&who.account, &req.user_account)?;
    Ok(Json(Success::data(UnreadCount {
        unread_count: s.kefu.player_unread(&who.account).await?,
    })))
}

async fn membership_info(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<MembershipInfoRequest>,
) -> ApiResult<Json<Success<MembershipInfo>>> {
    Ok(Json(Success::data(
        s.kefu.membership_info(&who.principal, &req.account).await?,
    )))
}

async fn staff_send(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<SendMessageRequest>,
) -> ApiResult<Json<Success<MessageAck>>> {
    let actor = Actor::Staff(who.principal);
    s.kefu.take_http_send(&actor)?;
    Ok(Json(Success::data(
        s.kefu.send_message(&actor, &req, None).await?,
    )))
}

async fn staff_history(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<HistoryRequest>,
) -> ApiResult<Json<Success<History>>> {
    let actor = Actor::Staff(who.principal);
    Ok(Json(Success::data(
        s.kefu.chat_history(&actor, &req).await?,
    )))
}

async fn accept(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> ApiResult<Json<Success<Accepted>>> {
    let done = s
        .kefu
        .accept_session(&who.principal, &req.session_id, req.cs_account.as_deref())
        .await?;
    Ok(Json(Success::with_msg("会话接待成功", done)))
}

async fn cs_recharge(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<CsRechargeRequest>,
) -> ApiResult<Json<Success<CsRechargeResult>>> {
    let done = s.kefu.cs_recharge(&who.principal, &req).await?;
    Ok(Json(Success::with_msg(
        "充值成功",
        CsRechargeResult {
            account: done.account,
            new_expire_date: done.new_expire_date,
        },
    )))
}
