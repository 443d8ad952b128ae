//! The `kefu` server: command line, configuration, the axum router (Leptos
//! SSR and server functions, the REST API, static files), start-up and
//! graceful shutdown. Business rules live in `domain`; this crate parses,
//! authorizes through `domain`, and maps results to the wire.

pub mod api;
pub mod browser_service;
pub mod chat;
pub mod config;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod telemetry;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::FromRef;
use axum::serve::ListenerExt;
use domain::time::BusinessClock;
use domain::Kefu;
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;

use crate::config::{Cli, Command, Common, ServeOptions};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub kefu: Kefu,
    pub leptos_options: LeptosOptions,
    /// `KEFU_API_KEY`: the game backend's key for player chat tokens.
    pub api_key: Option<String>,
    /// `KEFU_WS_IDLE_SECS`: a chat socket silent this long is closed.
    pub ws_idle: std::time::Duration,
    /// `KEFU_TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: std::sync::Arc<[ipnet::IpNet]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// A start-up failure, said plainly.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl From<domain::Error> for StartError {
    fn from(e: domain::Error) -> Self {
        StartError(e.to_string())
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        StartError(e.to_string())
    }
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> Result<(), StartError> {
    match cli.command {
        None | Some(Command::Serve) => serve(&cli.common, cli.serve).await,
        Some(Command::Migrate) => {
            let store = domain::Store::open(&prepare_data_dir(&cli.common)?).await?;
            tracing::info!(backend = ?store.backend(), "migrations applied");
            store.close().await;
            Ok(())
        }
        Some(Command::DemoData(args)) => {
            let store = domain::Store::open(&prepare_data_dir(&cli.common)?).await?;
            let started = std::time::Instant::now();
            let done = domain::demo::fill(&store, args.players).await?;
            println!(
                "demo data: {} players, {} recharges, {} chats with {} messages in {:.1} s; staff demo.admin (admin), xiaoqiao, daqiao, diaochan (agents), password {}",
                done.players,
                done.recharges,
                done.chats,
                done.messages,
                started.elapsed().as_secs_f64(),
                done.staff_password
            );
            store.close().await;
            Ok(())
        }
        Some(Command::CreateAdmin(args)) => {
            let store = domain::Store::open(&prepare_data_dir(&cli.common)?).await?;
            let staff =
                domain::staff::create(&store, &args.username, &args.password, args.role.into())
                    .await?;
            println!(
                "created {} `{}` (id {})",
                staff.role.as_str(),
                staff.username,
                staff.id
            );
            store.close().await;
            Ok(())
        }
    }
}

fn prepare_data_dir(common: &Common) -> Result<String, StartError> {
    std::fs::create_dir_all(&common.data_dir).map_err(|e| {
        StartError(format!(
            "cannot create data directory {}: {e}",
            common.data_dir.display()
        ))
    })?;
    Ok(common.database_url())
}

/// Opens the store, migrates, creates the first super admin if needed and
/// builds the shared state.
pub async fn prepare(common: &Common, options: &ServeOptions) -> Result<Kefu, StartError> {
    let url = prepare_data_dir(common)?;
    let store = domain::Store::open(&url).await?;
    tracing::info!(backend = ?store.backend(), "database ready");
    if let Some(created) =
        domain::staff::ensure_super_admin(&store, options.admin_password.as_deref()).await?
    {
        match created.generated_password {
            Some(password) => {
                tracing::warn!(username = %created.username, "created the first super admin with a generated password (printed once below)");
                println!(
                    "\n  Kefu: first super admin created\n    username: {}\n    password: {}\n  Keep it safe: it is not shown again.\n",
                    created.username, password
                );
            }
            None => {
                tracing::info!(username = %created.username, "created the first super admin from KEFU_ADMIN_PASSWORD")
            }
        }
    }
    let secret = match &options.jwt_secret {
        Some(s) if !s.is_empty() => s.clone(),
        _ => domain::secrets::load_or_create(&common.data_dir, "jwt_secret")?,
    };
    let clock = BusinessClock::from_name(&common.timezone)?;
    // Hash the decoy password now, so the first sign-in with an unknown
    // username takes no longer than any other.
    tokio::task::spawn_blocking(|| {
        domain::auth::password::decoy_hash();
    })
    .await
    .map_err(|e| StartError(e.to_string()))?;
    let kefu = Kefu::new(store, secret.as_bytes(), clock);
    kefu.set_http_send_rate(options.chat_http_rate);
    if let Some(url) = options.browser_service_url.as_deref() {
        if !url.trim().is_empty() {
            let service = browser_service::BrowserService::new(url, browser_service::TIMEOUT)?;
            tracing::info!(url = %service.shown_url(), "watching the browser service");
            kefu.set_browser_service(std::sync::Arc::new(service))?;
        }
    }
    Ok(kefu)
}

/// Reads the Leptos runtime options: `Leptos.toml`, overridden by LEPTOS_*.
pub fn leptos_options(options: &ServeOptions) -> LeptosOptions {
    let path = options.leptos_toml.to_string_lossy().into_owned();
    match leptos::config::get_configuration(Some(&path)) {
        Ok(conf) => conf.leptos_options,
        Err(e) => {
            tracing::warn!("reading {path}: {e}; using built-in Leptos options");
            LeptosOptions::builder()
                .output_name("kefu")
                .site_root("target/site")
                .site_pkg_dir("pkg")
                .build()
        }
    }
}

async fn serve(common: &Common, options: ServeOptions) -> Result<(), StartError> {
    let kefu = prepare(common, &options).await?;
    let leptos_options = leptos_options(&options);
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", options.bind)))?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    sweep_uploads_hourly(kefu.clone());
    launch(
        AppState {
            kefu: kefu.clone(),
            leptos_options,
            api_key: Some(api_key(&common.data_dir, options.api_key.as_deref())?),
            trusted_proxies: middleware::parse_proxies(&options.trusted_proxies)
                .map_err(StartError)?
                .into(),
            ws_idle: std::time::Duration::from_secs(options.ws_idle_secs),
        },
        listener,
        shutdown_signal(),
    )
    .await?;
    kefu.store().close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The game backend's key for player chat tokens: the configured one, or
/// one generated once into `<data dir>/api_key` (DESIGN.md "Configuration"),
/// which the operator hands to the game backend.
fn api_key(data_dir: &std::path::Path, configured: Option<&str>) -> Result<String, StartError> {
    match configured.map(str::trim) {
        Some(key) if !key.is_empty() => Ok(key.to_owned()),
        _ => {
            let key = domain::secrets::load_or_create(data_dir, "api_key")?;
            tracing::info!(file = %data_dir.join("api_key").display(), "the game backend's API key (KEFU_API_KEY) is in this file");
            Ok(key)
        }
    }
}

/// Deletes the uploads nobody sent (`domain::uploads`), at start and then
/// every hour, until the database closes.
fn sweep_uploads_hourly(kefu: Kefu) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if kefu.store().pool().is_closed() {
                break;
            }
            match kefu.sweep_unsent_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "swept uploads never sent"),
                Err(e) => tracing::warn!(error = %e, "sweeping uploads failed"),
            }
        }
    });
}

/// Serves until `shutdown` resolves, then stops accepting and finishes the
/// requests in flight. Tests call this with a listener on port 0.
pub async fn launch(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let kefu = state.kefu.clone();
    let router = web::router(state);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    // Chat frames are small and written as they come: Nagle's algorithm
    // would hold one back until the peer acknowledged the last.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Chat sockets are told to reconnect (1001) rather than left open.
        kefu.hub().kick_everyone(protocol::chat::CLOSE_GOING_AWAY);
        let _ = stopping.send(());
    });
    // In-flight requests get a grace period; a connection that is still
    // open after it does not keep the process (or a test) alive forever.
    let deadline = async {
        if stopped.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        done = server => done,
        _ = deadline => {
            tracing::warn!("connections still open {} s after shutdown began; closing them", SHUTDOWN_GRACE.as_secs());
            Ok(())
        }
    }
}

/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_api_key_is_the_configured_one_or_one_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            super::api_key(dir.path(), Some(" given ")).unwrap(),
            "given"
        );
        assert!(!dir.path().join("api_key").exists());
        let made = super::api_key(dir.path(), None).unwrap();
        assert!(made.len() >= 32, "{made}");
        assert_eq!(super::api_key(dir.path(), Some("")).unwrap(), made);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("api_key")).unwrap(),
            made
        );
    }
}
