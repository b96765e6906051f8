use crate::api::audit::{AuditLogPage, AuditQuery, list_audit};
use crate::components::{
    audit_table::AuditTable,
    layout::CsrfField,
    pagination::{PrevNext, query_string},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The Audit Log: every event of the selected site, newest first, filtered by actor, client,
/// action and days; older/newer pages by cursor; Export CSV of the same filters.
#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).unwrap_or_default();
    let params = move || {
        (
            AuditQuery {
                actor: param("actor"),
                client: param("client"),
                action: param("action"),
                from: param("from"),
                until: param("until"),
            },
            param("before"),
            param("after"),
        )
    };
    let page = Resource::new_blocking(params, |(query, before, after)| {
        list_audit(query, before, after)
    });
    view! {
        <Title text="Audit Log"/>
        <h1>"Audit Log"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (filters, _, _) = params();
                page.await.map(|page| view! { <AuditView page filters/> })
            })}
        </Suspense>
    }
}

#[component]
fn AuditView(page: AuditLogPage, filters: AuditQuery) -> impl IntoView {
    let problem = |field: &str| {
        page.filter_error
            .as_ref()
            .and_then(|e| e.field_message(field))
    };
    let link = {
        let filters = filters.clone();
        move |cursor: (&'static str, i64)| {
            let mut pairs = filters.pairs();
            pairs.push((cursor.0, cursor.1.to_string()));
            query_string(&pairs)
        }
    };
    let export_filters = filters.pairs();
    let (older, newer) = (
        page.older.map(|id| link(("before", id))),
        page.newer.map(|id| link(("after", id))),
    );
    let empty = page.rows.is_empty() && page.filter_error.is_none();
    view! {
        <p class="subtitle">{format!("Events of {}", page.site_name)}</p>
        <form method="get" action="/audit" class="filters" role="search" aria-label="Filter events">
            <FilterField label="Actor" name="actor" value=filters.actor.clone() hint="Username, client name or operator" error=problem("actor")/>
            <FilterField label="Client" name="client" value=filters.client.clone() hint="Consumer Key" error=problem("client")/>
            <div class="field">
                <label for="filter-action">"Action"</label>
                <select id="filter-action" name="action" aria-invalid=problem("action").is_some().to_string()
                    aria-describedby="filter-action-error">
                    <option value="" selected=filters.action.is_empty()>"Any action"</option>
                    {page.actions.iter().map(|action| view! {
                        <option value=action.clone() selected=*action == filters.action>{action.clone()}</option>
                    }).collect_view()}
                </select>
                <p id="filter-action-error" class="field-error" role="alert">{problem("action")}</p>
            </div>
            <FilterField label="From" name="from" kind="date" value=filters.from.clone() hint="First day (UTC)" error=problem("from")/>
            <FilterField label="Until" name="until" kind="date" value=filters.until.clone() hint="Last day (UTC)" error=problem("until")/>
            <div class="filter-buttons">
                <button type="submit" class="button primary">"Apply filters"</button>
                <a class="button secondary" href="/audit">"Clear"</a>
                <button type="submit" class="button secondary" form="audit-export">"Export CSV"</button>
            </div>
        </form>
        // The export is audited, so it is a POST with the anti-forgery token, not a link.
        <form id="audit-export" method="post" action="/audit/export.csv" class="visually-hidden">
            <CsrfField/>
            {export_filters.into_iter().map(|(name, value)| view! {
                <input type="hidden" name=name value=value/>
            }).collect_view()}
        </form>
        <AuditTable rows=page.rows label="Audit events"/>
        {empty.then(|| view! { <p class="empty">"No events match."</p> })}
        <PrevNext previous=newer next=older previous_label="← Newer" next_label="Older →"/>
    }
}

/// One labelled filter input with its hint and error.
#[component]
fn FilterField(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    value: String,
    hint: &'static str,
    error: Option<String>,
) -> impl IntoView {
    let id = format!("filter-{name}");
    let described = format!("{id}-hint {id}-error");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id.clone() type=kind name=name value=value aria-invalid=error.is_some().to_string()
                aria-describedby=described/>
            <p id=format!("{id}-hint") class="hint">{hint}</p>
            <p id=format!("{id}-error") class="field-error" role="alert">{error}</p>
        </div>
    }
}
