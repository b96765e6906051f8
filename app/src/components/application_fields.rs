//! The fields every way of registering an application shares — Name, Description, Redirect
//! URI, and the Terms of Use box — so the console's registration and an API user's request ask
//! the same questions in the same words; and the grant-type choice of the console's
//! registration and client page.

use crate::components::console_form::{Field, FieldGroup};
use leptos::prelude::*;

/// Name, Description and Redirect URI.
#[component]
pub fn ApplicationFields(
    /// The server accepts http://127.0.0.1 and localhost redirect URIs.
    allow_loopback: bool,
) -> impl IntoView {
    let redirect_hint = if allow_loopback {
        "The exact https address that receives the authorization code (http://127.0.0.1 or localhost allowed on this server)."
    } else {
        "The exact https address that receives the authorization code, e.g. https://app.example.com/callback."
    };
    view! {
        <Field label="Name" name="name" required=true maxlength=100/>
        <FieldGroup name="description">
            <label for="field-description">"Description"</label>
            <textarea id="field-description" name="description" maxlength="1000" required
                aria-describedby="description-error"></textarea>
            <p class="hint">"Shown on the authorization prompt."</p>
        </FieldGroup>
        <Field label="Redirect URI" name="redirect_uri" kind="url" required=true maxlength=2000
            hint=redirect_hint/>
    }
}

/// "I have read and agree to the Latchkey API Terms of Use": the box that gates the form's
/// button (`ConsoleForm requires_checked="accept_terms"`; the server refuses without it too).
#[component]
pub fn TermsOfUseBox(
    /// The current Terms of Use version.
    version: String,
) -> impl IntoView {
    view! {
        <FieldGroup name="accept_terms" class="field checkbox">
            <input type="checkbox" id="accept-terms" name="accept_terms" aria-describedby="accept_terms-error"/>
            <label for="accept-terms">
                "I have read and agree to the "
                <a href="/terms" target="_blank" rel="noopener">"Latchkey API Terms of Use"</a>
                {format!(" (version {version})")}
            </label>
        </FieldGroup>
    }
}

/// The grants a client is registered for, as one choice (it can never be none): the
/// authorization code grant (acting for an API user), the client credentials grant (a machine
/// client acting for itself), or both. Submitted as `grant_types`, the names space-separated.
#[component]
pub fn GrantTypeChoice(
    /// The stored form of the current choice (`GrantTypes::to_stored`).
    #[prop(into)]
    current: String,
    /// Distinguishes the ids of two forms on one page.
    #[prop(into)]
    id_prefix: String,
) -> impl IntoView {
    let choices = [
        (
            "authorization_code",
            "Authorization code",
            "acts for an API user, who approves it; with refresh tokens",
        ),
        (
            "client_credentials",
            "Client credentials",
            "a server acting for itself, with its own key and secret; no user, no refresh tokens",
        ),
        ("authorization_code client_credentials", "Both", ""),
    ];
    view! {
        <FieldGroup name="grant_types" class="field roles">
            <fieldset class="roles">
                <legend>"Grant types"</legend>
                {choices.into_iter().enumerate().map(|(i, (value, label, hint))| {
                    let id = format!("{id_prefix}-grant-{i}");
                    view! {
                        <label class="checkbox-line" for=id.clone()>
                            <input type="radio" id=id.clone() name="grant_types" value=value
                                checked=current == value aria-describedby="grant_types-error"/>
                            " "{label}
                            {(!hint.is_empty()).then(|| view! { <span class="hint">{format!(" — {hint}")}</span> })}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
        </FieldGroup>
    }
}
