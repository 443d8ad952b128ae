//! Staff sign-in types (seed 000 §1, API.md "Roles").

use serde::{Deserialize, Serialize};

/// `POST /api/admin/login` and `POST /api/cs_login` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// What a staff member is, as the wire names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    SuperAdmin,
    Admin,
    CustomerService,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::SuperAdmin => "super_admin",
            UserType::Admin => "admin",
            UserType::CustomerService => "customer_service",
        }
    }
}

/// `user_info` of seed 000 §1.1 and `data` of `GET /api/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub is_super: bool,
    pub is_admin: bool,
    pub user_type: UserType,
    /// RFC 3339 in the business time zone.
    pub created_at: String,
    /// RFC 3339 in the business time zone; `None` before the first sign-in.
    pub last_login: Option<String>,
}

/// Login answer: `access_token` and `user_info` beside `code` and `msg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub code: i32,
    pub msg: String,
    pub access_token: String,
    pub user_info: UserInfo,
}

/// `POST /api/refresh` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    pub code: i32,
    pub msg: String,
    pub access_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_type_wire_names() {
        for (t, s) in [
            (UserType::SuperAdmin, "super_admin"),
            (UserType::Admin, "admin"),
            (UserType::CustomerService, "customer_service"),
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(s));
            assert_eq!(t.as_str(), s);
        }
    }
}
