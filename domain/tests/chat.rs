//! Chat rules against the real store (SQLite, or PostgreSQL with
//! TEST_DATABASE_URL): gap-free seq under concurrency, idempotent resends,
//! the accept race, transfer, end, reopen and auto-accept.

use std::collections::BTreeSet;

use domain::auth::Principal;
use domain::chat::hub::Outbox;
use domain::chat::Actor;
use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{staff, Error, Kefu, Role};
use protocol::chat::{CreatedSession, HistoryRequest, SendMessageRequest, ServerFrame};
use protocol::players::PlayerInput;

struct World {
    kefu: Kefu,
    db: TestStore,
    admin: Principal,
    agents: Vec<Principal>,
}

async fn world(agents: usize) -> World {
    let db = TestStore::new().await;
    let kefu = Kefu::new(db.store.clone(), b"k", BusinessClock::default());
    let make = |name: String, role| {
        let kefu = kefu.clone();
        async move {
            let s = staff::create(kefu.store(), &name, "password-123", role)
                .await
                .unwrap();
            Principal {
                id: s.id,
                username: s.username,
                role,
                jti: String::new(),
                exp: 0,
                ip: String::new(),
            }
        }
    };
    let admin = make("boss".into(), Role::Super).await;
    let mut list = Vec::new();
    for i in 0..agents {
        list.push(make(format!("agent{i}"), Role::Agent).await);
    }
    for p in ["liu.bei", "guan.yu", "zhang.fei", "zhao.yun"] {
        kefu.create_player(
            &admin,
            &PlayerInput {
                account: Some(p.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    World {
        kefu,
        db,
        admin,
        agents: list,
    }
}

fn msg(session: &str, text: &str, client: Option<&str>) -> SendMessageRequest {
    SendMessageRequest {
        session_id: session.into(),
        content: text.into(),
        content_type: None,
        client_msg_id: client.map(Into::into),
    }
}

fn player(a: &str) -> Actor {
    Actor::Player(a.into())
}

async fn all_seqs(w: &World, session: &str) -> Vec<i64> {
    let mut page = 1;
    let mut seqs = Vec::new();
    loop {
        let h = w
            .kefu
            .chat_history(
                &Actor::Staff(w.admin.clone()),
                &HistoryRequest {
                    session_id: session.into(),
                    page: Some(page),
                    limit: Some(100),
                    after_seq: None,
                    before_seq: None,
                },
            )
            .await
            .unwrap();
        if h.messages.is_empty() {
            break;
        }
        seqs.extend(h.messages.iter().map(|m| m.seq));
        page += 1;
    }
    seqs.sort();
    seqs
}

fn online(w: &World, who: &Principal) -> Outbox {
    w.kefu
        .hub()
        .register_staff(who.id, &who.username, who.role, None)
        .expect("under the socket cap")
        .0
}

/// `account`'s new chat, accepted by the first agent.
async fn accepted_chat(w: &World, account: &str) -> (CreatedSession, Principal) {
    let s = w.kefu.create_session(account).await.unwrap();
    let agent = w.agents[0].clone();
    w.kefu
        .accept_session(&agent, &s.session_id, None)
        .await
        .unwrap();
    (s, agent)
}

fn drain(o: &mut Outbox) -> Vec<ServerFrame> {
    let mut out = Vec::new();
    while let Ok(f) = o.frames.try_recv() {
        out.push(serde_json::from_str(&f).unwrap());
    }
    out
}

// Two workers: senders on both threads at once, as in the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seq_is_contiguous_with_50_concurrent_senders() {
    let w = world(1).await;
    let (s, agent) = accepted_chat(&w, "liu.bei").await;
    // A third party's socket (an admin watching) sees every message once, in seq order.
    let mut watcher = online(&w, &w.admin);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let kefu = w.kefu.clone();
        let actor = if i % 2 == 0 {
            player("liu.bei")
        } else {
            Actor::Staff(agent.clone())
        };
        let client = format!("c{i}");
        let req = msg(&s.session_id, &format!("message {i}"), Some(&client));
        tasks.push(tokio::spawn(async move {
            kefu.send_message(&actor, &req, None).await
        }));
    }
    // Other writes to the same chat at the same time (the agent reading)
    // must not make a send fail.
    let reader = {
        let (kefu, agent, id) = (w.kefu.clone(), agent.clone(), s.session_id.clone());
        tokio::spawn(async move {
            for _ in 0..20 {
                kefu.mark_read(&Actor::Staff(agent.clone()), &id, None)
                    .await
                    .unwrap();
            }
        })
    };
    let mut acked = BTreeSet::new();
    reader.await.unwrap();
    for t in tasks {
        let ack = t.await.unwrap().unwrap();
        assert!(acked.insert(ack.seq), "seq {} acknowledged twice", ack.seq);
    }
    let seqs = all_seqs(&w, &s.session_id).await;
    // One system notice (accepted) plus the 50 messages, seq 1..=51.
    assert_eq!(seqs, (1..=51).collect::<Vec<_>>());
    let row = w.kefu.session_row(&s.session_id).await.unwrap();
    assert_eq!(row.last_seq, 51);
    assert_eq!(row.player_unread, 25);
    let seen: Vec<i64> = drain(&mut watcher)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::NewMessage(m) => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seen, (2..=51).collect::<Vec<_>>());
    w.db.finish().await;
}

/// A transaction holding what the chat writer needs for `session`:
/// SQLite's write lock; on PostgreSQL the chat's row.
async fn hold_chat(w: &World, session: &str) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut holder = w.kefu.store().begin_write().await.unwrap();
    if w.kefu.store().backend() == domain::store::Backend::Postgres {
        sqlx::query("SELECT 1 FROM chat_sessions WHERE id = $1 FOR UPDATE")
            .bind(session)
            .execute(&mut *holder)
            .await
            .unwrap();
    }
    holder
}

/// While another transaction holds what the writer needs (SQLite's write
/// lock; on PostgreSQL the chat's row), messages wait rather than fail, and
/// are stored in the order they were sent once it is let go. Nothing waits
/// on a tokio worker here: the test's one thread drives the holder.
#[tokio::test]
async fn messages_wait_for_a_held_write_lock_and_keep_their_order() {
    let w = world(0).await;
    let s = w.kefu.create_session("zhang.fei").await.unwrap();
    let holder = hold_chat(&w, &s.session_id).await;
    let mut tasks = Vec::new();
    let began = std::time::Instant::now();
    for i in 0..5 {
        let kefu = w.kefu.clone();
        let req = msg(
            &s.session_id,
            &format!("等一下 {i}"),
            Some(&format!("w{i}")),
        );
        tasks.push(tokio::spawn(async move {
            kefu.send_message(&player("zhang.fei"), &req, None).await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // 400 ms of sleeps; a writer waiting for the lock on this thread would
    // have held it for the whole lock wait (5 s).
    assert!(
        began.elapsed() < std::time::Duration::from_secs(3),
        "the runtime's thread was held for {:?}",
        began.elapsed()
    );
    assert!(
        tasks.iter().all(|t| !t.is_finished()),
        "a message was answered while the lock was held"
    );
    holder.commit().await.unwrap();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap().unwrap().seq);
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5], "stored in the order sent");
    assert_eq!(all_seqs(&w, &s.session_id).await, vec![1, 2, 3, 4, 5]);
    w.db.finish().await;
}

/// A message whose lock never comes (held past the 5 s wait: SQLite's busy
/// timeout, PostgreSQL's `lock_timeout`) is answered with an error and
/// stores nothing; once the lock is free, its resend (the same
/// `client_msg_id`) is stored as seq 1, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_never_gets_the_lock_fails_and_stores_nothing() {
    let w = world(0).await;
    let s = w.kefu.create_session("liu.bei").await.unwrap();
    let req = msg(&s.session_id, "在吗", Some("c-1"));
    let holder = hold_chat(&w, &s.session_id).await;
    let began = std::time::Instant::now();
    let sent = {
        let (kefu, req) = (w.kefu.clone(), req.clone());
        tokio::spawn(async move { kefu.send_message(&player("liu.bei"), &req, None).await })
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), sent)
        .await
        .expect("the sender is answered")
        .unwrap();
    let waited = began.elapsed();
    assert!(matches!(answer, Err(Error::Internal(_))), "{answer:?}");
    assert!(
        waited >= std::time::Duration::from_millis(4500),
        "gave up after {waited:?}"
    );
    holder.rollback().await.unwrap();
    assert_eq!(all_seqs(&w, &s.session_id).await, Vec::<i64>::new());
    assert_eq!(w.kefu.session_row(&s.session_id).await.unwrap().last_seq, 0);
    let stored = w
        .kefu
        .send_message(&player("liu.bei"), &req, None)
        .await
        .unwrap();
    assert_eq!(stored.seq, 1);
    let again = w
        .kefu
        .send_message(&player("liu.bei"), &req, None)
        .await
        .unwrap();
    assert_eq!(again.seq, 1, "a resend stores nothing new");
    w.db.finish().await;
}

#[tokio::test]
async fn a_resent_client_msg_id_stores_one_message() {
    let w = world(0).await;
    let s = w.kefu.create_session("guan.yu").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let kefu = w.kefu.clone();
        let req = msg(&s.session_id, "只发一次", Some("c-1"));
        tasks.push(tokio::spawn(async move {
            kefu.send_message(&player("guan.yu"), &req, None).await
        }));
    }
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.unwrap().unwrap());
    }
    assert!(acks.iter().all(|a| a == &acks[0]), "{acks:?}");
    assert_eq!(acks[0].client_msg_id.as_deref(), Some("c-1"));
    assert_eq!(all_seqs(&w, &s.session_id).await, vec![acks[0].seq]);
    // A new id is a new message.
    let next = w
        .kefu
        .send_message(
            &player("guan.yu"),
            &msg(&s.session_id, "again", Some("c-2")),
            None,
        )
        .await
        .unwrap();
    assert_eq!(next.seq, acks[0].seq + 1);
    w.db.finish().await;
}

#[tokio::test]
async fn of_two_agents_accepting_at_once_exactly_one_wins() {
    let w = world(2).await;
    for round in 0..5 {
        let account = ["liu.bei", "guan.yu", "zhang.fei", "zhao.yun", "liu.bei"][round];
        let s = w.kefu.create_session(account).await.unwrap();
        let a = {
            let (k, p, id) = (w.kefu.clone(), w.agents[0].clone(), s.session_id.clone());
            tokio::spawn(async move { k.accept_session(&p, &id, None).await })
        };
        let b = {
            let (k, p, id) = (w.kefu.clone(), w.agents[1].clone(), s.session_id.clone());
            tokio::spawn(async move { k.accept_session(&p, &id, None).await })
        };
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {a:?} {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(matches!(loser, Err(Error::Conflict(_))));
        let row = w.kefu.session_row(&s.session_id).await.unwrap();
        assert_eq!(row.status, "active");
        w.kefu.end_session(&w.admin, &s.session_id).await.unwrap();
    }
    w.db.finish().await;
}

#[tokio::test]
async fn rules_of_who_may_do_what() {
    let w = world(2).await;
    let (a, b) = (w.agents[0].clone(), w.agents[1].clone());
    let s = w.kefu.create_session("liu.bei").await.unwrap();
    // A second create answers the same open chat.
    let again = w.kefu.create_session("liu.bei").await.unwrap();
    assert_eq!(again.session_id, s.session_id);
    // Staff cannot write before accepting; another player cannot write at all.
    let e = w
        .kefu
        .send_message(
            &Actor::Staff(a.clone()),
            &msg(&s.session_id, "hi", None),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    let e = w
        .kefu
        .send_message(&player("guan.yu"), &msg(&s.session_id, "hi", None), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    // Bad input names the field and stores nothing.
    for (req, field) in [
        (msg(&s.session_id, "   ", None), "content"),
        (msg(&s.session_id, &"字".repeat(5001), None), "content"),
        (
            msg(&s.session_id, "x", Some(&"c".repeat(65))),
            "client_msg_id",
        ),
        (
            SendMessageRequest {
                content_type: Some("video".into()),
                ..msg(&s.session_id, "x", None)
            },
            "content_type",
        ),
    ] {
        match w.kefu.send_message(&player("liu.bei"), &req, None).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(matches!(
        w.kefu
            .send_message(&player("liu.bei"), &msg("no-such-session", "x", None), None)
            .await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(all_seqs(&w, &s.session_id).await, Vec::<i64>::new());
    // An agent cannot hand a chat to someone else; an admin can.
    assert!(matches!(
        w.kefu
            .accept_session(&a, &s.session_id, Some("agent1"))
            .await,
        Err(Error::Forbidden(_))
    ));
    let acc = w
        .kefu
        .accept_session(&w.admin, &s.session_id, Some("agent0"))
        .await
        .unwrap();
    assert_eq!(acc.cs_account, "agent0");
    // b does not hold it: cannot write, end, read-mark or transfer it.
    let e = w
        .kefu
        .send_message(
            &Actor::Staff(b.clone()),
            &msg(&s.session_id, "hi", None),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e:?}");
    assert!(matches!(
        w.kefu.end_session(&b, &s.session_id).await,
        Err(Error::Forbidden(_))
    ));
    assert!(w
        .kefu
        .visible_session(&Actor::Staff(b.clone()), &s.session_id)
        .await
        .is_err());
    // The admin may watch.
    assert!(w
        .kefu
        .visible_session(&Actor::Staff(w.admin.clone()), &s.session_id)
        .await
        .is_ok());
    w.db.finish().await;
}

#[tokio::test]
async fn transfer_end_and_reopen() {
    let w = world(2).await;
    let (a, b) = (w.agents[0].clone(), w.agents[1].clone());
    let mut a_out = online(&w, &a);
    let s = w.kefu.create_session("zhang.fei").await.unwrap();
    w.kefu
        .send_message(
            &player("zhang.fei"),
            &msg(&s.session_id, "在吗", None),
            None,
        )
        .await
        .unwrap();
    w.kefu
        .accept_session(&a, &s.session_id, None)
        .await
        .unwrap();
    w.kefu
        .send_message(
            &Actor::Staff(a.clone()),
            &msg(&s.session_id, "在的", None),
            None,
        )
        .await
        .unwrap();
    // b is offline: a transfer to b is refused.
    assert!(matches!(
        w.kefu.transfer_session(&a, &s.session_id, "agent1").await,
        Err(Error::Conflict(_))
    ));
    let mut b_out = online(&w, &b);
    let t = w
        .kefu
        .transfer_session(&a, &s.session_id, "agent1")
        .await
        .unwrap();
    assert_eq!(t.to_cs_account, "agent1");
    assert!(t.recent_messages.iter().any(|m| m.content == "在吗"));
    let got = drain(&mut b_out);
    assert!(
        got.iter().any(
            |f| matches!(f, ServerFrame::SessionTransferred(t) if t.from_cs_account == "agent0")
        ),
        "{got:?}"
    );
    drain(&mut a_out);
    // Now only b may write.
    assert!(w
        .kefu
        .send_message(
            &Actor::Staff(a.clone()),
            &msg(&s.session_id, "x", None),
            None
        )
        .await
        .is_err());
    w.kefu
        .send_message(
            &Actor::Staff(b.clone()),
            &msg(&s.session_id, "我是新客服", None),
            None,
        )
        .await
        .unwrap();
    w.kefu.end_session(&b, &s.session_id).await.unwrap();
    assert!(matches!(
        w.kefu.end_session(&b, &s.session_id).await,
        Err(Error::Conflict(_))
    ));
    // Staff cannot write into an ended chat; the player's message reopens it.
    assert!(matches!(
        w.kefu
            .send_message(
                &Actor::Staff(b.clone()),
                &msg(&s.session_id, "x", None),
                None
            )
            .await,
        Err(Error::Conflict(_))
    ));
    let ack = w
        .kefu
        .send_message(
            &player("zhang.fei"),
            &msg(&s.session_id, "还有问题", None),
            None,
        )
        .await
        .unwrap();
    let row = w.kefu.session_row(&s.session_id).await.unwrap();
    assert_eq!(row.status, "pending");
    assert_eq!(row.agent, None);
    let h = w
        .kefu
        .chat_history(
            &player("zhang.fei"),
            &HistoryRequest {
                session_id: s.session_id.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let texts: Vec<&str> = h.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "在吗",
            "客服 agent0 已接入会话",
            "在的",
            "会话已由 agent0 转接给 agent1",
            "我是新客服",
            "会话已由 agent1 结束",
            "会话已重新打开",
            "还有问题"
        ]
    );
    assert_eq!(ack.seq, 8);
    // after_seq gives exactly the gap.
    let gap = w
        .kefu
        .chat_history(
            &player("zhang.fei"),
            &HistoryRequest {
                session_id: s.session_id.clone(),
                after_seq: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        gap.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![6, 7, 8]
    );
    // before_seq gives the older page just before a seq, ascending.
    let older = w
        .kefu
        .chat_history(
            &player("zhang.fei"),
            &HistoryRequest {
                session_id: s.session_id.clone(),
                before_seq: Some(6),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        older.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    let both = w
        .kefu
        .chat_history(
            &player("zhang.fei"),
            &HistoryRequest {
                session_id: s.session_id.clone(),
                before_seq: Some(6),
                after_seq: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(both.to_string().contains("before_seq"), "{both}");
    // b's queue saw the reopened chat.
    assert!(drain(&mut b_out)
        .iter()
        .any(|f| matches!(f, ServerFrame::NewSessionCreated(n) if n.session_id == s.session_id)));
    w.db.finish().await;
}

#[tokio::test]
async fn auto_accept_hands_chats_least_loaded_first_within_capacity() {
    let w = world(2).await;
    let (a, b) = (w.agents[0].clone(), w.agents[1].clone());
    let _a_out = online(&w, &a);
    let _b_out = online(&w, &b);
    // a already holds one chat by hand.
    let first = w.kefu.create_session("liu.bei").await.unwrap();
    w.kefu
        .accept_session(&a, &first.session_id, None)
        .await
        .unwrap();
    w.kefu.set_auto_accept(&a, true, Some(2)).await.unwrap();
    w.kefu.set_auto_accept(&b, true, Some(1)).await.unwrap();
    assert!(matches!(
        w.kefu.set_auto_accept(&b, true, Some(0)).await,
        Err(Error::Invalid { .. })
    ));
    let mut sessions = Vec::new();
    for p in ["guan.yu", "zhang.fei", "zhao.yun"] {
        sessions.push(w.kefu.create_session(p).await.unwrap().session_id);
    }
    // Let the background runs settle, then run once more by hand.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    w.kefu.dispatch().await.unwrap();
    let mut owners = Vec::new();
    for id in &sessions {
        let row = w.kefu.session_row(id).await.unwrap();
        owners.push((row.status.clone(), row.agent.clone()));
    }
    // b (load 0) gets the oldest; then a (load 1 < 2) the next; the third
    // waits: a is at 2/2 and b at 1/1.
    assert_eq!(
        owners,
        vec![
            ("active".to_owned(), Some("agent1".to_owned())),
            ("active".to_owned(), Some("agent0".to_owned())),
            ("pending".to_owned(), None),
        ]
    );
    // Ending one of b's chats frees capacity: the waiting one goes to b.
    w.kefu.end_session(&b, &sessions[0]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    w.kefu.dispatch().await.unwrap();
    let row = w.kefu.session_row(&sessions[2]).await.unwrap();
    assert_eq!(row.agent.as_deref(), Some("agent1"));
    // An agent who is busy gets nothing, even with spare capacity.
    w.kefu.end_session(&b, &sessions[2]).await.unwrap();
    w.kefu.set_staff_chat_status(&b, "busy").await.unwrap();
    // A run the end started may have read b as online before the change;
    // runs take turns, so this waits for it to finish.
    w.kefu.dispatch().await.unwrap();
    let next = w.kefu.create_session("guan.yu").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    w.kefu.dispatch().await.unwrap();
    let row = w.kefu.session_row(&next.session_id).await.unwrap();
    assert_eq!(row.status, "pending");
    w.db.finish().await;
}

#[tokio::test]
async fn the_desk_shows_a_players_record_with_the_recharge_an_agent_made() {
    let w = world(1).await;
    let a = w.agents[0].clone();
    // An agent may not read the player list, but may read the record the desk shows.
    assert!(matches!(
        w.kefu.get_player(&a, "liu.bei").await,
        Err(Error::Forbidden(_))
    ));
    // Only for a player they serve: none yet.
    assert!(matches!(
        w.kefu.desk_player_record(&a, "liu.bei").await,
        Err(Error::Forbidden(_))
    ));
    w.kefu
        .update_player(
            &w.admin,
            "liu.bei",
            &PlayerInput {
                contact: Some("13800000000".into()),
                user_login_data: Some("secret-login-blob".into()),
                server_name: Some("蜀".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Waiting in the queue: any agent may look; the record has what the
    // desk shows and nothing more.
    let chat = w.kefu.create_session("liu.bei").await.unwrap();
    let (p, recent, total) = w.kefu.desk_player_record(&a, "liu.bei").await.unwrap();
    assert_eq!((p.account.as_str(), recent.len(), total), ("liu.bei", 0, 0));
    assert_eq!(p.server_name, "蜀");
    assert_eq!((p.contact.as_str(), p.user_login_data.as_str()), ("", ""));
    w.kefu
        .accept_session(&a, &chat.session_id, None)
        .await
        .unwrap();
    for (i, amount) in [30.0, 60.0, 90.0, 120.0, 150.0, 180.0]
        .into_iter()
        .enumerate()
    {
        w.kefu
            .cs_recharge(
                &a,
                &protocol::chat::CsRechargeRequest {
                    account: "liu.bei".into(),
                    amount,
                    duration: 30,
                    service_agent: None,
                    remark: Some(format!("第{i}次")),
                },
            )
            .await
            .unwrap();
    }
    let (p, recent, total) = w.kefu.desk_player_record(&a, " liu.bei ").await.unwrap();
    assert_eq!(total, 6);
    assert_eq!(p.membership_pay_money, 630.0);
    // The newest five, newest first, made by the agent.
    assert_eq!(
        recent.iter().map(|r| r.amount).collect::<Vec<_>>(),
        vec![180.0, 150.0, 120.0, 90.0, 60.0]
    );
    assert!(recent.iter().all(|r| r.service_agent == "agent0"));
    // The chat is theirs now; a player whose chat is not theirs is not.
    assert!(matches!(
        w.kefu.desk_player_record(&a, "guan.yu").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.kefu.desk_player_record(&a, "nobody").await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.kefu.desk_player_record(&w.admin, "nobody").await,
        Err(Error::NotFound(_))
    ));
    let (p, _, _) = w
        .kefu
        .desk_player_record(&w.admin, "guan.yu")
        .await
        .unwrap();
    assert_eq!(p.account, "guan.yu");
    w.db.finish().await;
}

/// The chat figures count conversations: a chat reopened days after it
/// ended is a second conversation, and the first keeps its day, its agent
/// and its first response (they used to be rewritten by the reopening).
#[tokio::test]
async fn a_reopened_chat_leaves_its_past_conversation_in_the_figures() {
    let w = world(2).await;
    let (a, b) = (w.agents[0].clone(), w.agents[1].clone());
    let (_a_out, _b_out) = (online(&w, &a), online(&w, &b));
    let s = w.kefu.create_session("zhao.yun").await.unwrap();
    let id = s.session_id.clone();
    w.kefu.accept_session(&a, &id, None).await.unwrap();
    let staff_says = |who: &Principal, text: &'static str| {
        let (kefu, who, id) = (w.kefu.clone(), who.clone(), id.clone());
        async move {
            kefu.send_message(&Actor::Staff(who), &msg(&id, text, None), None)
                .await
                .unwrap()
        }
    };
    staff_says(&a, "您好").await;
    w.kefu.end_session(&a, &id).await.unwrap();
    // That conversation was three days ago.
    let three_days = 3 * 86_400_000i64;
    sqlx::query(
        "UPDATE chat_sessions SET created_at = created_at - $2, queued_at = queued_at - $2, \
         accepted_at = accepted_at - $2, first_response_at = first_response_at - $2, \
         ended_at = ended_at - $2 WHERE id = $1",
    )
    .bind(&id)
    .bind(three_days)
    .execute(w.kefu.store().pool())
    .await
    .unwrap();
    let week = protocol::analytics::TrendQuery {
        days: Some(7),
        ..Default::default()
    };
    let figures = |at: i64| {
        let kefu = w.kefu.clone();
        let week = week.clone();
        async move { kefu.chat_stats_at(&week, at).await.unwrap() }
    };
    let before = figures(domain::time::now_ms()).await;
    assert_eq!(before.sessions, [0, 0, 0, 1, 0, 0, 0]);
    let first_of_a = before.first_response_median_ms.expect("agent0 replied");

    // Today the player writes again: b takes the new conversation.
    w.kefu
        .send_message(&player("zhao.yun"), &msg(&id, "又有问题", None), None)
        .await
        .unwrap();
    w.kefu.accept_session(&b, &id, None).await.unwrap();
    staff_says(&b, "请讲").await;
    w.kefu.end_session(&b, &id).await.unwrap();

    let after = figures(domain::time::now_ms()).await;
    assert_eq!(after.sessions, [0, 0, 0, 1, 0, 0, 1]);
    let agents: Vec<(&str, i64, i64)> = after
        .per_agent
        .iter()
        .map(|l| (l.agent.as_str(), l.sessions, l.ended))
        .collect();
    assert_eq!(agents, [("agent0", 1, 1), ("agent1", 1, 1)]);
    assert_eq!(
        after.per_agent[0].first_response_median_ms,
        Some(first_of_a)
    );
    // b's first reply counts from the reopening, not from three days ago.
    let first_of_b = after.per_agent[1].first_response_median_ms.unwrap();
    assert!((0..60_000).contains(&first_of_b), "{first_of_b}");
    // The days before today read as they did.
    let three_days_ago = figures(domain::time::now_ms() - three_days).await;
    assert_eq!(three_days_ago.sessions, [0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(three_days_ago.per_agent.len(), 1);
    assert_eq!(three_days_ago.per_agent[0].agent, "agent0");
    w.db.finish().await;
}

/// A reopened chat waits from the message that reopened it, not from the
/// day it was first opened; the queue lists the longest wait first (the
/// order auto-accept hands chats out in).
#[tokio::test]
async fn a_reopened_chat_waits_from_its_reopening_and_the_queue_is_oldest_first() {
    let w = world(1).await;
    let a = w.agents[0].clone();
    let day = 86_400_000i64;
    // zhang.fei's chat: opened 20 days ago, handled, ended.
    let old = w.kefu.create_session("zhang.fei").await.unwrap();
    w.kefu
        .accept_session(&a, &old.session_id, None)
        .await
        .unwrap();
    w.kefu.end_session(&a, &old.session_id).await.unwrap();
    // guan.yu has waited 10 minutes.
    let waiting = w.kefu.create_session("guan.yu").await.unwrap();
    for (id, ago) in [(&old.session_id, 20 * day), (&waiting.session_id, 600_000)] {
        sqlx::query(
            "UPDATE chat_sessions SET created_at = created_at - $2, queued_at = queued_at - $2 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(ago)
        .execute(w.kefu.store().pool())
        .await
        .unwrap();
    }
    // zhang.fei writes again: the chat is back in the queue.
    w.kefu
        .send_message(
            &player("zhang.fei"),
            &msg(&old.session_id, "又出问题了", None),
            None,
        )
        .await
        .unwrap();
    let queue = w.kefu.open_sessions(&a).await.unwrap();
    let order: Vec<&str> = queue.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(
        order,
        [waiting.session_id.as_str(), old.session_id.as_str()]
    );
    let since = |i: usize| {
        chrono::DateTime::parse_from_rfc3339(queue[i].waiting_since.as_deref().unwrap())
            .unwrap()
            .timestamp_millis()
    };
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        (now - since(1)).abs() < 60_000,
        "reopened chat waits since {}",
        since(1)
    );
    assert!(
        (now - since(0) - 600_000).abs() < 60_000,
        "waits since {}",
        since(0)
    );
    let created = chrono::DateTime::parse_from_rfc3339(&queue[1].created_at)
        .unwrap()
        .timestamp_millis();
    assert!(now - created > 19 * day, "creation kept: {created}");
    // An accepted chat has no wait.
    w.kefu
        .accept_session(&a, &waiting.session_id, None)
        .await
        .unwrap();
    let row = w.kefu.session_row(&waiting.session_id).await.unwrap();
    assert_eq!(w.kefu.session_to_wire(&row, true).waiting_since, None);
    w.db.finish().await;
}

/// A stand-in for the browser service (a program outside Kefu): answers a
/// fixed report. `server` has the HTTP one, tested against a stub service.
struct FixedProbe(protocol::system::BrowserServiceReport);

impl domain::system::BrowserServiceProbe for FixedProbe {
    fn check(
        &self,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = protocol::system::BrowserServiceReport> + Send + '_>,
    > {
        Box::pin(async move { self.0.clone() })
    }
}

#[tokio::test]
async fn the_system_status_counts_chats_and_sockets_for_admins_only() {
    use protocol::system::{BrowserServiceReport, Probe, ProbeFailure};
    let w = world(1).await;
    let a = &w.agents[0];
    // Nothing configured: no browser service in the report.
    let s = w.kefu.system_status(&w.admin).await.unwrap();
    assert_eq!(s.browser_service, None);
    assert_eq!((s.kefu.chats_waiting, s.kefu.chats_active), (0, 0));
    assert_eq!((s.kefu.staff_online, s.kefu.players_online), (0, 0));
    assert_eq!(s.kefu.database, w.kefu.store().backend().name());
    assert!(s.kefu.uptime_secs >= 0 && s.kefu.uptime_secs < 600);
    // The database has its tables in it: some pages on either backend. On
    // SQLite they may still be in the log (nothing checkpointed yet), so the
    // file and the log together hold them.
    let on_disk = s.kefu.database_bytes.unwrap() + s.kefu.wal_bytes.unwrap_or(0);
    assert!(on_disk > 4096, "{:?}", s.kefu);
    assert_eq!(
        s.kefu.wal_bytes.is_some(),
        w.kefu.store().sqlite_file().is_some()
    );
    assert!(matches!(
        w.kefu.system_status(a).await,
        Err(Error::Forbidden(_))
    ));

    // Two waiting, one of them then accepted; one ended (counted nowhere).
    let one = w.kefu.create_session("liu.bei").await.unwrap();
    w.kefu.create_session("guan.yu").await.unwrap();
    let gone = w.kefu.create_session("zhang.fei").await.unwrap();
    w.kefu
        .accept_session(a, &one.session_id, None)
        .await
        .unwrap();
    w.kefu
        .end_session(&w.admin, &gone.session_id)
        .await
        .unwrap();
    let _agent_tab1 = online(&w, a);
    let _agent_tab2 = online(&w, a);
    let _player = w.kefu.hub().register_player("guan.yu").unwrap();
    let report = BrowserServiceReport {
        url: "http://browsers.example:8888".into(),
        health: Probe::Failed {
            failure: ProbeFailure::Unreachable,
        },
        pool: Probe::Failed {
            failure: ProbeFailure::Status(503),
        },
        usage: Probe::Failed {
            failure: ProbeFailure::Timeout(3000),
        },
    };
    w.kefu
        .set_browser_service(std::sync::Arc::new(FixedProbe(report.clone())))
        .unwrap();
    assert!(w
        .kefu
        .set_browser_service(std::sync::Arc::new(FixedProbe(report.clone())))
        .is_err());
    let s = w.kefu.system_status(&w.admin).await.unwrap();
    assert_eq!((s.kefu.chats_waiting, s.kefu.chats_active), (1, 1));
    assert_eq!((s.kefu.staff_online, s.kefu.staff_sockets), (1, 2));
    assert_eq!((s.kefu.players_online, s.kefu.player_sockets), (1, 1));
    assert_eq!(s.browser_service, Some(report));
    w.db.finish().await;
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn image(session: &str, upload_id: &str) -> SendMessageRequest {
    SendMessageRequest {
        content_type: Some("image".into()),
        ..msg(session, upload_id, None)
    }
}

#[tokio::test]
async fn images_are_sent_by_their_uploader_only_and_anything_else_is_refused() {
    use domain::uploads::{MAX_UPLOAD_BYTES, UPLOADS_PER_HOUR};
    let w = world(1).await;
    let agent = w.agents[0].clone();
    let s = w.kefu.create_session("liu.bei").await.unwrap();
    w.kefu
        .accept_session(&agent, &s.session_id, None)
        .await
        .unwrap();

    // Refused, with the field named, and nothing stored.
    let refusals = [
        (Vec::new(), "must not be empty"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "PNG, JPEG, GIF or WebP",
        ),
        (
            [PNG, &vec![0u8; MAX_UPLOAD_BYTES]].concat(),
            "at most 5 MiB",
        ),
    ];
    for (bytes, why) in refusals {
        match w.kefu.store_upload(&player("liu.bei"), bytes).await {
            Err(Error::Invalid { field, message }) => {
                assert_eq!(field, "file");
                assert!(message.contains(why), "{message}");
            }
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
    }

    // Stored and served as the kind its bytes say, whatever the name.
    let up = w
        .kefu
        .store_upload(&player("liu.bei"), PNG.to_vec())
        .await
        .unwrap();
    assert_eq!(up.upload_id.len(), 32);
    assert_eq!(
        (up.content_type.as_str(), up.size),
        ("image/png", PNG.len() as i64)
    );
    assert_eq!(up.url, format!("/api/uploads/{}", up.upload_id));
    let (kind, bytes) = w.kefu.upload(&up.upload_id).await.unwrap();
    assert_eq!((kind.as_str(), bytes.as_slice()), ("image/png", PNG));
    for missing in ["0123456789abcdef0123456789abcdef", "../kefu.db", ""] {
        assert!(matches!(
            w.kefu.upload(missing).await,
            Err(Error::NotFound(_))
        ));
    }

    // Another player's upload, an agent sending the player's, or text that
    // is no upload id: refused, nothing stored.
    let before = all_seqs(&w, &s.session_id).await;
    let other = w
        .kefu
        .store_upload(&player("guan.yu"), PNG.to_vec())
        .await
        .unwrap();
    let refused = [
        (player("liu.bei"), other.upload_id.clone()),
        (Actor::Staff(agent.clone()), up.upload_id.clone()),
        (player("liu.bei"), "a picture of my castle".to_owned()),
    ];
    for (who, content) in refused {
        match w
            .kefu
            .send_message(&who, &image(&s.session_id, &content), None)
            .await
        {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "content"),
            other => panic!("expected `content` refused, got {other:?}"),
        }
    }
    assert_eq!(all_seqs(&w, &s.session_id).await, before);

    // The uploader sends it: stored as an image, the lists say "[图片]".
    let ack = w
        .kefu
        .send_message(
            &player("liu.bei"),
            &image(&s.session_id, &up.upload_id),
            None,
        )
        .await
        .unwrap();
    assert_eq!(ack.seq, before.len() as i64 + 1);
    let mine = w
        .kefu
        .store_upload(&Actor::Staff(agent.clone()), PNG.to_vec())
        .await
        .unwrap();
    w.kefu
        .send_message(
            &Actor::Staff(agent.clone()),
            &image(&s.session_id, &mine.upload_id),
            None,
        )
        .await
        .unwrap();
    let h = w
        .kefu
        .chat_history(
            &Actor::Staff(agent.clone()),
            &HistoryRequest {
                session_id: s.session_id.clone(),
                page: Some(1),
                limit: Some(10),
                after_seq: None,
                before_seq: None,
            },
        )
        .await
        .unwrap();
    let sent: Vec<_> = h
        .messages
        .iter()
        .filter(|m| m.sender_type != protocol::chat::SenderType::System)
        .map(|m| (m.content.as_str(), m.content_type.as_str()))
        .collect();
    assert_eq!(
        sent,
        [
            (up.upload_id.as_str(), "image"),
            (mine.upload_id.as_str(), "image")
        ]
    );
    assert_eq!(
        w.kefu
            .session_row(&s.session_id)
            .await
            .unwrap()
            .last_message,
        "[图片]"
    );

    // A person's uploads in an hour are bounded.
    for _ in 0..UPLOADS_PER_HOUR - 2 {
        w.kefu
            .store_upload(&player("zhao.yun"), PNG.to_vec())
            .await
            .unwrap();
    }
    w.kefu
        .store_upload(&player("zhao.yun"), PNG.to_vec())
        .await
        .unwrap();
    w.kefu
        .store_upload(&player("zhao.yun"), PNG.to_vec())
        .await
        .unwrap();
    match w.kefu.store_upload(&player("zhao.yun"), PNG.to_vec()).await {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!(
                (3000..=3600).contains(&retry_after_secs),
                "{retry_after_secs}"
            )
        }
        other => panic!("expected the hourly bound, got {other:?}"),
    }
    // Someone else may still upload.
    w.kefu
        .store_upload(&player("zhang.fei"), PNG.to_vec())
        .await
        .unwrap();
    w.db.finish().await;
}

#[tokio::test]
async fn an_upload_lives_with_its_chat_and_one_never_sent_is_swept_after_a_day() {
    let w = world(1).await;
    let agent = w.agents[0].clone();
    let staff = Actor::Staff(agent.clone());
    let mut chats = Vec::new();
    for account in ["liu.bei", "zhang.fei"] {
        let s = w.kefu.create_session(account).await.unwrap();
        w.kefu
            .accept_session(&agent, &s.session_id, None)
            .await
            .unwrap();
        chats.push(s.session_id);
    }
    let upload = |who: Actor| {
        let kefu = w.kefu.clone();
        async move {
            kefu.store_upload(&who, PNG.to_vec())
                .await
                .unwrap()
                .upload_id
        }
    };
    let sent = upload(player("liu.bei")).await;
    let abandoned = upload(player("liu.bei")).await;
    let fresh = upload(player("liu.bei")).await;
    let agents = upload(staff.clone()).await;
    let with_id = |id: &str| SendMessageRequest {
        client_msg_id: Some(format!("c-{id}")),
        ..image(&chats[0], id)
    };
    let first = w
        .kefu
        .send_message(&player("liu.bei"), &with_id(&sent), None)
        .await
        .unwrap();
    w.kefu
        .send_message(&staff, &image(&chats[0], &agents), None)
        .await
        .unwrap();

    // Sent in one chat, an upload is refused in another; a resend in its
    // own chat answers the first acknowledgement.
    match w
        .kefu
        .send_message(&staff, &image(&chats[1], &agents), None)
        .await
    {
        Err(Error::Invalid { field, message }) => {
            assert_eq!(field, "content");
            assert!(message.contains("for this chat"), "{message}");
        }
        other => panic!("expected `content` refused, got {other:?}"),
    }
    assert_eq!(
        all_seqs(&w, &chats[1]).await.len(),
        1,
        "only the accept notice"
    );
    let again = w
        .kefu
        .send_message(&player("liu.bei"), &with_id(&sent), None)
        .await
        .unwrap();
    assert_eq!(again.seq, first.seq);

    // A day on, the sweep takes the upload never sent, and only it.
    sqlx::query("UPDATE uploads SET created_at = created_at - $1 WHERE id <> $2")
        .bind(domain::uploads::UNSENT_KEPT_MS + 60_000)
        .bind(&fresh)
        .execute(w.kefu.store().pool())
        .await
        .unwrap();
    assert_eq!(w.kefu.sweep_unsent_uploads().await.unwrap(), 1);
    assert!(matches!(
        w.kefu.upload(&abandoned).await,
        Err(Error::NotFound(_))
    ));
    for kept in [&sent, &fresh, &agents] {
        w.kefu.upload(kept).await.unwrap();
    }
    assert_eq!(w.kefu.sweep_unsent_uploads().await.unwrap(), 0);

    // Clearing the chat's history takes its images with it.
    w.kefu.clear_history(&agent, &chats[0]).await.unwrap();
    for gone in [&sent, &agents] {
        assert!(matches!(w.kefu.upload(gone).await, Err(Error::NotFound(_))));
    }
    w.kefu.upload(&fresh).await.unwrap();
    w.db.finish().await;
}

#[tokio::test]
async fn a_deleted_player_is_disconnected_and_their_open_chats_end() {
    let w = world(1).await;
    let agent = w.agents[0].clone();
    let active = w.kefu.create_session("liu.bei").await.unwrap();
    w.kefu
        .accept_session(&agent, &active.session_id, None)
        .await
        .unwrap();
    let waiting = w.kefu.create_session("guan.yu").await.unwrap();
    let mut sockets = [
        w.kefu.hub().register_player("liu.bei").unwrap(),
        w.kefu.hub().register_player("guan.yu").unwrap(),
    ];
    let mut bystander = w.kefu.hub().register_player("zhang.fei").unwrap();

    w.kefu.delete_player(&w.admin, "liu.bei").await.unwrap();
    w.kefu
        .delete_players(&w.admin, &["guan.yu".to_owned()])
        .await
        .unwrap();
    for socket in &mut sockets {
        assert_eq!(
            *socket.kicked.borrow_and_update(),
            Some(protocol::chat::CLOSE_AUTH_FAILED)
        );
    }
    assert_eq!(*bystander.kicked.borrow_and_update(), None);
    for id in [&active.session_id, &waiting.session_id] {
        let s = w.kefu.session_row(id).await.unwrap();
        assert_eq!(s.status, "ended", "{id}");
    }
    // Their history stays readable.
    assert!(all_seqs(&w, &active.session_id).await.len() >= 2);
    w.db.finish().await;
}

#[tokio::test]
async fn an_agent_disabled_or_deleted_leaves_their_chats_to_the_queue() {
    let w = world(3).await;
    let (gone, deleted, stays) = (
        w.agents[0].clone(),
        w.agents[1].clone(),
        w.agents[2].clone(),
    );
    let mut chats = Vec::new();
    for (account, agent) in [("liu.bei", &gone), ("guan.yu", &deleted)] {
        let s = w.kefu.create_session(account).await.unwrap();
        w.kefu
            .accept_session(agent, &s.session_id, None)
            .await
            .unwrap();
        chats.push(s.session_id);
    }
    w.kefu
        .set_staff_status(&w.admin, gone.id, "inactive")
        .await
        .unwrap();
    w.kefu.delete_staff(&w.admin, deleted.id).await.unwrap();
    for id in &chats {
        let s = w.kefu.session_row(id).await.unwrap();
        assert_eq!((s.status.as_str(), s.agent_id), ("pending", None), "{id}");
        assert!(s.queued_at.is_some());
    }
    let h = w
        .kefu
        .chat_history(
            &Actor::Staff(w.admin.clone()),
            &HistoryRequest {
                session_id: chats[0].clone(),
                page: Some(1),
                limit: Some(10),
                after_seq: None,
                before_seq: None,
            },
        )
        .await
        .unwrap();
    assert!(
        h.messages
            .iter()
            .any(|m| m.content == "客服 agent0 已离开，会话重新排队"),
        "{:?}",
        h.messages
    );
    // The disabled agent's desk, still open, cannot take it back.
    match w.kefu.accept_session(&gone, &chats[0], None).await {
        Err(Error::Forbidden(m)) => assert!(m.contains("disabled"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Another agent takes it from the queue, and the player reaches them.
    w.kefu
        .accept_session(&stays, &chats[0], None)
        .await
        .unwrap();
    w.kefu
        .send_message(&player("liu.bei"), &msg(&chats[0], "还在吗", None), None)
        .await
        .unwrap();
    w.db.finish().await;
}

#[tokio::test]
async fn staff_sending_to_an_ended_chat_get_a_conflict_whoever_held_it() {
    let w = world(2).await;
    let s = w.kefu.create_session("liu.bei").await.unwrap();
    w.kefu
        .accept_session(&w.agents[0], &s.session_id, None)
        .await
        .unwrap();
    w.kefu
        .end_session(&w.agents[0], &s.session_id)
        .await
        .unwrap();
    let before = all_seqs(&w, &s.session_id).await;
    for who in [&w.agents[0], &w.agents[1], &w.admin] {
        match w
            .kefu
            .send_message(
                &Actor::Staff(who.clone()),
                &msg(&s.session_id, "在吗", None),
                None,
            )
            .await
        {
            Err(Error::Conflict(m)) => assert_eq!(m, "this chat has ended"),
            other => panic!("{}: expected 409, got {other:?}", who.username),
        }
    }
    assert_eq!(all_seqs(&w, &s.session_id).await, before);
    w.db.finish().await;
}

#[tokio::test]
async fn an_upload_sent_into_two_chats_at_once_is_stored_in_one() {
    let w = world(1).await;
    let agent = w.agents[0].clone();
    let staff = Actor::Staff(agent.clone());
    let mut chats = Vec::new();
    for account in ["liu.bei", "zhang.fei"] {
        let s = w.kefu.create_session(account).await.unwrap();
        w.kefu
            .accept_session(&agent, &s.session_id, None)
            .await
            .unwrap();
        chats.push(s.session_id);
    }
    let up = w
        .kefu
        .store_upload(&staff, PNG.to_vec())
        .await
        .unwrap()
        .upload_id;
    // Both sends pass the sender's check while the writer waits (SQLite's
    // write lock; on PostgreSQL the upload's row is held).
    let mut holder = w.kefu.store().begin_write().await.unwrap();
    if w.kefu.store().backend() == domain::store::Backend::Postgres {
        sqlx::query("SELECT 1 FROM uploads WHERE id = $1 FOR UPDATE")
            .bind(&up)
            .execute(&mut *holder)
            .await
            .unwrap();
    }
    let mut sends = Vec::new();
    for chat in &chats {
        let (kefu, staff, req) = (w.kefu.clone(), staff.clone(), image(chat, &up));
        sends.push(tokio::spawn(async move {
            kefu.send_message(&staff, &req, None).await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    holder.commit().await.unwrap();
    let mut outcomes = Vec::new();
    for t in sends {
        outcomes.push(t.await.unwrap());
    }
    // Which one the writer takes first is its business (the sleeps above
    // make the first likelier, on a busy machine not certain): one is
    // stored, the other refused for its content.
    let stored = outcomes
        .iter()
        .position(Result::is_ok)
        .unwrap_or_else(|| panic!("neither stored: {outcomes:?}"));
    let refused = 1 - stored;
    match &outcomes[refused] {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "content"),
        other => panic!("expected `content` refused, got {other:?}"),
    }
    assert_eq!(
        all_seqs(&w, &chats[refused]).await.len(),
        1,
        "only the accept notice"
    );
    // Clearing the chat it was stored in takes it; the other chat never had it.
    w.kefu.clear_history(&agent, &chats[stored]).await.unwrap();
    assert!(matches!(w.kefu.upload(&up).await, Err(Error::NotFound(_))));
    w.db.finish().await;
}

#[tokio::test]
async fn an_image_refused_by_its_chat_leaves_the_upload_free() {
    let w = world(1).await;
    let agent = w.agents[0].clone();
    let staff = Actor::Staff(agent.clone());
    let waiting = w.kefu.create_session("liu.bei").await.unwrap();
    let mine = w.kefu.create_session("zhang.fei").await.unwrap();
    w.kefu
        .accept_session(&agent, &mine.session_id, None)
        .await
        .unwrap();
    let up = w
        .kefu
        .store_upload(&staff, PNG.to_vec())
        .await
        .unwrap()
        .upload_id;
    // A chat that does not exist: not found (not a server error).
    match w
        .kefu
        .send_message(
            &staff,
            &image("0190aaaa-0000-7000-8000-000000000000", &up),
            None,
        )
        .await
    {
        Err(Error::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    // A chat the agent has not accepted: refused, and the upload stays free.
    match w
        .kefu
        .send_message(&staff, &image(&waiting.session_id, &up), None)
        .await
    {
        Err(Error::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    w.kefu
        .send_message(&staff, &image(&mine.session_id, &up), None)
        .await
        .unwrap();
    w.db.finish().await;
}

#[tokio::test]
async fn uploads_made_at_once_cannot_pass_the_hourly_bound_together() {
    use domain::uploads::UPLOADS_PER_HOUR;
    let w = world(1).await;
    let free = 4;
    for _ in 0..UPLOADS_PER_HOUR - free {
        w.kefu
            .store_upload(&player("guan.yu"), PNG.to_vec())
            .await
            .unwrap();
    }
    // Twelve at the same moment for four places left: four are stored.
    let mut racing = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let kefu = w.kefu.clone();
        racing.spawn(async move { kefu.store_upload(&player("guan.yu"), PNG.to_vec()).await });
    }
    let (mut stored, mut bounded) = (0, 0);
    while let Some(r) = racing.join_next().await {
        match r.unwrap() {
            Ok(_) => stored += 1,
            Err(Error::RateLimited { .. }) => bounded += 1,
            Err(e) => panic!("unexpected refusal: {e:?}"),
        }
    }
    assert_eq!((stored, bounded), (free, 12 - free));
    let (n,): (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM uploads WHERE uploader = 'guan.yu'")
            .fetch_one(w.kefu.store().pool())
            .await
            .unwrap();
    assert_eq!(n, UPLOADS_PER_HOUR);
    w.db.finish().await;
}

#[tokio::test]
async fn quick_replies_are_ones_own_or_the_teams_kept_by_admins() {
    let w = world(2).await;
    let (a, b) = (w.agents[0].clone(), w.agents[1].clone());
    let greet = "您好，请问有什么可以帮您？";
    let own = w
        .kefu
        .add_quick_reply(&a, &format!("  {greet}\n"), false)
        .await
        .unwrap();
    assert_eq!(
        (own.content.as_str(), own.team, own.deletable),
        (greet, false, true)
    );
    // Refused, nothing added: the same text again, empty, too long, an agent for the team.
    assert!(matches!(
        w.kefu.add_quick_reply(&a, greet, false).await,
        Err(Error::Conflict(_))
    ));
    for (text, why) in [
        (" \n ".to_owned(), "must not be empty"),
        ("长".repeat(1001), "at most 1000"),
    ] {
        match w.kefu.add_quick_reply(&a, &text, false).await {
            Err(Error::Invalid { field, message }) => {
                assert_eq!(field, "content");
                assert!(message.contains(why), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert!(matches!(
        w.kefu.add_quick_reply(&a, "团队的", true).await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(w.kefu.quick_replies(&a).await.unwrap().len(), 1);

    // The team's come first, for everyone; only admins may delete them.
    let team = w
        .kefu
        .add_quick_reply(&w.admin, "充值到账一般需要 5 分钟", true)
        .await
        .unwrap();
    // The same text may be in one's own list and the team's.
    w.kefu
        .add_quick_reply(&a, "充值到账一般需要 5 分钟", false)
        .await
        .unwrap();
    let list = w.kefu.quick_replies(&a).await.unwrap();
    let seen: Vec<_> = list
        .iter()
        .map(|r| (r.content.as_str(), r.team, r.deletable))
        .collect();
    assert_eq!(
        seen,
        [
            ("充值到账一般需要 5 分钟", true, false),
            (greet, false, true),
            ("充值到账一般需要 5 分钟", false, true)
        ]
    );
    assert!(matches!(
        w.kefu.delete_quick_reply(&a, team.id).await,
        Err(Error::Forbidden(_))
    ));
    // Someone else's own is not found, to the other agent and to the admin.
    let of_b: Vec<_> = w
        .kefu
        .quick_replies(&b)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(of_b, [team.id]);
    assert!(matches!(
        w.kefu.delete_quick_reply(&b, own.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.kefu.delete_quick_reply(&w.admin, own.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.kefu.delete_quick_reply(&a, 999_999).await,
        Err(Error::NotFound(_))
    ));
    w.kefu.delete_quick_reply(&a, own.id).await.unwrap();
    w.kefu.delete_quick_reply(&w.admin, team.id).await.unwrap();
    let left: Vec<_> = w
        .kefu
        .quick_replies(&a)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.content, r.team))
        .collect();
    assert_eq!(left, [("充值到账一般需要 5 分钟".to_owned(), false)]);

    // A list is bounded.
    for i in 1..domain::replies::MAX_OWN {
        w.kefu
            .add_quick_reply(&b, &format!("第 {i} 条"), false)
            .await
            .unwrap();
    }
    w.kefu.add_quick_reply(&b, "最后一条", false).await.unwrap();
    assert!(matches!(
        w.kefu.add_quick_reply(&b, "再多一条", false).await,
        Err(Error::Conflict(_))
    ));

    // Deleting an account takes its own replies with it.
    w.kefu.delete_staff(&w.admin, b.id).await.unwrap();
    let (left,): (i64,) =
        sqlx::query_as("SELECT CAST(COUNT(*) AS BIGINT) FROM quick_replies WHERE staff_id = $1")
            .bind(b.id)
            .fetch_one(w.kefu.store().pool())
            .await
            .unwrap();
    assert_eq!(left, 0);
    w.db.finish().await;
}

/// Reading, clearing and writing one chat at the same time: on PostgreSQL
/// each takes the chat's row before touching its messages, so none of them
/// deadlocks, and the chat's unread count always equals its unread
/// messages (a message committed while the agent reads is either marked
/// read or counted, never unread under a zero count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_clearing_and_writing_one_chat_at_once_keep_the_count_true() {
    let w = world(1).await;
    let (s, agent) = accepted_chat(&w, "liu.bei").await;
    let id = s.session_id.clone();
    let unread = |w: &World| {
        let id = id.clone();
        let pool = w.kefu.store().pool().clone();
        async move {
            let (count, counted): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM chat_messages WHERE session_id = $1 \
                 AND sender_type = 'user' AND is_read = 0), \
                 (SELECT staff_unread FROM chat_sessions WHERE id = $1)",
            )
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
            (count, counted)
        }
    };
    for round in 0..25 {
        let writer = {
            let (kefu, id) = (w.kefu.clone(), id.clone());
            tokio::spawn(async move {
                for k in 0..4 {
                    let client = format!("r{round}k{k}");
                    kefu.send_message(&player("liu.bei"), &msg(&id, "hello", Some(&client)), None)
                        .await?;
                }
                Ok::<_, Error>(())
            })
        };
        let reader = {
            let (kefu, agent, id) = (w.kefu.clone(), agent.clone(), id.clone());
            tokio::spawn(async move {
                for _ in 0..3 {
                    kefu.mark_read(&Actor::Staff(agent.clone()), &id, None)
                        .await?;
                }
                Ok::<_, Error>(())
            })
        };
        let clearer = {
            let (kefu, agent, id) = (w.kefu.clone(), agent.clone(), id.clone());
            tokio::spawn(async move {
                if round % 3 == 0 {
                    kefu.clear_history(&agent, &id).await?;
                }
                Ok::<_, Error>(())
            })
        };
        for (what, task) in [("send", writer), ("mark read", reader), ("clear", clearer)] {
            if let Err(e) = task.await.unwrap() {
                panic!("round {round}: {what} failed: {e:?}");
            }
        }
        let (count, counted) = unread(&w).await;
        assert_eq!(
            counted, count,
            "round {round}: the chat counts {counted} unread, {count} messages are unread"
        );
    }
    w.db.finish().await;
}

/// `get_sessions` (API.md: pending first, then newest activity): the
/// waiting chats first, longest wait first; then the open chats by newest
/// activity, then the ended ones: a list cut at its limit (the desk asks
/// for 500) never drops an open chat for an ended one.
#[tokio::test]
async fn the_session_list_is_pending_first_then_newest_activity() {
    let w = world(1).await;
    let a = w.agents[0].clone();
    let mut ids = Vec::new();
    for p in ["liu.bei", "guan.yu", "zhang.fei", "zhao.yun"] {
        ids.push(w.kefu.create_session(p).await.unwrap().session_id);
    }
    for id in &ids[..3] {
        w.kefu.accept_session(&a, id, None).await.unwrap();
    }
    w.kefu.end_session(&a, &ids[0]).await.unwrap();
    // liu.bei's chat (ended) was active last, then zhang.fei's, then guan.yu's.
    for (id, at) in [(&ids[0], 3_000), (&ids[1], 1_000), (&ids[2], 2_000)] {
        sqlx::query("UPDATE chat_sessions SET last_message_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at as i64)
            .execute(w.kefu.store().pool())
            .await
            .unwrap();
    }
    let page = w.kefu.chat_sessions(&a, None, None, false).await.unwrap();
    let order: Vec<&str> = page
        .sessions
        .iter()
        .map(|s| s.user_account.as_str())
        .collect();
    assert_eq!(order, ["zhao.yun", "zhang.fei", "guan.yu", "liu.bei"]);
    w.db.finish().await;
}

/// The same quick reply added twice at once (a double click): one is kept,
/// the other is told it is in the list already.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_reply_added_twice_at_once_is_kept_once() {
    let w = world(1).await;
    let a = w.agents[0].clone();
    for round in 0..5 {
        let text = format!("稍等，我帮您查一下 {round}");
        let adds: Vec<_> = (0..6)
            .map(|_| {
                let (kefu, a, text) = (w.kefu.clone(), a.clone(), text.clone());
                tokio::spawn(async move { kefu.add_quick_reply(&a, &text, false).await })
            })
            .collect();
        let mut kept = 0;
        for add in adds {
            match add.await.unwrap() {
                Ok(_) => kept += 1,
                Err(Error::Conflict(_)) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
        assert_eq!(kept, 1, "round {round}");
    }
    assert_eq!(w.kefu.quick_replies(&a).await.unwrap().len(), 5);
    w.db.finish().await;
}
