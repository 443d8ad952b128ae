//! Staff sign-in over REST on a real loopback server: every endpoint's
//! success and error paths, with exact statuses and body shapes.

mod common;

use common::{TestServer, ADMIN, ADMIN_PASSWORD, AGENT};
use serde_json::{json, Value};

async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn assert_error(status: u16, v: &Value, expected: u16, detail_contains: &str) {
    assert_eq!(status, expected, "{v}");
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 3, "exactly code, msg, detail: {v}");
    assert_eq!(v["code"], expected, "{v}");
    assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains(detail_contains),
        "detail `{detail}` lacks `{detail_contains}`"
    );
}

#[tokio::test]
async fn admin_login_success_shape() {
    let s = TestServer::start().await;
    let (status, v) = body(
        s.http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["code"], 0);
    assert_eq!(v["msg"], "success");
    assert!(v["access_token"].as_str().unwrap().split('.').count() == 3);
    let u = &v["user_info"];
    assert_eq!(u["username"], "admin");
    assert_eq!(u["is_super"], true);
    assert_eq!(u["is_admin"], true);
    assert_eq!(u["user_type"], "super_admin");
    assert!(u["id"].is_i64());
    assert!(u["created_at"].as_str().unwrap().ends_with("+08:00"), "{u}");
    assert!(u["last_login"].as_str().unwrap().ends_with("+08:00"), "{u}");

    // An admin signs in at both endpoints.
    s.token("/api/admin/login", ADMIN.0, ADMIN.1).await;
    s.token("/api/cs_login", ADMIN.0, ADMIN.1).await;
    s.stop().await;
}

#[tokio::test]
async fn cs_login_and_agent_rules() {
    let s = TestServer::start().await;
    let (status, v) = body(
        s.http
            .post(s.url("/api/cs_login"))
            .json(&json!({"username": AGENT.0, "password": AGENT.1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["user_info"]["user_type"], "customer_service");
    assert_eq!(v["user_info"]["is_admin"], false);
    assert_eq!(v["user_info"]["is_super"], false);

    // An agent on /admin/login: 403 pointing to /cs_login.
    let (status, v) = body(
        s.http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": AGENT.0, "password": AGENT.1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(status, &v, 403, "/api/cs_login");
    s.stop().await;
}

#[tokio::test]
async fn bad_bodies_name_the_field() {
    let s = TestServer::start().await;
    let post = |b: &'static str| {
        s.http
            .post(s.url("/api/admin/login"))
            .header("content-type", "application/json")
            .body(b)
            .send()
    };
    let (st, v) = body(post("{\"username\":").await.unwrap()).await;
    assert_error(st, &v, 400, "malformed JSON");
    let (st, v) = body(post(r#"{"username":"admin"}"#).await.unwrap()).await;
    assert_error(st, &v, 400, "password: is required");
    let (st, v) = body(post(r#"{"username":1,"password":"x"}"#).await.unwrap()).await;
    assert_error(st, &v, 400, "username: invalid type");
    let (st, v) = body(post(r#"{"username":"","password":"x"}"#).await.unwrap()).await;
    assert_error(st, &v, 400, "username: is required");
    let (st, v) = body(post("").await.unwrap()).await;
    assert_error(st, &v, 400, "body");

    // Over 1 MiB: 413 with the same shape, announced or streamed.
    let big = format!(
        r#"{{"username":"admin","password":"{}"}}"#,
        "x".repeat(1024 * 1024)
    );
    let (st, v) = body(
        s.http
            .post(s.url("/api/admin/login"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 413, "1 MiB");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    // Chunked, without Content-Length: the limit cuts it while reading.
    let (st, v) = body(
        s.http
            .post(s.url("/api/cs_login"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                chunks,
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 413, "1 MiB");
    // Nothing was signed in by any of it.
    assert_eq!(last_login(&s, "admin").await, None);
    s.stop().await;
}

async fn last_login(s: &TestServer, username: &str) -> Option<i64> {
    domain::staff::by_username(s.kefu.store(), username)
        .await
        .unwrap()
        .unwrap()
        .last_login
}

#[tokio::test]
async fn wrong_password_and_unknown_user_answer_the_same() {
    let s = TestServer::start().await;
    let a = body(
        s.http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let b = body(
        s.http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": "no-such-user", "password": "wrong-password"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(a.0, &a.1, 401, "invalid username or password");
    assert_eq!(a, b);
    s.stop().await;
}

#[tokio::test]
async fn disabled_account_gets_403_and_its_token_dies() {
    let s = TestServer::start().await;
    let token = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let agent = domain::staff::by_username(s.kefu.store(), AGENT.0)
        .await
        .unwrap()
        .unwrap();
    domain::staff::set_status(s.kefu.store(), agent.id, domain::staff::Status::Inactive)
        .await
        .unwrap();
    let (st, v) = body(
        s.http
            .post(s.url("/api/cs_login"))
            .json(&json!({"username": AGENT.0, "password": AGENT.1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 403, "account disabled");
    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "");
    s.stop().await;
}

#[tokio::test]
async fn rate_limited_with_retry_after() {
    let s = TestServer::start().await;
    for _ in 0..5 {
        let r = s
            .http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = s
        .http
        .post(s.url("/api/admin/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let (st, v) = body(r).await;
    assert_error(st, &v, 429, "retry after");
    s.stop().await;
}

/// The panel's sign-in leaves a device cookie, sent back to the sign-in
/// only; with it, a username that a stranger's wrong passwords locked
/// still signs in from that browser.
#[tokio::test]
async fn the_panel_keeps_its_device_signed_in_through_a_lockout() {
    let s = TestServer::start().await;
    let panel = |device: Option<&str>| {
        let mut r = s
            .http
            .post(s.url("/sfn/login"))
            .header("origin", &s.base)
            .header("accept", "application/json")
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]);
        if let Some(d) = device {
            r = r.header("cookie", d.to_owned());
        }
        r.send()
    };
    let r = panel(None).await.unwrap();
    assert_eq!(r.status(), 200);
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kefu_device="))
        .expect("a device cookie");
    assert!(
        set.contains("HttpOnly")
            && set.contains("Path=/sfn/login")
            && set.contains("SameSite=Strict")
            && set.contains(&format!("Max-Age={}", domain::auth::DEVICE_TTL_SECS)),
        "{set}"
    );
    // Beside the session, not instead of it.
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("kefu_session=")));
    let device = set.split(';').next().unwrap().to_owned();
    // A stranger's five wrong passwords over REST lock the username.
    for _ in 0..5 {
        let r = s
            .http
            .post(s.url("/api/admin/login"))
            .json(&json!({"username": "admin", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert_eq!(panel(None).await.unwrap().status(), 429);
    assert_eq!(
        panel(Some("kefu_device=forged")).await.unwrap().status(),
        429
    );
    let r = panel(Some(&device)).await.unwrap();
    assert_eq!(r.status(), 200);
    // Known already: no new device cookie.
    assert!(!r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("kefu_device=")));
    s.stop().await;
}

/// Behind the operator's proxy every request comes from its address: the
/// limit per address must count the clients `X-Forwarded-For` names, or one
/// client's wrong passwords would lock everyone out. Without the proxy
/// configured, the header counts for nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let login = |s: &TestServer, from: &str, user: String, password: &str| {
        s.http
            .post(s.url("/api/admin/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": user, "password": password}))
            .send()
    };
    for (s, proxied) in [
        (TestServer::start_behind_proxy().await, true),
        (TestServer::start().await, false),
    ] {
        // 20 wrong passwords (different usernames) from one client.
        for i in 0..20 {
            let r = login(&s, "6.6.6.6", format!("nobody{i}"), "wrong-password")
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
        }
        let r = login(&s, "6.6.6.6", "nobody".into(), "wrong-password")
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "proxied: {proxied}");
        // Another client signs in, if the proxy is trusted.
        let r = login(&s, "7.7.7.7", "admin".into(), ADMIN_PASSWORD)
            .await
            .unwrap();
        let expected = if proxied { 200 } else { 429 };
        assert_eq!(r.status(), expected, "proxied: {proxied}");
        s.stop().await;
    }
}

#[tokio::test]
async fn me_refresh_logout() {
    let s = TestServer::start().await;
    let token = s.token("/api/admin/login", "admin", ADMIN_PASSWORD).await;

    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["username"], "admin");
    assert_eq!(v["data"]["user_type"], "super_admin");
    // The token query parameter works as well (WebSocket clients use it).
    let r = s
        .http
        .get(s.url(&format!("/api/me?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (st, v) = body(
        s.http
            .post(s.url("/api/refresh"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["code"], 0);
    let fresh = v["access_token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    // The refreshed-away token is dead, the new one lives.
    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "revoked");
    let r = s
        .http
        .get(s.url("/api/me"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let (st, v) = body(
        s.http
            .post(s.url("/api/logout"))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v, json!({"code": 0, "msg": "登出成功"}));
    // Token after logout: 401.
    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "revoked");
    let (st, v) = body(
        s.http
            .post(s.url("/api/logout"))
            .bearer_auth(&fresh)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "revoked");
    s.stop().await;
}

#[tokio::test]
async fn missing_bad_and_expired_tokens() {
    let s = TestServer::start().await;
    let (st, v) = body(s.http.get(s.url("/api/me")).send().await.unwrap()).await;
    assert_error(st, &v, 401, "missing token");
    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth("garbage")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "invalid token");
    let (st, v) = body(s.http.post(s.url("/api/refresh")).send().await.unwrap()).await;
    assert_error(st, &v, 401, "missing token");

    // A correctly signed token that expired two minutes ago.
    let admin = domain::staff::by_username(s.kefu.store(), "admin")
        .await
        .unwrap()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let (expired, _) = s
        .kefu
        .tokens()
        .issue(
            &admin.id.to_string(),
            "super",
            admin.token_version,
            now - 3600,
            3480,
        )
        .unwrap();
    let (st, v) = body(
        s.http
            .get(s.url("/api/me"))
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 401, "token expired");
    s.stop().await;
}

#[tokio::test]
async fn unknown_api_path_is_a_404_envelope() {
    let s = TestServer::start().await;
    let (st, v) = body(s.http.get(s.url("/api/nope")).send().await.unwrap()).await;
    assert_error(st, &v, 404, "no such endpoint");
    // A path the API has, with a method it does not take there: the same
    // envelope, saying so (not an empty 405).
    for path in ["/api/admin/login", "/api/chat/upload"] {
        let (st, v) = body(s.http.get(s.url(path)).send().await.unwrap()).await;
        assert_error(st, &v, 404, "no such endpoint for GET");
    }
    s.stop().await;
}

#[tokio::test]
async fn cookie_requests_need_a_same_origin() {
    let s = TestServer::start().await;
    let token = s.token("/api/admin/login", "admin", ADMIN_PASSWORD).await;
    let cookie = format!("kefu_session={token}");
    // A cross-site POST carrying the cookie is refused and does not log out.
    let (st, v) = body(
        s.http
            .post(s.url("/api/logout"))
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(st, &v, 403, "cross-origin");
    let r = s
        .http
        .get(s.url("/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a GET with the cookie still works");
    // Same origin passes.
    let origin = s.base.clone();
    let r = s
        .http
        .post(s.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .get(s.url("/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}
