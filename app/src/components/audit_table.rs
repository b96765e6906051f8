//! Audit events as a table: the Audit Log page and a client's history on its details page.

use crate::api::audit::AuditRow;
use leptos::prelude::*;

/// Audit events, newest first: time, actor, action, target, address, summary.
#[component]
pub fn AuditTable(
    /// The events.
    rows: Vec<AuditRow>,
    /// Accessible name of the table.
    label: &'static str,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data" aria-label=label>
                <thead><tr>
                    <th scope="col">"Time (UTC)"</th>
                    <th scope="col">"Actor"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Summary"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! {
                        <tr data-event-id=row.id.to_string()>
                            <td><time datetime=row.at_rfc3339>{row.at}</time></td>
                            <td>{row.actor}<div class="small muted">{row.actor_kind}</div></td>
                            <td><code class="small">{row.action}</code></td>
                            <td>{row.target.map(|(kind, label)| view! { {label}<div class="small muted">{kind}</div> })}</td>
                            <td class="mono small">{row.address}</td>
                            <td class="summary">{row.summary}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
