//! The panel's pages.

pub mod analytics;
pub mod desk;
pub mod desk_player;
pub mod desk_replies;
pub mod errors;
pub mod home;
pub mod login;
pub mod players;
pub mod shell;
pub mod staff;
pub mod system;
pub mod widget;

/// For a GET `<Form>`'s `on_form_data`: drops the empty fields (and the
/// nameless `=` pair leptos_router adds for the submit button), so that a
/// filter's address holds only what was filled in: `/players?keyword=曹`,
/// not every field of the form with nothing after its `=`.
pub fn only_filled() -> std::sync::Arc<dyn Fn(&leptos::web_sys::FormData)> {
    std::sync::Arc::new(|_data: &leptos::web_sys::FormData| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let mut empty = Vec::new();
            if let Ok(Some(entries)) = js_sys::try_iter(_data) {
                for pair in entries.flatten() {
                    let pair: js_sys::Array = pair.unchecked_into();
                    let name = pair.get(0).as_string().unwrap_or_default();
                    let blank = pair.get(1).as_string().is_some_and(|v| v.trim().is_empty());
                    if name.is_empty() || blank {
                        empty.push(name);
                    }
                }
            }
            for name in empty {
                _data.delete(&name);
            }
        }
    })
}
