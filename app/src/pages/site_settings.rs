use crate::api::sites::{
    AddSiteResource, AddSiteScope, RemoveSiteResource, RemoveSiteScope, SetSiteAccessTokenFormat,
    SetSiteConsentLifetime, SetSiteSecretLifetime, SiteSettings, get_site_settings,
};
use crate::components::{
    console_form::{ConsoleForm, Field, FieldGroup, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use crate::domain::{
    AccessTokenFormat,
    consent::{CONSENT_LIFETIME_CHOICES, consent_lifetime_words},
    secret_lifetime::LIFETIME_CHOICES,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// A site's scope catalogue: what its clients may be registered for.
#[component]
pub fn SiteSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    });
    let settings = Resource::new_blocking(
        move || site_id.get(),
        |id| async move {
            match id {
                Some(id) => get_site_settings(id).await,
                None => Err(crate::error::ConsoleError::NotFound),
            }
        },
    );
    view! {
        <Title text="Site settings"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                settings.await.map(|settings| view! {
                    <SecretExpiry settings=settings.clone()/>
                    <ConsentMemory settings=settings.clone()/>
                    <TokenFormat settings=settings.clone()/>
                    <ResourceServers settings=settings.clone()/>
                    <Catalogue settings/>
                })
            })}
        </Suspense>
    }
}

/// How long the site's new secrets stay valid.
#[component]
fn SecretExpiry(settings: SiteSettings) -> impl IntoView {
    let current = settings.secret_lifetime.unwrap_or(0);
    view! {
        <h1>{settings.name.clone()}<span class="subtitle">"Site settings"</span></h1>
        <p><a href="/sites">"← Sites"</a></p>
        <section class="panel" aria-labelledby="expiry-heading">
            <h2 id="expiry-heading">"Secret expiry"</h2>
            <ConsoleForm action={endpoint::<SetSiteSecretLifetime>()} class="stacked" success="Secret expiry saved.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=settings.id.to_string()/>
                <FormFeedback/>
                <FieldGroup name="secret_lifetime">
                    <label for="secret_lifetime">"New secrets"</label>
                    <select id="secret_lifetime" name="secret_lifetime">
                        {LIFETIME_CHOICES.iter().map(|(seconds, words)| view! {
                            <option value=seconds.to_string() selected=*seconds == current>{*words}</option>
                        }).collect_view()}
                        // A lifetime set from the command line that is not one of the choices.
                        {(!LIFETIME_CHOICES.iter().any(|(seconds, _)| *seconds == current)).then(|| view! {
                            <option value=current.to_string() selected=true>{format!("{} days (set from the command line)", current / 86_400)}</option>
                        })}
                    </select>
                    <p class="hint">"Applies to secrets made from now on (at registration, and at each regeneration unless another lifetime is chosen there). An expired secret is refused; the Dashboard lists secrets expiring within 30 days."</p>
                </FieldGroup>
                <SubmitButton label="Save"/>
            </ConsoleForm>
        </section>
    }
}

/// How long the site remembers what an API user granted at the authorization prompt.
#[component]
fn ConsentMemory(settings: SiteSettings) -> impl IntoView {
    let current = settings.consent_lifetime;
    view! {
        <section class="panel" aria-labelledby="consent-heading">
            <h2 id="consent-heading">"Remembered consent"</h2>
            <ConsoleForm action={endpoint::<SetSiteConsentLifetime>()} class="stacked" success="Consent setting saved.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=settings.id.to_string()/>
                <FormFeedback/>
                <FieldGroup name="consent_lifetime">
                    <label for="consent_lifetime">"Remember an API user's consent"</label>
                    <select id="consent_lifetime" name="consent_lifetime">
                        {CONSENT_LIFETIME_CHOICES.iter().map(|(seconds, words)| view! {
                            <option value=seconds.to_string() selected=*seconds == current>{*words}</option>
                        }).collect_view()}
                        // A lifetime set from the command line that is not one of the choices.
                        {(!CONSENT_LIFETIME_CHOICES.iter().any(|(seconds, _)| *seconds == current)).then(|| view! {
                            <option value=current.to_string() selected=true>{format!("{} (set from the command line)", consent_lifetime_words(current))}</option>
                        })}
                    </select>
                    <p class="hint">"After an API user signed in at this browser authorizes an application, later authorizations of the same application and scopes complete without the prompt until this ends or they withdraw the application on their own page. \"Never remember\" shows the prompt every time, also for consents given before."</p>
                </FieldGroup>
                <SubmitButton label="Save consent setting"/>
            </ConsoleForm>
        </section>
    }
}

/// What the site's access tokens look like to resource servers, with what each choice costs.
#[component]
fn TokenFormat(settings: SiteSettings) -> impl IntoView {
    let current = settings.access_token_format;
    view! {
        <section class="panel" aria-labelledby="token-format-heading">
            <h2 id="token-format-heading">"Access token format"</h2>
            <ConsoleForm action={endpoint::<SetSiteAccessTokenFormat>()} class="stacked" success="Access token format saved.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=settings.id.to_string()/>
                <FormFeedback/>
                <FieldGroup name="access_token_format">
                    <fieldset>
                        <legend>"New access tokens are"</legend>
                        {AccessTokenFormat::ALL.into_iter().map(|format| {
                            let id = format!("access_token_format_{}", format.as_str());
                            view! {
                                <div class="choice">
                                    <input type="radio" id=id.clone() name="access_token_format" value=format.as_str() checked=format == current/>
                                    <label for=id>{format.label()}</label>
                                    <p class="hint">{format.trade_off()}</p>
                                </div>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p class="hint">"Tokens already issued keep their form until they expire. JWTs are signed with Latchkey's current key; the public keys are at "<code>{settings.jwks_uri.clone()}</code>" (the operator rotates them with "<code>"latchkey keys rotate"</code>")."</p>
                </FieldGroup>
                <SubmitButton label="Save token format"/>
            </ConsoleForm>
        </section>
    }
}

#[component]
fn Catalogue(settings: SiteSettings) -> impl IntoView {
    let id = settings.id.to_string();
    view! {
        <section class="panel" aria-labelledby="catalogue-heading">
            <h2 id="catalogue-heading">"Scope catalogue"</h2>
            <table class="data" aria-label="Scopes">
                <thead><tr><th scope="col">"Scope"</th><th scope="col">"Description"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {settings.scopes.into_iter().map(|(name, description)| {
                        let id = id.clone();
                        view! {
                            <tr>
                                <td><code>{name.clone()}</code></td>
                                <td>{description}</td>
                                <td class="actions">
                                    <ConsoleForm action={endpoint::<RemoveSiteScope>()} class="inline-form" success="Scope removed.">
                                        <CsrfField/>
                                        <input type="hidden" name="site_id" value=id/>
                                        <input type="hidden" name="name" value=name.clone()/>
                                        <button type="submit" class="button secondary small" aria-label=format!("Remove scope {name}")>"Remove"</button>
                                        <FormFeedback/>
                                    </ConsoleForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Add a scope"</h2>
            <ConsoleForm action={endpoint::<AddSiteScope>()} class="stacked" success="Scope added.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=id.clone()/>
                <FormFeedback/>
                <Field label="Scope name" name="name" hint="Lower-case letters, digits, _ . : - (e.g. reports:read)"/>
                <Field label="Description" name="description" hint="What it lets an application do, shown on the authorization prompt."/>
                <SubmitButton label="Add scope"/>
            </ConsoleForm>
        </section>
    }
}

/// The site's resource servers (RFC 8707): the audiences its tokens may be narrowed to.
#[component]
fn ResourceServers(settings: SiteSettings) -> impl IntoView {
    let id = settings.id.to_string();
    let empty = settings.resources.is_empty();
    view! {
        <section class="panel" aria-labelledby="resources-heading">
            <h2 id="resources-heading">"Resource servers"</h2>
            <p class="hint">"APIs that accept this site's tokens. An application names one with "<code>"resource"</code>" when it asks for a token; the token is then for that API alone (its audience, "<code>"aud"</code>"), and a request naming any other gets "<code>"invalid_target"</code>". Latchkey's own API is "<code>{settings.own_resource.clone()}</code>"."</p>
            {empty.then(|| view! { <p>"No resource servers yet: tokens name no audience."</p> })}
            <ul class="plain" aria-label="Resource servers">
                {settings.resources.into_iter().map(|uri| {
                    let id = id.clone();
                    view! {
                        <li>
                            <code>{uri.clone()}</code>" "
                            <ConsoleForm action={endpoint::<RemoveSiteResource>()} class="inline-form" success="Resource server removed.">
                                <CsrfField/>
                                <input type="hidden" name="site_id" value=id/>
                                <input type="hidden" name="uri" value=uri.clone()/>
                                <button type="submit" class="button secondary small" aria-label=format!("Remove resource server {uri}")>"Remove"</button>
                                <FormFeedback/>
                            </ConsoleForm>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <ConsoleForm action={endpoint::<AddSiteResource>()} class="stacked" success="Resource server added.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=id.clone()/>
                <FormFeedback/>
                <Field label="Resource server URI" name="uri" kind="url" maxlength=2000
                    hint="The exact https URI applications will name, e.g. https://api.example.com/"/>
                <SubmitButton label="Add resource server"/>
            </ConsoleForm>
        </section>
    }
}
