//! `/account`, the API users' own page: the sign-in form, then their applications (status,
//! Consumer Key, expiry badges, the one-time view of an approved request's secret) and the
//! links to request an application and change their password. Every form works without
//! JavaScript.

use crate::api::account::{
    AccountSignIn, AccountSignOut, AccountView, ConnectedApplication, OwnedApplication,
    RevokeConnection, ShowOwnerSecret, get_account,
};
use crate::components::{
    console_form::{
        ConfirmPassword, ConsoleForm, Field, FlashNotice, FormFeedback, PasswordField,
        SubmitButton, endpoint,
    },
    copy_button::CopyButton,
    expiry_badge::{ExpiryBadge, StatusBadge},
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

/// `/account`: the sign-in form, or the signed-in API user's page.
#[component]
pub fn AccountPage() -> impl IntoView {
    let account = Resource::new_blocking(|| (), |_| get_account());
    view! {
        <Title text="Your account"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(view)) => Either::Left(view! { <SignedIn account=view/> }),
                    _ => Either::Right(view! { <AccountSignInForm/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountSignInForm() -> impl IntoView {
    view! {
        <main class="centered narrow account">
            <h1>"Sign in to your account"</h1>
            <p class="hint">"For API users: see your applications, request new ones, and manage your password. Administrators sign in to the "<a href="/sign-in">"console"</a>"."</p>
            <ConsoleForm action={endpoint::<AccountSignIn>()} class="stacked">
                <FormFeedback/>
                <Field label="Username" name="username" autocomplete="username" required=true/>
                <PasswordField label="Password" name="password" autocomplete="current-password"/>
                <SubmitButton label="Sign in"/>
            </ConsoleForm>
        </main>
    }
}

/// The page header of a signed-in API user: who, and Sign out.
#[component]
pub fn AccountHeader(
    /// Their username.
    username: String,
    /// Anti-forgery token.
    csrf: String,
) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/account">"Latchkey · Your account"</a>
            <div class="account">
                <span class="username" data-testid="account-user">{username}</span>
                <ConsoleForm action={endpoint::<AccountSignOut>()} class="inline-form">
                    <input type="hidden" name="csrf" value=csrf/>
                    <button type="submit" class="button link">"Sign out"</button>
                </ConsoleForm>
            </div>
        </header>
        <FlashNotice/>
    }
}

#[component]
fn SignedIn(account: AccountView) -> impl IntoView {
    let AccountView {
        username,
        csrf,
        needs_password,
        sites,
        applications,
        connections,
    } = account;
    let no_connections = connections.is_empty();
    let empty = applications.is_empty();
    view! {
        <AccountHeader username=username.clone() csrf=csrf.clone()/>
        <main class="account">
            <h1>"Your account"</h1>
            <p class="hint">{format!("API user on {}.", sites.join(", "))}</p>
            <section aria-labelledby="my-applications">
                <h2 id="my-applications">"My applications"</h2>
                <p><a class="button" href="/account/applications/new">"Request a new application"</a></p>
                {empty.then(|| view! { <p class="muted">"You have no applications yet."</p> })}
                <ul class="applications" data-testid="my-applications">
                    {applications.into_iter().map(|app| {
                        view! { <ApplicationCard app csrf=csrf.clone() needs_password/> }
                    }).collect_view()}
                </ul>
            </section>
            <section aria-labelledby="connected-applications">
                <h2 id="connected-applications">"Connected applications"</h2>
                <p class="hint">"Applications you authorized to act for you. Revoke ends their access at once: every token you gave them stops working."</p>
                {no_connections.then(|| view! { <p class="muted">"No application acts for you."</p> })}
                <ul class="applications" data-testid="connected-applications">
                    {connections.into_iter().map(|connection| view! { <ConnectionCard connection csrf=csrf.clone()/> }).collect_view()}
                </ul>
            </section>
            <section aria-labelledby="security">
                <h2 id="security">"Password"</h2>
                <p><a href="/account/password">"Change your password"</a>" (your other sessions end)."</p>
            </section>
        </main>
    }
}

#[component]
fn ConnectionCard(connection: ConnectedApplication, csrf: String) -> impl IntoView {
    let label = format!("Revoke {}", connection.name);
    view! {
        <li data-testid="connection">
            <h3>{connection.name.clone()}</h3>
            <p class="muted">{connection.description.clone()}</p>
            <dl class="details">
                <dt>"Site"</dt><dd>{connection.site.clone()}</dd>
                <dt>"Scopes"</dt><dd>{connection.scopes.iter().map(|scope| view! { <code>{scope.clone()}</code>" " }).collect_view()}</dd>
                <dt>"First authorized"</dt><dd>{connection.first_authorized.clone()}</dd>
                <dt>"Last used"</dt><dd>{connection.last_used.clone()}</dd>
            </dl>
            <ConsoleForm action={endpoint::<RevokeConnection>()} class="inline-form" success="Access revoked.">
                <FormFeedback/>
                <input type="hidden" name="csrf" value=csrf/>
                <input type="hidden" name="client_uuid" value=connection.id.to_string()/>
                <button type="submit" class="button danger" aria-label=label>"Revoke"</button>
            </ConsoleForm>
        </li>
    }
}

#[component]
fn ApplicationCard(app: OwnedApplication, csrf: String, needs_password: bool) -> impl IntoView {
    let testid = format!("application-{}", app.client_id);
    let id = app.id;
    let secret = app.shown_secret.clone();
    view! {
        <li data-testid=testid>
            <h3>{app.name.clone()}" "<span data-testid="application-status"><StatusBadge status=app.status.clone()/></span>
                " "<ExpiryBadge days=app.secret_expires_in_days/></h3>
            <p class="muted">{app.description.clone()}</p>
            <dl class="details">
                <dt>"Site"</dt><dd>{app.site.clone()}</dd>
                <dt>"Consumer Key"</dt>
                <dd class="secret"><code data-testid="consumer-key">{app.client_id.clone()}</code>
                    <CopyButton text=app.client_id.clone() label="Copy Consumer Key"/></dd>
                <dt>"Redirect URI"</dt><dd><code>{app.redirect_uri.clone()}</code></dd>
                <dt>"Created"</dt><dd>{app.created.clone()}</dd>
                <dt>"Last used"</dt><dd>{app.last_used.clone()}</dd>
            </dl>
            {app.rejection_reason.clone().map(|reason| view! {
                <p class="warning" data-testid="rejection-reason">"Rejected: "{reason}</p>
            })}
            {(app.status == "pending").then(|| view! {
                <p class="hint">"A site administrator reviews your request. It cannot obtain tokens until it is approved."</p>
            })}
            {secret.map(|(_, secret)| view! {
                <p class="warning" role="status">"Copy the Consumer Secret now: it is shown only this once."</p>
                <div class="secret">
                    <code data-testid="consumer-secret">{secret.clone()}</code>
                    <CopyButton text=secret label="Copy Consumer Secret"/>
                </div>
            })}
            {(app.secret_waiting && app.shown_secret.is_none()).then(|| view! {
                <ConsoleForm action={endpoint::<ShowOwnerSecret>()} class="stacked">
                    <FormFeedback/>
                    <input type="hidden" name="csrf" value=csrf.clone()/>
                    <input type="hidden" name="client_uuid" value=id.to_string()/>
                    <ConfirmPassword id=format!("show-secret-{id}") always=needs_password/>
                    <SubmitButton label="Show the Consumer Secret (once)"/>
                </ConsoleForm>
            })}
        </li>
    }
}
