//! The API's error answer: `{"code": <status>, "msg": <short message>,
//! "detail": <what exactly>}` (API.md "General"). Internal errors are logged
//! with a request id; the user sees only that id.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use protocol::ErrorBody;

#[derive(Debug)]
pub enum ApiError {
    Domain(domain::Error),
    /// The body could not be read as the expected JSON; `detail` names the field.
    BadRequest(String),
    /// The body was over this many MiB.
    TooLarge(usize),
    NoRoute,
    /// The path exists, for other methods than this one (named).
    NoMethod(String),
}

impl From<domain::Error> for ApiError {
    fn from(e: domain::Error) -> Self {
        ApiError::Domain(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn body(status: StatusCode, msg: &str, detail: String) -> Response {
    (
        status,
        Json(ErrorBody {
            code: status.as_u16(),
            msg: msg.to_owned(),
            detail,
        }),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use domain::Error::*;
        match self {
            ApiError::BadRequest(detail) => body(StatusCode::BAD_REQUEST, "请求参数错误", detail),
            ApiError::TooLarge(mib) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                "请求体过大",
                format!("body: must be at most {mib} MiB"),
            ),
            ApiError::NoRoute => body(
                StatusCode::NOT_FOUND,
                "接口不存在",
                "no such endpoint".to_owned(),
            ),
            // API.md's failures have no 405: a 404 that says why.
            ApiError::NoMethod(method) => body(
                StatusCode::NOT_FOUND,
                "接口不存在",
                format!("no such endpoint for {method}: this path takes another method"),
            ),
            ApiError::Domain(e) => match e {
                Invalid { field, message } => body(
                    StatusCode::BAD_REQUEST,
                    "请求参数错误",
                    format!("{field}: {message}"),
                ),
                Unauthenticated(detail) => {
                    body(StatusCode::UNAUTHORIZED, "未认证或token无效", detail)
                }
                AccountDisabled => body(
                    StatusCode::FORBIDDEN,
                    "账号已停用",
                    "account disabled".to_owned(),
                ),
                Forbidden(detail) => body(StatusCode::FORBIDDEN, "权限不足", detail),
                NotFound(detail) => body(StatusCode::NOT_FOUND, "资源不存在", detail),
                Conflict(detail) => body(StatusCode::CONFLICT, "资源冲突", detail),
                RateLimited { retry_after_secs } => {
                    let mut r = body(
                        StatusCode::TOO_MANY_REQUESTS,
                        "请求过于频繁",
                        format!("too many requests; retry after {retry_after_secs} s"),
                    );
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                    r
                }
                Internal(context) => {
                    let id = uuid::Uuid::new_v4().simple().to_string();
                    tracing::error!(request_id = %id, %context, "internal error");
                    body(StatusCode::INTERNAL_SERVER_ERROR, "服务器内部错误", id)
                }
            },
        }
    }
}
