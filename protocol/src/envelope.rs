//! The response envelope of API.md "General".

use serde::{Deserialize, Serialize};

/// A successful answer: `{"code": 0, "msg": …, "data": …}` (plus `total` on paged lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Success<T> {
    pub code: i32,
    pub msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> Success<T> {
    /// `{"code":0,"msg":"success","data":data}`
    pub fn data(data: T) -> Self {
        Self::with_msg("success", data)
    }

    /// One page of a list: `data` plus the `total` across all pages.
    pub fn page(data: T, total: i64) -> Self {
        Success {
            total: Some(total),
            ..Self::data(data)
        }
    }

    pub fn with_msg(msg: &str, data: T) -> Self {
        Success {
            code: 0,
            msg: msg.to_owned(),
            data: Some(data),
            total: None,
        }
    }
}

impl Success<()> {
    /// A success that carries only a message (e.g. logout's `登出成功`).
    pub fn message(msg: &str) -> Self {
        Success {
            code: 0,
            msg: msg.to_owned(),
            data: None,
            total: None,
        }
    }
}

/// A failure: `{"code": <HTTP status>, "msg": <short message>, "detail": <what exactly>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: u16,
    pub msg: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_without_data_has_no_data_key() {
        let v = serde_json::to_value(Success::message("登出成功")).unwrap();
        assert_eq!(v, serde_json::json!({"code": 0, "msg": "登出成功"}));
    }

    #[test]
    fn success_with_data() {
        let v = serde_json::to_value(Success::data(5)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": 0, "msg": "success", "data": 5})
        );
    }
}
