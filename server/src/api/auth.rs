//! Staff sign-in over REST (seed 000 §1): `POST /admin/login`,
//! `POST /cs_login`, `POST /logout`, `GET /me`, `POST /refresh`.

use axum::extract::State;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::auth::LoginKind;
use protocol::{LoginRequest, LoginResponse, RefreshResponse, Success, UserInfo};

use crate::error::ApiResult;
use app::auth::ssr::client_ip;

use crate::extract::{ApiJson, AuthStaff};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/login", post(admin_login))
        .route("/cs_login", post(cs_login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/refresh", post(refresh))
}

async fn admin_login(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    login(state, parts, body, LoginKind::Admin).await
}

async fn cs_login(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    login(state, parts, body, LoginKind::Staff).await
}

async fn login(
    state: AppState,
    parts: Parts,
    body: LoginRequest,
    kind: LoginKind,
) -> ApiResult<Json<LoginResponse>> {
    let session = state
        .kefu
        .login(kind, &body.username, &body.password, &client_ip(&parts))
        .await?;
    Ok(Json(LoginResponse {
        code: 0,
        msg: "success".to_owned(),
        access_token: session.token,
        user_info: session.user,
    }))
}

async fn logout(State(state): State<AppState>, who: AuthStaff) -> ApiResult<Json<Success<()>>> {
    state.kefu.logout(&who.principal).await?;
    Ok(Json(Success::message("登出成功")))
}

async fn me(State(state): State<AppState>, who: AuthStaff) -> Json<Success<UserInfo>> {
    Json(Success::data(who.staff.user_info(state.kefu.clock())))
}

async fn refresh(
    State(state): State<AppState>,
    who: AuthStaff,
) -> ApiResult<Json<RefreshResponse>> {
    let session = state.kefu.refresh(&who.principal).await?;
    Ok(Json(RefreshResponse {
        code: 0,
        msg: "success".to_owned(),
        access_token: session.token,
    }))
}
