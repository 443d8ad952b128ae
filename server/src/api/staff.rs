//! Staff accounts and the audit log over REST (seed 000 §3; super admins).

use axum::extract::State;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use protocol::staff::{
    AuditEntry, AuditQuery, CreateStaffRequest, CreatedStaff, PasswordRequest, StaffAccount,
    StatusRequest,
};
use protocol::Success;

use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthStaff};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/admins", get(list).post(create))
        .route("/admin/admins/{id}", axum::routing::delete(remove))
        .route("/admin/admins/{id}/password", put(password))
        .route("/admin/admins/{id}/status", put(status))
        .route("/admin/admins/{id}/force-logout", post(force_logout))
        .route("/admin/audit", get(audit))
}

async fn list(
    State(s): State<AppState>,
    who: AuthStaff,
) -> ApiResult<Json<Success<Vec<StaffAccount>>>> {
    Ok(Json(Success::data(
        s.kefu.list_staff(&who.principal).await?,
    )))
}

async fn create(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiJson(req): ApiJson<CreateStaffRequest>,
) -> ApiResult<Json<Success<CreatedStaff>>> {
    let staff = s.kefu.create_staff(&who.principal, &req).await?;
    Ok(Json(Success::with_msg(
        "管理员创建成功",
        CreatedStaff {
            id: staff.id,
            username: staff.username,
        },
    )))
}

async fn password(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu
        .change_staff_password(&who.principal, id, &req.new_password)
        .await?;
    Ok(Json(Success::message("密码修改成功")))
}

async fn status(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu
        .set_staff_status(&who.principal, id, &req.status)
        .await?;
    Ok(Json(Success::message("状态更新成功")))
}

async fn remove(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu.delete_staff(&who.principal, id).await?;
    Ok(Json(Success::message("管理员删除成功")))
}

async fn force_logout(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Success<()>>> {
    s.kefu.force_logout(&who.principal, id).await?;
    Ok(Json(Success::message("已强制下线")))
}

async fn audit(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Success<Vec<AuditEntry>>>> {
    let (rows, total) = s.kefu.audit_log(&who.principal, &q).await?;
    Ok(Json(Success::page(rows, total)))
}
