use crate::api::clients::{
    AcceptClientTerms, ClientDetail, RetireClientSecret, RevealClientSecret, RevokeClientGrant,
    SecretSlotView, SetClientDisabled, UpdateClient, get_client,
};
use crate::components::{
    application_fields::GrantTypeChoice,
    audit_table::AuditTable,
    console_form::{
        ConfirmBox, ConfirmPassword, ConsoleForm, Field, FieldGroup, FieldMessage, FormFeedback,
        SubmitButton, endpoint,
    },
    copy_button::CopyButton,
    expiry_badge::{ExpiryBadge, StatusBadge},
    failure_timeline::FailureTimeline,
    layout::CsrfField,
    usage_chart::UsageChart,
};
use crate::error::ConsoleError;
use crate::pages::pending_requests::ReviewForms;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The client id in the URL (`/clients/:id/...`).
pub fn client_id_param() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

/// Loads the client of the URL.
pub fn client_resource() -> Resource<Result<ClientDetail, ConsoleError>> {
    let id = client_id_param();
    Resource::new_blocking(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_client(id).await,
                None => Err(ConsoleError::NotFound),
            }
        },
    )
}

/// Client details: Consumer Key and Secret (masked, Reveal, Copy), secret slots, settings,
/// Terms of Use record, live grants, and the actions.
#[component]
pub fn ClientDetailPage() -> impl IntoView {
    let client = client_resource();
    view! {
        <Title text="API client"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                client.await.map(|client| view! { <ClientView client/> })
            })}
        </Suspense>
    }
}

#[component]
fn ClientView(client: ClientDetail) -> impl IntoView {
    let id = client.id;
    view! {
        <h1>{client.name.clone()}" "<StatusBadge status=client.status.clone()/></h1>
        {client.rejection_reason.clone().map(|reason| view! {
            <p class="warning" data-testid="rejection-reason">"Rejected: "{reason}</p>
        })}
        {(client.status == "pending").then(|| view! { <ReviewForms client_uuid=id/> })}
        <div class="toolbar">
            <a href="/clients">"← API Clients"</a>
            <span class="spacer"></span>
            <a class="button secondary" href=format!("/clients/{id}/regenerate")>"Regenerate secret…"</a>
            {if client.active {
                view! { <a class="button secondary" href=format!("/clients/{id}/disable")>"Disable…"</a> }.into_any()
            } else if client.status != "disabled" {
                ().into_any()
            } else {
                view! {
                    <ConsoleForm action={endpoint::<SetClientDisabled>()} class="inline-form" success="Client enabled.">
                        <CsrfField/>
                        <input type="hidden" name="client_uuid" value=id.to_string()/>
                        <input type="hidden" name="disabled" value="false"/>
                        <SubmitButton label="Enable"/>
                        <FormFeedback/>
                    </ConsoleForm>
                }.into_any()
            }}
            <a class="button danger" href=format!("/clients/{id}/delete")>"Delete…"</a>
        </div>
        <Credentials client=client.clone()/>
        <Settings client=client.clone()/>
        <TermsSection client=client.clone()/>
        <Usage client=client.clone()/>
        <Grants client/>
    }
}

/// How much the client is used, and who did what to it.
#[component]
fn Usage(client: ClientDetail) -> impl IntoView {
    let history_link = format!("/audit?client={}", client.client_id);
    view! {
        <section class="panel" aria-labelledby="usage-heading">
            <h2 id="usage-heading">"Usage"</h2>
            <UsageChart bars=client.tokens_per_day label="Tokens issued to this client per day, last 30 days"/>
        </section>
        <section class="panel" aria-labelledby="failures-heading">
            <h2 id="failures-heading">"Why did it fail?"</h2>
            <p class="small muted">"Requests of this client that were refused, with the real reason (the client was sent only the standard error code). Refusals at the authorization endpoint and wrong secrets can come from anyone who knows the Consumer Key: the address tells them apart."</p>
            <FailureTimeline counts=client.failure_counts rows=client.failures/>
        </section>
        <section class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <AuditTable rows=client.history label="Client history"/>
            <a href=history_link>"All events of this client in the Audit Log →"</a>
        </section>
    }
}

#[component]
fn Credentials(client: ClientDetail) -> impl IntoView {
    let revealed = client.revealed.clone();
    let fresh_show_once = !client.reveal_policy && revealed.is_some();
    let valid: Vec<SecretSlotView> = client
        .secrets
        .iter()
        .filter(|s| s.state == "current" || s.state == "grace")
        .cloned()
        .collect();
    let two_slots = valid.len() > 1;
    let id = client.id;
    let needs_password = client.needs_password;
    view! {
        <section class="panel" aria-labelledby="credentials-heading">
            <h2 id="credentials-heading">"Credentials"</h2>
            {fresh_show_once.then(|| view! {
                <p class="warning" role="status">"Copy the Consumer Secret now: this server shows secrets only once."</p>
            })}
            <dl class="details">
                <dt>"Consumer Key"</dt>
                <dd class="secret">
                    <code data-testid="consumer-key">{client.client_id.clone()}</code>
                    <CopyButton text=client.client_id.clone() label="Copy Consumer Key"/>
                </dd>
                <dt>"Consumer Secret"</dt>
                <dd>
                    {valid.into_iter().map(|slot| {
                        let shown = revealed.as_ref().filter(|(hint, _)| *hint == slot.hint).map(|(_, s)| s.clone());
                        view! { <SecretValue client_uuid=id secret_slot=slot shown two_slots reveal_policy=client.reveal_policy needs_password/> }
                    }).collect_view()}
                </dd>
            </dl>
            <h3>"Secret slots"</h3>
            <table class="data" aria-label="Secret slots">
                <thead><tr>
                    <th scope="col">"Secret"</th><th scope="col">"State"</th><th scope="col">"Created"</th>
                    <th scope="col">"Valid until"</th><th scope="col">"Last used"</th><th scope="col">"Uses"</th>
                    <th scope="col">"Last caller"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {client.secrets.into_iter().map(|slot| {
                        let state = match slot.state.as_str() {
                            "current" => "Current",
                            "grace" => "Old (grace period)",
                            "expired" => "Expired",
                            "quarantined" => "Quarantined (reported leaked)",
                            _ => "Retired",
                        };
                        view! {
                            <tr>
                                <td class="mono">{format!("…{}", slot.hint)}</td>
                                <td>{state}" "<ExpiryBadge days=slot.expires_in_days/></td>
                                <td>{slot.created}</td>
                                <td>{slot.valid_until.unwrap_or_else(|| "—".into())}</td>
                                <td>{slot.last_used.unwrap_or_else(|| "Never".into())}</td>
                                <td>{slot.use_count}</td>
                                <td class="caller">
                                    {slot.last_used_from.clone().unwrap_or_else(|| "—".into())}
                                    {slot.last_user_agent.clone().map(|agent| view! { <br/><span class="muted">{agent}</span> })}
                                </td>
                                <td class="actions">
                                    {(slot.state == "grace").then(|| view! {
                                        <ConsoleForm action={endpoint::<RetireClientSecret>()} class="inline-form wrap"
                                            success="Old secret retired.">
                                            <CsrfField/>
                                            <input type="hidden" name="client_uuid" value=id.to_string()/>
                                            <input type="hidden" name="slot_id" value=slot.id.to_string()/>
                                            <ConfirmPassword id=format!("retire-password-{}", slot.hint) always=needs_password/>
                                            <ConfirmBox name="retire_anyway" always=slot.in_use
                                                label="Retire it anyway: clients used it recently"/>
                                            <SubmitButton label="Retire now" class="button secondary small"/>
                                            <FormFeedback/>
                                        </ConsoleForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn SecretValue(
    client_uuid: Uuid,
    secret_slot: SecretSlotView,
    shown: Option<String>,
    two_slots: bool,
    reveal_policy: bool,
    needs_password: bool,
) -> impl IntoView {
    let slot = secret_slot;
    let hint = slot.hint.clone();
    let password_id = format!("reveal-password-{hint}");
    let label = if slot.state == "current" {
        if two_slots { " (new)" } else { "" }
    } else {
        " (old, in grace period)"
    };
    view! {
        <div class="secret" data-testid=format!("secret-{hint}")>
            {match shown {
                Some(secret) => view! {
                    <code data-testid="consumer-secret">{secret.clone()}</code>
                    <CopyButton text=secret label="Copy Consumer Secret"/>
                    <a class="button link small" href=format!("/clients/{client_uuid}")>"Hide"</a>
                }.into_any(),
                None => view! {
                    <code>{format!("lkcs_••••••••••••••••{hint}")}</code>
                    {if reveal_policy && slot.revealable {
                        view! {
                            // Revealing needs a recent password: the prompt is there from the
                            // start when the page knows the sign-in is old, and appears when the
                            // server asks for it otherwise.
                            <ConsoleForm action={endpoint::<RevealClientSecret>()} class="inline-form wrap">
                                <CsrfField/>
                                <input type="hidden" name="client_uuid" value=client_uuid.to_string()/>
                                <input type="hidden" name="slot_id" value=slot.id.to_string()/>
                                <ConfirmPassword id=password_id always=needs_password/>
                                <SubmitButton label="Reveal" confirm_label="Confirm and reveal" class="button secondary small"/>
                                <FormFeedback/>
                            </ConsoleForm>
                        }.into_any()
                    } else if !reveal_policy {
                        view! { <span class="hint">"Shown only once; regenerate to get a new one."</span> }.into_any()
                    } else {
                        view! { <span></span> }.into_any()
                    }}
                }.into_any(),
            }}
            <span class="hint">{label}</span>
        </div>
    }
}

#[component]
fn Settings(client: ClientDetail) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Settings"</h2>
            <dl class="details">
                <dt>"Description"</dt><dd class="pre-line">{client.description.clone()}</dd>
                <dt>"Redirect URI"</dt><dd><code data-testid="redirect-uri">{client.redirect_uri.clone()}</code></dd>
                <dt>"Grant types"</dt><dd data-testid="grant-types">{client.grant_types_label.clone()}</dd>
                <dt>"API user (owner)"</dt><dd>{client.owner.clone()}</dd>
                <dt>"Scopes"</dt><dd>{client.scopes.join(" ")}</dd>
                <dt>"PKCE"</dt><dd>{if client.require_pkce { "Required (S256)" } else { "Optional (S256)" }}</dd>
                <dt>"DPoP"</dt><dd data-testid="dpop">{if client.require_dpop { "Required: every token is bound to the application's key" } else { "Optional" }}</dd>
                <dt>"Registered"</dt><dd>{format!("{} by {}", client.created, client.created_by)}</dd>
                <dt>"Last used"</dt><dd>{client.last_used.clone().unwrap_or_else(|| "Never".into())}</dd>
            </dl>
            <details>
                <summary>"Edit settings"</summary>
                <ConsoleForm action={endpoint::<UpdateClient>()} class="stacked" success="Settings saved.">
                    <CsrfField/>
                    <input type="hidden" name="client_uuid" value=client.id.to_string()/>
                    <FormFeedback/>
                    <Field label="Name" name="name" value=client.name.clone() maxlength=100/>
                    <FieldGroup name="description">
                        <label for="field-edit-description">"Description"</label>
                        <textarea id="field-edit-description" name="description" maxlength="1000">{client.description.clone()}</textarea>
                    </FieldGroup>
                    <Field label="Redirect URI" name="redirect_uri" kind="url" value=client.redirect_uri.clone()
                        maxlength=2000/>
                    <fieldset class="roles">
                        <legend>"Scopes"</legend>
                        {client.catalogue.iter().enumerate().map(|(i, scope)| {
                            let checked = client.scopes.contains(&scope.name);
                            view! {
                                <label class="checkbox-line">
                                    <input type="checkbox" name=format!("scopes[{i}]") value=scope.name.clone() checked=checked/>
                                    " "<code>{scope.name.clone()}</code>" — "{scope.description.clone()}
                                </label>
                            }
                        }).collect_view()}
                        <FieldMessage name="scopes"/>
                    </fieldset>
                    <label class="checkbox-line">
                        <input type="checkbox" name="require_pkce" checked=client.require_pkce/>
                        " Require PKCE (S256)"
                    </label>
                    <label class="checkbox-line">
                        <input type="checkbox" name="require_dpop" checked=client.require_dpop/>
                        " Require DPoP (RFC 9449): refuse token requests without a proof of the application's key"
                    </label>
                    <GrantTypeChoice current=client.grant_types.clone() id_prefix="edit"/>
                    <FieldGroup name="owner">
                        <label for="field-edit-owner">"API user (owner)"</label>
                        <select id="field-edit-owner" name="owner" aria-describedby="owner-error">
                            {client.owners.iter().map(|owner| view! {
                                <option value=owner.id.to_string() selected=Some(owner.id) == client.owner_id>{owner.username.clone()}</option>
                            }).collect_view()}
                            {(!client.owners.iter().any(|o| Some(o.id) == client.owner_id)).then(|| {
                                let label = if client.owner_id.is_some() {
                                    format!("{} (no longer an API user)", client.owner)
                                } else {
                                    format!("{} — no API user", client.owner)
                                };
                                view! { <option value="" selected=true>{label}</option> }
                            })}
                        </select>
                    </FieldGroup>
                    <SubmitButton label="Save settings"/>
                </ConsoleForm>
            </details>
        </section>
    }
}

#[component]
fn TermsSection(client: ClientDetail) -> impl IntoView {
    let outdated = client
        .terms
        .as_ref()
        .is_none_or(|t| t.version != client.current_terms_version);
    view! {
        <section class="panel">
            <h2>"Terms of Use"</h2>
            {client.terms.clone().map(|terms| view! {
                <p data-testid="terms-record">{format!(
                    "Version {} accepted by {} on {}{}.",
                    terms.version,
                    terms.by,
                    terms.at,
                    terms.from.map(|from| format!(" from {from}")).unwrap_or_default()
                )}</p>
            })}
            {outdated.then(|| view! {
                <p class="warning">{format!("The Terms of Use changed (now version {}). Accept them again for this client.", client.current_terms_version)}</p>
                <ConsoleForm action={endpoint::<AcceptClientTerms>()} class="inline-form wrap"
                    success="Terms of Use accepted.">
                    <CsrfField/>
                    <input type="hidden" name="client_uuid" value=client.id.to_string()/>
                    <label class="checkbox-line">
                        <input type="checkbox" name="accept_terms"/>
                        " I have read and agree to the "<a href="/terms" target="_blank" rel="noopener">"Latchkey API Terms of Use"</a>
                    </label>
                    <SubmitButton label="Accept"/>
                    <FieldMessage name="accept_terms"/>
                    <FormFeedback/>
                </ConsoleForm>
            })}
        </section>
    }
}

#[component]
fn Grants(client: ClientDetail) -> impl IntoView {
    let id = client.id;
    let empty = client.grants.is_empty();
    view! {
        <section class="panel">
            <h2>"Active grants"</h2>
            <p>{format!(
                "{} active access token(s), {} grant(s) with live tokens{}.",
                client.active_access_tokens,
                client.active_grants,
                if client.api_users.is_empty() { String::new() } else { format!(", from {}", client.api_users.join(", ")) }
            )}</p>
            {(!empty).then(|| view! {
                <table class="data" aria-label="Active grants">
                    <thead><tr><th scope="col">"API user"</th><th scope="col">"Scope"</th><th scope="col">"Authorized"</th><th scope="col"></th></tr></thead>
                    <tbody>
                        {client.grants.into_iter().map(|grant| view! {
                            <tr>
                                <td>{grant.username}</td>
                                <td>{grant.scope}</td>
                                <td>{grant.created}</td>
                                <td class="actions">
                                    <ConsoleForm action={endpoint::<RevokeClientGrant>()} class="inline-form"
                                        success="Grant revoked.">
                                        <CsrfField/>
                                        <input type="hidden" name="client_uuid" value=id.to_string()/>
                                        <input type="hidden" name="grant_id" value=grant.id.to_string()/>
                                        <SubmitButton label="Revoke" class="button secondary small"/>
                                        <FormFeedback/>
                                    </ConsoleForm>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}
