use super::administrator_edit::user_id_param;
use crate::api::{clients::list_owned_clients, users::get_user};
use crate::components::layout::console_session;
use leptos::prelude::*;
use leptos_meta::Title;

/// Security Settings of a user (the padlock): their registered applications on the selected
/// site and the Register New Application button.
#[component]
pub fn SecuritySettingsPage() -> impl IntoView {
    let user_id = user_id_param();
    let user = Resource::new_blocking(
        move || user_id.get(),
        |id| async move {
            match id {
                Some(id) => get_user(id).await,
                None => Err(crate::error::ConsoleError::NotFound),
            }
        },
    );
    let owned = Resource::new_blocking(
        move || user_id.get(),
        |id| async move {
            match id {
                Some(id) => list_owned_clients(id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    view! {
        <Title text="Security Settings"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                Suspend::new(async move {
                    let site = console_session().await.map(|s| s.site);
                    let owned = owned.await.unwrap_or_default();
                    user.await.map(|user| {
                        let api_user_here = site
                            .as_ref()
                            .and_then(|site| user.roles.iter().find(|r| r.site.id == site.id))
                            .is_some_and(|r| r.api_user);
                        let site_name = site.map(|s| s.name).unwrap_or_default();
                        view! {
                            <h1>"Security Settings"<span class="subtitle">{user.username.clone()}</span></h1>
                            <p class="toolbar"><a href=format!("/administrators/{}", user.id)>{format!("← {}", user.username)}</a></p>
                            <section class="panel">
                                <h2>"Applications"</h2>
                                {if owned.is_empty() {
                                    view! { <p class="empty">{format!("{} has no registered applications on {}.", user.username, site_name)}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data" aria-label="Applications">
                                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Consumer Key"</th><th scope="col">"Registered"</th><th scope="col">"Status"</th></tr></thead>
                                            <tbody>
                                                {owned.into_iter().map(|c| view! {
                                                    <tr>
                                                        <td><a href=format!("/clients/{}", c.id)>{c.name}</a></td>
                                                        <td class="mono">{c.client_id}</td>
                                                        <td>{c.created}</td>
                                                        <td>{if c.active { "Active" } else { "Disabled" }}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                                {if api_user_here {
                                    view! {
                                        <a class="button primary" href=format!("/clients/new?owner={}", user.id)>"Register New Application"</a>
                                    }.into_any()
                                } else {
                                    view! {
                                        <p class="hint">{format!(
                                            "Applications act on behalf of an API user. Give {} the API User permission on {} to register one.",
                                            user.username, site_name
                                        )}</p>
                                        <span class="button primary" aria-disabled="true">"Register New Application"</span>
                                    }.into_any()
                                }}
                            </section>
                        }
                    })
                })
            }}
        </Suspense>
    }
}
