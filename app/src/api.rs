//! Server functions of the players, staff and audit pages: each authorizes
//! through the session and calls the same `domain` operation as the REST API.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use protocol::players::{
    Player, PlayerInput, PlayerQuery, Recharge, RechargeRequest, RechargeResult, TransferRequest,
    TransferResult,
};
use protocol::staff::{AuditEntry, AuditQuery, CreateStaffRequest, StaffAccount};

#[cfg(feature = "ssr")]
use crate::auth::ssr::{kefu, principal, to_server_error as e};

/// A resource's source (`Resource::new(source(|| …), fetch)`): tracked in
/// the browser, where what it reads changes and the resource fetches again;
/// on the server read once, at once, while the page is being built, and
/// handed to the resource as a plain value. Why: on the server the
/// resource's fetch runs in a task of its own that may first be polled
/// after its page has been thrown away (a browser that left, a branch of
/// the page that was replaced), and a source that reads signals then reads
/// signals that are gone, which panics ("a reactive value that has already
/// been disposed"; seen now and then in the e2e server's log). Nothing
/// changes under a request's page, so the value read at once is the value
/// the resource would have read later.
#[cfg(feature = "ssr")]
pub fn source<T: Clone + Send + Sync + 'static>(
    read: impl Fn() -> T + Send + Sync + 'static,
) -> impl Fn() -> T + Send + Sync + 'static {
    let value = untrack(read);
    move || value.clone()
}

/// See the server's version above: in the browser the source is tracked.
#[cfg(not(feature = "ssr"))]
pub fn source<T: Clone + Send + Sync + 'static>(
    read: impl Fn() -> T + Send + Sync + 'static,
) -> impl Fn() -> T + Send + Sync + 'static {
    read
}

#[server(prefix = "/sfn", endpoint = "players", input = Json)]
pub async fn list_players(query: PlayerQuery) -> Result<(Vec<Player>, i64), ServerFnError> {
    kefu()?
        .list_players(&principal().await?, &query)
        .await
        .map_err(e)
}

#[server(prefix = "/sfn", endpoint = "player", input = Json)]
pub async fn player_detail(account: String) -> Result<(Player, Vec<Recharge>, i64), ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    let player = k.get_player(&who, &account).await.map_err(e)?;
    let (history, total) = k
        .recharge_history(&who, &account, None, Some("50"))
        .await
        .map_err(e)?;
    Ok((player, history, total))
}

/// Creates (`account` is `None`) or updates a player; answers its account.
#[server(prefix = "/sfn", endpoint = "save_player", input = Json)]
pub async fn save_player(
    account: Option<String>,
    input: PlayerInput,
) -> Result<String, ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    match account {
        None => k.create_player(&who, &input).await.map_err(e),
        Some(a) => k
            .update_player(&who, &a, &input)
            .await
            .map(|_| a)
            .map_err(e),
    }
}

#[server(prefix = "/sfn", endpoint = "recharge", input = Json)]
pub async fn recharge_player(
    account: String,
    request: RechargeRequest,
) -> Result<RechargeResult, ServerFnError> {
    kefu()?
        .recharge(&principal().await?, &account, &request)
        .await
        .map_err(e)
}

#[server(prefix = "/sfn", endpoint = "transfer", input = Json)]
pub async fn transfer_membership(
    request: TransferRequest,
) -> Result<TransferResult, ServerFnError> {
    kefu()?
        .transfer_membership(&principal().await?, &request)
        .await
        .map_err(e)
}

#[server(prefix = "/sfn", endpoint = "delete_players", input = Json)]
pub async fn delete_players(accounts: Vec<String>) -> Result<u64, ServerFnError> {
    kefu()?
        .delete_players(&principal().await?, &accounts)
        .await
        .map_err(e)
}

#[server(prefix = "/sfn", endpoint = "staff", input = Json)]
pub async fn list_staff() -> Result<Vec<StaffAccount>, ServerFnError> {
    kefu()?.list_staff(&principal().await?).await.map_err(e)
}

#[server(prefix = "/sfn", endpoint = "create_staff", input = Json)]
pub async fn create_staff(request: CreateStaffRequest) -> Result<i64, ServerFnError> {
    kefu()?
        .create_staff(&principal().await?, &request)
        .await
        .map(|s| s.id)
        .map_err(e)
}

/// One action on a staff account: `status:active`, `status:inactive`,
/// `password:<new>`, `delete` or `force_logout`.
#[server(prefix = "/sfn", endpoint = "staff_action", input = Json)]
pub async fn staff_action(id: i64, action: String) -> Result<(), ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    let r = match action.split_once(':') {
        Some(("status", s)) => k.set_staff_status(&who, id, s).await,
        Some(("password", p)) => k.change_staff_password(&who, id, p).await,
        None if action == "delete" => k.delete_staff(&who, id).await,
        None if action == "force_logout" => k.force_logout(&who, id).await,
        _ => Err(domain::Error::invalid("action", "is not a staff action")),
    };
    r.map_err(e)
}

#[server(prefix = "/sfn", endpoint = "audit", input = Json)]
pub async fn list_audit(query: AuditQuery) -> Result<(Vec<AuditEntry>, i64), ServerFnError> {
    kefu()?
        .audit_log(&principal().await?, &query)
        .await
        .map_err(e)
}

/// The system page: Kefu's own state and the browser service's.
#[server(prefix = "/sfn", endpoint = "system_status", input = Json)]
pub async fn system_status() -> Result<protocol::system::SystemStatus, ServerFnError> {
    kefu()?.system_status(&principal().await?).await.map_err(e)
}

/// The overview's figures: the chat desk right now and today's players.
#[server(prefix = "/sfn", endpoint = "home_figures", input = Json)]
pub async fn home_figures() -> Result<
    (
        protocol::system::KefuStatus,
        protocol::analytics::OverviewFigures,
    ),
    ServerFnError,
> {
    let (k, who) = (kefu()?, principal().await?);
    let live = k.kefu_figures(&who).await.map_err(e)?;
    let overview = k.analytics_overview(&who).await.map_err(e)?;
    Ok((live, overview.current))
}

/// What went wrong, split from a server function error code (see `crate::auth`):
/// the kind (`invalid`, `forbidden`, `conflict`, …), the field for `invalid`,
/// and the detail.
pub struct Failure {
    pub kind: String,
    pub field: Option<String>,
    pub detail: String,
}

impl Failure {
    pub fn of(err: &ServerFnError) -> Self {
        let code = match err {
            ServerFnError::ServerError(code) => code.as_str(),
            _ => "network",
        };
        let (kind, rest) = code.split_once(':').unwrap_or((code, ""));
        let (field, detail) = match kind {
            "invalid" => {
                let (f, m) = rest.split_once(':').unwrap_or((rest, ""));
                (Some(f.to_owned()), m.to_owned())
            }
            _ => (None, rest.to_owned()),
        };
        Failure {
            kind: kind.to_owned(),
            field,
            detail,
        }
    }
}

/// The dashboard's figures that do not depend on the period.
#[server(prefix = "/sfn", endpoint = "analytics_summary", input = Json)]
pub async fn analytics_summary() -> Result<
    (
        protocol::analytics::Overview,
        Vec<protocol::analytics::HighValuePlayer>,
        Vec<protocol::analytics::ServerShare>,
    ),
    ServerFnError,
> {
    let (k, who) = (kefu()?, principal().await?);
    let overview = k.analytics_overview(&who).await.map_err(e)?;
    let top = k.high_value_players(&who, None).await.map_err(e)?;
    let servers = k.server_distribution(&who).await.map_err(e)?;
    Ok((overview, top, servers))
}

/// The trends and the chat figures of one period.
#[server(prefix = "/sfn", endpoint = "analytics_period", input = Json)]
pub async fn analytics_period(
    query: protocol::analytics::TrendQuery,
) -> Result<(protocol::analytics::Trends, protocol::analytics::ChatStats), ServerFnError> {
    let (k, who) = (kefu()?, principal().await?);
    let trends = k.analytics_trends(&who, &query).await.map_err(e)?;
    let chat = k.chat_analytics(&who, &query).await.map_err(e)?;
    Ok((trends, chat))
}
