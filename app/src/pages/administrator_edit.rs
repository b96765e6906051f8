use crate::api::{
    session::SignOutEverywhere,
    users::{
        ResetUserPassword, SetUserDisabled, UpdateUserEmail, UpdateUserRoles, UserDetail, get_user,
    },
};
use crate::components::{
    console_form::{
        ConfirmPassword, ConsoleForm, Field, FieldMessage, FormFeedback, PasswordField,
        SubmitButton, endpoint,
    },
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The user id in the URL (`/administrators/:id/...`), if it is one.
pub fn user_id_param() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|id| id.parse().ok()))
}

/// Edit a user: email, roles on each site the viewer administers, password, status.
#[component]
pub fn EditAdministratorPage() -> impl IntoView {
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
    view! {
        <Title text="Edit user"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                user.await.map(|user| view! { <EditUser user/> })
            })}
        </Suspense>
    }
}

#[component]
fn EditUser(user: UserDetail) -> impl IntoView {
    let manage = user.can_manage_account;
    view! {
        <h1>{user.username.clone()}
            {if user.active {
                view! { <span class="badge active">"Active"</span> }.into_any()
            } else {
                view! { <span class="badge disabled">"Disabled"</span> }.into_any()
            }}
        </h1>
        <p class="toolbar">
            <a href="/administrators">"← Administrators"</a>
            <a class="button secondary small" href=format!("/administrators/{}/security", user.id)>"Security Settings"</a>
        </p>
        <dl class="details panel">
            <dt>"Email"</dt><dd>{user.email.clone()}</dd>
            <dt>"Created"</dt><dd>{user.created.clone()}</dd>
            <dt>"Last sign-in"</dt><dd>{user.last_sign_in.clone().unwrap_or_else(|| "Never".into())}</dd>
        </dl>
        {(!manage).then(|| view! {
            <p class="warning">"This user also belongs to sites you do not administer: their email, password and status can only be changed by an administrator of all their sites."</p>
        })}
        <RolesSection user=user.clone()/>
        {manage.then(|| view! {
            <EmailSection user=user.clone()/>
            <PasswordSection user=user.clone()/>
            <StatusSection user=user.clone()/>
        })}
    }
}

#[component]
fn RolesSection(user: UserDetail) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Roles by site"</h2>
            <ConsoleForm action={endpoint::<UpdateUserRoles>()} success="Roles saved.">
                <CsrfField/>
                <input type="hidden" name="user_id" value=user.id.to_string()/>
                <FormFeedback/>
                <table class="data" aria-label="Roles by site">
                    <thead><tr><th scope="col">"Site"</th><th scope="col">"Site administrator"</th><th scope="col">"API User"</th></tr></thead>
                    <tbody>
                        {user.roles.iter().enumerate().map(|(i, row)| view! {
                            <tr>
                                <td>
                                    <input type="hidden" name=format!("roles[{i}][site_id]") value=row.site.id.to_string()/>
                                    {row.site.name.clone()}
                                </td>
                                <td><input type="checkbox" name=format!("roles[{i}][site_admin]") checked=row.site_admin
                                    aria-label=format!("Site administrator on {}", row.site.name)/></td>
                                <td><input type="checkbox" name=format!("roles[{i}][api_user]") checked=row.api_user
                                    aria-label=format!("API User on {}", row.site.name)/></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <p class="hint">"Untick both boxes to remove the user from a site."</p>
                <p><FieldMessage name="roles"/></p>
                <ConfirmPassword id="roles-confirm-password" always=user.needs_password/>
                <SubmitButton label="Save roles"/>
            </ConsoleForm>
        </section>
    }
}

#[component]
fn EmailSection(user: UserDetail) -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Email address"</h2>
            <ConsoleForm action={endpoint::<UpdateUserEmail>()} success="Email address saved.">
                <CsrfField/>
                <input type="hidden" name="user_id" value=user.id.to_string()/>
                <FormFeedback/>
                <Field label="Email Address" name="email" kind="email" value=user.email/>
                <SubmitButton label="Save email"/>
            </ConsoleForm>
        </section>
    }
}

#[component]
fn PasswordSection(user: UserDetail) -> impl IntoView {
    let hint = "At least 12 characters; not a common password; not containing the username.";
    if user.is_self {
        return view! {
            <section class="panel">
                <h2>"Change your password"</h2>
                <ConsoleForm action={endpoint::<ResetUserPassword>()} success="Password changed. Your other sessions were signed out.">
                    <CsrfField/>
                    <input type="hidden" name="user_id" value=user.id.to_string()/>
                    <FormFeedback/>
                    <PasswordField label="Current password" name="current_password" autocomplete="current-password"/>
                    <PasswordField label="New password" name="password" autocomplete="new-password" check_strength=true
                        username=user.username.clone() hint=hint/>
                    <SubmitButton label="Change password"/>
                </ConsoleForm>
            </section>
            <section class="panel">
                <h2>"Sessions"</h2>
                <p class="hint">"Signs you out of the console on every device and browser, this one included."</p>
                <ConsoleForm action={endpoint::<SignOutEverywhere>()} class="inline-form">
                    <CsrfField/>
                    <SubmitButton label="Sign out everywhere" class="button secondary"/>
                    <FormFeedback/>
                </ConsoleForm>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel">
            <h2>"Reset password"</h2>
            <p class="hint">"Setting a new password signs the user out of every session."</p>
            <ConsoleForm action={endpoint::<ResetUserPassword>()} success="Password changed.">
                <CsrfField/>
                <input type="hidden" name="user_id" value=user.id.to_string()/>
                <FormFeedback/>
                <PasswordField label="New password" name="password" autocomplete="new-password" check_strength=true
                    username=user.username.clone() hint=hint/>
                <ConfirmPassword id="reset-confirm-password" always=user.needs_password/>
                <SubmitButton label="Set password"/>
            </ConsoleForm>
        </section>
    }
    .into_any()
}

#[component]
fn StatusSection(user: UserDetail) -> impl IntoView {
    let id = user.id;
    view! {
        <section class="panel">
            <h2>"Status"</h2>
            {if user.is_self {
                view! { <p class="hint">"You cannot disable or delete your own account."</p> }.into_any()
            } else {
                view! {
                    <ConsoleForm action={endpoint::<SetUserDisabled>()} class="inline-form" success="Status changed.">
                        <CsrfField/>
                        <input type="hidden" name="user_id" value=id.to_string()/>
                        <input type="hidden" name="disabled" value=user.active.to_string()/>
                        <SubmitButton class=if user.active { "button danger" } else { "button primary" }
                            label=if user.active { "Disable user" } else { "Enable user" }/>
                        <FormFeedback/>
                    </ConsoleForm>
                    <p class="hint">"A disabled user can sign in nowhere and can authorize no client."</p>
                    <p><a class="button secondary" href=format!("/administrators/{id}/delete")>"Delete user…"</a></p>
                }.into_any()
            }}
        </section>
    }
}
