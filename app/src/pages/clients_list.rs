use crate::api::clients::list_clients;
use crate::components::{
    expiry_badge::{ExpiryBadge, StatusBadge},
    pagination::{Pagination, query_string},
};
use crate::pages::pending_requests::PendingRequests;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The API Clients tab: every client of the selected site, searchable, sortable, paginated,
/// and filterable to clients unused for N days.
#[component]
pub fn ClientsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.read().get(key).unwrap_or_default();
    let params = move || {
        (
            param("q"),
            param("sort"),
            param("dir"),
            param("page").parse::<u64>().unwrap_or(0),
            param("unused"),
            param("expiring"),
        )
    };
    let clients = Resource::new_blocking(params, |(q, sort, dir, page, unused, expiring)| {
        list_clients(q, sort, dir, page, unused, expiring)
    });
    view! {
        <Title text="API Clients"/>
        <h1>"API Clients"</h1>
        <PendingRequests/>
        <div class="toolbar">
            <form method="get" action="" class="inline-form wrap" role="search">
                <label class="visually-hidden" for="client-search">"Search clients"</label>
                <input id="client-search" type="search" name="q" placeholder="Name or Consumer Key" value=move || param("q")/>
                <label for="client-unused">"Not used for"</label>
                <input id="client-unused" type="number" name="unused" min="0" max="36500" class="narrow-number"
                    placeholder="days" value=move || param("unused")/>
                <span>"days"</span>
                <label class="checkbox-line">
                    <input type="checkbox" name="expiring" value="30" checked=move || !param("expiring").is_empty()/>
                    " Secret expiring within 30 days"
                </label>
                <input type="hidden" name="sort" value=move || param("sort")/>
                <input type="hidden" name="dir" value=move || param("dir")/>
                <button type="submit" class="button secondary">"Apply"</button>
            </form>
            <span class="spacer"></span>
            <a class="button link" href="/deleted">"Deleted"</a>
            <a class="button primary" href="/clients/new">"Create a New API Client"</a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                clients.await.map(|page| {
                    let (q, sort, dir, _, unused, expiring) = params();
                    let link = {
                        let (q, unused) = (q.clone(), unused.clone());
                        move |sort: &str, dir: &str, page: u64| {
                            query_string(&[
                                ("q", q.clone()),
                                ("unused", unused.clone()),
                                ("expiring", expiring.clone()),
                                ("sort", sort.to_owned()),
                                ("dir", dir.to_owned()),
                                ("page", if page == 0 { String::new() } else { page.to_string() }),
                            ])
                        }
                    };
                    let current_sort = if sort.is_empty() { "created".to_owned() } else { sort.clone() };
                    let current_dir = if dir.is_empty() {
                        if current_sort == "created" { "desc".to_owned() } else { "asc".to_owned() }
                    } else {
                        dir.clone()
                    };
                    let header = {
                        let link = link.clone();
                        let (current_sort, current_dir) = (current_sort.clone(), current_dir.clone());
                        move |key: &'static str, label: &'static str| {
                            let active = current_sort == key;
                            let next_dir = if active && current_dir == "asc" { "desc" } else { "asc" };
                            let aria = if active { if current_dir == "asc" { "ascending" } else { "descending" } } else { "none" };
                            let arrow = if active { if current_dir == "asc" { " ▲" } else { " ▼" } } else { "" };
                            view! {
                                <th scope="col" aria-sort=aria>
                                    <a href=link(key, next_dir, 0)>{label}{arrow}</a>
                                </th>
                            }
                        }
                    };
                    let empty = page.rows.is_empty();
                    let pager_link = {
                        let (sort, dir) = (sort.clone(), dir.clone());
                        move |p: u64| link(&sort, &dir, p)
                    };
                    view! {
                        <p class="subtitle">{format!("{} client(s) on {}", page.total, page.site_name)}</p>
                        <div class="table-wrap">
                            <table class="data" aria-label="API clients">
                                <thead><tr>
                                    {header("name", "Name")}
                                    {header("owner", "Owner")}
                                    {header("created", "Created")}
                                    {header("last_used", "Last used")}
                                    {header("status", "Status")}
                                </tr></thead>
                                <tbody>
                                    {page.rows.into_iter().map(|row| view! {
                                        <tr>
                                            <td>
                                                <a href=format!("/clients/{}", row.id)>{row.name}</a>
                                                <div class="mono small muted">{row.client_id}</div>
                                            </td>
                                            <td>{row.owner}</td>
                                            <td>{row.created}</td>
                                            <td>{row.last_used.unwrap_or_else(|| "Never".into())}</td>
                                            <td><StatusBadge status=row.status/>
                                            " "<ExpiryBadge days=row.secret_expires_in_days/></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {empty.then(|| view! { <p class="empty">"No API clients match."</p> })}
                        <Pagination page=page.page pages=page.pages href=Callback::new(pager_link)/>
                    }
                })
            })}
        </Suspense>
    }
}
