//! The E-mail section of the Webhooks page: the site's e-mail switch, what goes by e-mail to
//! whom, a test message to oneself, and the mail log.

use crate::api::mail::{MailRow, SendTestMail, SetEmailNotifications, get_mail};
use crate::components::{
    console_form::{ConsoleForm, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::prelude::*;

/// E-mail notifications of the selected site.
#[component]
pub fn EmailSection() -> impl IntoView {
    let section = Resource::new_blocking(|| (), |_| get_mail());
    view! {
        <section class="panel" aria-labelledby="email-heading">
            <h2 id="email-heading">"E-mail"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    section.await.map(|section| {
                        let state = match (section.enabled, section.configured) {
                            (true, true) => "E-mail notifications are on.",
                            (true, false) => "E-mail notifications are on, but this server has no SMTP server configured: messages wait until the operator sets --smtp-url.",
                            (false, true) => "E-mail notifications are off.",
                            (false, false) => "E-mail notifications are off. This server has no SMTP server configured (--smtp-url); ask the operator.",
                        };
                        let toggle_label = if section.enabled { "Turn e-mail off" } else { "Turn e-mail on" };
                        let toggle_value = (!section.enabled).to_string();
                        let can_toggle = section.enabled || section.configured;
                        let can_test = section.enabled && section.configured;
                        let no_messages = section.messages.is_empty();
                        view! {
                            <p data-testid="email-state">{state}</p>
                            <ul class="small">
                                {section.audiences.into_iter().map(|(event, who)| view! {
                                    <li><code>{event}</code>" → "{who}</li>
                                }).collect_view()}
                            </ul>
                            <div class="toolbar">
                                {can_toggle.then(|| view! {
                                    <ConsoleForm action={endpoint::<SetEmailNotifications>()} class="inline-form">
                                        <CsrfField/>
                                        <input type="hidden" name="enabled" value=toggle_value/>
                                        <SubmitButton label=toggle_label class="button secondary"/>
                                        <FormFeedback/>
                                    </ConsoleForm>
                                })}
                                {can_test.then(|| view! {
                                    <ConsoleForm action={endpoint::<SendTestMail>()} class="inline-form">
                                        <CsrfField/>
                                        <SubmitButton label="Send a test e-mail to me" class="button secondary"/>
                                        <FormFeedback/>
                                    </ConsoleForm>
                                })}
                            </div>
                            <h3>"Mail log"</h3>
                            {if no_messages {
                                view! { <p class="empty">"No e-mail sent yet."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="data" aria-label="E-mails">
                                            <thead><tr>
                                                <th scope="col">"When"</th>
                                                <th scope="col">"Event"</th>
                                                <th scope="col">"To"</th>
                                                <th scope="col">"Subject"</th>
                                                <th scope="col">"State"</th>
                                            </tr></thead>
                                            <tbody>{section.messages.into_iter().map(mail_row).collect_view()}</tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        }
                    })
                })}
            </Suspense>
        </section>
    }
}

fn mail_row(row: MailRow) -> impl IntoView {
    let state = match row.error {
        Some(error) if row.state != "Sent" => format!("{} — {error}", row.state),
        _ => row.state,
    };
    view! {
        <tr>
            <td>{row.at}</td>
            <td><code>{row.event}</code></td>
            <td>{row.recipient}</td>
            <td>{row.subject}</td>
            <td>{state}</td>
        </tr>
    }
}
