use crate::api::clients::{
    AcceptClientTerms, ClientDetail, RetireClientSecret, RevealClientSecret, RevokeClientGrant,
    SecretSlotView, SetClientDisabled, UpdateClient, get_client,
};
use crate::components::{
    audit_table::AuditTable,
    copy_button::CopyButton,
    field::{Field, field_error},
    layout::CsrfField,
    notice::ActionFeedback,
    usage_chart::UsageChart,
};
use crate::error::ConsoleError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The client id in the URL (`/clients/:id/...`).
pub fn client_id_param() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

/// Loads the client of the URL, refetching whenever `refresh` changes.
pub fn client_resource(refresh: Signal<usize>) -> Resource<Result<ClientDetail, ConsoleError>> {
    let id = client_id_param();
    Resource::new_blocking(
        move || (id.get(), refresh.get()),
        |(id, _)| async move {
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
    let reveal = ServerAction::<RevealClientSecret>::new();
    let update = ServerAction::<UpdateClient>::new();
    let retire = ServerAction::<RetireClientSecret>::new();
    let terms = ServerAction::<AcceptClientTerms>::new();
    let revoke = ServerAction::<RevokeClientGrant>::new();
    let enable = ServerAction::<SetClientDisabled>::new();
    let refresh = Signal::derive(move || {
        reveal.version().get()
            + update.version().get()
            + retire.version().get()
            + terms.version().get()
            + revoke.version().get()
            + enable.version().get()
    });
    let client = client_resource(refresh);
    view! {
        <Title text="API client"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                client.await.map(|client| view! {
                    <ClientView client reveal update retire terms revoke enable/>
                })
            })}
        </Suspense>
    }
}

#[component]
fn ClientView(
    client: ClientDetail,
    reveal: ServerAction<RevealClientSecret>,
    update: ServerAction<UpdateClient>,
    retire: ServerAction<RetireClientSecret>,
    terms: ServerAction<AcceptClientTerms>,
    revoke: ServerAction<RevokeClientGrant>,
    enable: ServerAction<SetClientDisabled>,
) -> impl IntoView {
    let id = client.id;
    view! {
        <h1>{client.name.clone()}
            {if client.active {
                view! { <span class="badge active">"Active"</span> }.into_any()
            } else {
                view! { <span class="badge disabled">"Disabled"</span> }.into_any()
            }}
        </h1>
        <div class="toolbar">
            <a href="/clients">"← API Clients"</a>
            <span class="spacer"></span>
            <a class="button secondary" href=format!("/clients/{id}/regenerate")>"Regenerate secret…"</a>
            {if client.active {
                view! { <a class="button secondary" href=format!("/clients/{id}/disable")>"Disable…"</a> }.into_any()
            } else {
                view! {
                    <ActionForm action=enable attr:class="inline-form">
                        <CsrfField/>
                        <input type="hidden" name="client_uuid" value=id.to_string()/>
                        <input type="hidden" name="disabled" value="false"/>
                        <button type="submit" class="button primary">"Enable"</button>
                    </ActionForm>
                }.into_any()
            }}
            <a class="button danger" href=format!("/clients/{id}/delete")>"Delete…"</a>
        </div>
        <Credentials client=client.clone() reveal retire/>
        <Settings client=client.clone() update/>
        <TermsSection client=client.clone() action=terms/>
        <Usage client=client.clone()/>
        <Grants client action=revoke/>
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
        <section class="panel" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            <AuditTable rows=client.history label="Client history"/>
            <a href=history_link>"All events of this client in the Audit Log →"</a>
        </section>
    }
}

#[component]
fn Credentials(
    client: ClientDetail,
    reveal: ServerAction<RevealClientSecret>,
    retire: ServerAction<RetireClientSecret>,
) -> impl IntoView {
    let revealed = client.revealed.clone();
    let fresh_show_once = !client.reveal_policy && revealed.is_some();
    let valid: Vec<SecretSlotView> = client
        .secrets
        .iter()
        .filter(|s| s.state != "retired")
        .cloned()
        .collect();
    let two_slots = valid.len() > 1;
    let id = client.id;
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
                        view! { <SecretValue client_uuid=id secret_slot=slot shown reveal two_slots reveal_policy=client.reveal_policy/> }
                    }).collect_view()}
                    <ActionFeedback value=reveal.value() success=""/>
                </dd>
            </dl>
            <h3>"Secret slots"</h3>
            <table class="data" aria-label="Secret slots">
                <thead><tr>
                    <th scope="col">"Secret"</th><th scope="col">"State"</th><th scope="col">"Created"</th>
                    <th scope="col">"Valid until"</th><th scope="col">"Last used"</th><th scope="col">"Uses"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {client.secrets.into_iter().map(|slot| {
                        let state = match slot.state.as_str() {
                            "current" => "Current",
                            "grace" => "Old (grace period)",
                            _ => "Retired",
                        };
                        view! {
                            <tr>
                                <td class="mono">{format!("…{}", slot.hint)}</td>
                                <td>{state}</td>
                                <td>{slot.created}</td>
                                <td>{slot.valid_until.unwrap_or_else(|| "—".into())}</td>
                                <td>{slot.last_used.unwrap_or_else(|| "Never".into())}</td>
                                <td>{slot.use_count}</td>
                                <td class="actions">
                                    {(slot.state == "grace").then(|| view! {
                                        <ActionForm action=retire attr:class="inline-form">
                                            <CsrfField/>
                                            <input type="hidden" name="client_uuid" value=id.to_string()/>
                                            <input type="hidden" name="slot_id" value=slot.id.to_string()/>
                                            <button type="submit" class="button secondary small">"Retire now"</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <ActionFeedback value=retire.value() success="Old secret retired."/>
        </section>
    }
}

#[component]
fn SecretValue(
    client_uuid: Uuid,
    secret_slot: SecretSlotView,
    shown: Option<String>,
    reveal: ServerAction<RevealClientSecret>,
    two_slots: bool,
    reveal_policy: bool,
) -> impl IntoView {
    let slot = secret_slot;
    let hint = slot.hint.clone();
    let password_id = format!("reveal-password-{hint}");
    let needs_password = move || {
        matches!(
            reveal.value().get(),
            Some(Err(ConsoleError::ReauthenticationRequired)) | Some(Err(ConsoleError::Invalid(_)))
        )
    };
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
                            <ActionForm action=reveal attr:class="inline-form wrap">
                                <CsrfField/>
                                <input type="hidden" name="client_uuid" value=client_uuid.to_string()/>
                                <input type="hidden" name="slot_id" value=slot.id.to_string()/>
                                <Show when=needs_password>
                                    <label for=password_id.clone()>"Confirm your password"</label>
                                    <input id=password_id.clone() type="password" name="password"
                                        autocomplete="current-password"/>
                                    <span class="field-error" role="alert">{move || field_error(reveal.value(), "password").get()}</span>
                                </Show>
                                <button type="submit" class="button secondary small">{move || if needs_password() { "Confirm and reveal" } else { "Reveal" }}</button>
                            </ActionForm>
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
fn Settings(client: ClientDetail, update: ServerAction<UpdateClient>) -> impl IntoView {
    let value = update.value();
    view! {
        <section class="panel">
            <h2>"Settings"</h2>
            <dl class="details">
                <dt>"Description"</dt><dd class="pre-line">{client.description.clone()}</dd>
                <dt>"Redirect URI"</dt><dd><code data-testid="redirect-uri">{client.redirect_uri.clone()}</code></dd>
                <dt>"API user (owner)"</dt><dd>{client.owner.clone()}</dd>
                <dt>"Scopes"</dt><dd>{client.scopes.join(" ")}</dd>
                <dt>"PKCE"</dt><dd>{if client.require_pkce { "Required (S256)" } else { "Optional (S256)" }}</dd>
                <dt>"Registered"</dt><dd>{format!("{} by {}", client.created, client.created_by)}</dd>
                <dt>"Last used"</dt><dd>{client.last_used.clone().unwrap_or_else(|| "Never".into())}</dd>
            </dl>
            <details>
                <summary>"Edit settings"</summary>
                <ActionForm action=update attr:class="stacked" attr:novalidate=true>
                    <CsrfField/>
                    <input type="hidden" name="client_uuid" value=client.id.to_string()/>
                    <ActionFeedback value=value success="Settings saved."/>
                    <Field label="Name" name="name" value=client.name.clone() maxlength=100 error=field_error(value, "name")/>
                    <div class="field" class:has-error=move || field_error(value, "description").with(Option::is_some)>
                        <label for="field-edit-description">"Description"</label>
                        <textarea id="field-edit-description" name="description" maxlength="1000">{client.description.clone()}</textarea>
                        <p class="field-error" role="alert">{move || field_error(value, "description").get()}</p>
                    </div>
                    <Field label="Redirect URI" name="redirect_uri" kind="url" value=client.redirect_uri.clone()
                        maxlength=2000 error=field_error(value, "redirect_uri")/>
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
                        <p class="field-error" role="alert">{move || field_error(value, "scopes").get()}</p>
                    </fieldset>
                    <label class="checkbox-line">
                        <input type="checkbox" name="require_pkce" checked=client.require_pkce/>
                        " Require PKCE (S256)"
                    </label>
                    <button type="submit" class="button primary">"Save settings"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn TermsSection(client: ClientDetail, action: ServerAction<AcceptClientTerms>) -> impl IntoView {
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
                <ActionForm action attr:class="inline-form wrap">
                    <CsrfField/>
                    <input type="hidden" name="client_uuid" value=client.id.to_string()/>
                    <label class="checkbox-line">
                        <input type="checkbox" name="accept_terms"/>
                        " I have read and agree to the "<a href="/terms" target="_blank" rel="noopener">"Latchkey API Terms of Use"</a>
                    </label>
                    <button type="submit" class="button primary">"Accept"</button>
                </ActionForm>
                <p class="field-error" role="alert">{move || field_error(action.value(), "accept_terms").get()}</p>
            })}
        </section>
    }
}

#[component]
fn Grants(client: ClientDetail, action: ServerAction<RevokeClientGrant>) -> impl IntoView {
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
                                    <ActionForm action attr:class="inline-form">
                                        <CsrfField/>
                                        <input type="hidden" name="client_uuid" value=id.to_string()/>
                                        <input type="hidden" name="grant_id" value=grant.id.to_string()/>
                                        <button type="submit" class="button secondary small">"Revoke"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <ActionFeedback value=action.value() success="Grant revoked."/>
        </section>
    }
}
