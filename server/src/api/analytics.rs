//! Analytics over REST (seed 000 §4 and the `chat` extension): admins and
//! super admins; parameters are checked in `domain`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use protocol::analytics::{
    ChatStats, HighValuePlayer, LimitQuery, Overview, ServerShare, TrendQuery, Trends,
};
use protocol::Success;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthStaff};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/analytics/overview", get(overview))
        .route("/admin/analytics/trends", get(trends))
        .route("/admin/analytics/high-value-users", get(high_value))
        .route("/admin/analytics/server-distribution", get(servers))
        .route("/admin/analytics/chat", get(chat))
}

async fn overview(State(s): State<AppState>, who: AuthStaff) -> ApiResult<Json<Success<Overview>>> {
    Ok(Json(Success::data(
        s.kefu.analytics_overview(&who.principal).await?,
    )))
}

async fn trends(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> ApiResult<Json<Success<Trends>>> {
    Ok(Json(Success::data(
        s.kefu.analytics_trends(&who.principal, &q).await?,
    )))
}

async fn high_value(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<Success<Vec<HighValuePlayer>>>> {
    Ok(Json(Success::data(
        s.kefu.high_value_players(&who.principal, q.limit).await?,
    )))
}

async fn servers(
    State(s): State<AppState>,
    who: AuthStaff,
) -> ApiResult<Json<Success<Vec<ServerShare>>>> {
    Ok(Json(Success::data(
        s.kefu.server_distribution(&who.principal).await?,
    )))
}

async fn chat(
    State(s): State<AppState>,
    who: AuthStaff,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> ApiResult<Json<Success<ChatStats>>> {
    Ok(Json(Success::data(
        s.kefu.chat_analytics(&who.principal, &q).await?,
    )))
}
