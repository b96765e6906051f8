//! The browser half of the console: hydrates the islands of the HTML the server rendered
//! (forms, copy buttons), so they gain client-side behaviour without changing what works
//! without JavaScript.

// The islands are `#[wasm_bindgen]` exports of `app`: link it even though nothing here names it.
extern crate app;

use leptos::prelude::document;
use wasm_bindgen::{JsCast, closure::Closure};

/// Called by the islands script Leptos puts into every page, just before it hydrates the
/// page's islands one by one.
///
/// The islands script hydrates them in a chain of promise continuations (microtasks), and the
/// islands' first effects run as microtasks too; a zero-delay timeout runs after all of them.
/// It marks the page `body[data-hydrated]`, so tests can tell a page that responds to input
/// from server-rendered HTML.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    let mark = Closure::once_into_js(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let _ = leptos::prelude::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(mark.unchecked_ref(), 0);
}
