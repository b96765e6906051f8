use crate::api::sites::{AddSiteScope, RemoveSiteScope, SiteSettings, get_site_settings};
use crate::components::{
    console_form::{ConsoleForm, Field, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// A site's scope catalogue: what its clients may be registered for.
#[component]
pub fn SiteSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let site_id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    });
    let settings = Resource::new_blocking(
        move || site_id.get(),
        |id| async move {
            match id {
                Some(id) => get_site_settings(id).await,
                None => Err(crate::error::ConsoleError::NotFound),
            }
        },
    );
    view! {
        <Title text="Site settings"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                settings.await.map(|settings| view! { <Catalogue settings/> })
            })}
        </Suspense>
    }
}

#[component]
fn Catalogue(settings: SiteSettings) -> impl IntoView {
    let id = settings.id.to_string();
    view! {
        <h1>{settings.name.clone()}<span class="subtitle">"Scope catalogue"</span></h1>
        <p><a href="/sites">"← Sites"</a></p>
        <section class="panel">
            <table class="data" aria-label="Scopes">
                <thead><tr><th scope="col">"Scope"</th><th scope="col">"Description"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {settings.scopes.into_iter().map(|(name, description)| {
                        let id = id.clone();
                        view! {
                            <tr>
                                <td><code>{name.clone()}</code></td>
                                <td>{description}</td>
                                <td class="actions">
                                    <ConsoleForm action={endpoint::<RemoveSiteScope>()} class="inline-form" success="Scope removed.">
                                        <CsrfField/>
                                        <input type="hidden" name="site_id" value=id/>
                                        <input type="hidden" name="name" value=name.clone()/>
                                        <button type="submit" class="button secondary small" aria-label=format!("Remove scope {name}")>"Remove"</button>
                                        <FormFeedback/>
                                    </ConsoleForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Add a scope"</h2>
            <ConsoleForm action={endpoint::<AddSiteScope>()} class="stacked" success="Scope added.">
                <CsrfField/>
                <input type="hidden" name="site_id" value=id.clone()/>
                <FormFeedback/>
                <Field label="Scope name" name="name" hint="Lower-case letters, digits, _ . : - (e.g. reports:read)"/>
                <Field label="Description" name="description" hint="What it lets an application do, shown on the authorization prompt."/>
                <SubmitButton label="Add scope"/>
            </ConsoleForm>
        </section>
    }
}
