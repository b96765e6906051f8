//! The fields every way of registering an application shares — Name, Description, Redirect
//! URI, and the Terms of Use box — so the console's registration and an API user's request ask
//! the same questions in the same words.

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
