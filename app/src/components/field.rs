//! Form fields with their label, hint and error message next to them, and helpers that pull a
//! field's message out of a server action's result.

use crate::error::ConsoleError;
use leptos::prelude::*;

/// The message for `field` from the last result of an action, if it failed on that field.
pub fn field_error<T, S>(value: S, field: &'static str) -> Signal<Option<String>>
where
    S: With<Value = Option<Result<T, ConsoleError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|result| match result {
            Some(Err(error)) => error.field_message(field),
            _ => None,
        })
    })
}

/// The form-level message of the last failed result: what is not about one field.
pub fn form_error<T, S>(value: S) -> Signal<Option<String>>
where
    S: With<Value = Option<Result<T, ConsoleError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|result| match result {
            Some(Err(error)) => Some(error.to_string()),
            _ => None,
        })
    })
}

/// A labelled input. Its error (if any) is announced and linked with `aria-describedby`.
#[component]
pub fn Field(
    /// Visible label.
    label: &'static str,
    /// Form field name (the server function argument).
    name: &'static str,
    /// Input type.
    #[prop(default = "text")]
    kind: &'static str,
    /// Message shown next to the field.
    #[prop(into, optional)]
    error: Signal<Option<String>>,
    /// Browser autofill hint.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// Help text under the input (replaced by `live_hint` when that has a value).
    #[prop(optional)]
    hint: Option<&'static str>,
    /// Help computed as the user types (instant validation).
    #[prop(into, optional)]
    live_hint: Signal<Option<String>>,
    /// Initial value.
    #[prop(into, optional)]
    value: String,
    /// Required for submission.
    #[prop(optional)]
    required: bool,
    /// Called with the new text on every keystroke.
    #[prop(optional)]
    on_input: Option<Callback<String>>,
    /// Maximum length the browser lets the user type.
    #[prop(optional)]
    maxlength: Option<usize>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{name}-error");
    let hint_id = format!("{name}-hint");
    let described_by = format!("{hint_id} {error_id}");
    view! {
        <div class="field" class:has-error=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=autocomplete
                required=required
                maxlength=maxlength
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=described_by
                on:input=move |ev| {
                    if let Some(callback) = on_input {
                        callback.run(event_target_value(&ev));
                    }
                }
            />
            <p class="hint" id=hint_id>
                {move || live_hint.get().or_else(|| hint.map(str::to_owned))}
            </p>
            <p class="field-error" id=error_id role="alert">{move || error.get()}</p>
        </div>
    }
}

/// A form-level error banner.
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class="form-error" role="alert">{move || message.get()}</p>
        </Show>
    }
}
