//! Latchkey's console: Leptos components and server functions, plus (behind the `ssr`
//! feature) the domain services and data models shared with the authorization server.

#![recursion_limit = "256"]

pub mod api;
#[cfg(test)]
mod architecture;
pub mod components;
pub mod domain;
pub mod error;
#[cfg(test)]
mod hostile;
mod http_status;
pub mod pages;
mod routes;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::Router;

/// The HTML document around the app, rendered on the server for every console page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="referrer" content="same-origin"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console application, rendered on the server; only its islands hydrate in the browser
/// (`frontend`).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/latchkey.css"/>
        <Title formatter=|page: String| if page.is_empty() { "Latchkey".to_owned() } else { format!("{page} · Latchkey") }/>
        <Router>
            <routes::AppRoutes/>
        </Router>
    }
}
