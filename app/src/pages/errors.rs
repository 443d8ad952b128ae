//! The 404 and 403 pages.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::i18n::*;

#[component]
pub fn NotFound() -> impl IntoView {
    crate::set_http_status(404);
    let i18n = use_i18n();
    view! {
        <Title text=t_string!(i18n, errors.not_found_title).to_string()/>
        <section class="error-page" data-testid="not-found">
            <p class="error-code">"404"</p>
            <h1>{t!(i18n, errors.not_found_title)}</h1>
            <p>{t!(i18n, errors.not_found_body)}</p>
            <a href="/" class="button">{t!(i18n, errors.back_home)}</a>
        </section>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    crate::set_http_status(403);
    let i18n = use_i18n();
    view! {
        <Title text=t_string!(i18n, errors.forbidden_title).to_string()/>
        <section class="error-page" data-testid="forbidden">
            <p class="error-code">"403"</p>
            <h1>{t!(i18n, errors.forbidden_title)}</h1>
            <p>{t!(i18n, errors.forbidden_body)}</p>
            <a href="/" class="button">{t!(i18n, errors.back_home)}</a>
        </section>
    }
}
