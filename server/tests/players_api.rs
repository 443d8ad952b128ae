//! Players, staff and audit endpoints over loopback: each endpoint's success
//! shape and its error answers (400 with the field, 401, 403, 404, 409).

mod common;

use common::{TestServer, ADMIN, ADMIN_PASSWORD, AGENT};
use reqwest::Method;
use serde_json::{json, Value};

struct Client<'a> {
    s: &'a TestServer,
    token: String,
}

impl Client<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .s
            .http
            .request(method, self.s.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

async fn client<'a>(s: &'a TestServer, user: &str, password: &str) -> Client<'a> {
    Client {
        s,
        token: s.token("/api/cs_login", user, password).await,
    }
}

fn err(got: &(u16, Value), status: u16, detail: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["code"], status);
    assert!(
        got.1["detail"].as_str().unwrap().contains(detail),
        "{} lacks {detail}",
        got.1
    );
}

#[tokio::test]
async fn player_endpoints() {
    let s = TestServer::start().await;
    let sup = client(&s, "admin", ADMIN_PASSWORD).await;
    let get = Method::GET;
    let post = Method::POST;

    let r = sup.call(post.clone(), "/api/admin/users", Some(json!({"account": "zhao.yun", "server_name": "常山", "game_platform": 2, "membership_pay_money": 12.5}))).await;
    assert_eq!(
        r,
        (
            200,
            json!({"code": 0, "msg": "用户创建成功", "data": {"account": "zhao.yun"}})
        )
    );
    err(
        &sup.call(
            post.clone(),
            "/api/admin/users",
            Some(json!({"account": "zhao.yun"})),
        )
        .await,
        409,
        "exists",
    );
    err(
        &sup.call(
            post.clone(),
            "/api/admin/users",
            Some(json!({"account": "bad account"})),
        )
        .await,
        400,
        "account:",
    );
    err(
        &sup.call(
            post.clone(),
            "/api/admin/users",
            Some(json!({"account": "x", "game_platform": "pc"})),
        )
        .await,
        400,
        "game_platform: invalid type",
    );
    sup.call(
        post.clone(),
        "/api/admin/users",
        Some(json!({"account": "huang.zhong", "game_platform": 1})),
    )
    .await;

    let (st, v) = sup
        .call(
            get.clone(),
            "/api/admin/users?game_platform_list=2&page=1&size=10",
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["total"], 1);
    assert_eq!(v["data"][0]["account"], "zhao.yun");
    assert_eq!(v["data"][0]["membership_pay_money"], 12.5);
    assert!(v["data"][0]["register_date"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    err(
        &sup.call(get.clone(), "/api/admin/users?sort_by=nope", None)
            .await,
        400,
        "sort_by",
    );
    err(
        &sup.call(get.clone(), "/api/admin/users?size=1000", None)
            .await,
        400,
        "size",
    );

    let (st, v) = sup
        .call(get.clone(), "/api/admin/users/default", None)
        .await;
    assert_eq!((st, v["data"].as_array().unwrap().len()), (200, 2));
    let (st, v) = sup
        .call(get.clone(), "/api/admin/users/zhao.yun", None)
        .await;
    assert_eq!((st, v["data"]["server_name"].as_str()), (200, Some("常山")));
    err(
        &sup.call(get.clone(), "/api/admin/users/nobody", None).await,
        404,
        "nobody",
    );

    let r = sup
        .call(
            Method::PUT,
            "/api/admin/users/zhao.yun",
            Some(json!({"remarks": "白马"})),
        )
        .await;
    assert_eq!(r, (200, json!({"code": 0, "msg": "用户更新成功"})));
    err(
        &sup.call(
            Method::PUT,
            "/api/admin/users/zhao.yun",
            Some(json!({"is_open": 5})),
        )
        .await,
        400,
        "is_open",
    );

    let (st, v) = sup
        .call(
            Method::PUT,
            "/api/admin/users/zhao.yun/recharge",
            Some(json!({"amount": 30, "duration": 30, "service_agent": "小乔"})),
        )
        .await;
    assert_eq!((st, v["msg"].as_str()), (200, Some("充值成功")));
    assert_eq!(v["data"]["account"], "zhao.yun");
    assert!(v["data"]["new_expire_date"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));
    err(
        &sup.call(
            Method::PUT,
            "/api/admin/users/zhao.yun/recharge",
            Some(json!({"amount": 30, "duration": 30})),
        )
        .await,
        400,
        "service_agent: is required",
    );
    err(
        &sup.call(
            Method::PUT,
            "/api/admin/users/zhao.yun/recharge",
            Some(json!({"amount": -3, "duration": 30, "service_agent": "a"})),
        )
        .await,
        400,
        "amount",
    );
    err(
        &sup.call(
            Method::PUT,
            "/api/admin/users/ghost/recharge",
            Some(json!({"amount": 3, "duration": 30, "service_agent": "a"})),
        )
        .await,
        404,
        "ghost",
    );
    let (st, v) = sup
        .call(get.clone(), "/api/admin/users/zhao.yun/recharges", None)
        .await;
    assert_eq!((st, v["total"].as_i64()), (200, Some(1)));
    assert_eq!(v["data"][0]["amount"], 30.0);

    let (st, v) = sup
        .call(
            post.clone(),
            "/api/admin/users/transfer-membership",
            Some(json!({"source_account": "zhao.yun", "target_account": "huang.zhong"})),
        )
        .await;
    assert_eq!((st, v["msg"].as_str()), (200, Some("会员转移成功")));
    assert_eq!(v["data"]["transferred_amount"], 42.5);
    assert!(v["data"]["transferred_days"].as_i64().unwrap() >= 29);
    err(
        &sup.call(
            post.clone(),
            "/api/admin/users/transfer-membership",
            Some(json!({"source_account": "a", "target_account": "a"})),
        )
        .await,
        400,
        "target_account",
    );

    // An admin reads but gets 403 on every write; an agent gets 403 on reads.
    let admin = client(&s, ADMIN.0, ADMIN.1).await;
    assert_eq!(
        admin.call(get.clone(), "/api/admin/users", None).await.0,
        200
    );
    err(
        &admin
            .call(
                post.clone(),
                "/api/admin/users",
                Some(json!({"account": "x1"})),
            )
            .await,
        403,
        "role",
    );
    err(
        &admin
            .call(Method::DELETE, "/api/admin/users/zhao.yun", None)
            .await,
        403,
        "role",
    );
    let agent = client(&s, AGENT.0, AGENT.1).await;
    err(
        &agent.call(get.clone(), "/api/admin/users", None).await,
        403,
        "role",
    );
    let anon = Client {
        s: &s,
        token: String::new(),
    };
    err(
        &anon.call(get.clone(), "/api/admin/users", None).await,
        401,
        "token",
    );

    let (st, v) = sup
        .call(
            post.clone(),
            "/api/admin/users/batch/delete",
            Some(json!({"accounts": ["zhao.yun", "huang.zhong", "ghost"]})),
        )
        .await;
    assert_eq!((st, v["data"]["deleted_count"].as_u64()), (200, Some(2)));
    err(
        &sup.call(
            post.clone(),
            "/api/admin/users/batch/delete",
            Some(json!({"accounts": []})),
        )
        .await,
        400,
        "accounts",
    );
    err(
        &sup.call(Method::DELETE, "/api/admin/users/zhao.yun", None)
            .await,
        404,
        "zhao.yun",
    );
    s.stop().await;
}

#[tokio::test]
async fn staff_and_audit_endpoints() {
    let s = TestServer::start().await;
    let sup = client(&s, "admin", ADMIN_PASSWORD).await;
    let (st, v) = sup.call(Method::POST, "/api/admin/admins", Some(json!({"username": "lu.su", "password": "password-789", "user_type": "customer_service"}))).await;
    assert_eq!((st, v["msg"].as_str()), (200, Some("管理员创建成功")));
    let id = v["data"]["id"].as_i64().unwrap();
    err(
        &sup.call(
            Method::POST,
            "/api/admin/admins",
            Some(json!({"username": "lu.su", "password": "password-789"})),
        )
        .await,
        409,
        "taken",
    );
    err(
        &sup.call(
            Method::POST,
            "/api/admin/admins",
            Some(json!({"username": "lu.xun", "password": "short"})),
        )
        .await,
        400,
        "password",
    );

    let (st, v) = sup.call(Method::GET, "/api/admin/admins", None).await;
    assert_eq!(st, 200);
    let row = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["user_type"], "customer_service");
    assert_eq!(row["status"], "active");

    // Disabled: the agent can no longer sign in; its live token dies.
    let agent_token = s.token("/api/cs_login", "lu.su", "password-789").await;
    let r = sup
        .call(
            Method::PUT,
            &format!("/api/admin/admins/{id}/status"),
            Some(json!({"status": "inactive"})),
        )
        .await;
    assert_eq!(r, (200, json!({"code": 0, "msg": "状态更新成功"})));
    let agent = Client {
        s: &s,
        token: agent_token,
    };
    err(&agent.call(Method::GET, "/api/me", None).await, 401, "");
    let r = s
        .http
        .post(s.url("/api/cs_login"))
        .json(&json!({"username": "lu.su", "password": "password-789"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    sup.call(
        Method::PUT,
        &format!("/api/admin/admins/{id}/status"),
        Some(json!({"status": "active"})),
    )
    .await;
    err(
        &sup.call(
            Method::PUT,
            &format!("/api/admin/admins/{id}/status"),
            Some(json!({"status": "gone"})),
        )
        .await,
        400,
        "status",
    );

    let r = sup
        .call(
            Method::PUT,
            &format!("/api/admin/admins/{id}/password"),
            Some(json!({"new_password": "password-000"})),
        )
        .await;
    assert_eq!(r, (200, json!({"code": 0, "msg": "密码修改成功"})));
    let token = s.token("/api/cs_login", "lu.su", "password-000").await;
    let r = sup
        .call(
            Method::POST,
            &format!("/api/admin/admins/{id}/force-logout"),
            None,
        )
        .await;
    assert_eq!(r.0, 200);
    err(
        &Client { s: &s, token }
            .call(Method::GET, "/api/me", None)
            .await,
        401,
        "revoked",
    );
    err(
        &sup.call(
            Method::PUT,
            "/api/admin/admins/abc/password",
            Some(json!({"new_password": "password-000"})),
        )
        .await,
        400,
        "path",
    );
    err(
        &sup.call(Method::DELETE, "/api/admin/admins/99999", None)
            .await,
        404,
        "99999",
    );

    // Guards: no self-removal.
    let me = sup.call(Method::GET, "/api/me", None).await.1["data"]["id"]
        .as_i64()
        .unwrap();
    err(
        &sup.call(Method::DELETE, &format!("/api/admin/admins/{me}"), None)
            .await,
        409,
        "own account",
    );
    err(
        &sup.call(
            Method::PUT,
            &format!("/api/admin/admins/{me}/status"),
            Some(json!({"status": "inactive"})),
        )
        .await,
        409,
        "own account",
    );
    let r = sup
        .call(Method::DELETE, &format!("/api/admin/admins/{id}"), None)
        .await;
    assert_eq!(r, (200, json!({"code": 0, "msg": "管理员删除成功"})));

    // Only a super admin manages staff.
    let admin = client(&s, ADMIN.0, ADMIN.1).await;
    err(
        &admin.call(Method::GET, "/api/admin/admins", None).await,
        403,
        "role",
    );
    err(
        &admin.call(Method::GET, "/api/admin/audit", None).await,
        403,
        "role",
    );

    let (st, v) = sup
        .call(Method::GET, "/api/admin/audit?actor=admin&size=50", None)
        .await;
    assert_eq!(st, 200);
    let actions: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(v["total"].as_i64().unwrap() as usize, actions.len());
    for a in [
        "staff.create",
        "staff.status",
        "staff.password",
        "staff.force_logout",
        "staff.delete",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
    assert_eq!(v["data"][0]["ip"], "127.0.0.1");
    err(
        &sup.call(Method::GET, "/api/admin/audit?from=someday", None)
            .await,
        400,
        "from",
    );
    s.stop().await;
}

#[tokio::test]
async fn analytics_endpoints() {
    let s = TestServer::start().await;
    let sup = client(&s, "admin", ADMIN_PASSWORD).await;
    let admin = client(&s, ADMIN.0, ADMIN.1).await;
    let agent = client(&s, AGENT.0, AGENT.1).await;
    let (get, post, put) = (Method::GET, Method::POST, Method::PUT);
    for (account, server) in [
        ("guan.yu", "荆州"),
        ("zhang.fei", "荆州"),
        ("ma.chao", "西凉"),
        ("pang.tong", ""),
    ] {
        let r = sup
            .call(
                post.clone(),
                "/api/admin/users",
                Some(json!({"account": account, "server_name": server})),
            )
            .await;
        assert_eq!(r.0, 200, "{}", r.1);
    }
    for (account, amount, gift) in [
        ("guan.yu", 88.8, false),
        ("ma.chao", 30.0, false),
        ("ma.chao", 5.0, true),
    ] {
        let r = sup
            .call(
                put.clone(),
                &format!("/api/admin/users/{account}/recharge"),
                Some(json!({"amount": amount, "duration": 30, "membership_level": 2, "service_agent": "agent.wang", "is_gift": gift})),
            )
            .await;
        assert_eq!(r.0, 200, "{}", r.1);
    }

    let (st, o) = admin
        .call(get.clone(), "/api/admin/analytics/overview", None)
        .await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["code"], 0);
    let d = &o["data"];
    assert_eq!(d["total_users"], 4);
    assert_eq!(d["active_users"], 2, "guan.yu and ma.chao recharged");
    assert_eq!(d["total_revenue"], 118.8, "the gift is no revenue");
    assert_eq!(d["monthly_revenue"], 118.8);
    assert_eq!(d["new_users_today"], 4);
    assert_eq!(d["expired_users_today"], 0);
    assert_eq!(d["previous"]["new_users_today"], 0);

    let (st, t) = admin
        .call(get.clone(), "/api/admin/analytics/trends?days=7", None)
        .await;
    assert_eq!(st, 200, "{t}");
    for key in ["dates", "new_users", "revenue", "active_users"] {
        assert_eq!(t["data"][key].as_array().unwrap().len(), 7, "{key}");
    }
    assert_eq!(t["data"]["new_users"][6], 4);
    assert_eq!(t["data"]["revenue"][6], 118.8);
    let (_, t) = admin
        .call(get.clone(), "/api/admin/analytics/trends", None)
        .await;
    assert_eq!(
        t["data"]["dates"].as_array().unwrap().len(),
        30,
        "default 30 days"
    );
    let r = admin
        .call(
            get.clone(),
            "/api/admin/analytics/trends?from=2026-01-01&to=2026-01-31",
            None,
        )
        .await;
    assert_eq!(r.1["data"]["dates"].as_array().unwrap().len(), 31);
    err(
        &admin
            .call(get.clone(), "/api/admin/analytics/trends?days=0", None)
            .await,
        400,
        "days",
    );
    err(
        &admin
            .call(get.clone(), "/api/admin/analytics/trends?days=367", None)
            .await,
        400,
        "days",
    );
    err(
        &admin
            .call(get.clone(), "/api/admin/analytics/trends?days=ten", None)
            .await,
        400,
        "days",
    );
    err(
        &admin
            .call(
                get.clone(),
                "/api/admin/analytics/trends?from=2026-02-01&to=2026-01-01",
                None,
            )
            .await,
        400,
        "to",
    );

    let (st, h) = admin
        .call(
            get.clone(),
            "/api/admin/analytics/high-value-users?limit=1",
            None,
        )
        .await;
    assert_eq!(st, 200, "{h}");
    let rows = h["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["account"], "guan.yu");
    assert_eq!(rows[0]["total_payment"], 88.8);
    assert_eq!(rows[0]["membership_level"], 2);
    for key in ["register_date", "last_payment_date"] {
        assert!(rows[0][key].as_str().unwrap().ends_with("+08:00"), "{key}");
    }
    err(
        &admin
            .call(
                get.clone(),
                "/api/admin/analytics/high-value-users?limit=0",
                None,
            )
            .await,
        400,
        "limit",
    );
    err(
        &admin
            .call(
                get.clone(),
                "/api/admin/analytics/high-value-users?limit=101",
                None,
            )
            .await,
        400,
        "limit",
    );

    let (st, sd) = admin
        .call(
            get.clone(),
            "/api/admin/analytics/server-distribution",
            None,
        )
        .await;
    assert_eq!(st, 200, "{sd}");
    assert_eq!(
        sd["data"],
        json!([
            {"server_name": "荆州", "user_count": 2, "percentage": 66.67},
            {"server_name": "西凉", "user_count": 1, "percentage": 33.33}
        ])
    );

    let (st, c) = admin
        .call(get.clone(), "/api/admin/analytics/chat?days=14", None)
        .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data"]["sessions"].as_array().unwrap().len(), 14);
    assert_eq!(c["data"]["queue_length"], 0);
    assert!(c["data"]["first_response_median_ms"].is_null());
    err(
        &admin
            .call(get.clone(), "/api/admin/analytics/chat?days=400", None)
            .await,
        400,
        "days",
    );

    // Agents may not; nobody without a token may.
    for path in [
        "overview",
        "trends",
        "high-value-users",
        "server-distribution",
        "chat",
    ] {
        let r = agent
            .call(get.clone(), &format!("/api/admin/analytics/{path}"), None)
            .await;
        assert_eq!(r.0, 403, "{path}: {}", r.1);
        let r = s
            .http
            .get(s.url(&format!("/api/admin/analytics/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    s.stop().await;
}
