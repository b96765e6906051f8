//! Console forms: plain HTML posts to a server function that work without JavaScript, and,
//! once the page's islands have hydrated, submit in the background, show the server's refusal
//! next to each field without losing what was typed, and reload (or follow the server's
//! redirect) on success.
//!
//! Every form of the console is one [`ConsoleForm`] island around server-rendered fields, so
//! the browser downloads this code once rather than a typed client per server function (the
//! reason the hydrate bundle stays small: see BENCH.md). The islands inside a form ([`Field`],
//! [`FieldMessage`], [`FormFeedback`], [`SubmitButton`], ...) read its [`FormState`] from
//! context.

use crate::error::ConsoleError;
use leptos::prelude::*;

/// The URL a form for server function `S` posts to.
pub fn endpoint<S: leptos::server_fn::ServerFn>() -> String {
    S::url().to_owned()
}

/// The state of one [`ConsoleForm`], shared with the islands inside it.
#[derive(Clone, Copy)]
pub struct FormState {
    /// The server's last refusal (also from a post made without JavaScript).
    pub error: RwSignal<Option<ConsoleError>>,
    /// A submission is on its way (or the page is reloading after it).
    pub pending: RwSignal<bool>,
    /// False while a box the form requires (the Terms of Use) is unticked.
    pub ready: RwSignal<bool>,
}

impl FormState {
    /// A form that has not been submitted (in this page), showing `error` if a post without
    /// JavaScript was refused.
    fn new(error: Option<ConsoleError>) -> Self {
        Self {
            error: RwSignal::new(error),
            pending: RwSignal::new(false),
            ready: RwSignal::new(true),
        }
    }

    /// Whether the server asked for the administrator's own password (again, or correctly).
    pub fn asks_password(self) -> bool {
        self.error.with(|error| match error {
            Some(ConsoleError::ReauthenticationRequired) => true,
            Some(error) => error.field_message(CURRENT_PASSWORD).is_some(),
            None => false,
        })
    }

    /// The message for `field`, if the last refusal was about it.
    pub fn field_message(self, field: &str) -> Option<String> {
        self.error
            .with(|error| error.as_ref().and_then(|error| error.field_message(field)))
    }
}

/// The state of the enclosing [`ConsoleForm`] (a detached one outside any form).
pub fn use_form_state() -> FormState {
    use_context::<FormState>().unwrap_or_else(|| FormState::new(None))
}

/// The field that carries the administrator's own password when an action needs it again
/// (the server's `console_session::CURRENT_PASSWORD_FIELD`).
pub const CURRENT_PASSWORD: &str = "current_password";

/// Where the session keeps the notice shown after a reload.
const NOTICE_KEY: &str = "latchkey-notice";

/// A form posting to the server function at `action` (see [`endpoint`]). Rendered on the
/// server, which reads the refusal a post without JavaScript left in the URL, and only if the
/// server signed it (see `ctx::signed_url_error`): the browser never trusts error text from a
/// URL, which anyone can write.
#[component]
pub fn ConsoleForm(
    /// The server function's URL.
    action: String,
    /// CSS class of the `<form>`.
    #[prop(optional, into)]
    class: Option<String>,
    /// Said after a success that reloads the page ("Settings saved."); empty for nothing.
    #[prop(optional, into)]
    success: Option<String>,
    /// Submit as soon as any field changes (the site switcher).
    #[prop(optional)]
    submit_on_change: Option<bool>,
    /// The name of a checkbox that must be ticked before the form can be submitted.
    #[prop(optional, into)]
    requires_checked: Option<String>,
    /// The fields, rendered on the server.
    children: Children,
) -> impl IntoView {
    let refused = error_from_url(&action);
    view! {
        <ConsoleFormIsland action class success submit_on_change requires_checked refused>
            {children()}
        </ConsoleFormIsland>
    }
}

/// The interactive part of [`ConsoleForm`].
#[island]
fn ConsoleFormIsland(
    /// The server function's URL.
    action: String,
    /// CSS class of the `<form>`.
    class: Option<String>,
    /// Said after a success that reloads the page.
    success: Option<String>,
    /// Submit as soon as any field changes.
    submit_on_change: Option<bool>,
    /// A checkbox that must be ticked before the form can be submitted.
    requires_checked: Option<String>,
    /// The refusal of a post without JavaScript, as verified on the server.
    refused: Option<ConsoleError>,
    /// The fields, rendered on the server.
    children: Children,
) -> impl IntoView {
    let class = class.unwrap_or_default();
    let success = success.unwrap_or_default();
    let submit_on_change = submit_on_change.unwrap_or(false);
    let requires_checked = requires_checked.unwrap_or_default();
    let state = FormState::new(refused);
    provide_context(state);
    let form_ref = NodeRef::<leptos::html::Form>::new();
    let required_box = StoredValue::new(requires_checked);
    let refresh_ready = move || {
        if let Some(form) = form_ref.get_untracked() {
            required_box.with_value(|name| {
                if !name.is_empty() {
                    state.ready.set(is_ticked(&form, name));
                }
            });
        }
    };
    // Once hydrated, submitting waits for the required box (without JavaScript the server
    // refuses instead). Not before the islands inside the form have hydrated: they must first
    // match the HTML the server rendered (a button enabled), or they would never update it.
    Effect::new(move |_| {
        if form_ref.get().is_some() {
            set_timeout(refresh_ready, std::time::Duration::ZERO);
        }
    });
    let send = StoredValue::new((action.clone(), success));
    let submit = move || {
        if state.pending.get_untracked() {
            return;
        }
        let Some(form) = form_ref.get_untracked() else {
            return;
        };
        state.pending.set(true);
        let (action, success) = send.get_value();
        leptos::task::spawn_local(async move {
            match post(&action, &form).await {
                Ok(Posted::Redirect(location)) => {
                    let _ = window().location().set_href(&location);
                }
                Ok(Posted::Done) => {
                    if !success.is_empty()
                        && let Ok(Some(storage)) = window().session_storage()
                    {
                        let _ = storage.set_item(NOTICE_KEY, &success);
                    }
                    show_page_again();
                }
                Err(error) => {
                    state.error.set(Some(error));
                    state.pending.set(false);
                }
            }
        });
    };
    view! {
        <form method="post" action=action class=class novalidate=true node_ref=form_ref
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
            on:change=move |_| {
                refresh_ready();
                if submit_on_change {
                    submit();
                }
            }>
            {children()}
        </form>
    }
}

/// Loads the current page again, without the error a post without JavaScript left in its URL
/// (which would otherwise be shown again).
fn show_page_again() {
    let location = window().location();
    let search = location.search().unwrap_or_default();
    let (_, query) = split_url_error(&search);
    let path = location.pathname().unwrap_or_default();
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    if search.trim_start_matches('?') == query {
        let _ = location.reload();
    } else {
        let _ = location.replace(&target);
    }
}

/// The input named `name` in `form`, if there is one.
fn form_input(form: &web_sys::HtmlFormElement, name: &str) -> Option<web_sys::HtmlInputElement> {
    use leptos::wasm_bindgen::JsCast;
    form.get_with_name(name)?.dyn_into().ok()
}

/// Whether the checkbox `name` of `form` is ticked.
fn is_ticked(form: &web_sys::HtmlFormElement, name: &str) -> bool {
    form_input(form, name).is_some_and(|input| input.checked())
}

/// What the server did with a background submission it accepted.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Posted {
    /// Go there (the server function called `redirect`).
    Redirect(String),
    /// Done: show the page again.
    Done,
}

/// Posts `form` to `action` as a server-function client would (URL-encoded, JSON answer).
#[cfg(feature = "hydrate")]
async fn post(action: &str, form: &web_sys::HtmlFormElement) -> Result<Posted, ConsoleError> {
    use leptos::server_fn::error::FromServerFnError;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let failed = |error: JsValue| {
        ConsoleError::Transport(error.as_string().unwrap_or_else(|| "network error".into()))
    };
    let data = web_sys::FormData::new_with_form(form).map_err(failed)?;
    let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).map_err(failed)?;
    let headers = web_sys::Headers::new().map_err(failed)?;
    headers
        .set("Content-Type", "application/x-www-form-urlencoded")
        .map_err(failed)?;
    headers.set("Accept", "application/json").map_err(failed)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from(body.to_string()));
    let response: web_sys::Response =
        JsFuture::from(window().fetch_with_str_and_init(action, &init))
            .await
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
    let answer = response.headers();
    if answer
        .has(leptos::server_fn::redirect::REDIRECT_HEADER)
        .unwrap_or(false)
    {
        let location = answer.get("Location").ok().flatten();
        return Ok(Posted::Redirect(location.unwrap_or_else(|| "/".into())));
    }
    if response.ok() {
        return Ok(Posted::Done);
    }
    let text = JsFuture::from(response.text().map_err(failed)?)
        .await
        .map_err(failed)?
        .as_string()
        .unwrap_or_default();
    Err(ConsoleError::de(text.into()))
}

/// Never called on the server (event handlers run only in the browser).
#[cfg(not(feature = "hydrate"))]
async fn post(_action: &str, _form: &web_sys::HtmlFormElement) -> Result<Posted, ConsoleError> {
    Err(ConsoleError::Transport("no browser".into()))
}

/// The error a post without JavaScript left in the URL for the form posting to `action`:
/// leptos_axum redirects such a post back with `__path` and `__err` in the query, and the
/// server adds `__sig`. Unsigned (hand-written) errors are ignored.
#[cfg(feature = "ssr")]
fn error_from_url(action: &str) -> Option<ConsoleError> {
    let (path, encoded) = crate::server::ctx::signed_url_error()?;
    (path == action)
        .then(|| leptos::server_fn::error::ServerFnUrlError::<ConsoleError>::decode_err(&encoded))
}

/// Pages render on the server only; the browser gets the verified error as a prop.
#[cfg(not(feature = "ssr"))]
fn error_from_url(_action: &str) -> Option<ConsoleError> {
    None
}

/// Splits a query string (`?a=1&__path=...&__err=...&__sig=...`) into the error a post
/// without JavaScript left in it — the server function's path and the encoded error, as
/// leptos_axum writes them — and the rest of the query, encoded again (without the error's
/// signature either).
fn split_url_error(search: &str) -> (Option<(String, String)>, String) {
    let mut path = None;
    let mut error = None;
    let mut rest = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(search.trim_start_matches('?').as_bytes()) {
        match key.as_ref() {
            "__path" => path = Some(value.into_owned()),
            "__err" => error = Some(value.into_owned()),
            "__sig" => {}
            _ => {
                rest.append_pair(&key, &value);
            }
        }
    }
    (path.zip(error), rest.finish())
}

/// `value`, or `default` when it is empty (island props cannot have defaults of their own).
fn or_default(value: Option<String>, default: &str) -> String {
    value
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The enclosing form's message for field `name`, recomputed when the form's answer changes.
fn message_for(name: &str) -> Memo<Option<String>> {
    let state = use_form_state();
    let name = name.to_owned();
    Memo::new(move |_| state.field_message(&name))
}

/// The ids that tie a field's input to its label, hint and error message (tests and
/// `aria-describedby` rely on them: `field-NAME`, `NAME-hint`, `NAME-error`).
struct FieldIds {
    input: String,
    hint: String,
    error: String,
    described_by: String,
}

impl FieldIds {
    fn new(name: &str) -> Self {
        let hint = format!("{name}-hint");
        let error = format!("{name}-error");
        Self {
            input: format!("field-{name}"),
            described_by: format!("{hint} {error}"),
            hint,
            error,
        }
    }
}

/// A labelled input with its hint and, from the enclosing form, its error.
#[island]
pub fn Field(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// Form field name (the server function argument).
    #[prop(into)]
    name: String,
    /// Input type ("text" when empty).
    #[prop(optional, into)]
    kind: Option<String>,
    /// Browser autofill hint ("off" when empty).
    #[prop(optional, into)]
    autocomplete: Option<String>,
    /// Help text under the input.
    #[prop(optional, into)]
    hint: Option<String>,
    /// Initial value.
    #[prop(optional, into)]
    value: Option<String>,
    /// Required for submission.
    #[prop(optional)]
    required: Option<bool>,
    /// Maximum length the browser lets the user type.
    #[prop(optional)]
    maxlength: Option<usize>,
) -> impl IntoView {
    let message = message_for(&name);
    let kind = or_default(kind, "text");
    let autocomplete = or_default(autocomplete, "off");
    let hint = hint.unwrap_or_default();
    let value = value.unwrap_or_default();
    let required = required.unwrap_or(false);
    let ids = FieldIds::new(&name);
    view! {
        <div class="field" class:has-error=move || message.with(Option::is_some)>
            <label for=ids.input.clone()>{label}</label>
            <input id=ids.input name=name type=kind value=value autocomplete=autocomplete required=required
                maxlength=maxlength
                aria-invalid=move || if message.with(Option::is_some) { "true" } else { "false" }
                aria-describedby=ids.described_by/>
            <p class="hint" id=ids.hint>{hint}</p>
            <p class="field-error" id=ids.error role="alert">{move || message.get()}</p>
        </div>
    }
}

/// A password input with a Show/Hide toggle and, optionally, a strength hint computed as the
/// user types (by the same rule the server applies, against the form's `username`).
#[island]
pub fn PasswordField(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// Form field name.
    #[prop(into)]
    name: String,
    /// Browser autofill hint ("current-password" or "new-password").
    #[prop(into)]
    autocomplete: String,
    /// Help text under the input (replaced by the strength hint while typing).
    #[prop(optional, into)]
    hint: Option<String>,
    /// Check the password's strength while typing.
    #[prop(optional)]
    check_strength: Option<bool>,
    /// The username the strength hint checks against, when the form has no `username` input
    /// (the server checks against the account's own username either way).
    #[prop(optional, into)]
    username: Option<String>,
) -> impl IntoView {
    let message = message_for(&name);
    let hint = hint.unwrap_or_default();
    let check_strength = check_strength.unwrap_or(false);
    let username = StoredValue::new(username.unwrap_or_default());
    let shown = RwSignal::new(false);
    let strength = RwSignal::new(None::<String>);
    let hydrated = super::hydration::use_hydrated();
    let ids = FieldIds::new(&name);
    view! {
        <div class="field" class:has-error=move || message.with(Option::is_some)>
            <label for=ids.input.clone()>{label}</label>
            <div class="input-with-button">
                <input id=ids.input name=name autocomplete=autocomplete required=true
                    type=move || if shown.get() { "text" } else { "password" }
                    aria-invalid=move || if message.with(Option::is_some) { "true" } else { "false" }
                    aria-describedby=ids.described_by
                    on:input=move |ev| {
                        if check_strength {
                            strength.set(strength_hint(&ev, &username.get_value()));
                        }
                    }/>
                <Show when=move || hydrated.get()>
                    <button type="button" class="button secondary small" data-testid="toggle-password"
                        aria-pressed=move || shown.get().to_string()
                        on:click=move |_| shown.update(|shown| *shown = !*shown)>
                        {move || if shown.get() { "Hide" } else { "Show" }}
                    </button>
                </Show>
            </div>
            <p class="hint" id=ids.hint>{move || strength.get().unwrap_or_else(|| hint.clone())}</p>
            <p class="field-error" id=ids.error role="alert">{move || message.get()}</p>
        </div>
    }
}

/// What the password rule says of the password being typed (`None` when it is empty), against
/// `known_username` or else the form's `username` input.
fn strength_hint(ev: &leptos::ev::Event, known_username: &str) -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let typed = input.value();
    if typed.is_empty() {
        return None;
    }
    let username = if known_username.is_empty() {
        input
            .form()
            .and_then(|form| form_input(&form, "username"))
            .map(|input| input.value())
            .unwrap_or_default()
    } else {
        known_username.to_owned()
    };
    Some(match crate::domain::NewPassword::parse(&typed, &username) {
        Ok(_) => "Strong enough.".to_owned(),
        Err(problem) => problem.to_string(),
    })
}

/// A field laid out by the page (a textarea, a select, a group of boxes) that gets the error
/// styling and message of `name` from the enclosing form.
#[island]
pub fn FieldGroup(
    /// The field the message is about.
    #[prop(into)]
    name: String,
    /// CSS classes besides `has-error` ("field" when empty).
    #[prop(optional, into)]
    class: Option<String>,
    /// The label and control, rendered on the server.
    children: Children,
) -> impl IntoView {
    let message = message_for(&name);
    view! {
        <div class=or_default(class, "field") class:has-error=move || message.with(Option::is_some)>
            {children()}
            <p class="field-error" id=format!("{name}-error") role="alert">{move || message.get()}</p>
        </div>
    }
}

/// The enclosing form's message for `name`, on its own (next to a compact control).
#[island]
pub fn FieldMessage(
    /// The field the message is about.
    #[prop(into)]
    name: String,
) -> impl IntoView {
    let state = use_form_state();
    view! {
        <span class="field-error" role="alert">{move || state.field_message(&name)}</span>
    }
}

/// The enclosing form's refusal as a whole: "Please correct the highlighted fields." and
/// whatever is not about one field.
#[island]
pub fn FormFeedback(
    /// Also say "Please correct the highlighted fields." when the fields carry the messages.
    #[prop(optional)]
    summarize_fields: Option<bool>,
) -> impl IntoView {
    let summarize_fields = summarize_fields.unwrap_or(false);
    let state = use_form_state();
    let message = move || {
        state.error.with(|error| match error {
            Some(ConsoleError::Invalid(_)) if !summarize_fields => None,
            Some(error) => Some(error.to_string()),
            None => None,
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="form-error" role="alert">{message}</p>
        </Show>
    }
}

/// The submit button: disabled while the form is on its way or its required box is unticked.
#[island]
pub fn SubmitButton(
    /// What the button says.
    #[prop(into)]
    label: String,
    /// CSS classes ("button primary" when empty).
    #[prop(optional, into)]
    class: Option<String>,
    /// What it says instead once the server asked for the password (revealing a secret).
    #[prop(optional, into)]
    confirm_label: Option<String>,
) -> impl IntoView {
    let state = use_form_state();
    let confirm_label = confirm_label.unwrap_or_default();
    let can_confirm = !confirm_label.is_empty();
    let text = move || {
        if can_confirm && state.asks_password() {
            confirm_label.clone()
        } else {
            label.clone()
        }
    };
    view! {
        <button type="submit" class=or_default(class, "button primary")
            disabled=move || state.pending.get() || !state.ready.get()>{text}</button>
    }
}

/// The administrator's own password, for actions that yield a secret or change a credential:
/// shown from the start when the page knows the sign-in is not recent (`always`), otherwise
/// once the server asks for it.
#[island]
pub fn ConfirmPassword(
    /// Unique id of the input.
    #[prop(into)]
    id: String,
    /// Show it without waiting for the server to ask.
    #[prop(optional)]
    always: Option<bool>,
) -> impl IntoView {
    let state = use_form_state();
    let always = always.unwrap_or(false);
    view! {
        <Show when=move || always || state.asks_password()>
            <span class="confirm-password">
                <label for=id.clone()>"Confirm your password"</label>
                <input id=id.clone() type="password" name=CURRENT_PASSWORD autocomplete="current-password"/>
                <span class="field-error" role="alert">{move || state.field_message(CURRENT_PASSWORD)}</span>
            </span>
        </Show>
    }
}

/// A box the server may require ticked before it goes ahead (retiring a secret still in use):
/// shown from the start when the page already knows (`always`), otherwise once the server's
/// refusal names it — and kept from then on, so a later refusal (the password asked again)
/// does not hide what was ticked.
#[island]
pub fn ConfirmBox(
    /// The field name the server reads.
    #[prop(into)]
    name: String,
    /// What ticking it means.
    #[prop(into)]
    label: String,
    /// Show it without waiting for the server to ask.
    #[prop(optional)]
    always: Option<bool>,
) -> impl IntoView {
    let state = use_form_state();
    let asked = {
        let name = name.clone();
        move || state.field_message(&name).is_some()
    };
    let shown = RwSignal::new(always.unwrap_or(false) || asked());
    Effect::new(move |_| {
        if asked() {
            shown.set(true);
        }
    });
    let message = {
        let name = name.clone();
        move || state.field_message(&name)
    };
    view! {
        <Show when=move || shown.get()>
            <span class="confirm-box">
                <label>
                    <input type="checkbox" name=name.clone() value="yes"/>
                    " "{label.clone()}
                </label>
                <span class="field-error" role="alert">{message.clone()}</span>
            </span>
        </Show>
    }
}

/// The notice a form left before reloading the page ("Settings saved.").
#[island]
pub fn FlashNotice() -> impl IntoView {
    let notice = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Ok(Some(storage)) = window().session_storage()
            && let Ok(Some(message)) = storage.get_item(NOTICE_KEY)
        {
            let _ = storage.remove_item(NOTICE_KEY);
            notice.set(Some(message));
        }
    });
    view! {
        <Show when=move || notice.with(Option::is_some)>
            <p class="notice" role="status">{move || notice.get()}</p>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::split_url_error;

    #[test]
    fn splits_the_error_a_post_without_javascript_left_from_the_rest_of_the_query() {
        let (error, rest) = split_url_error("?q=a+b&__path=%2Fapi%2Fsign_in&page=2&__err=eyJ9");
        assert_eq!(error, Some(("/api/sign_in".to_owned(), "eyJ9".to_owned())));
        assert_eq!(rest, "q=a+b&page=2");
    }

    #[test]
    fn a_query_without_a_whole_error_has_none() {
        assert_eq!(split_url_error("?q=x"), (None, "q=x".to_owned()));
        assert_eq!(split_url_error(""), (None, String::new()));
        assert_eq!(
            split_url_error("?__path=%2Fapi%2Fx&q=y"),
            (None, "q=y".to_owned())
        );
    }
}
