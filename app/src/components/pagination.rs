//! Previous/next links that keep the other query parameters (work without JavaScript).

use leptos::prelude::*;

/// "Page 2 of 7" with previous/next links. `href(page)` builds the link of a page (from 0).
#[component]
pub fn Pagination(
    /// Current page, from 0.
    page: u64,
    /// Number of pages (at least 1).
    pages: u64,
    /// Link to a page.
    href: Callback<u64, String>,
) -> impl IntoView {
    let previous = (page > 0).then(|| href.run(page - 1));
    let next = (page + 1 < pages).then(|| href.run(page + 1));
    view! {
        <PrevNext previous next previous_label="← Previous" next_label="Next →">
            <span>{format!("Page {} of {}", page + 1, pages)}</span>
        </PrevNext>
    }
}

/// A previous and a next link (shown disabled when there is no such page), with anything in
/// between. Used by numbered pages and by cursor pages alike.
#[component]
pub fn PrevNext(
    /// Link to the previous page, if any.
    previous: Option<String>,
    /// Link to the next page, if any.
    next: Option<String>,
    /// Label of the previous link.
    previous_label: &'static str,
    /// Label of the next link.
    next_label: &'static str,
    /// Shown between the links.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let link = |href: Option<String>, rel: &'static str, label: &'static str| match href {
        Some(href) => {
            view! { <a class="button secondary small" href=href rel=rel>{label}</a> }.into_any()
        }
        None => view! { <span class="button secondary small" aria-disabled="true">{label}</span> }
            .into_any(),
    };
    view! {
        <nav class="pagination" aria-label="Pages">
            {link(previous, "prev", previous_label)}
            {children.map(|children| children())}
            {link(next, "next", next_label)}
        </nav>
    }
}

/// `?key=value&...` with values URL-encoded; empty values are left out.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| {
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{key}={value}")
        })
        .collect();
    if encoded.is_empty() {
        "?".to_owned()
    } else {
        format!("?{}", encoded.join("&"))
    }
}
