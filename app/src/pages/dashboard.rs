use crate::api::dashboard::{AcknowledgeAlert, AlertView, ExpiringSecret, get_dashboard};
use crate::components::{
    console_form::{ConsoleForm, FormFeedback, SubmitButton, endpoint},
    expiry_badge::ExpiryBadge,
    layout::CsrfField,
    usage_chart::UsageChart,
};
use crate::pages::pending_requests::PendingRequests;
use leptos::prelude::*;
use leptos_meta::Title;

/// The landing page of a signed-in administrator: the selected site at a glance — counts,
/// tokens issued per day, open security alerts, recent activity.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let dashboard = Resource::new_blocking(|| (), |_| get_dashboard());
    view! {
        <Title text="Dashboard"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                dashboard.await.map(|dashboard| view! {
                    <h1>"Dashboard"<span class="subtitle">{dashboard.site_name.clone()}</span></h1>
                    <Alerts alerts=dashboard.alerts/>
                    <PendingRequests/>
                    <section class="cards" aria-label="Counts">
                        <a class="card" href="/clients"><span class="count" data-testid="count-clients">{dashboard.clients}</span><span class="label">"API clients"</span></a>
                        <div class="card"><span class="count" data-testid="count-api-users">{dashboard.api_users}</span><span class="label">"API users"</span></div>
                        <div class="card"><span class="count" data-testid="count-active-tokens">{dashboard.active_tokens}</span><span class="label">"Active access tokens"</span></div>
                        <a class="card" href="/administrators"><span class="count" data-testid="count-administrators">{dashboard.administrators}</span><span class="label">"Administrators"</span></a>
                    </section>
                    <Expiring secrets=dashboard.expiring_secrets/>
                    <section class="panel">
                        <h2>"Tokens issued per day"</h2>
                        <UsageChart bars=dashboard.tokens_per_day label="Tokens issued per day, last 30 days"/>
                    </section>
                    <section class="panel">
                        <h2>"Recent activity"</h2>
                        <ul class="events">
                            {dashboard.recent_events.into_iter().map(|event| view! {
                                <li><time>{event.at}</time>" "<strong>{event.actor}</strong>" — "{event.summary}</li>
                            }).collect_view()}
                        </ul>
                        <a href="/audit">"Open the Audit Log →"</a>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// Clients whose secret expires within 30 days (or has expired): renew before it stops.
#[component]
fn Expiring(secrets: Vec<ExpiringSecret>) -> impl IntoView {
    (!secrets.is_empty()).then(|| view! {
        <section class="panel" aria-labelledby="expiring-heading">
            <h2 id="expiring-heading">"Secrets expiring within 30 days"</h2>
            <ul class="expiring">
                {secrets.into_iter().map(|secret| view! {
                    <li>
                        <a href=format!("/clients/{}", secret.client_uuid)>{secret.client_name}</a>
                        " "<code class="small">{format!("…{}", secret.hint)}</code>
                        " "<ExpiryBadge days=Some(secret.days_left)/>
                        " "<span class="small muted">{secret.expires}</span>
                    </li>
                }).collect_view()}
            </ul>
            <a href="/clients?expiring=30">"All of them on the API Clients tab →"</a>
        </section>
    })
}

/// Open security alerts, each with what is known and an Acknowledge button.
#[component]
fn Alerts(alerts: Vec<AlertView>) -> impl IntoView {
    (!alerts.is_empty()).then(|| view! {
        <section class="alerts" aria-labelledby="alerts-heading">
            <h2 id="alerts-heading">"Security alerts"</h2>
            {alerts.into_iter().map(|alert| {
                let client_link = alert.client.clone().map(|(name, client_id)| view! {
                    <a href=format!("/audit?client={client_id}")>{name}</a>" "<code class="small">{client_id}</code>
                });
                view! {
                    <article class="alert" role="alert" data-kind=alert.kind.clone()>
                        <h3>{alert.title}</h3>
                        <p>{alert.summary}</p>
                        <dl class="details compact">
                            {client_link.map(|link| view! { <dt>"Client"</dt><dd>{link}</dd> })}
                            {alert.username.map(|user| view! { <dt>"API user"</dt><dd>{user}</dd> })}
                            {alert.address.map(|address| view! { <dt>"Address"</dt><dd>{address}</dd> })}
                            <dt>"When"</dt><dd>{alert.at}</dd>
                        </dl>
                        <ConsoleForm action={endpoint::<AcknowledgeAlert>()} class="inline-form">
                            <CsrfField/>
                            <input type="hidden" name="alert_id" value=alert.id.to_string()/>
                            <SubmitButton label="Acknowledge" class="button secondary"/>
                            <FormFeedback/>
                        </ConsoleForm>
                    </article>
                }
            }).collect_view()}
        </section>
    })
}
