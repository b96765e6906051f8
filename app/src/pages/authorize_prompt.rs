//! The authorization prompt (and the authorization server's error page): plain server-rendered
//! HTML documents, built from these components by the token server. They need no JavaScript
//! and carry no console session.

use leptos::prelude::*;

/// What the prompt shows and re-posts.
#[derive(Debug, Clone, Default)]
pub struct PromptView {
    /// The application's name.
    pub app_name: String,
    /// Its description.
    pub app_description: String,
    /// The site it belongs to.
    pub site_name: String,
    /// Where the browser goes afterwards (host of the redirect URI).
    pub redirect_host: String,
    /// Requested scopes with their descriptions.
    pub scopes: Vec<(String, String)>,
    /// The one API (resource server) the access is for (`resource`, RFC 8707), if the
    /// application narrowed it: the user sees where their grant can be used.
    pub resource: Option<String>,
    /// Hidden fields: the authorization request and its anti-forgery token.
    pub hidden: Vec<(String, String)>,
    /// Username typed before (kept after an error).
    pub username: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// The API user signed in at this browser, who authorizes without a password.
    pub signed_in_as: Option<String>,
    /// For them: the same request asking for a password ("not you?").
    pub switch_href: Option<String>,
}

/// A whole HTML document around `body`, styled like the console.
#[component]
pub fn BareDocument(title: String, children: Children) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{title}</title>
                <link rel="stylesheet" href="/pkg/latchkey.css"/>
            </head>
            <body>{children()}</body>
        </html>
    }
}

/// The prompt where an API user signs in and authorizes (or denies) an application.
#[component]
pub fn AuthorizePrompt(prompt: PromptView) -> impl IntoView {
    let title = format!("Authorize {} · Latchkey", prompt.app_name);
    view! {
        <BareDocument title>
            <main class="centered narrow prompt">
                <p class="brand-line">"Latchkey"</p>
                <h1>{format!("Authorize {}", prompt.app_name)}</h1>
                <div class="panel">
                    <p><strong>{prompt.app_name.clone()}</strong>" on "<strong data-testid="prompt-site">{prompt.site_name.clone()}</strong>" asks to act on your behalf."</p>
                    <p class="pre-line" data-testid="prompt-description">{prompt.app_description.clone()}</p>
                    <p>"It will be able to:"</p>
                    <ul data-testid="prompt-scopes">
                        {prompt.scopes.iter().map(|(name, description)| view! {
                            <li><code>{name.clone()}</code>" — "{description.clone()}</li>
                        }).collect_view()}
                    </ul>
                    {prompt.resource.clone().map(|resource| view! {
                        <p data-testid="prompt-resource">"Only at the API "<code>{resource}</code>"."</p>
                    })}
                    <p class="hint">{format!("After you decide, you will be sent back to {}.", prompt.redirect_host)}</p>
                </div>
                <form method="post" action="/oauth/authorize" class="stacked">
                    {prompt.error.clone().map(|error| view! { <p class="form-error" role="alert">{error}</p> })}
                    {prompt.hidden.iter().map(|(name, value)| view! {
                        <input type="hidden" name=name.clone() value=value.clone()/>
                    }).collect_view()}
                    {match prompt.signed_in_as.clone() {
                        Some(username) => view! {
                            <p data-testid="prompt-signed-in">
                                "Signed in as "<strong>{username}</strong>". "
                                <a href=prompt.switch_href.clone().unwrap_or_default()>"Not you? Sign in as someone else"</a>
                            </p>
                        }.into_any(),
                        None => view! {
                            <div class="field">
                                <label for="prompt-username">"Username"</label>
                                <input id="prompt-username" name="username" autocomplete="username" value=prompt.username.clone()/>
                            </div>
                            <div class="field">
                                <label for="prompt-password">"Password"</label>
                                <input id="prompt-password" type="password" name="password" autocomplete="current-password"/>
                            </div>
                        }.into_any(),
                    }}
                    <div class="toolbar">
                        <button type="submit" name="decision" value="allow" class="button primary">"Authorize"</button>
                        <button type="submit" name="decision" value="deny" class="button secondary">"Deny"</button>
                    </div>
                </form>
            </main>
        </BareDocument>
    }
}

/// The page shown when a request cannot be sent back to the application (unknown client, or a
/// redirect URI that does not match): RFC 6749 §4.1.2.1 forbids redirecting then.
#[component]
pub fn AuthorizationErrorPage(error: String, description: String) -> impl IntoView {
    view! {
        <BareDocument title="Authorization error · Latchkey".to_owned()>
            <main class="centered narrow prompt">
                <p class="brand-line">"Latchkey"</p>
                <h1>"This authorization request cannot be completed"</h1>
                <p class="form-error" role="alert" data-testid="oauth-error">{format!("{error}: {description}")}</p>
                <p>"The application that sent you here is misconfigured or unknown. You were not redirected back to it. Close this page and contact the application's developer."</p>
            </main>
        </BareDocument>
    }
}
