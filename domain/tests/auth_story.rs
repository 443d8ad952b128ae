//! The sign-in story against the real store: SQLite by default, PostgreSQL
//! when `TEST_DATABASE_URL` is set (the test command runs both).

use domain::auth::LoginKind;
use domain::staff::{self, Status};
use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{Error, Kefu, Role};

async fn kefu() -> (Kefu, TestStore) {
    let t = TestStore::new().await;
    let kefu = Kefu::new(t.store.clone(), b"test-secret", BusinessClock::default());
    (kefu, t)
}

#[tokio::test]
async fn bootstrap_creates_one_super_admin_once() {
    let (kefu, t) = kefu().await;
    let first = staff::ensure_super_admin(kefu.store(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.username, "admin");
    let generated = first.generated_password.expect("a generated password");
    assert!(generated.len() >= 16);
    assert!(
        staff::ensure_super_admin(kefu.store(), Some("other-password"))
            .await
            .unwrap()
            .is_none()
    );
    let s = kefu
        .login(LoginKind::Admin, "admin", &generated, "127.0.0.1")
        .await
        .unwrap();
    assert!(s.user.is_super);
    t.finish().await;
}

#[tokio::test]
async fn full_auth_story() {
    let (kefu, t) = kefu().await;
    staff::ensure_super_admin(kefu.store(), Some("super-secret-1"))
        .await
        .unwrap();
    let agent = staff::create(kefu.store(), "agent.li", "agent-pass-1", Role::Agent)
        .await
        .unwrap();
    let admin = staff::create(kefu.store(), "admin2", "admin-pass-1", Role::Admin)
        .await
        .unwrap();
    assert!(matches!(
        staff::create(kefu.store(), "admin2", "admin-pass-1", Role::Admin).await,
        Err(Error::Conflict(_))
    ));

    // Admin login accepts super and admin, refuses agents with a pointer.
    let s = kefu
        .login(LoginKind::Admin, "admin", "super-secret-1", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(s.user.user_type, protocol::UserType::SuperAdmin);
    assert!(s.user.last_login.is_some());
    kefu.login(LoginKind::Admin, "admin2", "admin-pass-1", "10.0.0.1")
        .await
        .unwrap();
    match kefu
        .login(LoginKind::Admin, "agent.li", "agent-pass-1", "10.0.0.1")
        .await
    {
        Err(Error::Forbidden(m)) => assert!(m.contains("/api/cs_login"), "{m}"),
        other => panic!("agent on admin login: {other:?}"),
    }
    let agent_session = kefu
        .login(LoginKind::Staff, "agent.li", "agent-pass-1", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        agent_session.user.user_type,
        protocol::UserType::CustomerService
    );

    // Unknown user and wrong password answer the same.
    let unknown = kefu
        .login(LoginKind::Staff, "nobody", "whatever-1", "10.0.0.2")
        .await
        .unwrap_err();
    let wrong = kefu
        .login(LoginKind::Staff, "admin", "wrong-pass", "10.0.0.3")
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), wrong.to_string());
    assert!(matches!(unknown, Error::Unauthenticated(_)));

    // A token authenticates until logout revokes its jti.
    let (p, _) = kefu.authenticate(&s.token).await.unwrap();
    assert_eq!(p.role, Role::Super);
    let other_session = kefu
        .login(LoginKind::Staff, "admin", "super-secret-1", "10.0.0.1")
        .await
        .unwrap();
    kefu.logout(&p).await.unwrap();
    assert!(matches!(
        kefu.authenticate(&s.token).await,
        Err(Error::Unauthenticated(m)) if m == "token revoked"
    ));
    // Another token of the same person lives on.
    kefu.authenticate(&other_session.token).await.unwrap();

    // Refresh: the new token works, the old one is revoked.
    let (p2, _) = kefu.authenticate(&other_session.token).await.unwrap();
    let refreshed = kefu.refresh(&p2).await.unwrap();
    kefu.authenticate(&refreshed.token).await.unwrap();
    assert!(kefu.authenticate(&other_session.token).await.is_err());

    // A ver bump kills every token of that person only.
    let admin_session = kefu
        .login(LoginKind::Staff, "admin2", "admin-pass-1", "10.0.0.1")
        .await
        .unwrap();
    kefu.end_all_sessions(agent.id).await.unwrap();
    assert!(kefu.authenticate(&agent_session.token).await.is_err());
    kefu.authenticate(&admin_session.token).await.unwrap();

    // Disabling: sign-in answers 403 after a correct password, tokens die.
    staff::set_status(kefu.store(), admin.id, Status::Inactive)
        .await
        .unwrap();
    assert!(kefu.authenticate(&admin_session.token).await.is_err());
    assert!(matches!(
        kefu.login(LoginKind::Staff, "admin2", "admin-pass-1", "10.0.0.1")
            .await,
        Err(Error::AccountDisabled)
    ));
    t.finish().await;
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_username() {
    let (kefu, t) = kefu().await;
    staff::ensure_super_admin(kefu.store(), Some("super-secret-1"))
        .await
        .unwrap();
    for i in 0..5 {
        let e = kefu
            .login(
                LoginKind::Admin,
                "admin",
                "nope-nope",
                &format!("10.1.0.{i}"),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unauthenticated(_)), "{i}: {e:?}");
    }
    // Even the right password is refused while locked, from any IP.
    match kefu
        .login(LoginKind::Admin, "admin", "super-secret-1", "10.9.9.9")
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => {
            assert!((1..=900).contains(&retry_after_secs))
        }
        other => panic!("expected rate limit, got {other:?}"),
    }
    // Unknown usernames are counted just the same.
    for _ in 0..5 {
        let _ = kefu
            .login(LoginKind::Admin, "ghost", "nope-nope", "10.2.0.1")
            .await;
    }
    assert!(matches!(
        kefu.login(LoginKind::Admin, "ghost", "nope-nope", "10.2.0.9")
            .await,
        Err(Error::RateLimited { .. })
    ));
    t.finish().await;
}

/// OWASP's device cookies: a stranger's five wrong passwords lock the
/// username for everyone but the browsers its owner signed in from.
#[tokio::test]
async fn a_locked_username_still_signs_in_on_a_known_device() {
    let (kefu, t) = kefu().await;
    staff::ensure_super_admin(kefu.store(), Some("super-secret-1"))
        .await
        .unwrap();
    let sign_in = |device: Option<String>, password: &'static str, ip: &'static str| {
        let kefu = kefu.clone();
        async move {
            kefu.login_on_device(LoginKind::Staff, "admin", password, ip, device.as_deref())
                .await
        }
    };
    // The owner's browser signs in once and keeps its device cookie; a
    // second sign-in there needs no new one.
    let (session, device) = sign_in(None, "super-secret-1", "10.0.0.1").await.unwrap();
    let device = device.expect("a first sign-in gets a device cookie");
    let (_, again) = sign_in(Some(device.clone()), "super-secret-1", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(again, None);
    // A stranger locks the username.
    for i in 0..5 {
        let e = sign_in(None, "nope-nope", ["10.6.0.1", "10.6.0.2"][i % 2])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Unauthenticated(_)), "{e:?}");
    }
    let locked = |r: Result<(domain::auth::Session, Option<String>), Error>| {
        matches!(r, Err(Error::RateLimited { .. }))
    };
    assert!(locked(sign_in(None, "super-secret-1", "10.0.0.1").await));
    // Not a device cookie of this username: the access token, one issued to
    // someone else, a forged one.
    assert!(locked(
        sign_in(Some(session.token.clone()), "super-secret-1", "10.0.0.1").await
    ));
    let other = kefu
        .create_staff(
            &kefu.authenticate(&session.token).await.unwrap().0,
            &protocol::staff::CreateStaffRequest {
                username: "liu.bei".into(),
                password: "password-123".into(),
                is_super: None,
                user_type: Some("customer_service".into()),
            },
        )
        .await;
    assert!(other.is_ok(), "{other:?}");
    let (_, theirs) = kefu
        .login_on_device(
            LoginKind::Staff,
            "liu.bei",
            "password-123",
            "10.0.0.9",
            None,
        )
        .await
        .unwrap();
    assert!(locked(sign_in(theirs, "super-secret-1", "10.0.0.1").await));
    let mut forged = device.clone();
    forged.pop();
    assert!(locked(
        sign_in(Some(forged), "super-secret-1", "10.0.0.1").await
    ));
    // The owner's browser is let in.
    let (_, kept) = sign_in(Some(device.clone()), "super-secret-1", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(kept, None);
    // A device that guesses wrong locks itself after five, like a username.
    for _ in 0..5 {
        assert!(matches!(
            sign_in(Some(device.clone()), "nope-nope", "10.0.0.1").await,
            Err(Error::Unauthenticated(_))
        ));
    }
    assert!(locked(
        sign_in(Some(device), "super-secret-1", "10.0.0.1").await
    ));
    t.finish().await;
}

/// A device cookie dies with its owner's tokens: after a force sign-out
/// (as after a password change or disabling) the browser is a stranger
/// again, held by the username's lock, and its next right sign-in gets a
/// new cookie.
#[tokio::test]
async fn a_device_cookie_ends_with_its_owners_tokens() {
    let (kefu, t) = kefu().await;
    staff::ensure_super_admin(kefu.store(), Some("super-secret-1"))
        .await
        .unwrap();
    let sign_in = |device: Option<String>, password: &'static str| {
        let kefu = kefu.clone();
        async move {
            kefu.login_on_device(
                LoginKind::Staff,
                "admin",
                password,
                "10.0.0.1",
                device.as_deref(),
            )
            .await
        }
    };
    let (session, device) = sign_in(None, "super-secret-1").await.unwrap();
    let device = device.expect("a first sign-in gets a device cookie");
    for i in 0..5 {
        let stranger = kefu
            .login(
                LoginKind::Staff,
                "admin",
                "nope-nope",
                &format!("10.7.0.{i}"),
            )
            .await;
        assert!(matches!(stranger, Err(Error::Unauthenticated(_))));
    }
    let (_, kept) = sign_in(Some(device.clone()), "super-secret-1")
        .await
        .expect("the known device is not held by the username's lock");
    assert_eq!(kept, None);
    let admin = kefu.authenticate(&session.token).await.unwrap().0;
    kefu.end_all_sessions(admin.id).await.unwrap();
    assert!(matches!(
        sign_in(Some(device), "super-secret-1").await,
        Err(Error::RateLimited { .. })
    ));
    t.finish().await;
}

#[tokio::test]
async fn wrong_passwords_sent_at_once_are_all_counted() {
    let (kefu, t) = kefu().await;
    staff::ensure_super_admin(kefu.store(), Some("super-secret-1"))
        .await
        .unwrap();
    // Twelve wrong guesses at the same moment: five are checked, the rest
    // wait, though no check had answered when they came.
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..12 {
        let kefu = kefu.clone();
        tries.spawn(async move {
            kefu.login(
                LoginKind::Admin,
                "admin",
                "nope-nope",
                &format!("10.3.0.{i}"),
            )
            .await
        });
    }
    let (mut checked, mut limited) = (0, 0);
    while let Some(r) = tries.join_next().await {
        match r.unwrap() {
            Err(Error::Unauthenticated(_)) => checked += 1,
            Err(Error::RateLimited { .. }) => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((checked, limited), (5, 7));
    t.finish().await;
}

#[tokio::test]
async fn two_super_admins_disabling_each_other_at_once_leave_one() {
    let (kefu, t) = kefu().await;
    let mut supers = Vec::new();
    for name in ["cao.cao", "sun.quan"] {
        let s = staff::create(kefu.store(), name, "password-123", Role::Super)
            .await
            .unwrap();
        supers.push(domain::auth::Principal {
            id: s.id,
            username: s.username,
            role: Role::Super,
            jti: String::new(),
            exp: 0,
            ip: String::new(),
        });
    }
    for _ in 0..5 {
        let (a, b) = (supers[0].clone(), supers[1].clone());
        let (k1, k2) = (kefu.clone(), kefu.clone());
        let one = tokio::spawn(async move { k1.set_staff_status(&a, b.id, "inactive").await });
        let (a, b) = (supers[0].clone(), supers[1].clone());
        let two = tokio::spawn(async move { k2.set_staff_status(&b, a.id, "inactive").await });
        let outcomes = [one.await.unwrap(), two.await.unwrap()];
        let active: Vec<_> = active_supers(&kefu).await;
        assert_eq!(active.len(), 1, "{outcomes:?}");
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "{outcomes:?}"
        );
        // Both active again for the next round.
        for s in &supers {
            staff::set_status(kefu.store(), s.id, Status::Active)
                .await
                .unwrap();
        }
    }
    t.finish().await;
}

/// The active super admins' ids.
async fn active_supers(kefu: &Kefu) -> Vec<i64> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM staff WHERE role = 'super' AND status = 'active'")
            .fetch_all(kefu.store().pool())
            .await
            .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

#[test]
fn migration_folders_have_the_same_steps() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let list = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = list("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, list("postgres"));
}

#[test]
fn test_command_covers_postgres() {
    // The test command sets KEFU_REQUIRE_POSTGRES=1 for its PostgreSQL pass,
    // so a misconfigured run cannot silently fall back to SQLite.
    if std::env::var("KEFU_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        assert_eq!(
            domain::store::testing::test_backend(),
            domain::store::Backend::Postgres
        );
    }
}
