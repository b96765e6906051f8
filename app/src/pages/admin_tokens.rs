use crate::api::admin_tokens::{
    AdminTokenItem, CreateAdminToken, RevokeAdminToken, get_admin_tokens,
};
use crate::components::{
    console_form::{
        ConfirmPassword, ConsoleForm, Field, FieldGroup, FieldMessage, FormFeedback, SubmitButton,
        endpoint,
    },
    copy_button::CopyButton,
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// API Tokens: the signed-in administrator's admin API tokens, for automation with the admin
/// REST API (`/admin/v1`, documented at `/admin/v1/openapi.json`).
#[component]
pub fn AdminTokensPage() -> impl IntoView {
    let page = Resource::new_blocking(|| (), |_| get_admin_tokens());
    view! {
        <Title text="API Tokens"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                page.await.map(|page| {
                    let no_tokens = page.tokens.is_empty();
                    view! {
                        <h1>"API Tokens"</h1>
                        <p class="hint">
                            "Automation (scripts, Terraform, CI) manages API clients through the admin REST API at "
                            <code>"/admin/v1"</code>" (described in "<a href="/admin/v1/openapi.json">"/admin/v1/openapi.json"</a>
                            ") with one of your tokens in "<code>"Authorization: Bearer"</code>
                            ". A token acts as you, on the sites you tick, and only while you administer them. Changing your password or signing out everywhere revokes your tokens. Every call is in the Audit Log with the token as actor."
                        </p>
                        <section class="panel" aria-labelledby="tokens-heading">
                            <h2 id="tokens-heading">"Your tokens"</h2>
                            {if no_tokens {
                                view! { <p class="empty">"No tokens yet."</p> }.into_any()
                            } else {
                                view! { <ul class="webhooks">{page.tokens.into_iter().map(token_item).collect_view()}</ul> }.into_any()
                            }}
                        </section>
                        <section class="panel" aria-labelledby="new-token-heading">
                            <h2 id="new-token-heading">"New token"</h2>
                            <ConsoleForm action={endpoint::<CreateAdminToken>()} class="stacked">
                                <CsrfField/>
                                <FormFeedback/>
                                <Field label="Name" name="name" required=true maxlength=64 hint="What it is for: terraform, nightly export…"/>
                                <fieldset class="roles">
                                    <legend>"Sites it may reach"</legend>
                                    {page.sites.into_iter().enumerate().map(|(i, site)| view! {
                                        <label class="checkbox-line">
                                            <input type="checkbox" name=format!("sites[{i}]") value=site.id.to_string() checked=site.selected/>
                                            " "{site.name}
                                        </label>
                                    }).collect_view()}
                                    <FieldMessage name="sites"/>
                                </fieldset>
                                <label class="checkbox-line">
                                    <input type="checkbox" name="write"/>
                                    " Allow changes (register, edit, delete clients; rotate secrets). Without, it only reads."
                                </label>
                                <FieldGroup name="expires_in_days">
                                    <label for="field-expires_in_days">"Expires after"</label>
                                    <select id="field-expires_in_days" name="expires_in_days">
                                        <option value="7">"7 days"</option>
                                        <option value="30" selected=true>"30 days"</option>
                                        <option value="90">"90 days"</option>
                                        <option value="365">"365 days"</option>
                                    </select>
                                </FieldGroup>
                                <ConfirmPassword id="token-confirm-password" always=page.needs_password/>
                                <SubmitButton label="Create token"/>
                            </ConsoleForm>
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}

fn token_item(token: AdminTokenItem) -> impl IntoView {
    let id = token.id.to_string();
    let shown_once = token.new_token.clone().map(|secret| {
        view! {
            <div class="notice secret-once" role="status">
                <p>"Your new token — copy it now, it is not shown again:"</p>
                <code data-testid="admin-token">{secret.clone()}</code>
                " "<CopyButton text=secret label="Copy"/>
            </div>
        }
    });
    let active = token.state == "active";
    let last_used = token
        .last_used
        .clone()
        .unwrap_or_else(|| "never used".to_owned());
    view! {
        <li data-testid="admin-token-row">
            <strong>{token.name.clone()}</strong>
            " "<span class="small muted">{format!(
                "…{} · {} · {} · {} · expires {} · last used: {}",
                token.hint, token.state, token.access, token.sites.join(", "), token.expires, last_used
            )}</span>
            {shown_once}
            {active.then(|| view! {
                <ConsoleForm action={endpoint::<RevokeAdminToken>()} class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="token_id" value=id.clone()/>
                    <SubmitButton label=format!("Revoke {}", token.name) class="button danger"/>
                    <FormFeedback/>
                </ConsoleForm>
            })}
        </li>
    }
}
