//! Kefu's browser UI: the staff panel, rendered on the server and hydrated in
//! the browser.
//!
//! Decisions recorded here:
//! - The panel speaks Simplified Chinese unless the user picked English with
//!   the language switch (remembered in the `i18n_pref_locale` cookie, so the
//!   server renders the chosen language on the next visit). The browser's
//!   `Accept-Language` is not consulted: the back office works in Chinese.
//! - Every page route renders in `SsrMode::Async`, so the HTTP status (403,
//!   404) and the sign-in redirect are decided before the first byte is sent.
//! - Which sections a role sees is decided by [`nav::Section::allowed`]; the
//!   operations behind them check the role again in `domain`.

pub mod api;
pub mod auth;
pub mod charts;
pub mod chat;
pub mod clock;
pub mod confirm;
pub mod focus;
pub mod i18n;
pub mod nav;
pub mod pages;
pub mod reason;
#[cfg(test)]
mod source_scan;

use leptos::prelude::*;
use leptos_i18n::context::CookieOptions;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::i18n::*;
use crate::nav::Section;
use crate::pages::{
    login::LoginPage,
    shell::{PanelNotFound, SectionPage, Sub},
};

/// The HTML document the server sends; the browser hydrates `<App/>` inside.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The signed-in staff member (or `None`), fetched once per page load.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<protocol::UserInfo>, ServerFnError>>);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let user = Resource::new_blocking(|| (), |_| auth::current_user());
    provide_context(CurrentUser(user));
    confirm::provide();
    // Marks the page as interactive once hydration ran (end-to-end tests wait for it).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
        focus::keep_on_page();
    });
    let no_accept_language =
        leptos_use::UseLocalesOptions::default().ssr_lang_header_getter(|| None);
    let cookie = CookieOptions::default()
        .max_age(365_i64 * 24 * 60 * 60 * 1000)
        .path("/")
        .same_site(leptos_use::SameSite::Lax);
    view! {
        <I18nContextProvider ssr_lang_header_getter=no_accept_language cookie_options=cookie>
            <Stylesheet id="leptos" href="/pkg/kefu.css"/>
            <AppTitle/>
            <Router>
                // Focusable from script (not by Tab): where focus goes when what
                // had it is gone (see `confirm`).
                <main tabindex="-1">
                    <Routes fallback=|| view! { <PanelNotFound/> }>
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                        <Route path=path!("/") view=|| view! { <SectionPage section=Section::Home/> } ssr=SsrMode::Async/>
                        <Route path=path!("/players") view=|| view! { <SectionPage section=Section::Players/> } ssr=SsrMode::Async/>
                        <Route path=path!("/players/new") view=|| view! { <SectionPage section=Section::Players sub=Sub::PlayerNew/> } ssr=SsrMode::Async/>
                        <Route path=path!("/players/:account") view=|| view! { <SectionPage section=Section::Players sub=Sub::PlayerDetail/> } ssr=SsrMode::Async/>
                        <Route path=path!("/players/:account/edit") view=|| view! { <SectionPage section=Section::Players sub=Sub::PlayerEdit/> } ssr=SsrMode::Async/>
                        <Route path=path!("/staff") view=|| view! { <SectionPage section=Section::Staff/> } ssr=SsrMode::Async/>
                        <Route path=path!("/staff/audit") view=|| view! { <SectionPage section=Section::Staff sub=Sub::Audit/> } ssr=SsrMode::Async/>
                        <Route path=path!("/analytics") view=|| view! { <SectionPage section=Section::Analytics/> } ssr=SsrMode::Async/>
                        <Route path=path!("/desk") view=|| view! { <SectionPage section=Section::Desk/> } ssr=SsrMode::Async/>
                        <Route path=path!("/widget") view=crate::pages::widget::WidgetPage ssr=SsrMode::Async/>
                        <Route path=path!("/system") view=|| view! { <SectionPage section=Section::System/> } ssr=SsrMode::Async/>
                    </Routes>
                </main>
                <confirm::ConfirmDialog/>
            </Router>
        </I18nContextProvider>
    }
}

#[component]
fn AppTitle() -> impl IntoView {
    // Titles are plain strings taken while the page renders: leptos_meta
    // reads them after the render, when reactive values may be gone.
    let i18n = use_i18n();
    let brand = t_string!(i18n, brand).to_string();
    view! { <Title formatter=move |page: String| {
        if page.is_empty() { brand.clone() } else { format!("{page} · {brand}") }
    }/> }
}

/// Sets the HTTP status of the page being rendered on the server.
pub fn set_http_status(code: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(r), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(code),
    ) {
        r.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = code;
}
