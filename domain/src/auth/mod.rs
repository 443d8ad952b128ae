//! Staff authentication (seed 000 §1, API.md "Roles", DESIGN.md "Auth").
//!
//! Sign-in checks the throttle, then the password (against a decoy hash when
//! the username is unknown, so both cases look and take the same), then the
//! account's status and the endpoint's role rule. A token is alive while its
//! signature and `exp` hold, its `jti` is not revoked, its `ver` equals the
//! staff member's token version and the account is active.

pub mod password;
pub mod throttle;
pub mod token;

use std::time::Instant;

use protocol::{UserInfo, UserType};

use crate::staff::{self, Staff, Status};
use crate::time::now_ms;
use crate::{Error, Kefu, Result};

/// What a staff member may do (API.md appendix B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Super,
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Super => "super",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "super" => Some(Role::Super),
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    pub fn user_type(self) -> UserType {
        match self {
            Role::Super => UserType::SuperAdmin,
            Role::Admin => UserType::Admin,
            Role::Agent => UserType::CustomerService,
        }
    }

    pub fn from_user_type(t: UserType) -> Self {
        match t {
            UserType::SuperAdmin => Role::Super,
            UserType::Admin => Role::Admin,
            UserType::CustomerService => Role::Agent,
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::Super | Role::Admin)
    }
}

/// An authenticated staff member, passed to every domain operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// The token's id and expiry, for logout.
    pub jti: String,
    pub exp: i64,
    /// Where the request came from (for the audit log); empty when unknown.
    pub ip: String,
}

impl Principal {
    /// `Forbidden` unless the principal has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "your role may not use this function".to_owned(),
            ))
        }
    }
}

/// The client address of a request, recorded by the server for throttling
/// and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

/// Which sign-in endpoint is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// `POST /api/admin/login`: super admins and admins.
    Admin,
    /// `POST /api/cs_login` and the browser panel: every active staff member.
    Staff,
}

/// A fresh token and who it belongs to.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: i64,
    pub user: UserInfo,
}

pub const INVALID_CREDENTIALS: &str = "invalid username or password";

/// How long a device cookie of sign-in lives.
pub const DEVICE_TTL_SECS: i64 = 365 * 24 * 60 * 60;

impl Kefu {
    /// Signs a staff member in from `ip`.
    pub async fn login(
        &self,
        kind: LoginKind,
        username: &str,
        password: &str,
        ip: &str,
    ) -> Result<Session> {
        self.login_on_device(kind, username, password, ip, None)
            .await
            .map(|(session, _)| session)
    }

    /// Signs a staff member in from `ip`, in a browser that holds `device`
    /// (the device cookie of an earlier sign-in, if any). A device cookie
    /// issued for this username makes the attempt count against that
    /// device instead of the username (see [`throttle::LoginThrottle`]).
    /// Answers the session and, after a sign-in without a valid device
    /// cookie for this username, a new one to keep.
    pub async fn login_on_device(
        &self,
        kind: LoginKind,
        username: &str,
        password: &str,
        ip: &str,
        device: Option<&str>,
    ) -> Result<(Session, Option<String>)> {
        let username = username.trim();
        if username.is_empty() {
            return Err(Error::invalid("username", "is required"));
        }
        if password.is_empty() {
            return Err(Error::invalid("password", "is required"));
        }
        if username.chars().count() > 64 || password.chars().count() > 128 {
            return Err(Error::Unauthenticated(INVALID_CREDENTIALS.to_owned()));
        }
        // Counted as a failure before the (slow) password check, so a
        // burst of attempts cannot all pass the limit; a right one is
        // taken back below.
        let at = Instant::now();
        let found = staff::by_username(self.store(), username).await?;
        let known = device
            .zip(found.as_ref())
            .and_then(|(d, s)| self.device_of(d, s));
        let charged = match &known {
            Some(id) => self.throttle().charge_device(id, ip, at),
            None => self.throttle().charge(username, ip, at),
        };
        if let Err(wait) = charged {
            return Err(Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            });
        }
        let hash = found
            .as_ref()
            .map(|s| s.password_hash.clone())
            .unwrap_or_else(|| password::decoy_hash().to_owned());
        let matches = password::verify(password.to_owned(), hash).await?;
        let staff = match (found, matches) {
            (Some(s), true) => s,
            _ => return Err(Error::Unauthenticated(INVALID_CREDENTIALS.to_owned())),
        };
        match &known {
            Some(id) => self.throttle().device_succeeded(id, ip, at),
            None => self.throttle().succeeded(username, ip, at),
        }
        if staff.status != Status::Active {
            return Err(Error::AccountDisabled);
        }
        if kind == LoginKind::Admin && !staff.role.is_admin() {
            return Err(Error::Forbidden(
                "customer service accounts sign in at /api/cs_login".to_owned(),
            ));
        }
        let now = now_ms();
        staff::touch_last_login(self.store(), staff.id, now).await?;
        let staff = Staff {
            last_login: Some(now),
            ..staff
        };
        let session = self.issue_session(&staff)?;
        let device = match known {
            Some(_) => None,
            None => {
                let (cookie, _) = self.0.devices.issue(
                    &staff.id.to_string(),
                    "device",
                    staff.token_version,
                    now / 1000,
                    DEVICE_TTL_SECS,
                )?;
                Some(cookie)
            }
        };
        Ok((session, device))
    }

    /// The id of a device cookie issued to `staff`, if `cookie` is one that
    /// still stands. It names the staff member by id (a username given up
    /// and taken again is another person) and carries their token version,
    /// so what ends every token (password change, disabling, force
    /// sign-out) ends the device cookies too.
    fn device_of(&self, cookie: &str, staff: &Staff) -> Option<String> {
        self.0
            .devices
            .decode(cookie)
            .ok()
            .filter(|c| {
                c.role == "device" && c.sub == staff.id.to_string() && c.ver == staff.token_version
            })
            .map(|c| c.jti)
    }

    fn issue_session(&self, staff: &Staff) -> Result<Session> {
        let (token, claims) = self.tokens().issue(
            &staff.id.to_string(),
            staff.role.as_str(),
            staff.token_version,
            now_ms() / 1000,
            token::STAFF_TOKEN_TTL_SECS,
        )?;
        Ok(Session {
            token,
            expires_at: claims.exp,
            user: staff.user_info(self.clock()),
        })
    }

    /// Resolves a bearer token or session cookie to the staff member.
    pub async fn authenticate(&self, token: &str) -> Result<(Principal, Staff)> {
        let claims = self.tokens().decode(token)?;
        let dead = || Error::Unauthenticated("invalid token".to_owned());
        let id: i64 = claims.sub.parse().map_err(|_| dead())?;
        let Some(staff) = staff::by_id(self.store(), id).await? else {
            return Err(dead());
        };
        let (revoked,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM revoked_tokens WHERE jti = $1")
                .bind(&claims.jti)
                .fetch_one(self.store().pool())
                .await?;
        if revoked > 0 {
            return Err(Error::Unauthenticated("token revoked".to_owned()));
        }
        if staff.token_version != claims.ver || staff.role.as_str() != claims.role {
            return Err(Error::Unauthenticated("token revoked".to_owned()));
        }
        if staff.status != Status::Active {
            return Err(Error::Unauthenticated("account disabled".to_owned()));
        }
        let principal = Principal {
            id: staff.id,
            username: staff.username.clone(),
            role: staff.role,
            jti: claims.jti,
            exp: claims.exp,
            ip: String::new(),
        };
        Ok((principal, staff))
    }

    /// Revokes the principal's current token.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        revoke(self, &who.jti, who.exp).await?;
        self.hub()
            .kick_token(&who.jti, protocol::chat::CLOSE_AUTH_FAILED);
        Ok(())
    }

    /// A new token for the same staff member; the old one is revoked.
    pub async fn refresh(&self, who: &Principal) -> Result<Session> {
        let staff = staff::by_id(self.store(), who.id)
            .await?
            .ok_or_else(|| Error::Unauthenticated("invalid token".to_owned()))?;
        let session = self.issue_session(&staff)?;
        revoke(self, &who.jti, who.exp).await?;
        self.hub()
            .kick_token(&who.jti, protocol::chat::CLOSE_AUTH_FAILED);
        Ok(session)
    }

    /// Ends every token of a staff member (password change, disable, force
    /// sign-out).
    pub async fn end_all_sessions(&self, staff_id: i64) -> Result<()> {
        staff::bump_token_version(self.store(), staff_id).await?;
        self.tokens_died(staff_id);
        Ok(())
    }

    /// Closes the chat sockets of a staff member whose tokens just died.
    pub fn tokens_died(&self, staff_id: i64) {
        self.hub()
            .kick_staff(staff_id, protocol::chat::CLOSE_AUTH_FAILED);
    }
}

async fn revoke(kefu: &Kefu, jti: &str, exp_secs: i64) -> Result<()> {
    let pool = kefu.store().pool();
    sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
        .bind(now_ms() / 1000 - token::LEEWAY_SECS as i64)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(exp_secs)
    .execute(pool)
    .await?;
    Ok(())
}
