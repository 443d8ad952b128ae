//! The panel's pages and server functions over loopback: status codes,
//! redirects, the session cookie and the language.

mod common;

use common::{TestServer, ADMIN, ADMIN_PASSWORD, AGENT};

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn get(s: &TestServer, path: &str, cookie: Option<&str>) -> (u16, String, String) {
    // As a browser navigates: redirects are real 302s only for HTML requests.
    let mut req = s.http.get(s.url(path)).header("accept", "text/html");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

#[tokio::test]
async fn sign_in_page_is_chinese_by_default() {
    let s = TestServer::start().await;
    let (st, _, html) = get(&s, "/login", None).await;
    assert_eq!(st, 200);
    assert!(html.contains("登录客服后台"), "{html}");
    assert!(html.contains(r#"lang="zh-CN""#));
    // The remembered English choice renders English on the server.
    let r = s
        .http
        .get(s.url("/login"))
        .header("cookie", "i18n_pref_locale=en")
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign in to Kefu"), "{html}");
    s.stop().await;
}

#[tokio::test]
async fn pages_redirect_to_sign_in_without_a_session() {
    let s = TestServer::start().await;
    for path in ["/", "/players", "/staff", "/desk"] {
        let (st, location, _) = get(&s, path, None).await;
        assert_eq!((st, location.as_str()), (302, "/login"), "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn unknown_page_is_404() {
    let s = TestServer::start().await;
    let (st, _, html) = get(&s, "/nope", None).await;
    assert_eq!(st, 404);
    assert!(html.contains("页面不存在"));
    // Signed out, no frame: nothing of the panel is shown.
    assert!(!html.contains("data-testid=\"nav\""), "{html}");
    s.stop().await;
}

#[tokio::test]
async fn panel_session_cookie_and_role_pages() {
    let s = TestServer::start().await;
    let (st, _, body) = s.panel_login("admin", "wrong-password").await;
    assert_eq!(st, 401, "a refused sign-in is not a server error: {body}");
    assert!(body.contains("invalid_credentials"), "{body}");
    let (st, _, body) = s.panel_login("", "x").await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("invalid:username:is required"), "{body}");

    let (st, set_cookie, body) = s.panel_login("admin", ADMIN_PASSWORD).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains('/'), "{body}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attr), "{set_cookie} lacks {attr}");
    }
    let super_cookie = pair(&set_cookie);
    let (st, _, html) = get(&s, "/", Some(&super_cookie)).await;
    assert_eq!(st, 200);
    for nav in [
        "nav-players",
        "nav-staff",
        "nav-analytics",
        "nav-desk",
        "nav-system",
    ] {
        assert!(html.contains(nav), "super admin sees {nav}");
    }
    let (st, _, html) = get(&s, "/staff", Some(&super_cookie)).await;
    assert_eq!(st, 200);
    // The translated page title is rendered into <head>.
    assert!(
        html.contains("<title>员工账号 · 客服后台</title>"),
        "{html}"
    );

    // An admin sees no staff link and gets 403 on the staff page.
    let (_, set_cookie, _) = s.panel_login(ADMIN.0, ADMIN.1).await;
    let admin_cookie = pair(&set_cookie);
    let (st, _, html) = get(&s, "/", Some(&admin_cookie)).await;
    assert_eq!(st, 200);
    assert!(!html.contains("nav-staff"));
    assert!(html.contains("nav-players"));
    let (st, _, html) = get(&s, "/staff", Some(&admin_cookie)).await;
    assert_eq!(st, 403);
    assert!(html.contains("没有权限"));

    // An agent lands on the desk, and only sees the desk.
    let (st, _, body) = s.panel_login(AGENT.0, AGENT.1).await;
    assert_eq!(st, 200);
    assert!(body.contains("/desk"), "{body}");
    let (_, set_cookie, _) = s.panel_login(AGENT.0, AGENT.1).await;
    let agent_cookie = pair(&set_cookie);
    let (st, location, _) = get(&s, "/", Some(&agent_cookie)).await;
    assert_eq!((st, location.as_str()), (302, "/desk"));
    let (st, _, html) = get(&s, "/desk", Some(&agent_cookie)).await;
    assert_eq!(st, 200);
    assert!(
        html.contains("<title>客服工作台 · 客服后台</title>"),
        "{html}"
    );
    assert!(
        html.contains("nav-desk") && !html.contains("nav-staff") && !html.contains("nav-players")
    );
    let (st, _, _) = get(&s, "/players", Some(&agent_cookie)).await;
    assert_eq!(st, 403);
    // An address that is no page keeps a signed-in user's frame: 404, with the navigation.
    let (st, _, html) = get(&s, "/players/x/y/z", Some(&agent_cookie)).await;
    assert_eq!(st, 404);
    assert!(html.contains("页面不存在"), "{html}");
    assert!(
        html.contains("nav-desk") && html.contains("data-testid=\"logout\""),
        "{html}"
    );

    // Signed in, the sign-in page sends you on.
    let (st, location, _) = get(&s, "/login", Some(&super_cookie)).await;
    assert_eq!((st, location.as_str()), (302, "/"));

    // Sign-out revokes the token: the cookie no longer opens pages.
    let r = s
        .http
        .post(s.url("/sfn/logout"))
        .header("cookie", &super_cookie)
        .header("origin", &s.base)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cleared.starts_with("kefu_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let (st, location, _) = get(&s, "/", Some(&super_cookie)).await;
    assert_eq!((st, location.as_str()), (302, "/login"));
    s.stop().await;
}

#[tokio::test]
async fn server_function_from_another_origin_is_refused() {
    let s = TestServer::start().await;
    let (_, set_cookie, _) = s.panel_login("admin", ADMIN_PASSWORD).await;
    let cookie = pair(&set_cookie);
    let r = s
        .http
        .post(s.url("/sfn/logout"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (st, _, _) = get(&s, "/", Some(&cookie)).await;
    assert_eq!(st, 200, "still signed in");
    // Signing in from another site's page (no cookie yet) is refused too: a
    // page elsewhere cannot sign the browser in to an account it chose.
    for origin in [Some("http://evil.example"), None] {
        let mut req = s
            .http
            .post(s.url("/sfn/login"))
            .header("accept", "application/json")
            .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?}");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "{origin:?}: no session handed out"
        );
    }
    s.stop().await;
}

/// The release build's precompressed copies of `/pkg` files (brotli at its
/// highest level) are what a browser that accepts them gets, as they are;
/// a client that accepts neither gets the file itself.
#[tokio::test]
async fn pkg_files_are_served_precompressed() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("kefu.js"), "export const plain = 1;").unwrap();
    std::fs::write(pkg.join("kefu.js.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("kefu.js.gz"), b"gzip bytes").unwrap();
    let s = TestServer::start_with_site(site.path().to_str().unwrap()).await;
    let fetch = |encoding: &'static str| {
        let req = s.http.get(s.url("/pkg/kefu.js"));
        async move {
            let r = req
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{encoding}");
            let header = r
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            (header, r.bytes().await.unwrap().to_vec())
        }
    };
    assert_eq!(
        fetch("gzip, deflate, br").await,
        (Some("br".into()), b"brotli bytes".to_vec())
    );
    assert_eq!(
        fetch("gzip").await,
        (Some("gzip".into()), b"gzip bytes".to_vec())
    );
    assert_eq!(
        fetch("identity").await,
        (None, b"export const plain = 1;".to_vec())
    );
    s.stop().await;
}
