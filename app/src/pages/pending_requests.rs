//! Requested applications waiting for a site administrator: the Pending list (on the API
//! Clients tab and the Dashboard) with everything requested, and the Approve / Reject forms
//! (also on a pending client's page). Both forms work without JavaScript.

use crate::api::clients::{ApproveRequest, PendingRequest, RejectRequest, get_pending_requests};
use crate::components::{
    console_form::{ConsoleForm, FieldMessage, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::prelude::*;
use uuid::Uuid;

/// The selected site's pending requests; nothing at all when there are none.
#[component]
pub fn PendingRequests() -> impl IntoView {
    let pending = Resource::new_blocking(|| (), |_| get_pending_requests());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let rows = pending.await.unwrap_or_default();
                (!rows.is_empty()).then(|| view! { <PendingList rows/> })
            })}
        </Suspense>
    }
}

#[component]
fn PendingList(rows: Vec<PendingRequest>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="pending-requests" data-testid="pending-requests">
            <h2 id="pending-requests">{format!("Pending approval ({})", rows.len())}</h2>
            <p class="hint">"Applications API users requested for themselves. They cannot obtain tokens until approved; the owner is told of your decision."</p>
            <ul class="applications">
                {rows.into_iter().map(|row| view! {
                    <li data-testid=format!("pending-{}", row.client_id)>
                        <h3><a href=format!("/clients/{}", row.id)>{row.name.clone()}</a></h3>
                        <p class="muted">{row.description.clone()}</p>
                        <dl class="details">
                            <dt>"Requested by"</dt><dd>{row.requested_by.clone()}</dd>
                            <dt>"Requested"</dt><dd>{row.requested_at.clone()}</dd>
                            <dt>"Redirect URI"</dt><dd><code>{row.redirect_uri.clone()}</code></dd>
                            <dt>"Scopes"</dt>
                            <dd>{row.scopes.iter().map(|scope| view! {
                                <code title=scope.description.clone()>{scope.name.clone()}</code>" "
                            }).collect_view()}</dd>
                            <dt>"Consumer Key"</dt><dd><code>{row.client_id.clone()}</code></dd>
                        </dl>
                        <ReviewForms client_uuid=row.id/>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Approve, or Reject with a reason, one pending request.
#[component]
pub fn ReviewForms(
    /// The pending client.
    client_uuid: Uuid,
) -> impl IntoView {
    let id = client_uuid.to_string();
    let reason_id = format!("reason-{id}");
    let approve_id = id.clone();
    view! {
        <div class="toolbar">
            <ConsoleForm action={endpoint::<ApproveRequest>()} class="inline-form" success="Request approved.">
                <CsrfField/>
                <FormFeedback/>
                <input type="hidden" name="client_uuid" value=approve_id/>
                <SubmitButton label="Approve"/>
            </ConsoleForm>
            <ConsoleForm action={endpoint::<RejectRequest>()} class="inline-form wrap" success="Request rejected.">
                <CsrfField/>
                <FormFeedback/>
                <input type="hidden" name="client_uuid" value=id/>
                // Several requests on one page: the reason's id names its request.
                <label for=reason_id.clone()>"Reason"</label>
                <input id=reason_id name="reason" required maxlength="500"
                    aria-describedby="reason-error"/>
                <FieldMessage name="reason"/>
                <SubmitButton label="Reject"/>
            </ConsoleForm>
        </div>
    }
}
