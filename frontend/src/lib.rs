//! The browser half of the console: hydrates the HTML the server rendered, so forms and
//! buttons gain client-side behaviour without changing what works without JavaScript.

/// Called by the script cargo-leptos injects into every page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
