//! Staff accounts (seed 000 §3): super admins, admins and agents.

use protocol::{UserInfo, UserType};
use sqlx::FromRow;

use crate::auth::{password, Role};
use crate::time::{now_ms, BusinessClock};
use crate::{Error, Result, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(Status::Active),
            "inactive" => Ok(Status::Inactive),
            other => Err(Error::invalid(
                "status",
                format!("must be active or inactive, not `{other}`"),
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub status: Status,
    pub token_version: i64,
    pub created_at: i64,
    pub last_login: Option<i64>,
}

#[derive(FromRow)]
struct StaffRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    status: String,
    token_version: i64,
    created_at: i64,
    last_login: Option<i64>,
}

impl TryFrom<StaffRow> for Staff {
    type Error = Error;
    fn try_from(r: StaffRow) -> Result<Self> {
        Ok(Staff {
            id: r.id,
            username: r.username,
            password_hash: r.password_hash,
            role: Role::parse(&r.role)
                .ok_or_else(|| Error::internal(format!("staff {} has role `{}`", r.id, r.role)))?,
            status: Status::parse(&r.status).map_err(|_| {
                Error::internal(format!("staff {} has status `{}`", r.id, r.status))
            })?,
            token_version: r.token_version,
            created_at: r.created_at,
            last_login: r.last_login,
        })
    }
}

const COLUMNS: &str =
    "id, username, password_hash, role, status, token_version, created_at, last_login";

impl Staff {
    pub fn user_info(&self, clock: &BusinessClock) -> UserInfo {
        let user_type = self.role.user_type();
        UserInfo {
            id: self.id,
            username: self.username.clone(),
            is_super: user_type == UserType::SuperAdmin,
            is_admin: matches!(user_type, UserType::SuperAdmin | UserType::Admin),
            user_type,
            created_at: clock.format_ms(self.created_at),
            last_login: self.last_login.map(|ms| clock.format_ms(ms)),
        }
    }
}

/// Usernames: 3–32 letters, digits, `_`, `-`, `.` (API.md "Staff").
pub fn validate_username(username: &str) -> Result<()> {
    let n = username.chars().count();
    if !(3..=32).contains(&n) {
        return Err(Error::invalid("username", "must be 3 to 32 characters"));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::invalid(
            "username",
            "may contain only letters, digits, _, - and .",
        ));
    }
    Ok(())
}

pub async fn by_username(store: &Store, username: &str) -> Result<Option<Staff>> {
    let row: Option<StaffRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM staff WHERE username = $1"))
            .bind(username)
            .fetch_optional(store.pool())
            .await?;
    row.map(Staff::try_from).transpose()
}

pub async fn by_id(store: &Store, id: i64) -> Result<Option<Staff>> {
    let row: Option<StaffRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    row.map(Staff::try_from).transpose()
}

/// Creates a staff member after validating the username and password.
/// A taken username is a conflict.
pub async fn create(store: &Store, username: &str, password: &str, role: Role) -> Result<Staff> {
    create_audited(store, username, password, role, None).await
}

/// As [`create`], with `who`'s audit row in the account's own transaction.
async fn create_audited(
    store: &Store,
    username: &str,
    password: &str,
    role: Role,
    who: Option<&crate::auth::Principal>,
) -> Result<Staff> {
    validate_username(username)?;
    password::validate(password)?;
    if by_username(store, username).await?.is_some() {
        return Err(Error::Conflict(format!("username `{username}` is taken")));
    }
    let hash = password::hash(password.to_owned()).await?;
    let mut tx = store.begin_write().await?;
    let row: std::result::Result<StaffRow, sqlx::Error> = sqlx::query_as(&format!(
        "INSERT INTO staff (username, password_hash, role, status, token_version, created_at) \
         VALUES ($1, $2, $3, 'active', 0, $4) RETURNING {COLUMNS}"
    ))
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(now_ms())
    .fetch_one(&mut *tx)
    .await;
    let staff: Staff = match row {
        Ok(row) => row.try_into()?,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(Error::Conflict(format!("username `{username}` is taken")))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(who) = who {
        crate::audit::record(&mut tx, who, "staff.create", &staff.username, role.as_str()).await?;
    }
    tx.commit().await?;
    Ok(staff)
}

pub async fn set_status(store: &Store, id: i64, status: Status) -> Result<()> {
    let done = sqlx::query(
        "UPDATE staff SET status = $1, token_version = token_version + 1 WHERE id = $2",
    )
    .bind(status.as_str())
    .bind(id)
    .execute(store.pool())
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound(format!("staff {id}")));
    }
    Ok(())
}

/// Ends every token the staff member holds (`ver` bump).
pub async fn bump_token_version(store: &Store, id: i64) -> Result<()> {
    let done = sqlx::query("UPDATE staff SET token_version = token_version + 1 WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound(format!("staff {id}")));
    }
    Ok(())
}

pub async fn touch_last_login(store: &Store, id: i64, at_ms: i64) -> Result<()> {
    sqlx::query("UPDATE staff SET last_login = $1 WHERE id = $2")
        .bind(at_ms)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// First start: when no super admin exists, create `admin` with the given
/// password, or a generated one that is returned so the caller can print it
/// once. Returns `None` when a super admin already exists.
pub async fn ensure_super_admin(
    store: &Store,
    password: Option<&str>,
) -> Result<Option<Bootstrapped>> {
    let (supers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM staff WHERE role = 'super'")
        .fetch_one(store.pool())
        .await?;
    if supers > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_owned(), false),
        _ => (crate::secrets::random_token(20), true),
    };
    let staff = create(store, "admin", &password, Role::Super).await?;
    Ok(Some(Bootstrapped {
        username: staff.username,
        generated_password: generated.then_some(password),
    }))
}

pub struct Bootstrapped {
    pub username: String,
    /// Set only when the password was generated (to be printed once).
    pub generated_password: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(validate_username("ab").is_err());
        assert!(validate_username("abc").is_ok());
        assert!(validate_username("a.b-c_d9").is_ok());
        assert!(validate_username("张三丰").is_err());
        assert!(validate_username("has space").is_err());
        assert!(validate_username(&"x".repeat(33)).is_err());
    }
}

/// Staff administration by super admins (seed 000 §3, API.md "Staff").
/// Every write ends the target's tokens where API.md says so and is audited.
pub mod admin {
    use protocol::staff::{CreateStaffRequest, StaffAccount};

    use super::*;
    use crate::audit;
    use crate::auth::Principal;
    use crate::Kefu;

    const SUPER: &[Role] = &[Role::Super];

    impl Kefu {
        pub fn staff_to_wire(&self, s: &Staff) -> StaffAccount {
            let info = s.user_info(self.clock());
            StaffAccount {
                id: s.id,
                username: info.username,
                is_super: info.is_super,
                is_admin: info.is_admin,
                user_type: info.user_type,
                status: s.status.as_str().to_owned(),
                created_at: info.created_at,
                last_login: info.last_login,
            }
        }

        pub async fn list_staff(&self, who: &Principal) -> Result<Vec<StaffAccount>> {
            who.require(SUPER)?;
            let rows: Vec<StaffRow> =
                sqlx::query_as(&format!("SELECT {COLUMNS} FROM staff ORDER BY id"))
                    .fetch_all(self.store().pool())
                    .await?;
            rows.into_iter()
                .map(|r| Staff::try_from(r).map(|s| self.staff_to_wire(&s)))
                .collect()
        }

        pub async fn create_staff(
            &self,
            who: &Principal,
            req: &CreateStaffRequest,
        ) -> Result<Staff> {
            who.require(SUPER)?;
            let role = if req.is_super == Some(true) {
                Role::Super
            } else {
                match req.user_type.as_deref().unwrap_or("admin") {
                    "admin" => Role::Admin,
                    "customer_service" => Role::Agent,
                    "super_admin" => Role::Super,
                    _ => {
                        return Err(Error::invalid(
                            "user_type",
                            "must be admin or customer_service",
                        ))
                    }
                }
            };
            create_audited(
                self.store(),
                req.username.trim(),
                &req.password,
                role,
                Some(who),
            )
            .await
        }

        /// On PostgreSQL, locks the super admins' rows for the rest of the
        /// transaction: two super admins disabling (or deleting) each other
        /// at once would each still count the other as active, and leave
        /// none. (SQLite's `BEGIN IMMEDIATE` already lets one writer in.)
        async fn lock_super_admins(
            &self,
            tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        ) -> Result<()> {
            if self.store().backend() == crate::store::Backend::Postgres {
                sqlx::query("SELECT id FROM staff WHERE role = 'super' FOR UPDATE")
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        async fn target(&self, id: i64) -> Result<Staff> {
            by_id(self.store(), id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("staff {id}")))
        }

        /// Sets a new password and ends every token of that staff member.
        pub async fn change_staff_password(
            &self,
            who: &Principal,
            id: i64,
            new_password: &str,
        ) -> Result<()> {
            who.require(SUPER)?;
            password::validate(new_password)
                .map_err(|_| Error::invalid("new_password", "must be 8 to 128 characters"))?;
            let target = self.target(id).await?;
            let hash = password::hash(new_password.to_owned()).await?;
            let mut tx = self.store().begin_write().await?;
            sqlx::query("UPDATE staff SET password_hash = $1, token_version = token_version + 1 WHERE id = $2")
                .bind(hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::record(&mut tx, who, "staff.password", &target.username, "").await?;
            tx.commit().await?;
            self.tokens_died(id);
            Ok(())
        }

        /// Enables or disables; disabling ends their tokens. A super admin
        /// cannot disable themself, and the last active super admin stays.
        pub async fn set_staff_status(&self, who: &Principal, id: i64, status: &str) -> Result<()> {
            who.require(SUPER)?;
            let status = Status::parse(status)?;
            let target = self.target(id).await?;
            if status == Status::Inactive && id == who.id {
                return Err(Error::Conflict(
                    "you cannot disable your own account".to_owned(),
                ));
            }
            let mut tx = self.store().begin_write().await?;
            self.lock_super_admins(&mut tx).await?;
            let done = sqlx::query(
                "UPDATE staff SET status = $1, token_version = token_version + 1 WHERE id = $2 \
                 AND ($1 = 'active' OR role <> 'super' OR \
                      (SELECT COUNT(*) FROM staff WHERE role = 'super' AND status = 'active' AND id <> $2) > 0)",
            )
            .bind(status.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::Conflict(
                    "the last active super admin must stay active".to_owned(),
                ));
            }
            audit::record(
                &mut tx,
                who,
                "staff.status",
                &target.username,
                status.as_str(),
            )
            .await?;
            tx.commit().await?;
            self.tokens_died(id);
            if status == Status::Inactive {
                self.requeue_chats_of(id, &target.username).await;
            }
            Ok(())
        }

        /// Deletes a staff member (their tokens die with the row, their
        /// active chats go back to the queue).
        pub async fn delete_staff(&self, who: &Principal, id: i64) -> Result<()> {
            who.require(SUPER)?;
            let target = self.target(id).await?;
            if id == who.id {
                return Err(Error::Conflict(
                    "you cannot delete your own account".to_owned(),
                ));
            }
            let mut tx = self.store().begin_write().await?;
            self.lock_super_admins(&mut tx).await?;
            let done = sqlx::query(
                "DELETE FROM staff WHERE id = $1 AND (role <> 'super' OR \
                 (SELECT COUNT(*) FROM staff WHERE role = 'super' AND status = 'active' AND id <> $1) > 0)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::Conflict(
                    "the last active super admin cannot be deleted".to_owned(),
                ));
            }
            audit::record(
                &mut tx,
                who,
                "staff.delete",
                &target.username,
                target.role.as_str(),
            )
            .await?;
            tx.commit().await?;
            self.tokens_died(id);
            self.requeue_chats_of(id, &target.username).await;
            Ok(())
        }

        /// Ends every token of a staff member (seed 004 force_logout).
        pub async fn force_logout(&self, who: &Principal, id: i64) -> Result<()> {
            who.require(SUPER)?;
            let target = self.target(id).await?;
            let mut tx = self.store().begin_write().await?;
            sqlx::query("UPDATE staff SET token_version = token_version + 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::record(&mut tx, who, "staff.force_logout", &target.username, "").await?;
            tx.commit().await?;
            self.tokens_died(id);
            Ok(())
        }
    }
}
