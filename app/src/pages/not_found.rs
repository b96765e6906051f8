use crate::http_status;
use leptos::prelude::*;
use leptos_meta::Title;

/// Any URL the console does not know (status 404).
#[component]
pub fn NotFoundPage() -> impl IntoView {
    http_status::not_found();
    view! {
        <Title text="Not found"/>
        <main class="centered">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
