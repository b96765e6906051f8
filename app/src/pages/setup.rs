use crate::api::session::{CompleteSetup, get_setup_needed};
use crate::components::field::{Field, FormError, field_error, form_error};
use crate::domain::NewPassword;
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// First run: create the first site and its administrator with the token from the server log.
#[component]
pub fn SetupPage() -> impl IntoView {
    let needed = Resource::new_blocking(|| (), |_| get_setup_needed());
    view! {
        <Title text="Set up Latchkey"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match needed.await {
                    Ok(true) => Either::Left(view! { <SetupForm/> }),
                    _ => Either::Right(view! { <Redirect path="/sign-in"/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupForm() -> impl IntoView {
    let action = ServerAction::<CompleteSetup>::new();
    let value = action.value();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Instant validation: the same policy the server applies, run as the user types.
    let password_feedback = Signal::derive(move || {
        let typed = password.get();
        if typed.is_empty() {
            return None;
        }
        Some(match NewPassword::parse(&typed, &username.get()) {
            Ok(_) => "Strong enough.".to_owned(),
            Err(problem) => problem.to_string(),
        })
    });
    view! {
        <main class="centered narrow">
            <h1>"Set up Latchkey"</h1>
            <p>"Create the first site and its site administrator. The setup token is printed in the server log."</p>
            <ActionForm action attr:class="stacked" attr:novalidate=true>
                <FormError message=form_error(value)/>
                <Field label="Setup token" name="setup_token" required=true error=field_error(value, "setup_token")
                    hint="Shown in the server log at start-up."/>
                <Field label="Site name" name="site_name" required=true error=field_error(value, "site_name")/>
                <Field label="Username" name="username" autocomplete="username" required=true
                    error=field_error(value, "username")
                    on_input=Callback::new(move |typed| username.set(typed))/>
                <Field label="Email address" name="email" kind="email" autocomplete="email" required=true
                    error=field_error(value, "email")/>
                <Field label="Password" name="password" kind="password" autocomplete="new-password" required=true
                    error=field_error(value, "password")
                    hint="At least 12 characters; not a common password; not containing the username."
                    live_hint=password_feedback
                    on_input=Callback::new(move |typed| password.set(typed))/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>"Create site and administrator"</button>
            </ActionForm>
        </main>
    }
}
