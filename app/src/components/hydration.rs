//! Knowing whether the page is hydrated, for controls that only work with JavaScript.

use leptos::prelude::*;

/// False while rendering on the server and during hydration; true once the WASM runs (effects
/// never run on the server). Controls that need JavaScript render only when this is true, so a
/// page without JavaScript never shows a button that does nothing.
pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}
