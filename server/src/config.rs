//! The command line and its settings. Every option also reads an environment
//! variable; defaults work with no configuration at all.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kefu",
    version,
    about = "Kefu (客服): customer-service back office of 三国小助手"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub log: LogOptions,
    #[command(flatten)]
    pub serve: ServeOptions,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the panel, the API and the chat (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a staff account (a super admin unless --role says otherwise).
    CreateAdmin(CreateAdmin),
    /// Fill an empty database with demo players, recharges and staff.
    DemoData(DemoData),
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Directory for the SQLite file and generated secrets.
    #[arg(long, env = "KEFU_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL; `postgres://…` switches to PostgreSQL.
    /// Default: `sqlite://<data dir>/kefu.db`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Business time zone for days and months (IANA name).
    #[arg(
        long,
        env = "KEFU_TIMEZONE",
        default_value = "Asia/Shanghai",
        global = true
    )]
    pub timezone: String,
}

impl Common {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| domain::store::sqlite_url_in(&self.data_dir))
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogOptions {
    /// Log filter (tracing's EnvFilter syntax).
    #[arg(long = "log", env = "KEFU_LOG", default_value = "info", global = true)]
    pub filter: String,
    /// `text` for people, `json` for machines.
    #[arg(long = "log-format", env = "KEFU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    /// Address to listen on; port 0 picks a free port and logs it.
    #[arg(
        long,
        env = "KEFU_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,
    /// Password of the first super admin (`admin`), used only when no super
    /// admin exists. Without it one is generated and printed once.
    #[arg(
        long,
        env = "KEFU_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub admin_password: Option<String>,
    /// Token signing key. Default: generated once into `<data dir>/jwt_secret`.
    #[arg(long, env = "KEFU_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// The game backend's key for `POST /api/chat/user_token` (header
    /// `X-Api-Key`). Default: generated once into `<data dir>/api_key`.
    #[arg(long, env = "KEFU_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
    /// Base URL of the browser service the system page watches (seed 000
    /// §6), e.g. `http://10.0.0.5:8888`. Unset: the page says so.
    #[arg(long, env = "KEFU_BROWSER_SERVICE_URL", global = true)]
    pub browser_service_url: Option<String>,
    /// Reverse proxies in front of Kefu: addresses or CIDR ranges,
    /// comma-separated. A request from one of them counts as coming from the
    /// address its `X-Forwarded-For` names (the nearest that is not itself a
    /// trusted proxy), for the sign-in limits and the audit log. Default:
    /// none (the TCP peer is the client; the header is ignored).
    #[arg(
        long,
        env = "KEFU_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<String>,
    /// Chat messages a second each person may send over the HTTP fallback
    /// (a socket allows 20 frames a second); 0 turns the limit off, for
    /// tools that seed long chats.
    #[arg(long, env = "KEFU_CHAT_HTTP_RATE", default_value_t = 20, global = true)]
    pub chat_http_rate: u32,
    /// Seconds a chat socket may stay silent before it is closed (clients
    /// ping every 30 s).
    #[arg(
        long,
        env = "KEFU_WS_IDLE_SECS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u64).range(5..=3600),
        global = true
    )]
    pub ws_idle_secs: u64,
    /// Leptos runtime options (site root, pkg dir); LEPTOS_* variables override it.
    #[arg(
        long,
        env = "KEFU_LEPTOS_TOML",
        default_value = "Leptos.toml",
        global = true
    )]
    pub leptos_toml: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct CreateAdmin {
    #[arg(long, env = "KEFU_NEW_USERNAME")]
    pub username: String,
    #[arg(long, env = "KEFU_NEW_PASSWORD", hide_env_values = true)]
    pub password: String,
    #[arg(long, value_enum, default_value_t = NewRole::Super)]
    pub role: NewRole,
}

#[derive(Debug, Clone, Args)]
pub struct DemoData {
    /// How many players to create.
    #[arg(long, default_value_t = 2000)]
    pub players: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewRole {
    Super,
    Admin,
    Agent,
}

impl From<NewRole> for domain::Role {
    fn from(r: NewRole) -> Self {
        match r {
            NewRole::Super => domain::Role::Super,
            NewRole::Admin => domain::Role::Admin,
            NewRole::Agent => domain::Role::Agent,
        }
    }
}
