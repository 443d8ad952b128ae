//! A real server on a loopback port for each test, over the test store
//! (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).

#![allow(dead_code)]

pub mod ws;

use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{Kefu, Role};
use leptos::config::LeptosOptions;
use server::AppState;
use tokio::sync::oneshot;

pub const API_KEY: &str = "game-backend-key";
pub const ADMIN_PASSWORD: &str = "super-secret-pass";
pub const AGENT: (&str, &str) = ("agent.wang", "agent-pass-123");
pub const ADMIN: (&str, &str) = ("admin.zhao", "admin-pass-123");

pub struct TestServer {
    pub base: String,
    pub kefu: Kefu,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    db: Option<TestStore>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with_idle(server::chat::IDLE_TIMEOUT).await
    }

    /// A server whose chat sockets close after `idle` of silence.
    pub async fn start_with_idle(idle: std::time::Duration) -> Self {
        Self::start_with(idle, "target/site", &[]).await
    }

    /// A server that serves its site (`/pkg`) from `site_root`.
    pub async fn start_with_site(site_root: &str) -> Self {
        Self::start_with(server::chat::IDLE_TIMEOUT, site_root, &[]).await
    }

    /// A server behind a reverse proxy on loopback (`KEFU_TRUSTED_PROXIES`):
    /// the test's requests are the proxy's.
    pub async fn start_behind_proxy() -> Self {
        Self::start_with(server::chat::IDLE_TIMEOUT, "target/site", &["127.0.0.1"]).await
    }

    async fn start_with(idle: std::time::Duration, site_root: &str, proxies: &[&str]) -> Self {
        let db = TestStore::new().await;
        let kefu = Kefu::new(
            db.store.clone(),
            b"server-test-secret",
            BusinessClock::default(),
        );
        domain::staff::ensure_super_admin(kefu.store(), Some(ADMIN_PASSWORD))
            .await
            .unwrap();
        domain::staff::create(kefu.store(), AGENT.0, AGENT.1, Role::Agent)
            .await
            .unwrap();
        domain::staff::create(kefu.store(), ADMIN.0, ADMIN.1, Role::Admin)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState {
            kefu: kefu.clone(),
            leptos_options: LeptosOptions::builder()
                .output_name("kefu")
                .site_root(site_root)
                .site_pkg_dir("pkg")
                .build(),
            api_key: Some(API_KEY.to_owned()),
            ws_idle: idle,
            trusted_proxies: server::middleware::parse_proxies(
                &proxies.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            )
            .unwrap()
            .into(),
        };
        let task = tokio::spawn(server::launch(state, listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            base,
            kefu,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // A request the server never answers fails the test instead
                // of hanging the suite.
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            stop: Some(stop),
            task: Some(task),
            db: Some(db),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Signs in through the panel's server function; answers the status,
    /// the `kefu_session` Set-Cookie header (empty without one) and the body.
    pub async fn panel_login(&self, username: &str, password: &str) -> (u16, String, String) {
        let r = self
            .http
            .post(self.url("/sfn/login"))
            .header("origin", &self.base)
            .header("accept", "application/json")
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("kefu_session="))
            .unwrap_or_default();
        (status, cookie, r.text().await.unwrap())
    }

    /// Signs in through the panel; answers the `kefu_session=…` cookie pair.
    pub async fn panel_cookie(&self, username: &str, password: &str) -> String {
        let (status, cookie, body) = self.panel_login(username, password).await;
        assert_eq!(status, 200, "panel sign-in of {username}: {body}");
        cookie.split(';').next().unwrap().to_owned()
    }

    /// Signs in over REST and answers the token.
    pub async fn token(&self, path: &str, username: &str, password: &str) -> String {
        let r = self
            .http
            .post(self.url(path))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign-in of {username}");
        let v: serde_json::Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a player (as the super admin) and answers a chat token for
    /// them from the API-key endpoint.
    pub async fn player(&self, account: &str) -> String {
        let sup = self
            .token("/api/admin/login", "admin", ADMIN_PASSWORD)
            .await;
        let r = self
            .http
            .post(self.url("/api/admin/users"))
            .bearer_auth(&sup)
            .json(&serde_json::json!({"account": account}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "create player {account}");
        self.player_token(account).await
    }

    pub async fn player_token(&self, account: &str) -> String {
        let r = self
            .http
            .post(self.url("/api/chat/user_token"))
            .header("x-api-key", API_KEY)
            .json(&serde_json::json!({"account": account}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "player token for {account}");
        let v: serde_json::Value = r.json().await.unwrap();
        v["data"]["access_token"].as_str().unwrap().to_owned()
    }

    /// POSTs JSON with a bearer token; answers the status and the body.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Stops the server gracefully and drops the test database.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The server's own grace period is 10 s; past 20 s it is stuck.
            tokio::time::timeout(std::time::Duration::from_secs(20), task)
                .await
                .expect("the server did not stop within 20 s")
                .unwrap()
                .unwrap();
        }
        if let Some(db) = self.db.take() {
            db.finish().await;
        }
    }
}
