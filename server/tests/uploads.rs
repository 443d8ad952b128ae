//! Images in chat over loopback: upload as a player (chat token) and as
//! staff (token or the panel's cookie), the 5 MiB limit and the kinds
//! accepted, serving with the kind read from the bytes, and sending an
//! upload as a message (only its uploader may).

mod common;

use common::{TestServer, AGENT};
use serde_json::json;

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn upload(
    s: &TestServer,
    path: &str,
    auth: (&str, &str),
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    let r = s
        .http
        .post(s.url(path))
        .header(auth.0, auth.1)
        .header("origin", &s.base)
        .header("content-type", "image/png")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn images_are_uploaded_served_and_sent_by_their_uploader() {
    let s = TestServer::start().await;
    let liu = s.player("liu.bei").await;
    let guan = s.player("guan.yu").await;
    let bearer = |t: &str| format!("Bearer {t}");

    // A player uploads; the answer says how to send and fetch it.
    let (st, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&liu)),
        PNG.to_vec(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let id = v["data"]["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(v["data"]["content_type"], "image/png");
    assert_eq!(v["data"]["size"], PNG.len());
    assert_eq!(v["data"]["url"], format!("/api/uploads/{id}"));

    // Served as stored, with the kind from the bytes, cacheable, inert.
    let r = s
        .http
        .get(s.url(&format!("/api/uploads/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["cache-control"].to_str().unwrap().contains("immutable"));
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG);
    for missing in [
        "0123456789abcdef0123456789abcdef",
        "nothing",
        "..%2Fkefu.db",
    ] {
        let r = s
            .http
            .get(s.url(&format!("/api/uploads/{missing}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{missing}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["code"], 404);
    }

    // Refusals: no token, a staff token on the player's endpoint, not an
    // image, empty, over 5 MiB (announced, or sent without a length).
    let (st, _) = upload(&s, "/api/chat/upload", ("x-none", "1"), PNG.to_vec()).await;
    assert_eq!(st, 401);
    let agent = s.token("/api/cs_login", AGENT.0, AGENT.1).await;
    let (st, _) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&agent)),
        PNG.to_vec(),
    )
    .await;
    assert_eq!(st, 403);
    let (st, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&liu)),
        b"<svg/>".to_vec(),
    )
    .await;
    assert_eq!(
        (st, v["detail"].as_str().unwrap()),
        (400, "file: must be a PNG, JPEG, GIF or WebP image")
    );
    let (st, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&liu)),
        Vec::new(),
    )
    .await;
    assert_eq!(
        (st, v["detail"].as_str().unwrap()),
        (400, "file: must not be empty")
    );
    let big = [PNG, &vec![0u8; 5 << 20]].concat();
    let (st, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&liu)),
        big.clone(),
    )
    .await;
    assert_eq!(
        (st, v["detail"].as_str().unwrap()),
        (413, "body: must be at most 5 MiB")
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let r = s
        .http
        .post(s.url("/api/chat/upload"))
        .bearer_auth(&liu)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Just under the limit is fine (the API's 1 MiB limit is not this one's).
    let (st, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&liu)),
        [PNG, &vec![0u8; (5 << 20) - 64]].concat(),
    )
    .await;
    assert_eq!(st, 200, "{v}");

    // Sending: the uploader's own upload goes through as an image; another
    // player's, or text, is refused and nothing is stored.
    let (st, v) = s
        .post(
            "/api/chat/create_session",
            &liu,
            json!({"user_account": "liu.bei"}),
        )
        .await;
    assert_eq!(st, 200);
    let session = v["data"]["session_id"].as_str().unwrap().to_owned();
    let (_, v) = upload(
        &s,
        "/api/chat/upload",
        ("authorization", &bearer(&guan)),
        PNG.to_vec(),
    )
    .await;
    let guans = v["data"]["upload_id"].as_str().unwrap().to_owned();
    for content in [guans.as_str(), "my castle.png"] {
        let (st, v) = s
            .post(
                "/api/chat/send_message",
                &liu,
                json!({"session_id": session, "content": content, "content_type": "image"}),
            )
            .await;
        assert_eq!(
            (st, v["detail"].as_str().unwrap()),
            (
                400,
                "content: must be the id of an image you uploaded for this chat"
            )
        );
    }
    let (st, v) = s
        .post(
            "/api/chat/send_message",
            &liu,
            json!({"session_id": session, "content": id, "content_type": "image"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["data"]["seq"], 1);
    let (_, h) = s
        .post(
            "/api/chat/get_history",
            &liu,
            json!({"session_id": session}),
        )
        .await;
    let msgs = h["data"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{h}");
    assert_eq!(
        (
            msgs[0]["content"].as_str().unwrap(),
            msgs[0]["content_type"].as_str().unwrap()
        ),
        (id.as_str(), "image")
    );

    // Staff upload with a token, and from the panel with its cookie (same
    // origin only, as every cookie request).
    let (st, _) = upload(
        &s,
        "/api/cs/upload",
        ("authorization", &bearer(&agent)),
        PNG.to_vec(),
    )
    .await;
    assert_eq!(st, 200);
    let cookie = s.panel_cookie(AGENT.0, AGENT.1).await;
    let (st, v) = upload(&s, "/api/cs/upload", ("cookie", &cookie), PNG.to_vec()).await;
    assert_eq!(st, 200, "{v}");
    let r = s
        .http
        .post(s.url("/api/cs/upload"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    s.stop().await;
}
