use crate::api::sites::{CreateSite, RenameSite, SiteRow, list_sites};
use crate::components::{
    console_form::{ConsoleForm, Field, FieldMessage, FormFeedback, SubmitButton, endpoint},
    layout::CsrfField,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The Sites tab: the sites this administrator administers; create and rename.
#[component]
pub fn SitesPage() -> impl IntoView {
    let sites = Resource::new_blocking(|| (), |_| list_sites());
    view! {
        <Title text="Sites"/>
        <h1>"Sites"</h1>
        <section class="panel">
            <h2>"Create a site"</h2>
            <ConsoleForm action={endpoint::<CreateSite>()} class="inline-form wrap"
                success="Site created. You are its site administrator.">
                <CsrfField/>
                <Field label="Site name" name="name"/>
                <SubmitButton label="Create site"/>
                <FormFeedback/>
            </ConsoleForm>
        </section>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                sites.await.map(|sites| view! {
                    <table class="data" aria-label="Sites">
                        <thead><tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Users"</th>
                            <th scope="col">"Created"</th>
                            <th scope="col">"Rename"</th>
                        </tr></thead>
                        <tbody>
                            {sites.into_iter().map(|site| view! { <SiteRowView site/> }).collect_view()}
                        </tbody>
                    </table>
                })
            })}
        </Suspense>
    }
}

#[component]
fn SiteRowView(site: SiteRow) -> impl IntoView {
    let input_id = format!("rename-{}", site.id);
    view! {
        <tr>
            <td>
                <a href=format!("/sites/{}", site.id)>{site.name.clone()}</a>
                {site.selected.then(|| view! { " " <span class="badge active">"Current"</span> })}
            </td>
            <td>{site.users}</td>
            <td>{site.created}</td>
            <td>
                <ConsoleForm action={endpoint::<RenameSite>()} class="inline-form wrap" success="Site renamed.">
                    <CsrfField/>
                    <input type="hidden" name="site_id" value=site.id.to_string()/>
                    <label class="visually-hidden" for=input_id.clone()>{format!("New name for {}", site.name)}</label>
                    <input id=input_id name="name" value=site.name.clone() maxlength=80/>
                    <SubmitButton label="Rename" class="button secondary small"/>
                    <FieldMessage name="name"/>
                    <FormFeedback/>
                </ConsoleForm>
            </td>
        </tr>
    }
}
