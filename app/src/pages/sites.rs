use crate::api::sites::{CreateSite, RenameSite, SiteRow, list_sites};
use crate::components::{
    field::{Field, field_error},
    layout::CsrfField,
    notice::ActionFeedback,
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The Sites tab: the sites this administrator administers; create and rename.
#[component]
pub fn SitesPage() -> impl IntoView {
    let create = ServerAction::<CreateSite>::new();
    let renamed = RwSignal::new(0u32);
    let sites = Resource::new_blocking(
        move || (create.version().get(), renamed.get()),
        |_| list_sites(),
    );
    view! {
        <Title text="Sites"/>
        <h1>"Sites"</h1>
        <section class="panel">
            <h2>"Create a site"</h2>
            <ActionForm action=create attr:class="inline-form wrap">
                <CsrfField/>
                <Field label="Site name" name="name" error=field_error(create.value(), "name")/>
                <button type="submit" class="button primary">"Create site"</button>
            </ActionForm>
            <ActionFeedback value=create.value() success="Site created. You are its site administrator."/>
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
                            {sites.into_iter().map(|site| view! { <SiteRowView site renamed/> }).collect_view()}
                        </tbody>
                    </table>
                })
            })}
        </Suspense>
    }
}

#[component]
fn SiteRowView(site: SiteRow, renamed: RwSignal<u32>) -> impl IntoView {
    let rename = ServerAction::<RenameSite>::new();
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(()))) {
            renamed.update(|n| *n += 1);
        }
    });
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
                <ActionForm action=rename attr:class="inline-form">
                    <CsrfField/>
                    <input type="hidden" name="site_id" value=site.id.to_string()/>
                    <label class="visually-hidden" for=input_id.clone()>{format!("New name for {}", site.name)}</label>
                    <input id=input_id name="name" value=site.name.clone() maxlength=80/>
                    <button type="submit" class="button secondary small">"Rename"</button>
                </ActionForm>
                <p class="field-error" role="alert">{move || field_error(rename.value(), "name").get()}</p>
            </td>
        </tr>
    }
}
