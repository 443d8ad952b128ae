//! Chat load tool: opens player and agent sockets over loopback against a
//! real `kefu` process (the release binary) and against a bare relay (a
//! minimal WebSocket relay with no auth and no storage, run by this same
//! program in a child process), and prints:
//!
//! 1. player→agent delivery latency (p50, p99, max) at a fixed rate;
//! 2. acknowledged messages per second, sustained, with senders that send
//!    the next message as soon as the last is acknowledged;
//! 3. resident memory of the server per idle connection.
//!
//! ```text
//! cargo leptos build --release          # or: cargo build --release -p server
//! cargo bench -p server --bench chat_load
//! ```
//!
//! Settings (environment): `KEFU_BIN` (default `target/release/kefu` under
//! the shared target dir or the repo), `TEST_DATABASE_URL` (PostgreSQL;
//! SQLite otherwise), `LOAD_PLAYERS` (2000), `LOAD_AGENTS` (20),
//! `LOAD_RATE` (1000 msg/s), `LOAD_SECS` (20), `LOAD_SUSTAIN_SECS` (60),
//! `LOAD_SENDERS` (500), `LOAD_IDLE` (10000); `LOAD_TRACE` (set: print the
//! p99 of each second of the fixed-rate runs and how many messages took
//! over 0.5 ms, to tell a tail spread over the run from a bunched one).

// tungstenite's handshake callback type returns its large error response.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::auth::{LoginKind, Principal};
use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{staff, Kefu, Role};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "chat-load-secret";

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kefu_bin() -> String {
    if let Ok(b) = std::env::var("KEFU_BIN") {
        return b;
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into());
    format!("{target}/release/kefu")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(url: &str) {
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(url).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {url} did not start");
}

/// A side of the conversation: the URL each socket opens.
struct Fleet {
    players: Vec<String>,
    /// For each player, the agent index that holds their chat.
    agent_of: Vec<usize>,
    agents: Vec<String>,
    sessions: Vec<String>,
}

/// Seeds players, agents and accepted chats straight into the store.
async fn seed(kefu: &Kefu, players: usize, chatting: usize, agents: usize, base_ws: &str) -> Fleet {
    let root = staff::create(kefu.store(), "load.root", "password-123", Role::Super)
        .await
        .unwrap();
    let root = Principal {
        id: root.id,
        username: root.username,
        role: Role::Super,
        jti: String::new(),
        exp: 0,
        ip: String::new(),
    };
    let mut agent_tokens = Vec::new();
    let mut agent_names = Vec::new();
    for a in 0..agents {
        let name = format!("load.agent{a}");
        staff::create(kefu.store(), &name, "password-123", Role::Agent)
            .await
            .unwrap();
        let s = kefu
            .login(LoginKind::Staff, &name, "password-123", "127.0.0.1")
            .await
            .unwrap();
        agent_tokens.push(format!(
            "{base_ws}?token={}&user_type=customer_service",
            s.token
        ));
        agent_names.push(name);
    }
    let mut fleet = Fleet {
        players: Vec::new(),
        agent_of: Vec::new(),
        agents: agent_tokens,
        sessions: Vec::new(),
    };
    // Players in bulk: one statement per 500.
    for chunk in (0..players).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk.iter().map(|i| format!("('load.p{i}', 0)")).collect();
        sqlx::query(&format!(
            "INSERT INTO players (account, register_at) VALUES {}",
            values.join(",")
        ))
        .execute(kefu.store().pool())
        .await
        .unwrap();
    }
    for i in 0..players {
        let account = format!("load.p{i}");
        let token = kefu.player_token(&account).await.unwrap().access_token;
        fleet
            .players
            .push(format!("{base_ws}?token={token}&user_type=user"));
        if agents > 0 && i < chatting {
            let s = kefu.create_session(&account).await.unwrap();
            let a = i % agents;
            let admin = root.clone();
            kefu.accept_session(&admin, &s.session_id, Some(&agent_names[a]))
                .await
                .unwrap();
            fleet.sessions.push(s.session_id);
            fleet.agent_of.push(a);
        }
    }
    fleet
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: &str) -> Ws {
    for attempt in 0..20 {
        match tokio_tungstenite::connect_async(url).await {
            Ok((ws, _)) => return ws,
            Err(e) if attempt == 19 => panic!("connect {url}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    unreachable!()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[derive(Default)]
struct Latencies {
    ms: Mutex<Vec<f64>>,
    /// (arrival ms since the start, latency ms), for `LOAD_TRACE`.
    trace: Mutex<Vec<(f64, f64)>>,
}

/// Agents read and record the latency stamped into each message.
fn spawn_agent_readers(
    agents: Vec<Ws>,
    epoch: Instant,
    lat: Arc<Latencies>,
    received: Arc<AtomicU64>,
) {
    for mut ws in agents {
        let lat = lat.clone();
        let received = received.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let t = t.as_str();
                // Kefu: new_message with content "t=<micros>"; relay: the raw stamp.
                if let Some(pos) = t.find("t=") {
                    let digits: String = t[pos + 2..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if let Ok(us) = digits.parse::<u64>() {
                        let now = epoch.elapsed().as_micros() as u64;
                        let ms = (now.saturating_sub(us)) as f64 / 1000.0;
                        lat.ms.lock().unwrap().push(ms);
                        lat.trace.lock().unwrap().push((now as f64 / 1000.0, ms));
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
}

struct RateResult {
    sent: u64,
    received: u64,
    p50: f64,
    p99: f64,
    max: f64,
}

/// Players send at `rate` msg/s in total for `secs`; agents measure.
async fn fixed_rate(
    players: Vec<Ws>,
    agents: Vec<Ws>,
    sessions: &[String],
    relay_to: Option<&[usize]>,
    rate: usize,
    secs: usize,
) -> RateResult {
    let epoch = Instant::now();
    let lat = Arc::new(Latencies::default());
    let received = Arc::new(AtomicU64::new(0));
    spawn_agent_readers(agents, epoch, lat.clone(), received.clone());
    let n = players.len();
    let (mut sinks, streams): (Vec<_>, Vec<_>) = players.into_iter().map(|ws| ws.split()).unzip();
    // Drain what players receive (acks) so their sockets never back up.
    for mut s in streams {
        tokio::spawn(async move { while let Some(Ok(_)) = s.next().await {} });
    }
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = Instant::now();
    let mut sent = 0u64;
    for k in 0..total {
        let i = k % n;
        let stamp = epoch.elapsed().as_micros();
        let text = match relay_to {
            None => format!(
                r#"{{"type":"message","data":{{"session_id":"{}","content":"t={stamp}"}}}}"#,
                sessions[i]
            ),
            Some(to) => format!("{} t={stamp}", to[i]),
        };
        if sinks[i].send(Message::Text(text.into())).await.is_ok() {
            sent += 1;
        }
        next += interval;
        let now = Instant::now();
        if next > now {
            tokio::time::sleep(next - now).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    if std::env::var("LOAD_TRACE").is_ok() {
        // p99 per second of the run, to see whether the tail is spread or bunched.
        let trace = lat.trace.lock().unwrap().clone();
        let mut line = String::from("p99 by second:");
        for s in 0..secs {
            let mut w: Vec<f64> = trace
                .iter()
                .filter(|(t, _)| (*t / 1000.0) as usize == s)
                .map(|(_, l)| *l)
                .collect();
            w.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let over = w.iter().filter(|l| **l > 0.5).count();
            line += &format!(" {:.2}({over})", percentile(&w, 0.99));
        }
        println!("{line}");
    }
    let mut all = lat.ms.lock().unwrap().clone();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    RateResult {
        sent,
        received: received.load(Ordering::Relaxed),
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        max: all.last().copied().unwrap_or(f64::NAN),
    }
}

/// Each sender sends its next message when the last is acknowledged (and
/// no more than 18 a second, under the per-socket limit); answers the acks
/// received before the deadline, acks/s, and the error frames by code.
async fn sustained(
    players: Vec<Ws>,
    sessions: &[String],
    secs: usize,
) -> (u64, f64, HashMap<String, u64>) {
    let acked = Arc::new(AtomicU64::new(0));
    let errors: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(secs as u64);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, mut ws) in players.into_iter().enumerate() {
        let acked = acked.clone();
        let errors = errors.clone();
        let session = sessions[i].clone();
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            let gap = Duration::from_millis(56);
            while Instant::now() < deadline {
                let began = Instant::now();
                let text = format!(
                    r#"{{"type":"message","data":{{"session_id":"{session}","content":"s{k}","client_msg_id":"s{k}"}}}}"#
                );
                if ws.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"message_sent""#) => {
                            if Instant::now() <= deadline {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                            break;
                        }
                        Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"error""#) => {
                            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap_or_default();
                            let code = v["data"]["error_code"].as_str().unwrap_or("?").to_owned();
                            *errors.lock().unwrap().entry(code).or_default() += 1;
                            break;
                        }
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                }
                k += 1;
                let spent = began.elapsed();
                if spent < gap {
                    tokio::time::sleep(gap - spent).await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let n = acked.load(Ordering::Relaxed);
    let window = started.elapsed().as_secs_f64().min(secs as f64);
    let errors = errors.lock().unwrap().clone();
    (n, n as f64 / window, errors)
}

/// The bare relay: `/?id=<n>` registers a socket; a text frame "<to> …" is
/// forwarded to socket `<to>` as is. No auth, no storage.
async fn relay_main(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    type Tx = tokio::sync::mpsc::UnboundedSender<String>;
    let peers: Arc<Mutex<HashMap<usize, Tx>>> = Arc::default();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let peers = peers.clone();
        tokio::spawn(async move {
            let mut id = None;
            let ws = tokio_tungstenite::accept_hdr_async(
                stream,
                |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                    id = req
                        .uri()
                        .query()
                        .and_then(|q| q.strip_prefix("id="))
                        .and_then(|v| v.parse::<usize>().ok());
                    Ok(resp)
                },
            )
            .await;
            let Ok(ws) = ws else { return };
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            if let Some(id) = id {
                peers.lock().unwrap().insert(id, tx);
            }
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    if sink.send(Message::Text(m.into())).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(Ok(m)) = stream.next().await {
                if let Message::Text(t) = m {
                    let t = t.as_str();
                    if let Some((to, _)) = t.split_once(' ') {
                        if let Ok(to) = to.parse::<usize>() {
                            let target = peers.lock().unwrap().get(&to).cloned();
                            if let Some(target) = target {
                                let _ = target.send(t.to_owned());
                            }
                        }
                    }
                }
            }
        });
    }
}

#[tokio::main]
async fn main() {
    if let Ok(port) = std::env::var("LOAD_RELAY_PORT") {
        relay_main(port.parse().unwrap()).await;
        return;
    }
    let players = env_num("LOAD_PLAYERS", 2000);
    let agents = env_num("LOAD_AGENTS", 20);
    let rate = env_num("LOAD_RATE", 1000);
    let secs = env_num("LOAD_SECS", 20);
    let sustain_secs = env_num("LOAD_SUSTAIN_SECS", 60);
    let senders = env_num("LOAD_SENDERS", 500).min(players);
    let idle = env_num("LOAD_IDLE", 10_000);
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("chat load: {backend}, {players} players + {agents} agents, {rate} msg/s for {secs} s, {senders} senders for {sustain_secs} s, {idle} idle sockets");

    // --- the bare relay, in its own process ---
    let relay_port = free_port();
    let mut relay = Command::new(std::env::current_exe().unwrap())
        .env("LOAD_RELAY_PORT", relay_port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&format!("127.0.0.1:{relay_port}")).await;
    let relay_base = format!("ws://127.0.0.1:{relay_port}/");
    let mut relay_players = Vec::new();
    let mut relay_agents = Vec::new();
    for a in 0..agents {
        relay_agents.push(open(&format!("{relay_base}?id={}", 1_000_000 + a)).await);
    }
    for i in 0..players {
        relay_players.push(open(&format!("{relay_base}?id={i}")).await);
    }
    let to: Vec<usize> = (0..players)
        .map(|i| 1_000_000 + i % agents.max(1))
        .collect();
    let floor = fixed_rate(relay_players, relay_agents, &[], Some(&to), rate, secs).await;
    let _ = relay.kill();
    let _ = relay.wait();
    println!(
        "bare relay:  {} sent, {} delivered; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        floor.sent, floor.received, floor.p50, floor.p99, floor.max
    );

    // --- Kefu ---
    let db = TestStore::new().await;
    let url = db.url();
    let kefu = Kefu::new(
        db.store.clone(),
        SECRET.as_bytes(),
        BusinessClock::default(),
    );
    let port = free_port();
    let base_ws = format!("ws://127.0.0.1:{port}/api/ws/chat");
    let seeding = Instant::now();
    let fleet = seed(&kefu, players.max(idle + 50), players, agents, &base_ws).await;
    println!(
        "seeded {} players in {:.1} s",
        fleet.players.len(),
        seeding.elapsed().as_secs_f64()
    );
    let data = std::env::temp_dir().join(format!("kefu-load-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let start = || {
        let child = Command::new(kefu_bin())
            .arg("serve")
            .env("KEFU_BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &url)
            .env("KEFU_DATA_DIR", &data)
            .env("KEFU_JWT_SECRET", SECRET)
            .env("KEFU_ADMIN_PASSWORD", "load-admin-pass")
            .env("KEFU_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start kefu (build it first: cargo leptos build --release)");
        Server {
            child,
            base: format!("127.0.0.1:{port}"),
        }
    };

    // 1. latency at a fixed rate.
    let server = start();
    wait_ready(&server.base).await;
    let mut agent_ws = Vec::new();
    for a in &fleet.agents {
        agent_ws.push(open(a).await);
    }
    let mut player_ws = Vec::new();
    for p in fleet.players.iter().take(players) {
        player_ws.push(open(p).await);
    }
    let r = fixed_rate(player_ws, agent_ws, &fleet.sessions, None, rate, secs).await;
    println!(
        "kefu:        {} sent, {} delivered; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; p99 = {:.1}× the relay's",
        r.sent,
        r.received,
        r.p50,
        r.p99,
        r.max,
        r.p99 / floor.p99
    );
    drop(server);

    // 2. sustained acknowledged messages per second.
    let server = start();
    wait_ready(&server.base).await;
    let mut senders_ws = Vec::new();
    for p in fleet.players.iter().take(senders) {
        senders_ws.push(open(p).await);
    }
    let (acked, per_sec, errors) = sustained(senders_ws, &fleet.sessions, sustain_secs).await;
    println!(
        "sustained:   {acked} messages acknowledged in {sustain_secs} s = {per_sec:.0} msg/s; error frames: {errors:?}"
    );
    drop(server);

    // 3. memory per idle connection.
    let server = start();
    wait_ready(&server.base).await;
    // Warm up allocator and pools with a few sockets first.
    let mut idle_ws = Vec::new();
    for p in fleet.players.iter().take(50) {
        idle_ws.push(open(p).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(server.child.id());
    for p in fleet.players.iter().skip(50).take(idle) {
        idle_ws.push(open(p).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(server.child.id());
    let opened = idle_ws.len() - 50;
    println!(
        "idle:        {opened} more sockets: server RSS {before} KiB → {after} KiB = {:.1} KiB per connection",
        (after.saturating_sub(before)) as f64 / opened as f64
    );
    drop(idle_ws);
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    db.finish().await;
}
