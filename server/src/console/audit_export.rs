//! `POST /audit/export.csv`: the Audit Log of the selected site, with the page's filters, as a
//! CSV download. Streamed in keyset batches, so a million events never sit in memory. A POST
//! carrying the console's anti-forgery token, because every export is itself audited: a GET
//! would let any other site's page add audit events with a link.

use app::{
    api::audit::AuditQuery,
    error::ConsoleError,
    server::{
        AppState,
        console_session::{self, Admin, ClientAddress},
        crypto::constant_time_eq,
        services::{
            access::Acting,
            audit::{
                export,
                query::{self, AuditFilter},
            },
        },
    },
};
use axum::{
    Extension,
    body::{Body, Bytes},
    extract::{Form, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use futures_util::stream;
use tower_sessions::Session;
use uuid::Uuid;

/// Events fetched per database round trip.
const BATCH: u64 = 1_000;

/// The export form: the anti-forgery token and the Audit Log page's filters.
#[derive(Debug, serde::Deserialize)]
pub struct ExportForm {
    /// The session's anti-forgery token.
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

/// Streams the CSV; signed-out visitors are sent to sign in, a missing or wrong anti-forgery
/// token gets a 403, bad filters a 400.
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    address: Option<Extension<ClientAddress>>,
    Form(form): Form<ExportForm>,
) -> Response {
    let address = address.map(|Extension(address)| address.0);
    let admin = match console_session::load(state, session, address).await {
        Ok(Some(admin)) => admin,
        Ok(None) => return Redirect::to("/sign-in?next=%2Faudit").into_response(),
        Err(error) => return console_error(&error),
    };
    if !constant_time_eq(
        admin.session_data.csrf_token.as_bytes(),
        form.csrf.as_bytes(),
    ) {
        return console_error(&ConsoleError::CsrfRejected);
    }
    let query = AuditQuery {
        actor: form.actor,
        client: form.client,
        action: form.action,
        from: form.from,
        until: form.until,
    };
    let filter = match query.to_filter() {
        Ok(filter) => filter,
        Err(error) => return console_error(&error),
    };
    let now = admin.state.clock.now();
    if let Err(error) = export::record_export(
        &admin.state.db,
        &admin.state.keys,
        &admin.acting(),
        admin.site.id,
        &filter,
        now,
    )
    .await
    {
        return console_error(&ConsoleError::from(error));
    }
    let filename = format!(
        "audit-{}-{}.csv",
        filename_safe(&admin.site.name),
        now.format_date()
    );
    let mut response = Response::new(Body::from_stream(csv_stream(admin, filter)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

/// Where the stream is: the next batch starts below `before`; `None` once finished.
struct Position {
    before: Option<i64>,
    header_sent: bool,
}

fn csv_stream(
    admin: Admin,
    filter: AuditFilter,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let acting: Acting = admin.acting();
    let (state, site_id) = (admin.state.clone(), admin.site.id);
    let start = Some(Position {
        before: None,
        header_sent: false,
    });
    stream::unfold(start, move |position| {
        let (state, acting, filter) = (state.clone(), acting.clone(), filter.clone());
        async move {
            let position = position?;
            if !position.header_sent {
                let next = Position {
                    header_sent: true,
                    ..position
                };
                return Some((
                    Ok(Bytes::from_static(export::CSV_HEADER.as_bytes())),
                    Some(next),
                ));
            }
            match next_chunk(&state, &acting, site_id, &filter, position.before).await {
                Ok(Some((chunk, oldest))) => {
                    let next = Position {
                        before: Some(oldest),
                        header_sent: true,
                    };
                    Some((Ok(chunk), Some(next)))
                }
                Ok(None) => None,
                Err(error) => {
                    tracing::error!(%error, "audit export stopped");
                    Some((Err(std::io::Error::other("audit export failed")), None))
                }
            }
        }
    })
}

/// The CSV lines of the next batch and the id to continue below, or `None` when done.
async fn next_chunk(
    state: &AppState,
    acting: &Acting,
    site_id: Uuid,
    filter: &AuditFilter,
    before: Option<i64>,
) -> Result<Option<(Bytes, i64)>, app::server::ServiceError> {
    let rows = query::export_batch(&state.db, acting, site_id, filter, before, BATCH).await?;
    let Some(oldest) = rows.last().map(|row| row.id) else {
        return Ok(None);
    };
    let chunk: String = rows.iter().map(export::csv_line).collect();
    Ok(Some((Bytes::from(chunk), oldest)))
}

/// A console error as a plain-text response with its status.
fn console_error(error: &ConsoleError) -> Response {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut message = error.to_string();
    if let ConsoleError::Invalid(fields) = error {
        for field in fields {
            message.push_str(&format!("\n{}: {}", field.field, field.message));
        }
    }
    (status, message).into_response()
}

/// The site name reduced to characters safe in a file name.
fn filename_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = safe.trim_matches('-');
    if trimmed.is_empty() {
        "site".to_owned()
    } else {
        trimmed.chars().take(40).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::filename_safe;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(filename_safe("Acme Reports"), "acme-reports");
        assert_eq!(filename_safe("\"; rm -rf /"), "rm--rf");
        assert_eq!(filename_safe("日本"), "site");
    }
}
