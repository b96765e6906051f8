use crate::api::clients::{RegisterClient, RegistrationOptions, get_registration_options};
use crate::components::{
    application_fields::{ApplicationFields, GrantTypeChoice, TermsOfUseBox},
    console_form::{
        ConfirmPassword, ConsoleForm, FieldGroup, FieldMessage, FormFeedback, SubmitButton,
        endpoint,
    },
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// "Create a New API Client" (from the API Clients tab) and "Register New Application" (from a
/// user's Security Settings, owner preset): Name, Description, Redirect URI, scopes, owner and
/// the Terms of Use. Done stays disabled until the terms are accepted (the server refuses
/// without acceptance too, so this holds without JavaScript).
#[component]
pub fn NewClientPage() -> impl IntoView {
    let options = Resource::new_blocking(|| (), |_| get_registration_options());
    let preset_owner = use_query_map()
        .with_untracked(|q| q.get("owner"))
        .unwrap_or_default();
    let title = if preset_owner.is_empty() {
        "Create a New API Client"
    } else {
        "Register New Application"
    };
    view! {
        <Title text=title/>
        <h1>{title}</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let preset_owner = preset_owner.clone();
                Suspend::new(async move {
                    options.await.map(|options| view! { <RegistrationForm options preset_owner/> })
                })
            }}
        </Suspense>
    }
}

#[component]
fn RegistrationForm(options: RegistrationOptions, preset_owner: String) -> impl IntoView {
    let no_owners = options.owners.is_empty();
    view! {
        {no_owners.then(|| view! {
            <p class="warning">
                "This site has no API users yet. An application acts on behalf of an API user: "
                <a href="/administrators/new">"add one"</a>" first (a client credentials only client needs none)."
            </p>
        })}
        // Done waits for the Terms of Use box once the form has hydrated; without JavaScript
        // the server refuses a registration without it.
        <ConsoleForm action={endpoint::<RegisterClient>()} class="stacked" requires_checked="accept_terms">
            <CsrfField/>
            <FormFeedback summarize_fields=true/>
            <p class="hint">{format!("Site: {}", options.site.name)}</p>
            <ApplicationFields allow_loopback=options.allow_loopback/>
            <GrantTypeChoice current="authorization_code" id_prefix="new"/>
            <FieldGroup name="owner">
                <label for="field-owner">"API user (owner)"</label>
                <select id="field-owner" name="owner" aria-describedby="owner-error">
                    <option value="">"Choose an API user…"</option>
                    {options.owners.into_iter().map(|owner| {
                        let selected = owner.id.to_string() == preset_owner;
                        view! { <option value=owner.id.to_string() selected=selected>{owner.username}</option> }
                    }).collect_view()}
                </select>
                <p class="hint">"A client credentials only client may belong to the site alone: leave this empty."</p>
            </FieldGroup>
            <fieldset class="roles">
                <legend>"Scopes"</legend>
                {options.scopes.into_iter().enumerate().map(|(i, scope)| {
                    let checked = scope.name == "profile";
                    view! {
                        <label class="checkbox-line">
                            <input type="checkbox" name=format!("scopes[{i}]") value=scope.name.clone() checked=checked/>
                            " "<code>{scope.name.clone()}</code>" — "{scope.description}
                        </label>
                    }
                }).collect_view()}
                <FieldMessage name="scopes"/>
            </fieldset>
            <label class="checkbox-line">
                <input type="checkbox" name="require_pkce"/>
                " Require PKCE (S256) on every authorization request"
            </label>
            <label class="checkbox-line">
                <input type="checkbox" name="require_dpop"/>
                " Require DPoP (RFC 9449): tokens are bound to a key the application holds, so a copied token is useless"
            </label>
            <TermsOfUseBox version=options.terms_version.clone()/>
            <ConfirmPassword id="register-confirm-password" always=options.needs_password/>
            <div class="toolbar">
                <SubmitButton label="Done"/>
                <a class="button secondary" href="/clients">"Cancel"</a>
            </div>
        </ConsoleForm>
    }
}
