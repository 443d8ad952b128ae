//! The chat over real loopback sockets: every WebSocket frame type's happy
//! and error path, fan-out to every tab in seq order, gap repair after a
//! reconnect, slow consumers, revoked tokens, and the HTTP fallback.

mod common;

use common::ws::{Read, Ws};
use common::{TestServer, ADMIN, ADMIN_PASSWORD, AGENT, API_KEY};
use futures_util::SinkExt;
use protocol::chat::{
    ServerFrame, CLOSE_AUTH_FAILED, CLOSE_TOO_MANY_SOCKETS, MAX_SOCKETS_PER_PERSON,
};
use serde_json::json;

fn error_code(f: &ServerFrame) -> &str {
    match f {
        ServerFrame::Error(e) => &e.error_code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

async fn session_of(s: &TestServer, token: &str, account: &str) -> String {
    let (st, v) = s
        .post(
            "/api/chat/create_session",
            token,
            json!({"user_account": account}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    v["data"]["session_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn player_tokens_need_the_api_key_and_an_existing_account() {
    let s = TestServer::start().await;
    s.player("liu.bei").await;
    let ask = |key: &'static str, account: &'static str| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(s.url("/api/chat/user_token"))
                .header("x-api-key", key)
                .json(&json!({"account": account}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(ask(API_KEY, "liu.bei").await, 200);
    assert_eq!(ask("wrong", "liu.bei").await, 401);
    assert_eq!(ask(API_KEY, "nobody").await, 404);
    // A bad token or the wrong kind of token closes the socket with 4001.
    let mut ws = Ws::connect(&s.base, "garbage", "user").await;
    assert_eq!(ws.closed().await, Some(CLOSE_AUTH_FAILED));
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let mut ws = Ws::connect(&s.base, &agent, "user").await;
    assert_eq!(ws.closed().await, Some(CLOSE_AUTH_FAILED));
    let player = s.player_token("liu.bei").await;
    let mut ws = Ws::connect(&s.base, &player, "customer_service").await;
    assert_eq!(ws.closed().await, Some(CLOSE_AUTH_FAILED));
    // A staff token on the player's HTTP chat is a 403; none is a 401.
    let (st, _) = s
        .post(
            "/api/chat/create_session",
            &agent,
            json!({"user_account": "liu.bei"}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .post(
            "/api/chat/create_session",
            "",
            json!({"user_account": "liu.bei"}),
        )
        .await;
    assert_eq!(st, 401);
    // Another player's account is refused.
    let (st, v) = s
        .post(
            "/api/chat/create_session",
            &player,
            json!({"user_account": "guan.yu"}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    // And the other way round: a player's token on the staff side is the
    // wrong role (403), not a bad token (401).
    let (st, v) = s
        .post(
            "/api/cs/send_message",
            &player,
            json!({"session_id": "x", "content": "hi"}),
        )
        .await;
    assert_eq!(st, 403, "{v}");
    let (st, v) = s
        .post(
            "/api/cs/send_message",
            "garbage",
            json!({"session_id": "x", "content": "hi"}),
        )
        .await;
    assert_eq!(st, 401, "{v}");
    s.stop().await;
}

#[tokio::test]
async fn a_conversation_over_sockets_with_every_frame_type() {
    let s = TestServer::start().await;
    let player = s.player("liu.bei").await;
    s.player("guan.yu").await;
    let other_player = s.player_token("guan.yu").await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let admin = s.token("/api/cs_login", ADMIN.0, ADMIN.1).await;

    let mut desk = Ws::open(&s.base, &agent, "customer_service").await;
    let mut desk2 = Ws::open(&s.base, &agent, "customer_service").await;
    let mut boss = Ws::open(&s.base, &admin, "customer_service").await;
    let session = session_of(&s, &player, "liu.bei").await;
    let mut p1 = Ws::open(&s.base, &player, "user").await;
    let mut p2 = Ws::open(&s.base, &player, "user").await;
    let mut intruder = Ws::open(&s.base, &other_player, "user").await;

    // The queue hears about the new chat.
    let n = desk
        .until(|f| matches!(f, ServerFrame::NewSessionCreated(_)))
        .await;
    assert!(matches!(n, ServerFrame::NewSessionCreated(n) if n.session_id == session));

    // ping → pong, on both sides.
    assert!(matches!(
        p1.ask(json!({"type": "ping", "data": {}}), |f| matches!(
            f,
            ServerFrame::Pong(_)
        ))
        .await,
        ServerFrame::Pong(_)
    ));
    assert!(matches!(
        desk.ask(json!({"type": "ping"}), |f| matches!(
            f,
            ServerFrame::Pong(_)
        ))
        .await,
        ServerFrame::Pong(_)
    ));

    // The player writes: ack to the sender, copies to the other tab and the queue.
    let ack = p1
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "你好", "client_msg_id": "m1"}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    let ServerFrame::MessageSent(ack) = ack else {
        panic!("{ack:?}")
    };
    assert_eq!(ack.seq, 1);
    assert_eq!(ack.client_msg_id.as_deref(), Some("m1"));
    for ws in [&mut p2, &mut desk, &mut desk2] {
        let f = ws.until(|f| matches!(f, ServerFrame::NewMessage(_))).await;
        assert!(matches!(f, ServerFrame::NewMessage(m) if m.seq == 1 && m.content == "你好"));
    }
    let f = desk
        .until(|f| matches!(f, ServerFrame::UnreadCountUpdated(_)))
        .await;
    assert!(matches!(f, ServerFrame::UnreadCountUpdated(u) if u.unread_count == 1));
    // The same client_msg_id again: the same ack, nothing new stored.
    let again = p1
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "你好", "client_msg_id": "m1"}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    assert_eq!(again, ServerFrame::MessageSent(ack.clone()));

    // Staff lists.
    let f = desk
        .ask(
            json!({"type": "get_sessions", "data": {"page": 1, "limit": 10}}),
            |f| matches!(f, ServerFrame::SessionsResponse(_)),
        )
        .await;
    let ServerFrame::SessionsResponse(list) = f else {
        panic!("{f:?}")
    };
    assert_eq!(list.total, 1);
    assert_eq!(list.sessions[0].status, "pending");
    let f = desk
        .ask(json!({"type": "get_sessions_count", "data": {}}), |f| {
            matches!(f, ServerFrame::SessionsCountResponse(_))
        })
        .await;
    assert!(
        matches!(f, ServerFrame::SessionsCountResponse(c) if c.pending_sessions == 1 && c.active_sessions == 0)
    );
    let f = desk
        .ask(json!({"type": "get_unread_count", "data": {}}), |f| {
            matches!(f, ServerFrame::UnreadCountResponse(_))
        })
        .await;
    assert!(matches!(f, ServerFrame::UnreadCountResponse(u) if u.total_unread == 1));

    // Writing before accepting is refused; accepting tells the player.
    let f = desk
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "hi"}}),
            |_| false,
        )
        .await;
    // The chat's state forbids it: seed 000's code, the reason in the message.
    assert_eq!(error_code(&f), "PERMISSION_DENIED");
    assert!(matches!(&f, ServerFrame::Error(e) if e.error_message == "accept the chat first"));
    let f = desk
        .ask(
            json!({"type": "accept_session", "data": {"session_id": session}}),
            |f| matches!(f, ServerFrame::SessionAccepted(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::SessionAccepted(a) if a.cs_account == AGENT.0));
    let f = p1
        .until(|f| matches!(f, ServerFrame::SessionStatusChanged(_)))
        .await;
    assert!(
        matches!(f, ServerFrame::SessionStatusChanged(c) if c.new_status == "active" && c.old_status == "pending")
    );
    // A second accept loses.
    let f = boss
        .ask(
            json!({"type": "accept_session", "data": {"session_id": session}}),
            |f| matches!(f, ServerFrame::SessionAccepted(_)),
        )
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");

    // The agent answers; both player tabs get it in order after the notice.
    let f = desk
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "您好，请讲"}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::MessageSent(a) if a.seq == 3));
    for ws in [&mut p1, &mut p2] {
        let mut seqs = Vec::new();
        while seqs.len() < 2 {
            if let ServerFrame::NewMessage(m) =
                ws.until(|f| matches!(f, ServerFrame::NewMessage(_))).await
            {
                seqs.push(m.seq);
            }
        }
        assert_eq!(seqs, vec![2, 3]);
    }

    // Typing is relayed, not stored.
    p1.send(json!({"type": "typing", "data": {"session_id": session, "is_typing": true}}))
        .await;
    let f = desk.until(|f| matches!(f, ServerFrame::Typing(_))).await;
    assert!(matches!(f, ServerFrame::Typing(t) if t.is_typing && t.account == "liu.bei"));

    // History on both sides, with after_seq.
    let f = p1
        .ask(
            json!({"type": "get_chat_history", "data": {"session_id": session, "after_seq": 1}}),
            |f| matches!(f, ServerFrame::ChatHistoryResponse(_)),
        )
        .await;
    let ServerFrame::ChatHistoryResponse(h) = f else {
        panic!("{f:?}")
    };
    assert_eq!(
        h.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(h.total, 3);

    // Read state: the agent reads; their other tab hears the new count.
    let f = desk
        .ask(
            json!({"type": "mark_session_read", "data": {"session_id": session}}),
            |f| matches!(f, ServerFrame::SessionReadSuccess(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::SessionReadSuccess(_)));
    let f = desk2
        .until(|f| matches!(f, ServerFrame::UnreadCountAbsoluteUpdate(_)))
        .await;
    assert!(matches!(f, ServerFrame::UnreadCountAbsoluteUpdate(u) if u.unread_count == 0));
    let f = boss
        .until(|f| matches!(f, ServerFrame::UnreadCountRecalculated(_)))
        .await;
    assert!(
        matches!(f, ServerFrame::UnreadCountRecalculated(u) if u.session_id == session && u.unread_count == 0)
    );

    // Importance, both spellings.
    for kind in ["set_session_importance", "mark_session_important"] {
        let f = desk
            .ask(
                json!({"type": kind, "data": {"session_id": session, "is_important": true}}),
                |f| matches!(f, ServerFrame::SessionImportanceUpdated(_)),
            )
            .await;
        assert!(matches!(f, ServerFrame::SessionImportanceUpdated(i) if i.is_important));
    }

    // Status, presence and auto-accept.
    let f = desk
        .ask(
            json!({"type": "update_cs_status", "data": {"status": "busy"}}),
            |f| matches!(f, ServerFrame::CsStatusUpdateSuccess(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::CsStatusUpdateSuccess(s) if s.status == "busy"));
    let f = boss
        .until(|f| matches!(f, ServerFrame::CsStatusUpdated(u) if u.status == "busy"))
        .await;
    assert!(matches!(f, ServerFrame::CsStatusUpdated(u) if u.cs_account == AGENT.0));
    let f = desk
        .ask(
            json!({"type": "update_cs_status", "data": {"status": "sleeping"}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "INVALID_MESSAGE");
    let f = desk
        .ask(json!({"type": "get_cs_status"}), |f| {
            matches!(f, ServerFrame::CsStatusResponse(_))
        })
        .await;
    assert!(matches!(f, ServerFrame::CsStatusResponse(s) if s.status == "busy"));
    let f = desk
        .ask(
            json!({"type": "set_auto_accept", "data": {"enabled": true, "capacity": 3}}),
            |f| matches!(f, ServerFrame::AutoAcceptUpdated(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::AutoAcceptUpdated(a) if a.enabled && a.capacity == 3));
    let f = desk
        .ask(json!({"type": "get_online_staff"}), |f| {
            matches!(f, ServerFrame::OnlineStaffResponse(_))
        })
        .await;
    let ServerFrame::OnlineStaffResponse(online) = f else {
        panic!("{f:?}")
    };
    let me = online
        .staff
        .iter()
        .find(|m| m.cs_account == AGENT.0)
        .unwrap();
    assert_eq!((me.status.as_str(), me.load, me.capacity), ("busy", 1, 3));
    assert!(online.staff.iter().any(|m| m.cs_account == ADMIN.0));

    // Transfer to the admin, who is online.
    let f = desk
        .ask(
            json!({"type": "transfer_session", "data": {"session_id": session, "to_cs_account": ADMIN.0}}),
            |f| matches!(f, ServerFrame::SessionTransferred(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::SessionTransferred(t) if t.to_cs_account == ADMIN.0));
    let f = boss
        .until(|f| matches!(f, ServerFrame::SessionTransferred(_)))
        .await;
    let ServerFrame::SessionTransferred(t) = f else {
        panic!()
    };
    assert!(t.recent_messages.iter().any(|m| m.content == "你好"));
    // The former agent may no longer write.
    let f = desk
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "还在吗"}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");

    // Error paths: malformed, unknown, wrong types, empty, oversized, not
    // yours, not found, staff-only frames from a player. The socket stays open.
    p1.send_raw("{not json").await;
    assert_eq!(
        error_code(&p1.until(|f| matches!(f, ServerFrame::Error(_))).await),
        "INVALID_MESSAGE"
    );
    let f = p1
        .ask(json!({"type": "dance", "data": {}}), |_| false)
        .await;
    assert!(matches!(&f, ServerFrame::Error(e) if e.error_message.contains("unknown type")));
    let f = p1
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": 5}}),
            |_| false,
        )
        .await;
    assert!(
        matches!(&f, ServerFrame::Error(e) if e.error_code == "INVALID_MESSAGE" && e.error_message.contains("content") && e.request_type.as_deref() == Some("message"))
    );
    let f = p1
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "  "}}),
            |_| false,
        )
        .await;
    assert!(matches!(&f, ServerFrame::Error(e) if e.error_message.starts_with("content:")));
    let f = p1
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "长".repeat(5001)}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "INVALID_MESSAGE");
    let f = intruder
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "hi"}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");
    let f = intruder
        .ask(
            json!({"type": "get_chat_history", "data": {"session_id": session}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");
    let f = p1
        .ask(
            json!({"type": "message", "data": {"session_id": "nope", "content": "hi"}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "SESSION_NOT_FOUND");
    let f = p1
        .ask(json!({"type": "get_sessions", "data": {}}), |_| false)
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");
    let f = desk
        .ask(json!({"type": "end_session", "data": {}}), |_| false)
        .await;
    assert!(
        matches!(&f, ServerFrame::Error(e) if e.error_message == "data.session_id: is required")
    );
    // Still open: a ping works, and nothing was stored by the bad frames.
    assert!(matches!(
        p1.ask(json!({"type": "ping"}), |f| matches!(
            f,
            ServerFrame::Pong(_)
        ))
        .await,
        ServerFrame::Pong(_)
    ));

    // The admin ends it; the player is told; then clears it.
    let f = boss
        .ask(
            json!({"type": "end_session", "data": {"session_id": session}}),
            |f| matches!(f, ServerFrame::SessionEnded(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::SessionEnded(_)));
    let f = p1
        .until(|f| matches!(f, ServerFrame::SessionStatusChanged(c) if c.new_status == "ended"))
        .await;
    assert!(matches!(f, ServerFrame::SessionStatusChanged(_)));
    let f = desk
        .ask(
            json!({"type": "clear_chat_history", "data": {"session_id": session}}),
            |_| false,
        )
        .await;
    assert_eq!(error_code(&f), "PERMISSION_DENIED");
    let f = boss
        .ask(
            json!({"type": "clear_chat_history", "data": {"session_id": session}}),
            |f| matches!(f, ServerFrame::ChatHistoryCleared(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::ChatHistoryCleared(_)));
    // Audited with the address the socket came from, as over HTTP.
    let (ip,): (String,) =
        sqlx::query_as("SELECT ip FROM audit_log WHERE action = 'chat.clear' AND target = $1")
            .bind(&session)
            .fetch_one(s.kefu.store().pool())
            .await
            .unwrap();
    assert_eq!(ip, "127.0.0.1");
    let (st, v) = s
        .post(
            "/api/chat/get_history",
            &player,
            json!({"session_id": session}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["total"], 0);
    s.stop().await;
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_the_gap() {
    let s = TestServer::start().await;
    let player = s.player("zhang.fei").await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let session = session_of(&s, &player, "zhang.fei").await;
    let (st, _) = s
        .post(
            "/api/cs/accept_session",
            &agent,
            json!({"session_id": session}),
        )
        .await;
    assert_eq!(st, 200);
    let mut p = Ws::open(&s.base, &player, "user").await;
    let mut desk = Ws::open(&s.base, &agent, "customer_service").await;
    for i in 0..3 {
        desk.ask(
            json!({"type": "message", "data": {"session_id": session, "content": format!("before {i}")}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    }
    let mut last_seen = 0;
    while last_seen < 4 {
        if let ServerFrame::NewMessage(m) =
            p.until(|f| matches!(f, ServerFrame::NewMessage(_))).await
        {
            last_seen = m.seq;
        }
    }
    drop(p);
    for i in 0..5 {
        desk.ask(
            json!({"type": "message", "data": {"session_id": session, "content": format!("missed {i}")}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    }
    let mut p = Ws::open(&s.base, &player, "user").await;
    let f = p
        .ask(
            json!({"type": "get_chat_history", "data": {"session_id": session, "after_seq": last_seen}}),
            |f| matches!(f, ServerFrame::ChatHistoryResponse(_)),
        )
        .await;
    let ServerFrame::ChatHistoryResponse(h) = f else {
        panic!("{f:?}")
    };
    let got: Vec<(i64, String)> = h
        .messages
        .iter()
        .map(|m| (m.seq, m.content.clone()))
        .collect();
    let want: Vec<(i64, String)> = (0..5).map(|i| (5 + i, format!("missed {i}"))).collect();
    assert_eq!(got, want);
    assert_eq!(h.last_seq, 9);
    s.stop().await;
}

#[tokio::test]
async fn the_http_fallback_sends_and_reads_the_same_messages() {
    let s = TestServer::start().await;
    let player = s.player("zhao.yun").await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let mut desk = Ws::open(&s.base, &agent, "customer_service").await;
    let session = session_of(&s, &player, "zhao.yun").await;
    // A second create answers the same open chat.
    assert_eq!(session_of(&s, &player, "zhao.yun").await, session);
    let (st, v) = s
        .post(
            "/api/chat/send_message",
            &player,
            json!({"session_id": session, "content": "socket 打不开", "client_msg_id": "h1"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["seq"], 1);
    assert_eq!(v["data"]["client_msg_id"], "h1");
    let first_id = v["data"]["message_id"].clone();
    let (_, again) = s
        .post(
            "/api/chat/send_message",
            &player,
            json!({"session_id": session, "content": "socket 打不开", "client_msg_id": "h1"}),
        )
        .await;
    assert_eq!(again["data"]["message_id"], first_id);
    // The desk's socket sees the HTTP message live.
    let f = desk
        .until(|f| matches!(f, ServerFrame::NewMessage(_)))
        .await;
    assert!(matches!(f, ServerFrame::NewMessage(m) if m.content == "socket 打不开"));
    // Staff over HTTP.
    let (st, v) = s
        .post(
            "/api/cs/send_message",
            &agent,
            json!({"session_id": session, "content": "x"}),
        )
        .await;
    assert_eq!(st, 409, "{v}");
    let (st, v) = s
        .post(
            "/api/cs/accept_session",
            &agent,
            json!({"session_id": session}),
        )
        .await;
    assert_eq!((st, v["msg"].as_str()), (200, Some("会话接待成功")));
    let (st, _) = s
        .post(
            "/api/cs/accept_session",
            &agent,
            json!({"session_id": session}),
        )
        .await;
    assert_eq!(st, 409);
    let (st, _) = s
        .post(
            "/api/cs/send_message",
            &agent,
            json!({"session_id": session, "content": "收到"}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, v) = s
        .post(
            "/api/chat/unread_count",
            &player,
            json!({"user_account": "zhao.yun"}),
        )
        .await;
    assert_eq!((st, v["data"]["unread_count"].as_i64()), (200, Some(1)));
    for (path, token) in [
        ("/api/chat/get_history", &player),
        ("/api/cs/get_chat_history", &agent),
    ] {
        let (st, v) = s
            .post(
                path,
                token,
                json!({"session_id": session, "page": 1, "limit": 10}),
            )
            .await;
        assert_eq!(st, 200, "{path}: {v}");
        let contents: Vec<&str> = v["data"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(
            contents,
            vec!["socket 打不开", "客服 agent.wang 已接入会话", "收到"],
            "{path}"
        );
    }
    // Bad input over HTTP names the field.
    let (st, v) = s
        .post(
            "/api/chat/get_history",
            &player,
            json!({"session_id": session, "limit": 1000}),
        )
        .await;
    assert_eq!(
        (st, v["detail"].as_str()),
        (400, Some("limit: must be 1 to 100"))
    );
    // A page past any chat's length is refused, not computed into an
    // overflowing offset.
    let (st, v) = s
        .post(
            "/api/chat/get_history",
            &player,
            json!({"session_id": session, "page": i64::MAX, "limit": 100}),
        )
        .await;
    assert_eq!(
        (st, v["detail"].as_str()),
        (400, Some("page: must be 1 to 1000000"))
    );
    let (st, v) = s
        .post(
            "/api/chat/send_message",
            &player,
            json!({"session_id": session}),
        )
        .await;
    assert_eq!(
        (st, v["detail"].as_str()),
        (400, Some("content: is required"))
    );
    // Membership info and cs_recharge for every staff role.
    let (st, v) = s
        .post(
            "/api/chat/get_user_membership_info",
            &agent,
            json!({"account": "zhao.yun"}),
        )
        .await;
    assert_eq!((st, v["data"]["membership_level"].as_i64()), (200, Some(0)));
    let (st, v) = s
        .post(
            "/api/cs_recharge",
            &agent,
            json!({"account": "zhao.yun", "amount": 30, "duration": 30, "remark": "desk"}),
        )
        .await;
    assert_eq!((st, v["msg"].as_str()), (200, Some("充值成功")), "{v}");
    assert!(v["data"]["new_expire_date"].as_str().is_some());
    let (_, v) = s
        .post(
            "/api/chat/get_user_membership_info",
            &agent,
            json!({"account": "zhao.yun"}),
        )
        .await;
    assert_eq!(v["data"]["membership_pay_money"].as_f64(), Some(30.0));
    let (st, _) = s
        .post(
            "/api/cs_recharge",
            &player,
            json!({"account": "zhao.yun", "amount": 30, "duration": 30}),
        )
        .await;
    // A player's token is valid but of the wrong role (API.md: 403).
    assert_eq!(st, 403);
    s.stop().await;
}

#[tokio::test]
async fn revoked_tokens_close_their_sockets() {
    let s = TestServer::start().await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let other = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let mut a = Ws::open(&s.base, &agent, "customer_service").await;
    let mut b = Ws::open(&s.base, &other, "customer_service").await;
    // Logout kills the sockets of that token only.
    let r = s
        .http
        .post(s.url("/api/logout"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(a.closed().await, Some(CLOSE_AUTH_FAILED));
    assert!(b.quiet(300).await);
    // A force sign-out kills the rest.
    let sup = s.token("/api/admin/login", "admin", ADMIN_PASSWORD).await;
    let (_, list) = {
        let r = s
            .http
            .get(s.url("/api/admin/admins"))
            .bearer_auth(&sup)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    let id = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == AGENT.0)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (st, v) = s
        .post(
            &format!("/api/admin/admins/{id}/force-logout"),
            &sup,
            json!({}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(b.closed().await, Some(CLOSE_AUTH_FAILED));
    // And the dead token cannot open a new one.
    let mut c = Ws::connect(&s.base, &other, "customer_service").await;
    assert_eq!(c.closed().await, Some(CLOSE_AUTH_FAILED));
    s.stop().await;
}

/// The most a person's bucket (a burst of 20, then 20 a second) lets
/// through in `elapsed`, which holds the whole burst: exactly 20 when the
/// machine keeps up, more only as the time since the first frame allows.
fn allowed_in(elapsed: std::time::Duration) -> usize {
    20 + (elapsed.as_secs_f64() * 20.0).ceil() as usize
}

#[tokio::test]
async fn oversized_and_too_many_frames() {
    let s = TestServer::start().await;
    let player = s.player("ma.chao").await;
    let session = session_of(&s, &player, "ma.chao").await;
    let mut p = Ws::open(&s.base, &player, "user").await;
    // 30 pings at once: 20 pass, the rest are refused, the socket stays.
    let burst = std::time::Instant::now();
    for _ in 0..30 {
        p.send(json!({"type": "ping"})).await;
    }
    let (mut pongs, mut limited) = (0, 0);
    while pongs + limited < 30 {
        match p.next().await {
            ServerFrame::Pong(_) => pongs += 1,
            ServerFrame::Error(e) if e.error_code == "RATE_LIMIT_EXCEEDED" => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        pongs >= 20 && pongs <= allowed_in(burst.elapsed()),
        "{pongs} pongs, {limited} limited in {:?}",
        burst.elapsed()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let f = p
        .ask(
            json!({"type": "message", "data": {"session_id": session, "content": "ok"}}),
            |f| matches!(f, ServerFrame::MessageSent(_)),
        )
        .await;
    assert!(matches!(f, ServerFrame::MessageSent(_)));
    // Over 64 KiB: closed with 1009.
    p.send_raw(&format!(
        r#"{{"type":"message","data":{{"session_id":"{session}","content":"{}"}}}}"#,
        "x".repeat(70 * 1024)
    ))
    .await;
    assert_eq!(p.closed().await, Some(1009));
    // Binary frames are refused and counted like any other: 30 at once are
    // 20 refusals as binary and 10 for the rate.
    let mut p = Ws::open(&s.base, &player, "user").await;
    let burst = std::time::Instant::now();
    for _ in 0..30 {
        p.stream
            .send(tokio_tungstenite::tungstenite::Message::Binary(
                vec![1u8, 2, 3].into(),
            ))
            .await
            .unwrap();
    }
    let (mut binary, mut limited) = (0, 0);
    while binary + limited < 30 {
        match p.next().await {
            ServerFrame::Error(e) if e.error_code == "RATE_LIMIT_EXCEEDED" => limited += 1,
            ServerFrame::Error(e) if e.error_message.contains("JSON text") => binary += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        binary >= 20 && binary <= allowed_in(burst.elapsed()),
        "{binary} binary, {limited} limited in {:?}",
        burst.elapsed()
    );
    // Past the socket's 1 MiB hard limit the frame is not even read, and
    // the close still says why.
    let mut p = Ws::open(&s.base, &player, "user").await;
    p.send_raw(&"x".repeat(1100 * 1024)).await;
    assert_eq!(p.closed().await, Some(1009));
    s.stop().await;
}

#[tokio::test]
async fn one_person_holds_a_bounded_number_of_sockets() {
    let s = TestServer::start().await;
    let player = s.player("pang.tong").await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let mut tabs = Vec::new();
    for _ in 0..MAX_SOCKETS_PER_PERSON {
        tabs.push(Ws::open(&s.base, &player, "user").await);
    }
    // One more is closed at once, with its own code; the others stay.
    let mut extra = Ws::connect(&s.base, &player, "user").await;
    assert_eq!(extra.closed().await, Some(CLOSE_TOO_MANY_SOCKETS));
    let f = tabs[0]
        .ask(json!({"type": "ping"}), |f| {
            matches!(f, ServerFrame::Pong(_))
        })
        .await;
    assert!(matches!(f, ServerFrame::Pong(_)), "{f:?}");
    // The cap is per person: the agent's socket opens.
    let mut desk = Ws::open(&s.base, &agent, "customer_service").await;
    // A closed tab makes room for one.
    drop(tabs.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut ws = Ws::connect(&s.base, &player, "user").await;
        match ws.read().await {
            Read::Frame(ServerFrame::Connected(_)) => {
                again = Some(ws);
                break;
            }
            Read::Closed(c) => {
                assert_eq!(c.map(|c| u16::from(c.code)), Some(CLOSE_TOO_MANY_SOCKETS));
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(again.is_some(), "no room after a tab closed");
    let f = desk
        .ask(json!({"type": "ping"}), |f| {
            matches!(f, ServerFrame::Pong(_))
        })
        .await;
    assert!(matches!(f, ServerFrame::Pong(_)), "{f:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected() {
    let s = TestServer::start().await;
    let player = s.player("huang.zhong").await;
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let session = session_of(&s, &player, "huang.zhong").await;
    // The desk opens a socket and then never reads.
    let mut stuck = Ws::open(&s.base, &agent, "customer_service").await;
    assert_eq!(s.kefu.hub().socket_count(), 1);
    let big = "慢".repeat(4000);
    let mut sent = 0;
    let started = std::time::Instant::now();
    while s.kefu.hub().socket_count() > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "still connected after {sent} messages"
        );
        // Straight into the domain: the HTTP fallback would hold one player
        // to 20 messages a second, and the point here is the reader.
        s.kefu
            .send_message(
                &domain::chat::Actor::Player("huang.zhong".into()),
                &protocol::chat::SendMessageRequest {
                    session_id: session.clone(),
                    content: big.clone(),
                    content_type: None,
                    client_msg_id: None,
                },
                None,
            )
            .await
            .unwrap();
        sent += 1;
    }
    // Every message was stored even though the reader fell behind.
    let (_, v) = s
        .post(
            "/api/chat/get_history",
            &player,
            json!({"session_id": session, "limit": 1}),
        )
        .await;
    assert_eq!(v["data"]["total"].as_i64(), Some(sent));
    // The stuck socket is closed: reading now ends in a close, after at
    // most the frames that were already in flight.
    while let Read::Frame(_) = stuck.read().await {}
    assert!(
        s.kefu
            .hub()
            .slow_kicks
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    s.stop().await;
}

#[tokio::test]
async fn a_socket_closes_with_4001_when_its_token_expires() {
    let s = TestServer::start().await;
    s.player("liu.bei").await;
    // A player token with 4 seconds left (3 to 4: whole seconds), signed
    // like the server's own: time enough to open and ping on a busy machine.
    let now = domain::time::now_ms() / 1000;
    let (short, _) = s
        .kefu
        .tokens()
        .issue("liu.bei", "player", 0, now, 4)
        .unwrap();
    let started = std::time::Instant::now();
    let mut ws = Ws::open(&s.base, &short, "user").await;
    // It works until then …
    ws.send(json!({"type": "ping", "data": {}})).await;
    assert!(matches!(ws.next().await, ServerFrame::Pong(_)));
    // … and is closed as unauthenticated when the token runs out.
    assert_eq!(ws.closed().await, Some(CLOSE_AUTH_FAILED));
    let after = started.elapsed();
    assert!(
        // The token had between 3 and 4 seconds left when it was minted.
        after >= std::time::Duration::from_millis(2900)
            && after < std::time::Duration::from_secs(8),
        "{after:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_silent_socket_is_closed_and_a_pinging_one_is_not() {
    let idle = std::time::Duration::from_secs(2);
    let s = TestServer::start_with_idle(idle).await;
    let token = s.player("liu.bei").await;
    let started = std::time::Instant::now();
    let mut silent = Ws::open(&s.base, &token, "user").await;
    let mut pinging = Ws::open(&s.base, &token, "user").await;
    // The pinging socket speaks every half second for three idle periods' worth.
    let keep = tokio::spawn(async move {
        for _ in 0..12 {
            pinging.send(json!({"type": "ping", "data": {}})).await;
            let pong = pinging.until(|f| matches!(f, ServerFrame::Pong(_))).await;
            assert!(matches!(pong, ServerFrame::Pong(_)));
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        pinging
    });
    assert_eq!(silent.closed().await, Some(1000));
    let after = started.elapsed();
    assert!(after >= idle && after < idle * 3, "{after:?}");
    let mut pinging = keep.await.unwrap();
    assert!(started.elapsed() > idle * 2);
    pinging.send(json!({"type": "ping", "data": {}})).await;
    assert!(matches!(pinging.next().await, ServerFrame::Pong(_)));
    s.stop().await;
}

/// The HTTP fallback sends at a socket's rate per person: a burst of 20,
/// then 429 with `Retry-After`; a refused message is not stored, and
/// another player is not held back.
#[tokio::test]
async fn http_sends_are_limited_per_person_like_a_socket() {
    let s = TestServer::start().await;
    let player = s.player("liu.bei").await;
    let other = s.player("guan.yu").await;
    let session = session_of(&s, &player, "liu.bei").await;
    let send = |i: usize| {
        s.http
            .post(s.url("/api/chat/send_message"))
            .bearer_auth(&player)
            .json(&json!({"session_id": session, "content": format!("m{i}"), "client_msg_id": format!("c{i}")}))
            .send()
    };
    // Sixty at once: 20 in the burst, 20 more a second after; passing all
    // would take two seconds.
    let burst = std::time::Instant::now();
    let answers = futures_util::future::join_all((0..60).map(send)).await;
    let took = burst.elapsed();
    let (mut sent, mut refused) = (0, 0);
    for r in answers {
        let r = r.unwrap();
        match r.status().as_u16() {
            200 => sent += 1,
            429 => {
                assert_eq!(r.headers()["retry-after"], "1");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        sent >= 20 && sent <= allowed_in(took),
        "{sent} sent, {refused} refused in {took:?}"
    );
    let (_, v) = s
        .post(
            "/api/chat/get_history",
            &player,
            json!({"session_id": session, "limit": 100}),
        )
        .await;
    assert_eq!(v["data"]["total"], sent, "{v}");
    // Someone else sends meanwhile.
    let theirs = session_of(&s, &other, "guan.yu").await;
    let (st, v) = s
        .post(
            "/api/chat/send_message",
            &other,
            json!({"session_id": theirs, "content": "你好"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    s.stop().await;
}
