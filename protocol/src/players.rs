//! Player records, recharges and membership transfers (seed 000 §2,
//! appendix A). Money is a number in yuan with at most two decimals; times
//! are RFC 3339 strings in the business time zone.

use serde::{Deserialize, Serialize};

/// A row of the player list and the body of the detail answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Player {
    pub account: String,
    pub real_account: String,
    pub main_account: String,
    pub contact: String,
    pub server_name: String,
    pub server_info: String,
    /// 0 free, 1 member, 2 VIP, 3 SVIP (appendix D).
    pub membership_level: i64,
    /// Total paid, yuan.
    pub membership_pay_money: f64,
    /// `None` when the player never had a membership.
    pub membership_expire_date: Option<String>,
    /// -1 unknown, 1 Android, 2 iOS, 3 PC (appendix C).
    pub game_platform: i64,
    pub auxiliary_online: i64,
    pub is_open: i64,
    pub register_date: String,
    pub remarks: String,
    pub websocket_url: String,
    pub game_web_url: String,
    pub user_login_data: String,
}

/// `POST /admin/users` and `PUT /admin/users/{account}`: every field is
/// optional on update; `account` is required on create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlayerInput {
    pub account: Option<String>,
    pub real_account: Option<String>,
    pub main_account: Option<String>,
    pub contact: Option<String>,
    pub server_name: Option<String>,
    pub server_info: Option<String>,
    pub membership_level: Option<i64>,
    pub membership_pay_money: Option<f64>,
    pub membership_expire_date: Option<String>,
    pub game_platform: Option<i64>,
    pub auxiliary_online: Option<i64>,
    pub is_open: Option<i64>,
    pub register_date: Option<String>,
    pub remarks: Option<String>,
    pub websocket_url: Option<String>,
    pub game_web_url: Option<String>,
    pub user_login_data: Option<String>,
}

/// The query of `GET /admin/users`, as strings: the domain validates each
/// and names the one that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlayerQuery {
    pub page: Option<String>,
    pub size: Option<String>,
    pub keyword: Option<String>,
    pub account: Option<String>,
    pub real_account: Option<String>,
    pub main_account: Option<String>,
    pub contact: Option<String>,
    pub server_name: Option<String>,
    pub server_info: Option<String>,
    pub membership_level_list: Option<String>,
    pub membership_pay_money_min: Option<String>,
    pub membership_pay_money_max: Option<String>,
    pub membership_expire_date_start: Option<String>,
    pub membership_expire_date_end: Option<String>,
    pub game_platform_list: Option<String>,
    pub auxiliary_online: Option<String>,
    pub is_open: Option<String>,
    pub register_date_start: Option<String>,
    pub register_date_end: Option<String>,
    pub remarks: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RechargeRequest {
    pub amount: f64,
    pub duration: i64,
    pub service_agent: String,
    #[serde(default)]
    pub remark: Option<String>,
    #[serde(default)]
    pub is_gift: Option<bool>,
    #[serde(default)]
    pub membership_level: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RechargeResult {
    pub account: String,
    pub amount: f64,
    pub duration: i64,
    pub new_expire_date: String,
}

/// One row of a player's recharge history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recharge {
    pub id: i64,
    pub account: String,
    pub amount: f64,
    pub duration: i64,
    pub membership_level: Option<i64>,
    pub service_agent: String,
    pub remark: String,
    pub is_gift: bool,
    pub created_at: String,
    pub created_by: Option<String>,
    pub new_expire_date: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub source_account: String,
    pub target_account: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferResult {
    pub source_account: String,
    pub target_account: String,
    pub transferred_days: i64,
    pub transferred_amount: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchDeleteRequest {
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchDeleteResult {
    pub deleted_count: u64,
}
