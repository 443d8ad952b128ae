//! Server functions of the chat pages.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::chat::ChatMessage;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{kefu, principal, to_server_error as e};

/// What the widget shows on first paint: who the token is for, their
/// current chat (open, or else the latest) and its newest messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetData {
    pub account: String,
    pub session_id: Option<String>,
    pub status: Option<String>,
    pub messages: Vec<ChatMessage>,
}

/// Messages the widget renders on the server before the socket opens.
pub const WIDGET_FIRST_PAGE: i64 = 50;

#[server(prefix = "/sfn", endpoint = "widget_state", input = Json)]
pub async fn widget_state(token: String) -> Result<WidgetData, ServerFnError> {
    let k = kefu()?;
    let (account, _) = k.authenticate_player(&token).await.map_err(e)?;
    let Some(s) = k.latest_session_of(&account).await.map_err(e)? else {
        return Ok(WidgetData {
            account,
            session_id: None,
            status: None,
            messages: Vec::new(),
        });
    };
    let history = k
        .chat_history(
            &domain::chat::Actor::Player(account.clone()),
            &protocol::chat::HistoryRequest {
                session_id: s.id.clone(),
                page: Some(1),
                limit: Some(WIDGET_FIRST_PAGE),
                after_seq: None,
                before_seq: None,
            },
        )
        .await
        .map_err(e)?;
    Ok(WidgetData {
        account,
        session_id: Some(s.id),
        status: Some(s.status),
        messages: history.messages,
    })
}

/// A chat token for a player, for a super admin to open the widget as them
/// ("open chat as this player", API.md "Chat over HTTP").
#[server(prefix = "/sfn", endpoint = "player_chat_token", input = Json)]
pub async fn player_chat_token(account: String) -> Result<String, ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    who.require(&[domain::Role::Super]).map_err(e)?;
    Ok(k.player_token(&account).await.map_err(e)?.access_token)
}

/// The desk's player panel: the record, the newest recharges and how many
/// there are in all (every staff role).
#[server(prefix = "/sfn", endpoint = "desk_player", input = Json)]
pub async fn desk_player(
    account: String,
) -> Result<
    (
        protocol::players::Player,
        Vec<protocol::players::Recharge>,
        i64,
    ),
    ServerFnError,
> {
    let (k, who) = (kefu()?, principal().await?);
    k.desk_player_record(&who, &account).await.map_err(e)
}

/// `cs_recharge` from the desk: the agent is the caller; answers the new expiry.
#[server(prefix = "/sfn", endpoint = "desk_recharge", input = Json)]
pub async fn desk_recharge(
    request: protocol::chat::CsRechargeRequest,
) -> Result<String, ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    Ok(k.cs_recharge(&who, &request)
        .await
        .map_err(e)?
        .new_expire_date)
}

/// The desk's quick replies: the team's, then the caller's own.
#[server(prefix = "/sfn", endpoint = "quick_replies", input = Json)]
pub async fn quick_replies() -> Result<Vec<protocol::chat::QuickReply>, ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    k.quick_replies(&who).await.map_err(e)
}

/// Adds a quick reply to the caller's own list, or with `team` to the team's.
#[server(prefix = "/sfn", endpoint = "add_quick_reply", input = Json)]
pub async fn add_quick_reply(
    content: String,
    team: bool,
) -> Result<protocol::chat::QuickReply, ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    k.add_quick_reply(&who, &content, team).await.map_err(e)
}

#[server(prefix = "/sfn", endpoint = "delete_quick_reply", input = Json)]
pub async fn delete_quick_reply(id: i64) -> Result<(), ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    k.delete_quick_reply(&who, id).await.map_err(e)
}
