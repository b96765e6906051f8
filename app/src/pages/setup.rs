use crate::api::session::{CompleteSetup, get_setup_needed};
use crate::components::console_form::{
    ConsoleForm, Field, FormFeedback, PasswordField, SubmitButton, endpoint,
};
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
    view! {
        <main class="centered narrow">
            <h1>"Set up Latchkey"</h1>
            <p>"Create the first site and its site administrator. The setup token is printed in the server log."</p>
            <ConsoleForm action={endpoint::<CompleteSetup>()} class="stacked">
                <FormFeedback summarize_fields=true/>
                <Field label="Setup token" name="setup_token" required=true
                    hint="Shown in the server log at start-up."/>
                <Field label="Site name" name="site_name" required=true/>
                <Field label="Username" name="username" autocomplete="username" required=true/>
                <Field label="Email address" name="email" kind="email" autocomplete="email" required=true/>
                <PasswordField label="Password" name="password" autocomplete="new-password" check_strength=true
                    hint="At least 12 characters; not a common password; not containing the username."/>
                <SubmitButton label="Create site and administrator"/>
            </ConsoleForm>
        </main>
    }
}
