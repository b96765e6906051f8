//! The Terms of Use page (public).

use crate::error::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The current Terms of Use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// Version label.
    pub version: String,
    /// Paragraphs.
    pub paragraphs: Vec<String>,
}

/// Anyone: the current Latchkey API Terms of Use.
#[server(endpoint = "get_terms")]
pub async fn get_terms() -> Result<Terms, ConsoleError> {
    let state = crate::server::ctx::app_state()?;
    let terms = &state.settings.terms;
    Ok(Terms {
        version: terms.version.clone(),
        paragraphs: terms
            .text
            .split("\n\n")
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}
