//! A client's failure timeline on its details page: counts per reason, then the newest
//! refusals with their real reason (the wire carried only the RFC error code).

use crate::api::clients::{FailureCount, FailureRow};
use leptos::prelude::*;

/// Why the client's requests were refused: counts per reason (7 days) and the newest rows.
#[component]
pub fn FailureTimeline(
    /// Counts per reason, most frequent first.
    counts: Vec<FailureCount>,
    /// The newest rows, newest first.
    rows: Vec<FailureRow>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted">"No refused requests recorded."</p> }.into_any();
    }
    view! {
        <ul class="failure-counts" aria-label="Refusals per reason, last 7 days">
            {counts.into_iter().map(|c| view! {
                <li data-reason=c.reason_code>
                    <strong>{c.count}</strong>" × "{c.reason}
                    <span class="small muted">" (last "{c.last}")"</span>
                </li>
            }).collect_view()}
        </ul>
        <div class="table-wrap">
            <table class="data" aria-label="Recent failures">
                <thead><tr>
                    <th scope="col">"Last (UTC)"</th>
                    <th scope="col">"Reason"</th>
                    <th scope="col">"What happened"</th>
                    <th scope="col">"Sent"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Times"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr data-reason=row.reason_code>
                            <td>{row.when}</td>
                            <td>{row.reason}</td>
                            <td class="summary">{row.detail}</td>
                            <td><code class="small">{row.error_code}</code></td>
                            <td class="mono small">{row.address}</td>
                            <td>{row.count}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
