use crate::api::users::list_users;
use crate::components::{
    icons::PadlockIcon,
    pagination::{Pagination, query_string},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Settings > Administrators: every user of the selected site, searchable and paginated.
#[component]
pub fn AdministratorsPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let users = Resource::new_blocking(move || (search(), page()), |(q, page)| list_users(q, page));
    view! {
        <Title text="Administrators"/>
        <h1>"Administrators"</h1>
        <div class="toolbar">
            <form method="get" action="" class="inline-form" role="search">
                <label class="visually-hidden" for="user-search">"Search users"</label>
                <input id="user-search" type="search" name="q" placeholder="Username or email" value=search/>
                <button type="submit" class="button secondary">"Search"</button>
            </form>
            <span class="spacer"></span>
            <a class="button link" href="/deleted">"Deleted"</a>
            <a class="button primary" href="/administrators/new">"Add New Administrator"</a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                users.await.map(|users| {
                    let q = search();
                    let empty = users.rows.is_empty();
                    view! {
                        <p class="subtitle">{format!("{} user(s) on {}", users.total, users.site_name)}</p>
                        <div class="table-wrap">
                            <table class="data" aria-label="Users">
                                <thead><tr>
                                    <th scope="col">"Username"</th>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Roles on this site"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Last sign-in"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {users.rows.into_iter().map(|user| {
                                        let roles = match (user.site_admin, user.api_user) {
                                            (true, true) => "Site administrator, API User",
                                            (true, false) => "Site administrator",
                                            (false, true) => "API User",
                                            (false, false) => "—",
                                        };
                                        view! {
                                            <tr>
                                                <td><a href=format!("/administrators/{}", user.id)>{user.username.clone()}</a></td>
                                                <td>{user.email}</td>
                                                <td>{roles}</td>
                                                <td>{if user.active {
                                                    view! { <span class="badge active">"Active"</span> }.into_any()
                                                } else {
                                                    view! { <span class="badge disabled">"Disabled"</span> }.into_any()
                                                }}</td>
                                                <td>{user.last_sign_in.unwrap_or_else(|| "Never".into())}</td>
                                                <td class="actions">
                                                    <a class="button link" href=format!("/administrators/{}/security", user.id)
                                                        title="Security Settings"
                                                        aria-label=format!("Security Settings for {}", user.username)>
                                                        <PadlockIcon/>
                                                    </a>
                                                    <a class="button link" href=format!("/administrators/{}", user.id)>"Edit"</a>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {empty.then(|| view! { <p class="empty">"No users match."</p> })}
                        <Pagination page=users.page pages=users.pages
                            href=Callback::new(move |p: u64| query_string(&[("q", q.clone()), ("page", p.to_string())]))/>
                    }
                })
            })}
        </Suspense>
    }
}
