//! Staff accounts as the super admin manages them (seed 000 §3) and the
//! audit log.

use serde::{Deserialize, Serialize};

use crate::UserType;

/// A row of `GET /admin/admins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub id: i64,
    pub username: String,
    pub is_super: bool,
    pub is_admin: bool,
    pub user_type: UserType,
    /// `active` or `inactive`.
    pub status: String,
    pub created_at: String,
    pub last_login: Option<String>,
}

/// `POST /admin/admins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateStaffRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub is_super: Option<bool>,
    /// `admin` (default) or `customer_service`.
    #[serde(default)]
    pub user_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedStaff {
    pub id: i64,
    pub username: String,
}

/// `PUT /admin/admins/{id}/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordRequest {
    pub new_password: String,
}

/// `PUT /admin/admins/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {
    pub status: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub created_at: String,
}

/// The query of `GET /admin/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub page: Option<String>,
    pub size: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}
