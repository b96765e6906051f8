//! A Copy button for credentials (an island: it needs JavaScript, so it appears only once the
//! page has hydrated).

use super::hydration::use_hydrated;
use leptos::prelude::*;

/// Copies `text` to the clipboard and says so.
#[island]
pub fn CopyButton(
    /// What to copy.
    #[prop(into)]
    text: String,
    /// Accessible name, e.g. "Copy Consumer Key".
    #[prop(into)]
    label: String,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let copied = RwSignal::new(false);
    let text = StoredValue::new(text);
    view! {
        <Show when=move || hydrated.get()>
            <button type="button" class="button secondary small" aria-label=label.clone()
                on:click=move |_| {
                    if let Some(window) = web_sys::window() {
                        let _ = window.navigator().clipboard().write_text(&text.get_value());
                        copied.set(true);
                    }
                }>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </Show>
    }
}
