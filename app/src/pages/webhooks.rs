use crate::api::webhooks::{
    AddWebhook, DeliveryRow, RemoveWebhook, SendTestWebhook, WebhookRow, get_webhooks,
};
use crate::components::{
    console_form::{ConfirmPassword, ConsoleForm, Field, FormFeedback, SubmitButton, endpoint},
    copy_button::CopyButton,
    layout::CsrfField,
};
use crate::pages::mail_section::EmailSection;
use leptos::prelude::*;
use leptos_meta::Title;

/// Webhooks: where the selected site's notable events are POSTed, signed, and what became of
/// each delivery.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let page = Resource::new_blocking(|| (), |_| get_webhooks());
    view! {
        <Title text="Webhooks"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                page.await.map(|page| {
                    let url_hint = if page.allow_private {
                        "https or http; private addresses are allowed on this server."
                    } else {
                        "https, to a public address. Do not put secrets in the URL: it is recorded in the audit log."
                    };
                    let no_endpoints = page.endpoints.is_empty();
                    let no_deliveries = page.deliveries.is_empty();
                    view! {
                        <h1>"Webhooks"<span class="subtitle">{page.site_name.clone()}</span></h1>
                        <p class="hint">{format!(
                            "Latchkey POSTs these events as JSON, signed: {}. Each request carries Latchkey-Event, Latchkey-Delivery and Latchkey-Signature (t=<unix time>,v1=<hex HMAC-SHA-256 of \"<t>.<body>\" under the endpoint's signing secret>). A delivery not answered with 2xx is retried with backoff (30 s, doubling, 12 attempts over about 14 hours).",
                            page.events.join(", ")
                        )}</p>
                        <section class="panel" aria-labelledby="endpoints-heading">
                            <h2 id="endpoints-heading">"Endpoints"</h2>
                            {if no_endpoints {
                                view! { <p class="empty">"No webhooks yet."</p> }.into_any()
                            } else {
                                view! { <ul class="webhooks">{page.endpoints.into_iter().map(endpoint_item).collect_view()}</ul> }.into_any()
                            }}
                            <ConsoleForm action={endpoint::<AddWebhook>()} class="stacked">
                                <CsrfField/>
                                <FormFeedback/>
                                <Field label="Endpoint URL" name="url" kind="url" required=true maxlength=2000 hint=url_hint/>
                                <ConfirmPassword id="webhook-confirm-password" always=page.needs_password/>
                                <SubmitButton label="Add webhook"/>
                            </ConsoleForm>
                        </section>
                        <section class="panel" aria-labelledby="deliveries-heading">
                            <h2 id="deliveries-heading">"Delivery log"</h2>
                            {if no_deliveries {
                                view! { <p class="empty">"Nothing delivered yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="data" aria-label="Deliveries">
                                            <thead><tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"Event"</th>
                                                <th scope="col">"Endpoint"</th>
                                                <th scope="col">"State"</th>
                                                <th scope="col">"Response"</th>
                                            </tr></thead>
                                            <tbody>{page.deliveries.into_iter().map(delivery_row).collect_view()}</tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </section>
                        <EmailSection/>
                    }
                })
            })}
        </Suspense>
    }
}

fn endpoint_item(hook: WebhookRow) -> impl IntoView {
    let id = hook.id.to_string();
    let test_id = id.clone();
    let secret = hook.new_secret.clone().map(|secret| {
        view! {
            <div class="notice secret-once" role="status">
                <p>"Signing secret — copy it now, it is not shown again:"</p>
                <code data-testid="webhook-secret">{secret.clone()}</code>
                " "<CopyButton text=secret label="Copy"/>
            </div>
        }
    });
    view! {
        <li>
            <code>{hook.url.clone()}</code>
            " "<span class="small muted">{format!("secret …{} · added {}", hook.secret_hint, hook.added)}</span>
            {secret}
            <div class="toolbar">
                <ConsoleForm action={endpoint::<SendTestWebhook>()} class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="webhook_id" value=test_id/>
                    <SubmitButton label="Send test event" class="button secondary"/>
                    <FormFeedback/>
                </ConsoleForm>
                <ConsoleForm action={endpoint::<RemoveWebhook>()} class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="webhook_id" value=id/>
                    <SubmitButton label=format!("Remove {}", hook.url) class="button danger"/>
                    <FormFeedback/>
                </ConsoleForm>
            </div>
        </li>
    }
}

fn delivery_row(row: DeliveryRow) -> impl IntoView {
    let response = match (row.status, row.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error,
        (None, None) => "—".to_owned(),
    };
    view! {
        <tr>
            <td>{row.at}</td>
            <td><code>{row.event}</code></td>
            <td><code class="small">{row.url}</code></td>
            <td>{row.state}</td>
            <td>{response}</td>
        </tr>
    }
}
