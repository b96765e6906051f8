//! Feedback after an action: "Saved." on success, the error otherwise.

use crate::error::ConsoleError;
use leptos::prelude::*;

/// Shows `success` once the action has succeeded, and the form-level error when it failed
/// (field errors are shown next to their fields instead).
#[component]
pub fn ActionFeedback<T, S>(
    /// The action's last result.
    value: S,
    /// What to say on success.
    #[prop(into)]
    success: String,
) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, ConsoleError>>> + Copy + Send + Sync + 'static,
{
    view! {
        {move || value.with(|result| match result {
            Some(Ok(_)) if !success.is_empty() => Some(view! { <p class="notice" role="status">{success.clone()}</p> }.into_any()),
            Some(Ok(_)) => None,
            Some(Err(ConsoleError::Invalid(_))) | None => None,
            Some(Err(error)) => Some(view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any()),
        })}
    }
}
