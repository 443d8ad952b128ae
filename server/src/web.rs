//! The whole router: the REST API under `/api`, the panel's server functions
//! under `/sfn`, the Leptos pages, and the compiled assets under `/pkg`.
//!
//! Assets are compressed on the fly (brotli or gzip, as the browser asks).
//! cargo-leptos writes them under fixed names, so they are served with
//! `Cache-Control: no-cache` and revalidated by `Last-Modified`.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{middleware, Router};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::extract::MAX_BODY;
use crate::{api, AppState};

/// The app's routes, generated once per process. Generating them sets a
/// process-wide flag in `leptos_server` that parks, forever, any resource
/// first polled meanwhile (leptos-rs/leptos#4773), so a second generation
/// while another server in the process renders (the tests start many) could
/// hang one of its responses.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

pub fn router(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let routes = routes();
    let pkg_dir =
        std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    // The release build writes each file's brotli and gzip copies beside it
    // (`cargo leptos build --release --precompress`, brotli at its highest
    // level); they are served as they are, and on-the-fly compression (at a
    // lower level) is left for a build without them.
    let pkg = Router::new()
        .fallback_service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    let api = api::router()
        .fallback(crate::middleware::api_not_found)
        .method_not_allowed_fallback(crate::middleware::api_wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(crate::middleware::api_body_limit))
        // Images have a limit of their own (after the layers above, so
        // outside the 1 MiB one).
        .merge(api::uploads::router())
        // Again: it covers only the routes already there.
        .method_not_allowed_fallback(crate::middleware::api_wrong_method);
    let kefu = state.kefu.clone();
    let kefu_for_errors = state.kefu.clone();
    Router::new()
        .nest("/api", api)
        .route(
            "/sfn/{*name}",
            post(server_fn)
                .get(server_fn)
                .layer(RequestBodyLimitLayer::new(MAX_BODY)),
        )
        .nest_service("/pkg", pkg)
        .leptos_routes_with_context(&state, routes, move || provide_context(kefu.clone()), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(kefu_for_errors.clone()),
            app::shell,
        ))
        .layer(middleware::from_fn(crate::middleware::finish_pages))
        .layer(middleware::from_fn(crate::middleware::origin_check))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::client_ip,
        ))
        .layer(CompressionLayer::new())
        .with_state(state)
}

async fn server_fn(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    let kefu = state.kefu.clone();
    leptos_axum::handle_server_fns_with_context(move || provide_context(kefu.clone()), req).await
}
