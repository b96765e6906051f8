//! The signed-in shell: navigation tabs, site switcher, sign-out. Loads the console session
//! once and provides it to every page below; without a session it redirects to sign-in.

use crate::api::session::{ConsoleSession, SelectSite, SignOut, get_console_session};
use crate::components::console_form::{ConsoleForm, FlashNotice, endpoint};
use crate::error::ConsoleError;
use leptos::{either::EitherOf3, prelude::*};
use leptos_router::{
    components::{A, Outlet, Redirect},
    hooks::use_location,
};

/// The console session of the signed-in administrator, loaded once by [`ConsoleLayout`] and
/// shared with every page below it (read it inside a `Suspense`).
#[derive(Clone, Copy)]
pub struct ConsoleSessionResource(pub Resource<Result<Option<ConsoleSession>, ConsoleError>>);

/// The console session resource provided by [`ConsoleLayout`].
pub fn use_console_session_resource() -> Option<ConsoleSessionResource> {
    use_context::<ConsoleSessionResource>()
}

/// Waits for the console session (inside a `Suspend`): `None` when signed out.
pub async fn console_session() -> Option<ConsoleSession> {
    match use_console_session_resource() {
        Some(resource) => resource.0.await.ok().flatten(),
        None => None,
    }
}

/// The hidden anti-forgery field every mutating console form carries.
#[component]
pub fn CsrfField() -> impl IntoView {
    let resource = use_console_session_resource();
    view! {
        <Suspense fallback=|| view! { <input type="hidden" name="csrf" value=""/> }>
            {move || Suspend::new(async move {
                let token = match resource {
                    Some(resource) => resource.0.await.ok().flatten().map(|s| s.csrf).unwrap_or_default(),
                    None => String::new(),
                };
                view! { <input type="hidden" name="csrf" value=token/> }
            })}
        </Suspense>
    }
}

/// Parent route of every signed-in page. The page itself (the `Outlet`) sits outside the
/// session's `Suspend`, so it is built once per request, not again when the session resolves.
#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| get_console_session());
    provide_context(ConsoleSessionResource(session));
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <header class="topbar"><span class="brand">"Latchkey"</span></header> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(session)) => EitherOf3::A(view! { <Shell session/> }),
                    Ok(None) => {
                        let here = location.pathname.get_untracked();
                        let target = if here == "/" {
                            "/sign-in".to_owned()
                        } else {
                            format!("/sign-in?next={}", urlencode(&here))
                        };
                        EitherOf3::B(view! { <Redirect path=target/> })
                    }
                    Err(error) => EitherOf3::C(view! {
                        <p class="form-error" role="alert">{error.to_string()}</p>
                    }),
                }
            })}
        </Suspense>
        <main class="page">
            <FlashNotice/>
            <Outlet/>
        </main>
    }
}

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[component]
fn Shell(session: ConsoleSession) -> impl IntoView {
    let several_sites = session.sites.len() > 1;
    let csrf = session.csrf.clone();
    let current_site = session.site.clone();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Latchkey"</a>
            <div class="site-switcher">
                {if several_sites {
                    let sites = session.sites.clone();
                    let current = current_site.id;
                    // With JavaScript the choice applies at once (everything on screen belongs
                    // to the selected site, so the page reloads); without it, Switch submits.
                    leptos::either::Either::Left(view! {
                        <ConsoleForm action={endpoint::<SelectSite>()} class="inline-form" submit_on_change=true>
                            <input type="hidden" name="csrf" value=csrf/>
                            <label for="site-switcher">"Site"</label>
                            <select id="site-switcher" name="site_id">
                                {sites
                                    .into_iter()
                                    .map(|site| view! {
                                        <option value=site.id.to_string() selected=site.id == current>{site.name}</option>
                                    })
                                    .collect_view()}
                            </select>
                            <button type="submit" class="button secondary small">"Switch"</button>
                        </ConsoleForm>
                    })
                } else {
                    leptos::either::Either::Right(view! {
                        <span class="site-name" title="Site">{current_site.name.clone()}</span>
                    })
                }}
            </div>
            <div class="account">
                <a class="username" href=format!("/administrators/{}", session.user_id)
                    title="Your account: password, sessions">{session.username.clone()}</a>
                <ConsoleForm action={endpoint::<SignOut>()} class="inline-form">
                    // The session is at hand here: a plain field rather than `CsrfField`.
                    <input type="hidden" name="csrf" value=session.csrf.clone()/>
                    <button type="submit" class="button link">"Sign out"</button>
                </ConsoleForm>
            </div>
        </header>
        <nav class="tabs" aria-label="Console">
            <A href="/" exact=true>"Dashboard"</A>
            <A href="/clients">"API Clients"</A>
            <A href="/administrators">"Administrators"</A>
            <A href="/sites">"Sites"</A>
            <A href="/audit">"Audit Log"</A>
            <A href="/webhooks">"Webhooks"</A>
            <A href="/api-tokens">"API Tokens"</A>
        </nav>
    }
}
