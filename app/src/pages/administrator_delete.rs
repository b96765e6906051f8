use super::administrator_edit::user_id_param;
use crate::api::users::{DeleteUser, preview_user_deletion};
use crate::components::{
    console_form::{ConsoleForm, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;

/// Confirmation before deleting a user: says exactly what the deletion takes with it.
#[component]
pub fn DeleteAdministratorPage() -> impl IntoView {
    let user_id = user_id_param();
    let preview = Resource::new_blocking(
        move || user_id.get(),
        |id| async move {
            match id {
                Some(id) => preview_user_deletion(id).await,
                None => Err(crate::error::ConsoleError::NotFound),
            }
        },
    );
    view! {
        <Title text="Delete user"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                preview.await.map(|preview| {
                    let id = user_id.get_untracked().map(|id| id.to_string()).unwrap_or_default();
                    view! {
                        <h1>{format!("Delete {}?", preview.username)}</h1>
                        <div class="panel">
                            <p>{format!(
                                "{} will be removed from {} and will no longer be able to sign in or authorize API clients.",
                                preview.username,
                                preview.sites.join(", ")
                            )}</p>
                            <p>{if preview.clients.is_empty() {
                                format!("{} owns no API clients.", preview.username)
                            } else {
                                format!(
                                    "Their {} API client(s) will be deleted with them, every token revoked: {}.",
                                    preview.clients.len(),
                                    preview.clients.join(", ")
                                )
                            }}</p>
                            <p>{format!(
                                "{} grant(s) {} gave to applications will be revoked.",
                                preview.grants, preview.username
                            )}</p>
                            <p>{format!(
                                "They move to Deleted, where you can restore them (with their roles and those clients) for {} days; then they are purged. Tokens stay revoked. The audit log keeps every event about them.",
                                preview.retention_days
                            )}</p>
                        </div>
                        {if preview.last_admin_of.is_empty() {
                            Either::Left(view! {
                                <ConsoleForm action={endpoint::<DeleteUser>()} class="inline-form">
                                    <CsrfField/>
                                    <input type="hidden" name="user_id" value=id.clone()/>
                                    <SubmitButton label=format!("Delete {}", preview.username) class="button danger"/>
                                    <a class="button secondary" href=format!("/administrators/{id}")>"Cancel"</a>
                                    <FormFeedback/>
                                </ConsoleForm>
                            })
                        } else {
                            Either::Right(view! {
                                <p class="form-error" role="alert">{format!(
                                    "{} is the only active site administrator of {}. Make someone else a site administrator there first.",
                                    preview.username,
                                    preview.last_admin_of.join(", ")
                                )}</p>
                                <a class="button secondary" href=format!("/administrators/{id}")>"Back"</a>
                            })
                        }}
                    }
                })
            })}
        </Suspense>
    }
}
