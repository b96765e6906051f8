use crate::api::deleted::{
    DeletedClientRow, DeletedUserRow, PurgeClient, PurgeUser, RestoreClient, RestoreUser,
    list_deleted,
};
use crate::components::{
    console_form::{ConfirmBox, ConsoleForm, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

/// Deleted: the selected site's deleted API clients and users, each restorable until it is
/// purged, or deleted for good at once. Right after a deletion (`?undo=<id>`), a notice on
/// top offers to undo it.
#[component]
pub fn DeletedPage() -> impl IntoView {
    let query = use_query_map();
    let undo = move || {
        query
            .read()
            .get("undo")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let items = Resource::new_blocking(|| (), |_| list_deleted());
    view! {
        <Title text="Deleted"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                items.await.map(|items| {
                    let just = undo();
                    let undo_notice = just.and_then(|id| {
                        items.clients.iter().find(|c| c.id == id).map(|c| {
                            undo_view(format!("API client \"{}\" deleted; every token it held is revoked.", c.name), endpoint::<RestoreClient>(), "client_uuid", id)
                        }).or_else(|| items.users.iter().find(|u| u.id == id).map(|u| {
                            undo_view(format!("User \"{}\" deleted with {} API client(s); every grant is revoked.", u.username, u.clients.len()), endpoint::<RestoreUser>(), "user_id", id)
                        }))
                    });
                    let no_clients = items.clients.is_empty();
                    let no_users = items.users.is_empty();
                    view! {
                        <h1>"Deleted"<span class="subtitle">{items.site_name.clone()}</span></h1>
                        {undo_notice}
                        <p class="hint">{format!(
                            "Deleted API clients and users stay here for {} days: restore them as they were (their tokens stay revoked), or delete them now. Then they are purged for good.",
                            items.retention_days
                        )}</p>
                        <section class="panel" aria-labelledby="deleted-clients">
                            <h2 id="deleted-clients">"API clients"</h2>
                            {if no_clients {
                                view! { <p class="empty">"No deleted API clients."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="data" aria-label="Deleted API clients">
                                            <thead><tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Owner"</th>
                                                <th scope="col">"Deleted"</th>
                                                <th scope="col">"Purged"</th>
                                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                            </tr></thead>
                                            <tbody>{items.clients.into_iter().map(client_row).collect_view()}</tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </section>
                        <section class="panel" aria-labelledby="deleted-users">
                            <h2 id="deleted-users">"Users"</h2>
                            {if no_users {
                                view! { <p class="empty">"No deleted users."</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap">
                                        <table class="data" aria-label="Deleted users">
                                            <thead><tr>
                                                <th scope="col">"Username"</th>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Deleted with them"</th>
                                                <th scope="col">"Deleted"</th>
                                                <th scope="col">"Purged"</th>
                                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                            </tr></thead>
                                            <tbody>{items.users.into_iter().map(user_row).collect_view()}</tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                        </section>
                    }
                })
            })}
        </Suspense>
    }
}

/// The notice right after a deletion, with its Undo button.
fn undo_view(message: String, action: String, field: &'static str, id: Uuid) -> impl IntoView {
    view! {
        <div class="notice undo" role="status">
            <span>{message}</span>
            <ConsoleForm action class="inline-form">
                <CsrfField/>
                <input type="hidden" name=field value=id.to_string()/>
                <SubmitButton label="Undo" class="button secondary"/>
                <FormFeedback/>
            </ConsoleForm>
        </div>
    }
}

/// When it is purged, in words and as a date.
fn purge_cell(days: i64, on: String) -> impl IntoView {
    view! {
        <td>
            <span class="badge soon">{if days <= 1 { "within a day".to_owned() } else { format!("in {days} days") }}</span>
            " "<span class="small muted">{on}</span>
        </td>
    }
}

fn client_row(client: DeletedClientRow) -> impl IntoView {
    let id = client.id.to_string();
    let restore_id = id.clone();
    let name = client.name.clone();
    view! {
        <tr>
            <td>{client.name.clone()}<br/><code class="small">{client.client_id}</code></td>
            <td>{client.owner.clone()}{client.with_owner.then(|| view! { " "<span class="small muted">"(deleted too)"</span> })}</td>
            <td>{client.deleted}</td>
            {purge_cell(client.purge_in_days, client.purge_on)}
            <td class="actions">
                {if client.with_owner {
                    view! { <span class="small muted">{format!("Restore {} to restore it", client.owner)}</span> }.into_any()
                } else {
                    view! {
                        <ConsoleForm action={endpoint::<RestoreClient>()} class="inline-form">
                            <CsrfField/>
                            <input type="hidden" name="client_uuid" value=restore_id/>
                            <SubmitButton label=format!("Restore {name}") class="button secondary"/>
                            <FormFeedback/>
                        </ConsoleForm>
                    }.into_any()
                }}
                <ConsoleForm action={endpoint::<PurgeClient>()} class="inline-form" success="Deleted for good." requires_checked="confirm">
                    <CsrfField/>
                    <input type="hidden" name="client_uuid" value=id/>
                    <ConfirmBox name="confirm" label="This cannot be undone" always=true/>
                    <SubmitButton label=format!("Delete {} now", client.name) class="button danger"/>
                    <FormFeedback/>
                </ConsoleForm>
            </td>
        </tr>
    }
}

fn user_row(user: DeletedUserRow) -> impl IntoView {
    let id = user.id.to_string();
    let restore_id = id.clone();
    let restore_label = format!("Restore {}", user.username);
    let purge_label = format!("Delete {} now", user.username);
    let clients = if user.clients.is_empty() {
        "—".to_owned()
    } else {
        user.clients.join(", ")
    };
    view! {
        <tr>
            <td>{user.username.clone()}</td>
            <td>{user.email}</td>
            <td>{clients}</td>
            <td>{user.deleted}</td>
            {purge_cell(user.purge_in_days, user.purge_on)}
            <td class="actions">
                <ConsoleForm action={endpoint::<RestoreUser>()} class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="user_id" value=restore_id/>
                    <SubmitButton label=restore_label class="button secondary"/>
                    <FormFeedback/>
                </ConsoleForm>
                <ConsoleForm action={endpoint::<PurgeUser>()} class="inline-form" success="Deleted for good." requires_checked="confirm">
                    <CsrfField/>
                    <input type="hidden" name="user_id" value=id/>
                    <ConfirmBox name="confirm" label="This cannot be undone" always=true/>
                    <SubmitButton label=purge_label class="button danger"/>
                    <FormFeedback/>
                </ConsoleForm>
            </td>
        </tr>
    }
}
