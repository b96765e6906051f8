use crate::api::terms::get_terms;
use leptos::prelude::*;
use leptos_meta::Title;

/// The Latchkey API Terms of Use, linked from every registration form.
#[component]
pub fn TermsPage() -> impl IntoView {
    let terms = Resource::new_blocking(|| (), |_| get_terms());
    view! {
        <Title text="Latchkey API Terms of Use"/>
        <main class="centered narrow-text">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    terms.await.map(|terms| view! {
                        <h1>"Latchkey API Terms of Use"</h1>
                        <p class="subtitle">{format!("Version {}", terms.version)}</p>
                        {terms.paragraphs.into_iter().map(|p| view! { <p>{p}</p> }).collect_view()}
                    })
                })}
            </Suspense>
        </main>
    }
}
