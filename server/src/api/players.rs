//! Players over REST (seed 000 §2): parse, call `domain`, wrap in the envelope.

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use protocol::players::{
    BatchDeleteRequest, BatchDeleteResult, Player, PlayerInput, PlayerQuery, Recharge,
    RechargeRequest, RechargeResult, TransferRequest, TransferResult,
};
use protocol::Success;
use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthStaff};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/default", get(default_list))
        .route("/admin/users/batch/delete", post(batch_delete))
        .route("/admin/users/transfer-membership", post(transfer))
        .route(
            "/admin/users/{account}",
            get(detail).put(update).delete(remove),
        )
        .route("/admin/users/{account}/recharge", put(recharge))
        .route("/admin/users/{account}/recharges", get(history))
}

async fn list(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiQuery(q): ApiQuery<PlayerQuery>,
) -> ApiResult<Json<Success<Vec<Player>>>> {
    let (rows, total) = s.kefu.list_players(&who.principal, &q).await?;
    Ok(Json(Success::page(rows, total)))
}

async fn default_list(
    State(s): State<AppState>,
    who: AuthStaff,
) -> ApiResult<Json<Success<Vec<Player>>>> {
    Ok(Json(Success::data(
        s.kefu.default_players(&who.principal).await?,
    )))
}

async fn detail(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(account): ApiPath<String>,
) -> ApiResult<Json<Success<Player>>> {
    Ok(Json(Success::data(
        s.kefu.get_player(&who.principal, &account).await?,
    )))
}

#[derive(Serialize, Deserialize)]
pub struct Created {
    pub account: String,
}

async fn create(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(input): ApiJson<PlayerInput>,
) -> ApiResult<Json<Success<Created>>> {
    let account = s.kefu.create_player(&who.principal, &input).await?;
    Ok(Json(Success::with_msg("用户创建成功", Created { account })))
}

async fn update(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(account): ApiPath<String>,
    ApiJson(input): ApiJson<PlayerInput>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu
        .update_player(&who.principal, &account, &input)
        .await?;
    Ok(Json(Success::message("用户更新成功")))
}

async fn remove(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(account): ApiPath<String>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu.delete_player(&who.principal, &account).await?;
    Ok(Json(Success::message("用户删除成功")))
}

async fn batch_delete(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<BatchDeleteRequest>,
) -> ApiResult<Json<Success<BatchDeleteResult>>> {
    let deleted_count = s.kefu.delete_players(&who.principal, &req.accounts).await?;
    Ok(Json(Success::with_msg(
        "批量删除成功",
        BatchDeleteResult { deleted_count },
    )))
}

async fn recharge(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(account): ApiPath<String>,
    ApiJson(req): ApiJson<RechargeRequest>,
) -> ApiResult<Json<Success<RechargeResult>>> {
    let r = s.kefu.recharge(&who.principal, &account, &req).await?;
    Ok(Json(Success::with_msg("充值成功", r)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    page: Option<String>,
    size: Option<String>,
}

async fn history(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(account): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Success<Vec<Recharge>>>> {
    let (rows, total) = s
        .kefu
        .recharge_history(
            &who.principal,
            &account,
            q.page.as_deref(),
            q.size.as_deref(),
        )
        .await?;
    Ok(Json(Success::page(rows, total)))
}

async fn transfer(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<TransferRequest>,
) -> ApiResult<Json<Success<TransferResult>>> {
    let r = s.kefu.transfer_membership(&who.principal, &req).await?;
    Ok(Json(Success::with_msg("会员转移成功", r)))
}
