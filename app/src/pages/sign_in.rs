use crate::api::session::{SignIn, get_console_session, get_setup_needed};
use crate::components::console_form::{
    ConsoleForm, Field, FormFeedback, PasswordField, SubmitButton, endpoint,
};
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
    let next = use_query_map()
        .with_untracked(|query| query.get("next"))
        .unwrap_or_default();
    view! {
        <main class="centered narrow">
            <h1>"Sign in to Latchkey"</h1>
            <ConsoleForm action={endpoint::<SignIn>()} class="stacked">
                <FormFeedback/>
                <Field label="Username" name="username" autocomplete="username" required=true/>
                <PasswordField label="Password" name="password" autocomplete="current-password"/>
                <input type="hidden" name="next" value=next/>
                <SubmitButton label="Sign in"/>
            </ConsoleForm>
        </main>
    }
}
