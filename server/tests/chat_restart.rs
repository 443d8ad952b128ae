//! The real `kefu` binary is killed with SIGKILL in the middle of a stream
//! of messages and started again; the client reconnects and resends what
//! was not acknowledged with the same `client_msg_id`. Afterwards every
//! acknowledged message is stored exactly once, at the seq it was
//! acknowledged with, and the seqs have no gaps.

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::ws::{Read, Ws};
use domain::auth::{LoginKind, Principal};
use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{staff, Kefu, Role};
use protocol::chat::ServerFrame;
use serde_json::json;

const SECRET: &str = "restart-test-secret";
const MESSAGES: usize = 150;

struct Proc {
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(port: u16, url: &str, data: &std::path::Path) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("serve")
        .env("KEFU_BIND", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", url)
        .env("KEFU_DATA_DIR", data)
        .env("KEFU_JWT_SECRET", SECRET)
        .env("KEFU_ADMIN_PASSWORD", "restart-admin-pass")
        .env("KEFU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start kefu");
    Proc { child }
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/api/me")).send().await {
            if r.status() == 401 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("kefu did not start");
}

async fn connect(base: &str, token: &str) -> Ws {
    loop {
        let url = format!(
            "{}/api/ws/chat?token={token}&user_type=user",
            base.replacen("http://", "ws://", 1)
        );
        if let Ok((stream, _)) = tokio_tungstenite::connect_async(url).await {
            let mut ws = Ws { stream };
            if let Read::Frame(ServerFrame::Connected(_)) = ws.read().await {
                return ws;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_acknowledged_message_is_lost_or_duplicated_across_sigkill() {
    let db = TestStore::new().await;
    let url = db.url();
    let kefu = Kefu::new(
        db.store.clone(),
        SECRET.as_bytes(),
        BusinessClock::default(),
    );
    let sup = staff::create(kefu.store(), "root", "password-123", Role::Super)
        .await
        .unwrap();
    staff::create(kefu.store(), "agent", "password-123", Role::Agent)
        .await
        .unwrap();
    let root = Principal {
        id: sup.id,
        username: sup.username,
        role: Role::Super,
        jti: String::new(),
        exp: 0,
        ip: String::new(),
    };
    kefu.create_player(
        &root,
        &protocol::players::PlayerInput {
            account: Some("sun.quan".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let player = kefu.player_token("sun.quan").await.unwrap().access_token;
    let agent = kefu
        .login(LoginKind::Staff, "agent", "password-123", "127.0.0.1")
        .await
        .unwrap()
        .token;
    let session = kefu.create_session("sun.quan").await.unwrap().session_id;

    let data = std::env::temp_dir().join(format!("kefu-restart-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut proc = start(port, &url, &data);
    wait_ready(&base).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/cs/accept_session"))
        .bearer_auth(&agent)
        .json(&json!({"session_id": session}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut acked: HashMap<String, i64> = HashMap::new();
    let mut ws = connect(&base, &player).await;
    let mut kills = 0;
    let mut kill_at = vec![100, 40];
    let mut i = 0;
    while i < MESSAGES {
        if kill_at.last() == Some(&i) {
            kill_at.pop();
            // Kill without warning while the next send is in flight.
            let id = format!("c{i}");
            ws.send(json!({"type": "message", "data": {"session_id": session, "content": format!("m{i}"), "client_msg_id": id}}))
                .await;
            proc.child.kill().unwrap();
            proc.child.wait().unwrap();
            kills += 1;
            proc = start(port, &url, &data);
            wait_ready(&base).await;
            ws = connect(&base, &player).await;
            continue; // resend c{i} on the new socket
        }
        // Stay under the 20 frames a second a socket may send.
        tokio::time::sleep(Duration::from_millis(55)).await;
        let id = format!("c{i}");
        let frame = json!({"type": "message", "data": {"session_id": session, "content": format!("m{i}"), "client_msg_id": id}});
        let sent = async {
            ws.send(frame.clone()).await;
            loop {
                match ws.read().await {
                    Read::Frame(ServerFrame::MessageSent(a))
                        if a.client_msg_id.as_deref() == Some(&id) =>
                    {
                        return Some(a.seq)
                    }
                    Read::Frame(ServerFrame::Error(e)) => panic!("{id}: {e:?}"),
                    Read::Frame(_) => continue,
                    Read::Closed(_) => return None,
                }
            }
        };
        match sent.await {
            Some(seq) => {
                if let Some(before) = acked.insert(id.clone(), seq) {
                    assert_eq!(before, seq, "{id} acknowledged with two seqs");
                }
                i += 1;
            }
            None => ws = connect(&base, &player).await,
        }
    }
    assert_eq!(kills, 2);

    // Read everything back from the restarted server.
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let r = http
            .post(format!("{base}/api/chat/get_history"))
            .bearer_auth(&player)
            .json(&json!({"session_id": session, "after_seq": after, "limit": 100}))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        let page = v["data"]["messages"].as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap()["seq"].as_i64().unwrap();
        stored.extend(page);
    }
    let seqs: Vec<i64> = stored.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "gap-free"
    );
    let mut by_client: HashMap<String, i64> = HashMap::new();
    for m in &stored {
        if let Some(id) = m["client_msg_id"].as_str() {
            assert!(
                by_client
                    .insert(id.to_owned(), m["seq"].as_i64().unwrap())
                    .is_none(),
                "{id} stored twice"
            );
        }
    }
    assert_eq!(by_client.len(), MESSAGES);
    for (id, seq) in &acked {
        assert_eq!(by_client.get(id), Some(seq), "{id} missing or moved");
    }
    // The accept notice plus every message, nothing else.
    assert_eq!(stored.len(), MESSAGES + 1);
    drop(proc);
    let _ = std::fs::remove_dir_all(&data);
    db.finish().await;
}
