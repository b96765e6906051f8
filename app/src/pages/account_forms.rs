//! The forms of `/account` that have a page of their own: "Request a new application" (its
//! Request button waits for the Terms of Use box; the server refuses without it too) and
//! "Change your password".

use crate::api::account::{
    AccountView, ChangeAccountPassword, RequestApplication, RequestOptions, get_account,
    get_request_options,
};
use crate::components::application_fields::{ApplicationFields, TermsOfUseBox};
use crate::components::console_form::{
    ConsoleForm, FieldGroup, FieldMessage, FormFeedback, PasswordField, SubmitButton, endpoint,
};
use crate::pages::account::AccountHeader;
use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// `/account/applications/new`.
#[component]
pub fn RequestApplicationPage() -> impl IntoView {
    let data = Resource::new_blocking(
        || (),
        |_| async {
            Ok::<_, crate::error::ConsoleError>((
                get_account().await?,
                get_request_options().await.ok(),
            ))
        },
    );
    view! {
        <Title text="Request a new application"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((Some(account), Some(options))) => Either::Left(view! {
                        <AccountHeader username=account.username csrf=account.csrf/>
                        <main class="account">
                            <h1>"Request a new application"</h1>
                            <RequestForm options/>
                        </main>
                    }),
                    _ => Either::Right(view! { <Redirect path="/account"/> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RequestForm(options: RequestOptions) -> impl IntoView {
    let one_site = options.sites.len() == 1;
    let several = options.sites.len() > 1;
    let site_choices = options
        .sites
        .iter()
        .map(|site| view! { <option value=site.id.to_string() selected=one_site>{site.name.clone()}</option> })
        .collect_view();
    let mut index = 0usize;
    let scope_boxes = options
        .sites
        .into_iter()
        .map(|site| {
            let boxes = site
                .scopes
                .into_iter()
                .map(|scope| {
                    let i = index;
                    index += 1;
                    let checked = scope.name == "profile";
                    view! {
                        <label class="checkbox-line">
                            <input type="checkbox" name=format!("scopes[{i}]") value=scope.name.clone() checked=checked/>
                            " "<code>{scope.name.clone()}</code>" — "{scope.description}
                        </label>
                    }
                })
                .collect_view();
            view! {
                {several.then(|| view! { <p class="hint">{format!("On {}:", site.name)}</p> })}
                {boxes}
            }
        })
        .collect_view();
    view! {
        <p class="hint">"A site administrator reviews your request. Once it is approved you see its Consumer Key and Consumer Secret on your account page; the secret is shown only once."</p>
        <ConsoleForm action={endpoint::<RequestApplication>()} class="stacked" requires_checked="accept_terms">
            <input type="hidden" name="csrf" value=options.csrf.clone()/>
            <FormFeedback summarize_fields=true/>
            <FieldGroup name="site_id">
                <label for="field-site_id">"Site"</label>
                <select id="field-site_id" name="site_id" aria-describedby="site_id-error">
                    {(!one_site).then(|| view! { <option value="">"Choose a site…"</option> })}
                    {site_choices}
                </select>
            </FieldGroup>
            <ApplicationFields allow_loopback=options.allow_loopback/>
            <fieldset class="roles">
                <legend>"Scopes"</legend>
                {scope_boxes}
                <FieldMessage name="scopes"/>
            </fieldset>
            <TermsOfUseBox version=options.terms_version.clone()/>
            <div class="toolbar">
                <SubmitButton label="Request"/>
                <a class="button secondary" href="/account">"Cancel"</a>
            </div>
        </ConsoleForm>
    }
}

/// `/account/password`.
#[component]
pub fn AccountPasswordPage() -> impl IntoView {
    let account = Resource::new_blocking(|| (), |_| get_account());
    view! {
        <Title text="Change your password"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(Some(AccountView { username, csrf, .. })) => Either::Left(view! {
                        <AccountHeader username csrf=csrf.clone()/>
                        <main class="account narrow">
                            <h1>"Change your password"</h1>
                            <ConsoleForm action={endpoint::<ChangeAccountPassword>()} class="stacked"
                                success="Password changed. Your other sessions have ended.">
                                <input type="hidden" name="csrf" value=csrf/>
                                <FormFeedback/>
                                <PasswordField label="Current password" name="current_password" autocomplete="current-password"/>
                                <PasswordField label="New password" name="password" autocomplete="new-password"/>
                                <div class="toolbar">
                                    <SubmitButton label="Change password"/>
                                    <a class="button secondary" href="/account">"Back"</a>
                                </div>
                            </ConsoleForm>
                        </main>
                    }),
                    _ => Either::Right(view! { <Redirect path="/account"/> }),
                }
            })}
        </Suspense>
    }
}
