use crate::api::{SiteOption, users::CreateUser};
use crate::components::{
    console_form::{
        ConfirmPassword, ConsoleForm, Field, FieldMessage, FormFeedback, PasswordField,
        SubmitButton, endpoint,
    },
    hydration::use_hydrated,
    layout::{CsrfField, console_session},
};
use leptos::prelude::*;
use leptos_meta::Title;

/// Add New Administrator: username, password, email, roles on the selected site, and (for
/// administrators of several sites) an Add Site dropdown to grant roles on more sites.
#[component]
pub fn AddAdministratorPage() -> impl IntoView {
    view! {
        <Title text="Add New Administrator"/>
        <h1>"Add New Administrator"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (current, others, needs_password) = console_session()
                    .await
                    .map(|s| {
                        let others: Vec<SiteOption> =
                            s.sites.iter().filter(|site| site.id != s.site.id).cloned().collect();
                        (Some(s.site), others, s.needs_password)
                    })
                    .unwrap_or((None, Vec::new(), false));
                view! { <AddAdministratorForm current others needs_password/> }
            })}
        </Suspense>
    }
}

#[component]
fn AddAdministratorForm(
    current: Option<SiteOption>,
    others: Vec<SiteOption>,
    /// Show the password confirmation from the start (making an administrator needs it).
    needs_password: bool,
) -> impl IntoView {
    let has_others = !others.is_empty();
    view! {
        <ConsoleForm action={endpoint::<CreateUser>()} class="stacked">
            <CsrfField/>
            <FormFeedback summarize_fields=true/>
            <Field label="Username" name="username" required=true autocomplete="off"/>
            <PasswordField label="Password" name="password" autocomplete="new-password" check_strength=true
                hint="At least 12 characters; not a common password; not containing the username."/>
            <Field label="Email Address" name="email" kind="email" required=true autocomplete="off"/>
            <fieldset class="roles">
                <legend>"Roles"</legend>
                {current.map(|site| view! {
                    <div class="site-roles">
                        <input type="hidden" name="roles[0][site_id]" value=site.id.to_string()/>
                        <strong class="site-label">{site.name}</strong>
                        <label><input type="checkbox" name="roles[0][site_admin]" checked=true/>" Site administrator"</label>
                        <label><input type="checkbox" name="roles[0][api_user]"/>" API User"</label>
                    </div>
                })}
                {has_others.then(|| view! { <OtherSiteRoles others/> })}
                <FieldMessage name="roles"/>
            </fieldset>
            <ConfirmPassword id="create-confirm-password" always=needs_password/>
            <div class="toolbar">
                <SubmitButton label="Save"/>
                <a class="button secondary" href="/administrators">"Cancel"</a>
            </div>
        </ConsoleForm>
    }
}

/// Rows that give the new user roles on the administrator's other sites: one to start with,
/// and "+ Add another site" (once hydrated) for more.
#[island]
fn OtherSiteRoles(others: Vec<SiteOption>) -> impl IntoView {
    let extra_rows = RwSignal::new(1usize);
    let hydrated = use_hydrated();
    let others = StoredValue::new(others);
    view! {
        <For each=move || 1..=extra_rows.get() key=|i| *i let:i>
            <div class="site-roles">
                <label class="visually-hidden" for=format!("add-site-{i}")>"Add Site"</label>
                <select id=format!("add-site-{i}") name=format!("roles[{i}][site_id]") aria-label="Add Site">
                    <option value="">"Add Site…"</option>
                    {others.get_value().into_iter().map(|site| view! {
                        <option value=site.id.to_string()>{site.name}</option>
                    }).collect_view()}
                </select>
                <label><input type="checkbox" name=format!("roles[{i}][site_admin]")/>" Site administrator"</label>
                <label><input type="checkbox" name=format!("roles[{i}][api_user]")/>" API User"</label>
            </div>
        </For>
        <Show when=move || hydrated.get()>
            <button type="button" class="button link small" data-testid="add-another-site"
                on:click=move |_| extra_rows.update(|n| *n += 1)>"+ Add another site"</button>
        </Show>
    }
}
