//! Inline SVG icons (no extra requests, inherit the text colour).

use leptos::prelude::*;

/// The padlock that opens a user's Security Settings.
#[component]
pub fn PadlockIcon() -> impl IntoView {
    view! {
        <svg class="icon" width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path fill="currentColor" d="M12 1a5 5 0 0 0-5 5v4H6a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-9a2 2 0 0 0-2-2h-1V6a5 5 0 0 0-5-5zm-3 5a3 3 0 1 1 6 0v4H9V6zm3 8a2 2 0 0 1 1 3.73V20h-2v-2.27A2 2 0 0 1 12 14z"/>
        </svg>
    }
}
