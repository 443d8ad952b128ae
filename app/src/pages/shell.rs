//! The signed-in frame: header, role-aware navigation, sign-out, and the
//! guard that decides between the page, the sign-in redirect and 403.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use protocol::{UserInfo, UserType};

use crate::auth::Logout;
use crate::i18n::*;
use crate::nav::Section;
use crate::pages::errors::{Forbidden, NotFound};
use crate::CurrentUser;
use leptos_i18n::I18nContext;

/// Which page of a section is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sub {
    #[default]
    Index,
    PlayerNew,
    PlayerDetail,
    PlayerEdit,
    Audit,
}

/// A section of the panel behind the sign-in and role check.
#[component]
pub fn SectionPage(section: Section, #[prop(optional)] sub: Sub) -> impl IntoView {
    let i18n = use_i18n();
    let user = expect_context::<CurrentUser>().0;
    view! {
        <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) if section == Section::Home && u.user_type == UserType::CustomerService => {
                        view! { <Redirect path=Section::Desk.path()/> }.into_any()
                    }
                    Ok(Some(u)) => {
                        // Editing players is for super admins; the audit log too.
                        let allowed = section.allowed(u.user_type)
                            && (matches!(sub, Sub::Index | Sub::PlayerDetail)
                                || u.user_type == UserType::SuperAdmin);
                        view! {
                            <Shell user=u.clone() current=Some(section)>
                                {if allowed {
                                    section_body(section, sub, &u).into_any()
                                } else {
                                    view! { <Forbidden/> }.into_any()
                                }}
                            </Shell>
                        }
                        .into_any()
                    }
                    _ => view! { <Redirect path="/login"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An address that is no page. A signed-in user keeps the panel's frame
/// (navigation, sign-out) around the 404, so the way on is one click; anyone
/// else gets the bare page. The status is set before anything waits, so it
/// is 404 whichever way the page is streamed.
#[component]
pub fn PanelNotFound() -> impl IntoView {
    crate::set_http_status(404);
    let user = expect_context::<CurrentUser>().0;
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) => view! { <Shell user=u current=None><NotFound/></Shell> }.into_any(),
                    _ => view! { <NotFound/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn section_body(section: Section, sub: Sub, user: &UserInfo) -> impl IntoView {
    use crate::pages::players::{PlayerDetail, PlayerForm, PlayersList};
    use crate::pages::staff::{AuditPage, StaffPage};
    let i18n = use_i18n();
    let is_super = user.user_type == UserType::SuperAdmin;
    match (section, sub) {
        (Section::Players, Sub::Index | Sub::Audit) => view! { <PlayersList is_super/> }.into_any(),
        (Section::Players, Sub::PlayerDetail) => view! { <PlayerDetail is_super/> }.into_any(),
        (Section::Players, Sub::PlayerNew) => view! { <PlayerForm editing=false/> }.into_any(),
        (Section::Players, Sub::PlayerEdit) => view! { <PlayerForm editing=true/> }.into_any(),
        (Section::Staff, Sub::Audit) => view! { <AuditPage/> }.into_any(),
        (Section::Staff, _) => view! { <StaffPage me=user.id/> }.into_any(),
        (Section::Analytics, _) => view! { <crate::pages::analytics::AnalyticsPage/> }.into_any(),
        (Section::Desk, _) => {
            let me = user.clone();
            view! { <crate::pages::desk::DeskPage me/> }.into_any()
        }
        (Section::System, _) => view! { <crate::pages::system::SystemPage/> }.into_any(),
        (Section::Home, _) => {
            let name = user.username.clone();
            // "2026-12-05 16:44", in the business zone like every time shown.
            let time = user
                .last_login
                .as_deref()
                .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
                .unwrap_or_default();
            let role = user.user_type;
            view! {
                <Title text=t_string!(i18n, home.title).to_string()/>
                <h1 data-testid="page-title">{move || t_string!(i18n, home.welcome, name = name.clone()).to_string()}</h1>
                <p class="muted">{move || t_string!(i18n, home.last_login, time = time.clone()).to_string()}</p>
                <crate::pages::home::HomeFigures/>
                <h2>{t!(i18n, home.sections)}</h2>
                <ul class="cards">
                    {Section::ALL
                        .into_iter()
                        .filter(move |s| *s != Section::Home && s.allowed(role))
                        .map(|s| view! {
                            <li class="card">
                                <a href=s.path()>{move || section_label(i18n, s)}</a>
                                <p class="muted">{section_description(s)}</p>
                            </li>
                        })
                        .collect_view()}
                </ul>
            }
            .into_any()
        }
    }
}

/// The translated name of a section. Takes the context instead of looking
/// it up, because `<Title>` evaluates its text after the page's reactive
/// owner (where `use_i18n` works) has finished rendering.
pub fn section_label(i18n: I18nContext<Locale>, s: Section) -> String {
    match s {
        Section::Home => t_string!(i18n, nav.home).to_string(),
        Section::Players => t_string!(i18n, nav.players).to_string(),
        Section::Staff => t_string!(i18n, nav.staff).to_string(),
        Section::Analytics => t_string!(i18n, nav.analytics).to_string(),
        Section::Desk => t_string!(i18n, nav.desk).to_string(),
        Section::System => t_string!(i18n, nav.system).to_string(),
    }
}

fn section_description(s: Section) -> impl IntoView {
    let i18n = use_i18n();
    move || match s {
        Section::Home => String::new(),
        Section::Players => t_string!(i18n, section.players_desc).to_string(),
        Section::Staff => t_string!(i18n, section.staff_desc).to_string(),
        Section::Analytics => t_string!(i18n, section.analytics_desc).to_string(),
        Section::Desk => t_string!(i18n, section.desk_desc).to_string(),
        Section::System => t_string!(i18n, section.system_desc).to_string(),
    }
}

fn role_label(i18n: I18nContext<Locale>, t: UserType) -> String {
    match t {
        UserType::SuperAdmin => t_string!(i18n, roles.super_admin).to_string(),
        UserType::Admin => t_string!(i18n, roles.admin).to_string(),
        UserType::CustomerService => t_string!(i18n, roles.customer_service).to_string(),
    }
}

#[component]
fn Shell(user: UserInfo, current: Option<Section>, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            let _ = window().location().set_href("/login");
        }
    });
    let role = user.user_type;
    let links = Section::ALL
        .into_iter()
        .filter(|s| s.allowed(role))
        .map(|s| {
            let current = (Some(s) == current).then_some("page");
            view! {
                <A href=s.path() attr:data-testid=format!("nav-{}", s.id()) attr:aria-current=current>
                    {move || section_label(i18n, s)}
                </A>
            }
        })
        .collect_view();
    view! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href="/">{t!(i18n, brand)}</a>
                <nav class="nav" aria-label=move || t_string!(i18n, nav.main).to_string() data-testid="nav">
                    {links}
                </nav>
                <div class="who">
                    <span data-testid="user-name">{user.username.clone()}</span>
                    <span class="role" data-testid="user-role">{move || role_label(i18n, role)}</span>
                    <LanguageSwitch/>
                    <ActionForm action=logout attr:class="inline">
                        <button type="submit" class="button" data-testid="logout">{t!(i18n, nav.logout)}</button>
                    </ActionForm>
                </div>
            </header>
            <div class="content">{children()}</div>
        </div>
    }
}

/// Switches between Chinese and English; the choice is kept in a cookie.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let toggle = move |_| {
        let next = match i18n.get_locale() {
            Locale::en => Locale::zh_CN,
            _ => Locale::en,
        };
        i18n.set_locale(next);
    };
    view! {
        <button type="button" class="button link" data-testid="lang-switch" on:click=toggle>
            {t!(i18n, lang_switch)}
        </button>
    }
}
