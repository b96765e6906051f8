//! The Audit Log through the console: filters, keyset pages, the CSV export, site scoping.

use crate::helpers::{TestApp, add_user, create_site, on_each_backend, signed_in_browser, site_id};
use app::{
    domain::Timestamp,
    server::services::audit::{self, Action, Actor, NewEvent, Target, TargetKind},
};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

/// `POST /audit/export.csv` from `client` with its session's anti-forgery token and `filters`.
async fn export(
    app: &TestApp,
    client: &reqwest::Client,
    filters: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = crate::helpers::session_of(app, client).await["csrf"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(filters);
    client
        .post(format!("{}/audit/export.csv", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A hostile value a spreadsheet would run as a formula.
const FORMULA: &str = "=cmd|' /C calc'!A0";
/// A value with quotes, a comma and a line break.
const AWKWARD: &str = "He said \"hi\", then\nleft";

/// Appends `count` events to `site` through the domain API: every third by "bob", every fifth
/// about client `lk_formula` (named [`FORMULA`]), every seventh a secret rotation; event `i`
/// happened `i * 6` hours after 2026-01-01 00:00 UTC.
async fn fill(app: &TestApp, site: &str, count: usize) {
    let site = uuid::Uuid::parse_str(site).unwrap();
    let start = Timestamp::parse_date("2026-01-01").unwrap();
    let events = (0..count)
        .map(|i| {
            let actor = if i % 3 == 0 {
                Actor::admin(uuid::Uuid::nil(), "bob", Some("192.0.2.7".into()))
            } else {
                Actor::operator(None)
            };
            let action = if i % 7 == 0 {
                Action::SecretRotated
            } else {
                Action::ClientUpdated
            };
            let mut event =
                NewEvent::new(Some(site), action, actor, format!("event {i}: {AWKWARD}"));
            if i % 5 == 0 {
                event = event.target(Target::new(TargetKind::Client, "lk_formula", FORMULA));
            }
            (event, start.plus_seconds(i as i64 * 6 * 3_600))
        })
        .collect();
    audit::record_batch(&app.state.db, &app.state.keys, Some(site), events)
        .await
        .unwrap();
}

/// One page of `list_audit` with the given filters and cursor.
async fn page(app: &TestApp, pairs: &[(&str, &str)]) -> Value {
    let form: Vec<(String, &str)> = pairs
        .iter()
        .map(|(key, value)| match *key {
            "before" | "after" => ((*key).to_owned(), *value),
            filter => (format!("query[{filter}]"), *value),
        })
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    app.call_json("list_audit", &form, StatusCode::OK).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

/// Every event of a filter, following the "older" cursor to the end.
async fn walk(app: &TestApp, filters: &[(&str, &str)]) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut current = page(app, filters).await;
    assert!(
        current["newer"].is_null(),
        "the first page has nothing newer"
    );
    loop {
        rows.extend(current["rows"].as_array().unwrap().iter().cloned());
        let Some(older) = current["older"].as_i64() else {
            break;
        };
        let cursor = older.to_string();
        let mut next: Vec<(&str, &str)> = filters.to_vec();
        next.push(("before", &cursor));
        current = page(app, &next).await;
    }
    rows
}

#[tokio::test]
async fn filters_and_keyset_pages() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        fill(app, &site, 130).await;

        // Everything, newest first, each event exactly once across pages of 50.
        let all = walk(app, &[]).await;
        let all_ids: Vec<i64> = all.iter().map(|row| row["id"].as_i64().unwrap()).collect();
        assert!(
            all_ids.windows(2).all(|pair| pair[0] > pair[1]),
            "newest first, no repeats"
        );
        assert!(all.len() > 130, "{} events", all.len());
        let first = page(app, &[]).await;
        assert_eq!(ids(&first).len(), 50);
        let second = page(
            app,
            &[("before", &first["older"].as_i64().unwrap().to_string())],
        )
        .await;
        assert_eq!(ids(&second), all_ids[50..100].to_vec());
        // Back from the second page to exactly the first.
        let back = page(
            app,
            &[("after", &second["newer"].as_i64().unwrap().to_string())],
        )
        .await;
        assert_eq!(ids(&back), ids(&first));
        assert!(back["newer"].is_null());

        // Filters, alone and together.
        let by_bob = walk(app, &[("actor", "bob")]).await;
        assert_eq!(by_bob.len(), 44);
        assert!(
            by_bob
                .iter()
                .all(|row| row["actor"] == "bob" && row["address"] == "192.0.2.7")
        );
        let rotations = walk(app, &[("action", "client.secret_rotated")]).await;
        assert_eq!(rotations.len(), 19);
        let about_client = walk(app, &[("client", "lk_formula")]).await;
        assert_eq!(about_client.len(), 26);
        assert!(about_client.iter().all(|row| row["target"][1] == FORMULA));
        let bob_rotations = walk(
            app,
            &[("actor", "bob"), ("action", "client.secret_rotated")],
        )
        .await;
        assert_eq!(bob_rotations.len(), 7, "i divisible by 21");

        // Days are whole UTC days, both ends included: 2026-01-02 holds events 4..=7.
        let day = walk(app, &[("from", "2026-01-02"), ("until", "2026-01-02")]).await;
        let summaries: BTreeSet<String> = day
            .iter()
            .map(|row| {
                row["summary"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            summaries,
            ["event 4", "event 5", "event 6", "event 7"]
                .map(String::from)
                .into()
        );
        assert_eq!(walk(app, &[("until", "2025-12-31")]).await.len(), 0);

        // Bad filters are reported on their fields, with no rows.
        let bad = page(app, &[("from", "2026-13-01"), ("action", "nope")]).await;
        assert!(bad["rows"].as_array().unwrap().is_empty());
        let error = &bad["filter_error"];
        assert!(
            crate::helpers::field_message(error, "from").is_some(),
            "{error}"
        );
        assert_eq!(
            crate::helpers::field_message(error, "action").unwrap(),
            "Choose an action from the list."
        );
        let reversed = page(app, &[("from", "2026-01-05"), ("until", "2026-01-04")]).await;
        assert_eq!(
            crate::helpers::field_message(&reversed["filter_error"], "until").unwrap(),
            "The last day is before the first day."
        );
    })
    .await;
}

/// Splits RFC 4180 CSV into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn csv_export_streams_the_filtered_view_and_defuses_formulas() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let site = site_id(app).await;
        // More than two export batches.
        fill(app, &site, 2_345).await;

        let response = export(app, &app.client, &[("client", "lk_formula")]).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\"audit-acme-"),
            "{disposition}"
        );
        let records = parse_csv(&response.text().await.unwrap());
        assert_eq!(records[0][..4], ["id", "time_utc", "site_id", "action"]);
        assert_eq!(records.len() - 1, 469, "every fifth of 2,345 events");
        let target = records[0].iter().position(|h| h == "target").unwrap();
        let summary = records[0].iter().position(|h| h == "summary").unwrap();
        for record in &records[1..] {
            assert_eq!(record.len(), records[0].len());
            assert_eq!(
                record[target],
                format!("'{FORMULA}"),
                "the formula is defused"
            );
            assert!(
                record[summary].ends_with(AWKWARD),
                "quotes, comma and line break survive"
            );
        }
        let exported: BTreeSet<&str> = records[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            exported.len(),
            469,
            "no event twice across batch boundaries"
        );

        // Everything: the same events as the pages show (each export is audited before it
        // streams, so it lists itself).
        let everything = parse_csv(&export(app, &app.client, &[]).await.text().await.unwrap());
        let paged = walk(app, &[]).await;
        assert_eq!(everything.len() - 1, paged.len());
        assert_eq!(everything[1][3], "audit.exported");
        let logged = page(app, &[("action", "audit.exported")]).await;
        assert_eq!(ids(&logged).len(), 2);
        assert_eq!(
            logged["rows"][1]["summary"],
            "Audit Log exported as CSV (client lk_formula)"
        );

        // Bad filters: 400 with the reason; signed out: to the sign-in page.
        let bad = export(app, &app.client, &[("from", "yesterday")]).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.text().await.unwrap().contains("from: "));
        let anonymous = export(app, &app.new_client(), &[]).await;
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        assert_eq!(anonymous.headers()["location"], "/sign-in?next=%2Faudit");
    })
    .await;
}

#[tokio::test]
async fn each_site_sees_only_its_own_events() {
    on_each_backend(async |app| {
        app.complete_setup().await;
        let acme = site_id(app).await;
        let globex = create_site(app, "Globex").await;
        fill(app, &acme, 10).await;
        add_user(app, "gadmin", &[(&globex, true, false)], StatusCode::OK).await;

        // Globex's only administrator: nothing of Acme, on the page or in the export.
        let (other, session) = signed_in_browser(app, "gadmin").await;
        let seen: Value = app
            .call_with(&other, "list_audit", &[])
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["site_name"], "Globex");
        assert!(
            seen["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|row| !row["summary"].as_str().unwrap().starts_with("event ")),
            "{seen}"
        );
        let csv = export(app, &other, &[("actor", "bob")])
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(parse_csv(&csv).len(), 1, "header only: {csv}");
        // Selecting Acme is refused.
        let csrf = session["csrf"].as_str().unwrap();
        let select = app
            .call_with(&other, "select_site", &[("csrf", csrf), ("site_id", &acme)])
            .await;
        assert_eq!(select.status(), StatusCode::NOT_FOUND);

        // Alice, administrator of both, switches to Globex and sees its creation, not Acme's events.
        let csrf = app.csrf().await;
        app.call_json(
            "select_site",
            &[("csrf", &csrf), ("site_id", &globex)],
            StatusCode::OK,
        )
        .await;
        let rows = walk(app, &[]).await;
        assert!(rows.iter().any(|row| row["action"] == "user.created"));
        assert!(
            rows.iter()
                .all(|row| !row["summary"].as_str().unwrap().starts_with("event "))
        );
        let signed_out = app.new_client();
        let refused = app.call_with(&signed_out, "list_audit", &[]).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}
