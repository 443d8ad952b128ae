//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::auth::Login;
use crate::i18n::*;
use crate::pages::shell::LanguageSwitch;
use crate::CurrentUser;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let user = expect_context::<CurrentUser>().0;
    let login = ServerAction::<Login>::new();
    // A successful sign-in loads the landing page afresh, so every part of
    // the page is rendered for the new session.
    Effect::new(move |_| {
        if let Some(Ok(path)) = login.value().get() {
            let _ = window().location().set_href(&path);
        }
    });
    let error = move || {
        login.value().get().and_then(|r| r.err()).map(|e| {
            let code = match e {
                ServerFnError::ServerError(code) => code,
                _ => "network".to_owned(),
            };
            error_message(i18n, &code)
        })
    };
    let form = move || {
        view! {
            <Title text=t_string!(i18n, login.title).to_string()/>
            <section class="login-card">
                <div class="login-head">
                    <h1>{t!(i18n, login.title)}</h1>
                    <LanguageSwitch/>
                </div>
                <p class="muted">{t!(i18n, product)}" · "{t!(i18n, login.hint)}</p>
                <ActionForm action=login attr:data-testid="login-form" attr:class="form">
                    <label>
                        <span>{t!(i18n, login.username)}</span>
                        <input type="text" name="username" autocomplete="username" required
                            data-testid="login-username"/>
                    </label>
                    <label>
                        <span>{t!(i18n, login.password)}</span>
                        <input type="password" name="password" autocomplete="current-password" required
                            data-testid="login-password"/>
                    </label>
                    <Show when=move || error().is_some()>
                        <p class="form-error" role="alert" data-testid="login-error">{error}</p>
                    </Show>
                    <button type="submit" class="button primary" data-testid="login-submit"
                        disabled=move || login.pending().get()>
                        {move || if login.pending().get() {
                            t_string!(i18n, login.submitting).to_string()
                        } else {
                            t_string!(i18n, login.submit).to_string()
                        }}
                    </button>
                </ActionForm>
            </section>
        }
    };
    view! {
        <div class="login-page">
            <Suspense fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! { <Redirect path=crate::nav::landing(u.user_type)/> }.into_any(),
                        _ => form().into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// The translated message for an error code of [`crate::auth`].
fn error_message(i18n: leptos_i18n::I18nContext<Locale>, code: &str) -> String {
    let (kind, rest) = code.split_once(':').unwrap_or((code, ""));
    let arg = if kind == "invalid" {
        rest.split(':').next().unwrap_or("")
    } else {
        rest
    };
    match kind {
        "invalid_credentials" => t_string!(i18n, login.errors.invalid_credentials).to_string(),
        "disabled" => t_string!(i18n, login.errors.disabled).to_string(),
        "rate_limited" => {
            t_string!(i18n, login.errors.rate_limited, seconds = arg.to_owned()).to_string()
        }
        "invalid" if arg == "username" => {
            t_string!(i18n, login.errors.username_required).to_string()
        }
        "invalid" if arg == "password" => {
            t_string!(i18n, login.errors.password_required).to_string()
        }
        "internal" => t_string!(i18n, login.errors.internal, id = arg.to_owned()).to_string(),
        _ => t_string!(i18n, login.errors.network).to_string(),
    }
}
