use crate::api::session::{SignIn, get_console_session, get_setup_needed};
use crate::components::field::{Field, FormError, field_error, form_error};
use leptos::{either::EitherOf3, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

/// Administrator sign-in. Sends signed-in visitors to the dashboard and, on first run,
/// everyone to setup.
#[component]
pub fn SignInPage() -> impl IntoView {
    let state = Resource::new_blocking(
        || (),
        |_| async {
            Ok::<_, crate::error::ConsoleError>((
                get_setup_needed().await?,
                get_console_session().await?.is_some(),
            ))
        },
    );
    view! {
        <Title text="Sign in"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match state.await {
                    Ok((true, _)) => EitherOf3::A(view! { <Redirect path="/setup"/> }),
                    Ok((false, true)) => EitherOf3::B(view! { <Redirect path="/"/> }),
                    _ => EitherOf3::C(view! { <SignInForm/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignInForm() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    let next = use_query_map()
        .with_untracked(|query| query.get("next"))
        .unwrap_or_default();
    let show_password = RwSignal::new(false);
    // The toggle needs JavaScript: it appears once the page has hydrated.
    let hydrated = crate::components::hydration::use_hydrated();
    view! {
        <main class="centered narrow">
            <h1>"Sign in to Latchkey"</h1>
            <ActionForm action attr:class="stacked" attr:novalidate=true>
                <FormError message=Signal::derive(move || {
                    value.with(|result| match result {
                        Some(Err(crate::error::ConsoleError::Invalid(_))) => None,
                        _ => form_error(value).get(),
                    })
                })/>
                <Field label="Username" name="username" autocomplete="username" required=true
                    error=field_error(value, "username")/>
                <div class="field" class:has-error=move || field_error(value, "password").with(Option::is_some)>
                    <label for="field-password">"Password"</label>
                    <div class="input-with-button">
                        <input id="field-password" name="password" required=true
                            type=move || if show_password.get() { "text" } else { "password" }
                            autocomplete="current-password" aria-describedby="password-error"/>
                        <Show when=move || hydrated.get()>
                            <button type="button" class="button secondary small" data-testid="toggle-password"
                                aria-pressed=move || show_password.get().to_string()
                                on:click=move |_| show_password.update(|shown| *shown = !*shown)>
                                {move || if show_password.get() { "Hide" } else { "Show" }}
                            </button>
                        </Show>
                    </div>
                    <p class="field-error" id="password-error" role="alert">{move || field_error(value, "password").get()}</p>
                </div>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
        </main>
    }
}
