//! Confirmation before regenerating a secret, disabling or deleting a client: each shows what
//! it will break (live tokens, grants, API users who authorized, last use) and, where it makes
//! sense, offers "keep existing tokens" or "revoke all".

use super::client_detail::client_resource;
use crate::api::clients::{ClientDetail, DeleteClient, RotateClientSecret, SetClientDisabled};
use crate::components::{
    console_form::{
        ConfirmBox, ConfirmPassword, ConsoleForm, FieldGroup, FormFeedback, SubmitButton, endpoint,
    },
    layout::CsrfField,
};
use crate::domain::secret_grace::{DEFAULT_GRACE_SECONDS, GRACE_CHOICES};
use crate::domain::secret_lifetime::{LIFETIME_CHOICES, lifetime_words};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn Impact(client: ClientDetail) -> impl IntoView {
    view! {
        <div class="panel" data-testid="impact">
            <h2>"What this affects"</h2>
            <ul>
                <li>{format!("{} active access token(s)", client.active_access_tokens)}</li>
                <li>{format!("{} grant(s) (refresh-token families) with live tokens", client.active_grants)}</li>
                <li>{if client.api_users.is_empty() {
                    "No API user has a live authorization".to_owned()
                } else {
                    format!("API users who authorized it: {}", client.api_users.join(", "))
                }}</li>
                <li>{format!("Last token issued: {}", client.last_used.clone().unwrap_or_else(|| "never".into()))}</li>
            </ul>
        </div>
    }
}

#[component]
fn TokenChoice(#[prop(into)] keep_label: String) -> impl IntoView {
    view! {
        <fieldset class="roles">
            <legend>"Existing tokens"</legend>
            <label class="checkbox-line"><input type="radio" name="tokens" value="keep" checked=true/>" "{keep_label}</label>
            <label class="checkbox-line"><input type="radio" name="tokens" value="revoke"/>" Revoke all: every access and refresh token of this client stops working now"</label>
        </fieldset>
    }
}

fn with_client<V: IntoView + 'static>(
    title: &'static str,
    render: impl Fn(ClientDetail) -> V + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let client = client_resource();
    view! {
        <Title text=title/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move { client.await.map(render) })
            }}
        </Suspense>
    }
}

/// Regenerate the Consumer Secret, optionally keeping the old one valid for a grace period.
#[component]
pub fn RegenerateSecretPage() -> impl IntoView {
    with_client("Regenerate secret", move |client: ClientDetail| {
        let id = client.id;
        // Regenerating retires an older secret still in its grace period: asked first when
        // clients used it recently (the server asks anyway if this page is out of date).
        let old_in_use = client
            .secrets
            .iter()
            .any(|s| s.state == "grace" && s.in_use);
        view! {
            <h1>{format!("Regenerate the secret of {}?", client.name)}</h1>
            <Impact client=client.clone()/>
            <ConsoleForm action={endpoint::<RotateClientSecret>()} class="stacked">
                <CsrfField/>
                <input type="hidden" name="client_uuid" value=id.to_string()/>
                <FormFeedback/>
                <FieldGroup name="grace">
                    <label for="grace">"Old secret"</label>
                    <select id="grace" name="grace">
                        {GRACE_CHOICES.iter().map(|(seconds, words)| view! {
                            <option value=seconds.to_string() selected=*seconds == DEFAULT_GRACE_SECONDS>{*words}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint">"During the grace period both secrets work; each shows its own last use, and you can retire the old one early."</p>
                </FieldGroup>
                <FieldGroup name="lifetime">
                    <label for="lifetime">"New secret"</label>
                    <select id="lifetime" name="lifetime">
                        <option value="site" selected=true>{format!("Site setting: {}", lifetime_words(client.site_secret_lifetime))}</option>
                        {LIFETIME_CHOICES.iter().map(|(seconds, words)| view! {
                            <option value=seconds.to_string()>{*words}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint">"An expired secret is refused (invalid_client); its badge warns 30 days ahead."</p>
                </FieldGroup>
                <TokenChoice keep_label="Keep: tokens already issued keep working until they expire"/>
                <ConfirmBox name="retire_anyway" always=old_in_use
                    label="Retire the old secret in its grace period anyway: clients used it recently"/>
                <ConfirmPassword id="rotate-confirm-password" always=client.needs_password/>
                <div class="toolbar">
                    <SubmitButton label="Regenerate secret"/>
                    <a class="button secondary" href=format!("/clients/{id}")>"Cancel"</a>
                </div>
            </ConsoleForm>
        }
    })
}

/// Disable a client: it can no longer authenticate (`invalid_client`).
#[component]
pub fn DisableClientPage() -> impl IntoView {
    with_client("Disable client", move |client: ClientDetail| {
        let id = client.id;
        view! {
            <h1>{format!("Disable {}?", client.name)}</h1>
            <p>"A disabled client cannot sign requests: the token endpoint answers invalid_client and no new authorization starts. You can enable it again later."</p>
            <Impact client=client.clone()/>
            <ConsoleForm action={endpoint::<SetClientDisabled>()} class="stacked">
                <CsrfField/>
                <input type="hidden" name="client_uuid" value=id.to_string()/>
                <input type="hidden" name="disabled" value="true"/>
                <FormFeedback/>
                <TokenChoice keep_label="Keep: access tokens already issued keep working until they expire (refreshing fails)"/>
                <div class="toolbar">
                    <SubmitButton label="Disable client" class="button danger"/>
                    <a class="button secondary" href=format!("/clients/{id}")>"Cancel"</a>
                </div>
            </ConsoleForm>
        }
    })
}

/// Delete a client with every token it holds.
#[component]
pub fn DeleteClientPage() -> impl IntoView {
    with_client("Delete client", move |client: ClientDetail| {
        let id = client.id;
        view! {
            <h1>{format!("Delete {}?", client.name)}</h1>
            <p>"Every token the client holds is revoked and its secrets stop working now."</p>
            <p>{format!(
                "It moves to Deleted, where you can restore it as it was (tokens stay revoked) for {} days; then it is purged. The audit log keeps its history.",
                client.deleted_retention_days
            )}</p>
            <Impact client=client.clone()/>
            <ConsoleForm action={endpoint::<DeleteClient>()} class="inline-form">
                <CsrfField/>
                <input type="hidden" name="client_uuid" value=id.to_string()/>
                <SubmitButton label=format!("Delete {}", client.name) class="button danger"/>
                <a class="button secondary" href=format!("/clients/{id}")>"Cancel"</a>
                <FormFeedback/>
            </ConsoleForm>
        }
    })
}
