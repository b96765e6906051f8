//! The browser half of the console: hydrates the HTML the server rendered, so forms and
//! buttons gain client-side behaviour without changing what works without JavaScript.

use leptos::prelude::document;

/// Called by the script cargo-leptos injects into every page.
///
/// Hydration is asynchronous, because each console area's pages live in a lazily loaded WASM
/// chunk (see `app::routes`): it waits for the current page's chunk. Once it has finished, and
/// the tasks it started (the contents of `Suspense`s, from data the server sent with the page)
/// have run, the page is marked `body[data-hydrated]`, so tests can tell a page
/// that responds to input from server-rendered HTML.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Drive Leptos' tasks with the browser's microtask queue (as `hydrate_lazy` does).
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = document().body() else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App)
            .await
            .forget();
        // Tasks spawned during hydration were queued before this one continues.
        leptos::task::tick().await;
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
