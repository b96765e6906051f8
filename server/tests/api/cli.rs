//! The `latchkey` binary's commands against both databases.

use app::{
    domain::Timestamp,
    server::{
        entities::audit_event,
        testing::{TestDatabases, TestDb},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;
use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

const KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn latchkey(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_SECRET_KEY", KEY)
        .env("LATCHKEY_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// `YYYY-MM-DDTHH:MM:SSZ`, as the CLI prints moments, in Unix seconds.
fn rfc3339_to_unix(text: &str) -> i64 {
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let seconds: i64 = time
        .split(':')
        .map(|part| part.parse::<i64>().unwrap())
        .fold(0, |total, part| total * 60 + part);
    Timestamp::parse_date(date).unwrap().unix() + seconds
}

/// Site `Acme` and an API user `username` of it, through the CLI.
fn acme_with_api_user(db: &TestDb, username: &str) {
    json(&latchkey(db, &["site", "create", "--name", "Acme"], None));
    let email = format!("{username}@example.com");
    let args = [
        "admin",
        "create",
        "--username",
        username,
        "--email",
        &email,
        "--site",
        "Acme",
        "--api-user-only",
        "--password-stdin",
    ];
    json(&latchkey(db, &args, Some("a sturdy passphrase\n")));
}

/// `latchkey seed` on `site` (the seeded users' password is fixed); its JSON report.
fn seed(db: &TestDb, site: &str, api_users: u32, clients: u32, audit_events: u32) -> Value {
    let (api_users, clients, audit_events) = (
        api_users.to_string(),
        clients.to_string(),
        audit_events.to_string(),
    );
    json(&latchkey(
        db,
        &[
            "seed",
            "--site",
            site,
            "--api-users",
            &api_users,
            "--clients",
            &clients,
            "--audit-events",
            &audit_events,
            "--password-stdin",
        ],
        Some("seeded users passphrase\n"),
    ))
}

/// `latchkey audit verify` finds every chain intact.
fn assert_chains_verify(db: &TestDb) {
    let verified = json(&latchkey(db, &["audit", "verify"], None));
    assert!(
        verified["chains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true),
        "{verified}"
    );
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no machine output on failure");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("latchkey: error: "), "{stderr}");
    stderr
}

#[tokio::test]
async fn sites_and_administrators_from_the_command_line() {
    for db in TestDatabases::all().await {
        assert!(latchkey(&db, &["migrate"], None).status.success());

        let site = json(&latchkey(&db, &["site", "create", "--name", "Acme"], None));
        assert_eq!(site["name"], "Acme");
        json(&latchkey(
            &db,
            &["site", "create", "--name", "Globex"],
            None,
        ));
        let duplicate = one_line_error(&latchkey(&db, &["site", "create", "--name", "ACME"], None));
        assert!(duplicate.contains("already exists"), "{duplicate}");

        let listed = json(&latchkey(&db, &["site", "list", "--json"], None));
        assert_eq!(listed.as_array().unwrap().len(), 2, "{}", db.name);

        let admin = json(&latchkey(
            &db,
            &[
                "admin",
                "create",
                "--username",
                "ops",
                "--email",
                "ops@example.com",
                "--site",
                "Acme",
                "--site",
                "globex",
                "--api-user",
                "--password-stdin",
            ],
            Some("a sturdy passphrase\n"),
        ));
        assert_eq!(admin["username"], "ops");
        assert_eq!(admin["sites"].as_array().unwrap().len(), 2);
        assert_eq!(admin["sites"][1]["api_user"], true);

        let weak = one_line_error(&latchkey(
            &db,
            &[
                "admin",
                "create",
                "--username",
                "weak",
                "--email",
                "w@example.com",
                "--site",
                "Acme",
                "--password-stdin",
            ],
            Some("password1234\n"),
        ));
        assert!(weak.contains("password"), "{weak}");
        let taken = one_line_error(&latchkey(
            &db,
            &[
                "admin",
                "create",
                "--username",
                "OPS",
                "--email",
                "o@example.com",
                "--site",
                "Acme",
                "--password-stdin",
            ],
            Some("another sturdy phrase\n"),
        ));
        assert!(taken.contains("already taken"), "{taken}");
        let no_site = one_line_error(&latchkey(
            &db,
            &[
                "admin",
                "create",
                "--username",
                "x-user",
                "--email",
                "x@example.com",
                "--site",
                "Nope",
                "--password-stdin",
            ],
            Some("another sturdy phrase\n"),
        ));
        assert!(no_site.contains("no site named"), "{no_site}");

        let listed = json(&latchkey(
            &db,
            &["admin", "list", "--site", "Acme", "--json"],
            None,
        ));
        assert_eq!(listed[0]["username"], "ops");
        assert_eq!(
            (
                listed[0]["site_administrator"].as_bool(),
                listed[0]["api_user"].as_bool()
            ),
            (Some(true), Some(true))
        );
        let table = latchkey(&db, &["admin", "list", "--site", "Acme"], None);
        let table = String::from_utf8(table.stdout).unwrap();
        assert!(
            table.starts_with("USERNAME") && table.contains("ops@example.com"),
            "{table}"
        );

        assert_chains_verify(&db);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn clients_from_the_command_line() {
    for db in TestDatabases::all().await {
        json(&latchkey(&db, &["site", "create", "--name", "Acme"], None));
        json(&latchkey(
            &db,
            &["site", "create", "--name", "Globex"],
            None,
        ));
        json(&latchkey(
            &db,
            &[
                "admin",
                "create",
                "--username",
                "api-one",
                "--email",
                "a@example.com",
                "--site",
                "Acme",
                "--api-user-only",
                "--password-stdin",
            ],
            Some("a sturdy passphrase\n"),
        ));
        let create = |extra: &[&str]| {
            let mut args = vec![
                "client",
                "create",
                "--owner",
                "api-one",
                "--name",
                "CLI Bot",
                "--description",
                "Made by cron",
                "--redirect-uri",
                "https://bot.example.com/cb",
            ];
            args.extend_from_slice(extra);
            latchkey(&db, &args, None)
        };
        let refused = one_line_error(&create(&[]));
        assert!(refused.contains("--accept-terms"), "{refused}");
        let bad_uri = one_line_error(&latchkey(
            &db,
            &[
                "client",
                "create",
                "--owner",
                "api-one",
                "--name",
                "X",
                "--description",
                "d",
                "--redirect-uri",
                "http://bot.example.com/cb",
                "--accept-terms",
            ],
            None,
        ));
        assert!(
            bad_uri.contains("--redirect-uri") && bad_uri.contains("https"),
            "{bad_uri}"
        );
        // Sixty other API users whose names contain the owner's and sort before it: the site
        // was once guessed from a search by name that saw only its first 50 matches.
        {
            use app::server::entities::{site, site_membership, user};
            use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
            let acme = site::Entity::find()
                .filter(site::Column::Name.eq("Acme"))
                .one(&db.conn)
                .await
                .unwrap()
                .unwrap();
            for n in 0..60 {
                let id = uuid::Uuid::now_v7();
                let name = format!("a-api-one-{n:02}");
                user::Entity::insert(user::ActiveModel {
                    id: Set(id),
                    username: Set(name.clone()),
                    username_key: Set(name.clone()),
                    email: Set(format!("{name}@example.com")),
                    password_hash: Set("unusable".into()),
                    created_at: Set(0),
                    updated_at: Set(0),
                    password_changed_at: Set(0),
                    last_sign_in_at: Set(None),
                    disabled_at: Set(None),
                    session_generation: Set(0),
                    deleted_at: Set(None),
                })
                .exec(&db.conn)
                .await
                .unwrap();
                site_membership::Entity::insert(site_membership::ActiveModel {
                    site_id: Set(acme.id),
                    user_id: Set(id),
                    is_site_admin: Set(false),
                    is_api_user: Set(true),
                    created_at: Set(0),
                })
                .exec(&db.conn)
                .await
                .unwrap();
            }
        }
        let created = json(&create(&["--accept-terms", "--scope", "profile"]));
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let secret = created["client_secret"].as_str().unwrap().to_owned();
        assert!(
            client_id.starts_with("lkci_") && secret.starts_with("lkcs_"),
            "{created}"
        );
        assert_eq!(
            created["site"], "Acme",
            "site inferred from the owner's only API-user site"
        );
        assert_eq!(created["redirect_uri"], "https://bot.example.com/cb");
        assert_eq!(created["scopes"], "profile");

        let listed = json(&latchkey(&db, &["client", "list", "--json"], None));
        assert_eq!(listed[0]["client_id"], client_id.as_str());
        let table =
            String::from_utf8(latchkey(&db, &["client", "list", "--site", "Acme"], None).stdout)
                .unwrap();
        assert!(
            table.contains(&client_id) && table.contains("CLI Bot"),
            "{table}"
        );
        // Freshly registered: not "unused for 90 days", so the cron check passes.
        let cron = latchkey(&db, &["client", "list", "--unused-since", "90d"], None);
        assert!(
            cron.status.success(),
            "{}",
            String::from_utf8_lossy(&cron.stderr)
        );
        let stale = latchkey(
            &db,
            &["client", "list", "--unused-since", "0d", "--json"],
            None,
        );
        assert!(
            !stale.status.success(),
            "a client unused for 0 days is found: exit non-zero"
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&stale.stdout)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        one_line_error(&latchkey(
            &db,
            &["client", "list", "--unused-since", "soon"],
            None,
        ));

        let rotated = json(&latchkey(
            &db,
            &[
                "client",
                "rotate-secret",
                "--client-id",
                &client_id,
                "--grace",
                "24h",
            ],
            None,
        ));
        assert_ne!(rotated["client_secret"], secret.as_str());
        assert_eq!(rotated["old_secret_valid_for_seconds"], 86_400);
        one_line_error(&latchkey(
            &db,
            &["client", "rotate-secret", "--client-id", "lkci_nope"],
            None,
        ));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_configuration_fails_with_one_clear_line() {
    let db = TestDb::postgres().await;
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["site", "list"])
        .env("DATABASE_URL", &db.url)
        .env_remove("LATCHKEY_SECRET_KEY")
        .output()
        .unwrap();
    let message = one_line_error(&output);
    assert!(message.contains("LATCHKEY_SECRET_KEY"), "{message}");

    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--public-url", "http://example.com"])
        .env("DATABASE_URL", &db.url)
        .env("LATCHKEY_SECRET_KEY", KEY)
        .output()
        .unwrap();
    let message = one_line_error(&output);
    assert!(message.contains("must use https"), "{message}");
    db.cleanup().await;
}

#[tokio::test]
async fn audit_retention_prunes_old_events_and_the_chain_still_verifies() {
    for db in TestDatabases::all().await {
        // 300 events spread over the last 90 days.
        seed(&db, "Acme", 1, 1, 300);
        let pruned = json(&latchkey(
            &db,
            &["audit", "prune", "--older-than", "30d"],
            None,
        ));
        let count = pruned["pruned"].as_u64().unwrap();
        assert!((100..300).contains(&count), "{pruned}");
        // Read the cutoff the command used rather than recomputing it from the wall clock
        // here: a clock that jumps between two runs (a VM resumed from a snapshot) must not
        // decide this test.
        let cutoff = rfc3339_to_unix(pruned["older_than"].as_str().unwrap());
        let older_left = audit_event::Entity::find()
            .filter(audit_event::Column::OccurredAt.lt(cutoff))
            .count(&db.conn)
            .await
            .unwrap();
        assert_eq!(
            older_left, 0,
            "events older than the cutoff survived: {pruned}"
        );
        let kept_seeded = audit_event::Entity::find()
            .filter(audit_event::Column::Summary.starts_with("Seeded event #"))
            .count(&db.conn)
            .await
            .unwrap();
        assert!(kept_seeded > 0, "newer events were pruned too");
        let again = json(&latchkey(
            &db,
            &["audit", "prune", "--older-than", "365d"],
            None,
        ));
        assert_eq!(again["pruned"], 0, "a second, older cutoff finds nothing");
        assert_chains_verify(&db);
        let error = one_line_error(&latchkey(
            &db,
            &["audit", "prune", "--older-than", "soon"],
            None,
        ));
        assert!(error.contains("not a duration"), "{error}");
        db.cleanup().await;
    }
}

/// `latchkey seed` writes clients through the registration rows `client create` uses: the
/// same audit details, scopes, terms acceptance and secret storage, and the chain verifies.
#[tokio::test]
async fn seeded_clients_are_registered_clients() {
    use app::server::entities::{client, client_scope, client_secret, terms_acceptance};
    for db in TestDatabases::all().await {
        let seeded = seed(&db, "Acme", 2, 3, 0);
        assert_eq!(
            seeded["clients"].as_array().map(Vec::len),
            Some(3),
            "{seeded}"
        );
        let created = json(&latchkey(
            &db,
            &[
                "client",
                "create",
                "--name",
                "Registered",
                "--redirect-uri",
                "https://registered.example.com/cb",
                "--owner",
                "seed-user-0001",
                "--description",
                "Registered by the CLI",
                "--accept-terms",
            ],
            None,
        ));
        let registered = audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("client.registered"))
            .all(&db.conn)
            .await
            .unwrap();
        assert_eq!(registered.len(), 4, "{}", db.name);
        let keys = |event: &audit_event::Model| -> Vec<String> {
            let details: Value = serde_json::from_str(&event.details).unwrap();
            let mut keys: Vec<String> = details.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        let by_cli = registered
            .iter()
            .find(|e| e.target_id.as_deref() == created["client_id"].as_str())
            .unwrap();
        for event in &registered {
            assert_eq!(keys(event), keys(by_cli), "{}", db.name);
        }
        for model in client::Entity::find().all(&db.conn).await.unwrap() {
            let scopes = client_scope::Entity::find()
                .filter(client_scope::Column::ClientUuid.eq(model.id))
                .count(&db.conn)
                .await
                .unwrap();
            let slots = client_secret::Entity::find()
                .filter(client_secret::Column::ClientUuid.eq(model.id))
                .all(&db.conn)
                .await
                .unwrap();
            let terms = terms_acceptance::Entity::find()
                .filter(terms_acceptance::Column::ClientUuid.eq(model.id))
                .count(&db.conn)
                .await
                .unwrap();
            assert_eq!((scopes, slots.len(), terms), (1, 1, 1), "{}", model.name);
            assert!(slots[0].ciphertext.is_some(), "{}", model.name);
        }
        assert_chains_verify(&db);
        db.cleanup().await;
    }
}

/// Seeding again where a seeded user is already a site administrator (and no longer an API
/// user) gives them the API User role back and keeps the administrator role.
#[tokio::test]
async fn seeding_again_keeps_the_roles_a_seeded_user_holds() {
    use app::server::entities::site_membership as membership;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel};
    for db in TestDatabases::all().await {
        seed(&db, "Acme", 1, 1, 0);
        let mut row = membership::Entity::find()
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        row.is_site_admin = Set(true);
        row.is_api_user = Set(false);
        let row = row.update(&db.conn).await.unwrap();
        seed(&db, "Acme", 1, 1, 0);
        let again = membership::Entity::find_by_id((row.site_id, row.user_id))
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        assert!(again.is_site_admin && again.is_api_user, "{}", db.name);
        // Another site: the same user becomes its API user too.
        seed(&db, "Globex", 1, 1, 0);
        let memberships = membership::Entity::find()
            .filter(membership::Column::UserId.eq(row.user_id))
            .count(&db.conn)
            .await
            .unwrap();
        assert_eq!(memberships, 2, "{}", db.name);
        db.cleanup().await;
    }
}

/// `latchkey client retire-secret` retires the old secret of a rotation; one used within the
/// warning window only with `--even-if-in-use`, and the refusal says when and from where.
#[tokio::test]
async fn retire_secret_from_the_cli_asks_before_retiring_a_secret_in_use() {
    use app::server::entities::client_secret;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel, QueryOrder};
    for db in TestDatabases::all().await {
        let seeded = seed(&db, "Acme", 1, 1, 0);
        let client_id = seeded["clients"][0]["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let retire = |extra: &[&str]| {
            let mut args = vec!["client", "retire-secret", "--client-id", client_id.as_str()];
            args.extend_from_slice(extra);
            latchkey(&db, &args, None)
        };
        let nothing = one_line_error(&retire(&[]));
        assert!(nothing.contains("no old secret"), "{nothing}");
        json(&latchkey(
            &db,
            &[
                "client",
                "rotate-secret",
                "--client-id",
                &client_id,
                "--grace",
                "7d",
            ],
            None,
        ));
        // The old slot (now in its grace period) was used a minute ago by a partner.
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let old = client_secret::Entity::find()
            .order_by_asc(client_secret::Column::CreatedAt)
            .order_by_asc(client_secret::Column::Id)
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        let mut used = old.clone().into_active_model();
        used.last_used_at = Set(Some(now - 60));
        used.last_used_from = Set(Some("203.0.113.7".into()));
        used.use_count = Set(12);
        used.update(&db.conn).await.unwrap();
        let refused = one_line_error(&retire(&[]));
        assert!(
            refused.contains("still in use") && refused.contains("203.0.113.7"),
            "{refused}"
        );
        let retired = json(&retire(&["--even-if-in-use"]));
        assert_eq!(retired["retired_secret_hint"], old.hint.as_str());
        assert_eq!(retired["use_count"], 12);
        let again = client_secret::Entity::find_by_id(old.id)
            .one(&db.conn)
            .await
            .unwrap()
            .unwrap();
        assert!(again.retired_at.is_some(), "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn secret_expiry_from_the_command_line() {
    for db in TestDatabases::all().await {
        acme_with_api_user(&db, "api-exp");
        let create = |name: &str, extra: &[&str]| {
            let mut args = vec![
                "client",
                "create",
                "--owner",
                "api-exp",
                "--name",
                name,
                "--description",
                "Expires",
                "--redirect-uri",
                "https://exp.example.com/cb",
                "--accept-terms",
            ];
            args.extend_from_slice(extra);
            latchkey(&db, &args, None)
        };
        // The site's setting applies when the command does not choose.
        let site = json(&latchkey(
            &db,
            &[
                "site",
                "update",
                "--name",
                "Acme",
                "--secret-expires-in",
                "90d",
            ],
            None,
        ));
        assert_eq!(site["secret_lifetime_seconds"], 90 * 86_400, "{}", db.name);
        assert_eq!(site["email_notifications"], false);
        // E-mail notifications, switched from the command line (no SMTP needed to decide).
        let mailed = json(&latchkey(
            &db,
            &[
                "site",
                "update",
                "--name",
                "Acme",
                "--email-notifications",
                "on",
            ],
            None,
        ));
        assert_eq!(mailed["email_notifications"], true, "{mailed}");
        assert_eq!(mailed["secret_lifetime_seconds"], 90 * 86_400);
        let by_site = json(&create("By site", &[]));
        let chosen = json(&create("Chosen", &["--secret-expires-in", "30d"]));
        let never = json(&create("Never", &["--secret-expires-in", "never"]));
        let expires = |created: &Value| created["secret_expires_at"].as_str().map(rfc3339_to_unix);
        let (by_site_end, chosen_end) = (expires(&by_site).unwrap(), expires(&chosen).unwrap());
        // Commands run a second or two apart.
        let about = |seconds: i64, expected: i64| (seconds - expected).abs() <= 5;
        assert!(about(by_site_end - chosen_end, 60 * 86_400), "{}", db.name);
        assert_eq!(never["secret_expires_at"], Value::Null);
        let too_short = one_line_error(&create("Short", &["--secret-expires-in", "1h"]));
        assert!(
            too_short.contains("between 1 day and 3 years"),
            "{too_short}"
        );

        // Rotation: a chosen lifetime, then the list shows each slot's expiry.
        let client_id = chosen["client_id"].as_str().unwrap();
        let rotated = json(&latchkey(
            &db,
            &[
                "client",
                "rotate-secret",
                "--client-id",
                client_id,
                "--grace",
                "1d",
                "--expires-in",
                "180d",
            ],
            None,
        ));
        let rotated_end = rfc3339_to_unix(rotated["expires_at"].as_str().unwrap());
        assert!(about(rotated_end - chosen_end, 150 * 86_400), "{}", db.name);
        let list = json(&latchkey(&db, &["client", "list", "--json"], None));
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["client_id"] == client_id)
            .unwrap();
        assert_eq!(row["status"], "active");
        let slots = row["secrets"].as_array().unwrap();
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0]["state"], "current");
        assert_eq!(
            rfc3339_to_unix(slots[0]["expires_at"].as_str().unwrap()),
            rotated_end
        );
        assert_eq!(slots[1]["state"], "grace");
        // The old slot ends with its grace period (a day), well before its own 30 days.
        let old_end = rfc3339_to_unix(slots[1]["expires_at"].as_str().unwrap());
        assert!(old_end < chosen_end, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn leak_report_from_the_command_line_quarantines_a_secret_once() {
    for db in TestDatabases::all().await {
        acme_with_api_user(&db, "api-leak");
        let created = json(&latchkey(
            &db,
            &[
                "client",
                "create",
                "--owner",
                "api-leak",
                "--name",
                "Leaky",
                "--description",
                "Pushed its .env",
                "--redirect-uri",
                "https://leaky.example.com/cb",
                "--accept-terms",
            ],
            None,
        ));
        let secret = created["client_secret"].as_str().unwrap();
        let input = format!("{secret}\n\nnot a token\n");
        let args = [
            "leak",
            "report",
            "--source",
            "gitleaks",
            "--url",
            "https://ci.example.com/1",
        ];
        let first = json(&latchkey(&db, &args, Some(&input)));
        assert_eq!(first[0]["status"], "quarantined", "{}", db.name);
        assert_eq!(first[0]["client_id"], created["client_id"]);
        assert_eq!(first[1]["status"], "malformed");
        assert_eq!(
            first.as_array().unwrap().len(),
            2,
            "blank lines are skipped"
        );
        assert!(!first.to_string().contains(secret));
        let again = json(&latchkey(&db, &args, Some(&input)));
        assert_eq!(again[0]["status"], "inactive");
        let list = json(&latchkey(&db, &["client", "list", "--json"], None));
        assert_eq!(list[0]["secrets"][0]["state"], "quarantined");
        assert_chains_verify(&db);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn delete_and_restore_from_the_command_line() {
    for db in TestDatabases::all().await {
        acme_with_api_user(&db, "api-del");
        let created = json(&latchkey(
            &db,
            &[
                "client",
                "create",
                "--owner",
                "api-del",
                "--name",
                "Doomed",
                "--description",
                "Deleted from cron",
                "--redirect-uri",
                "https://del.example.com/cb",
                "--accept-terms",
            ],
            None,
        ));
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let listed = |db: &TestDb| {
            json(&latchkey(db, &["client", "list", "--json"], None))
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(listed(&db), 1);
        let gone = json(&latchkey(
            &db,
            &[
                "--deleted-retention-days",
                "7",
                "client",
                "delete",
                "--client-id",
                &client_id,
            ],
            None,
        ));
        let deleted_at = rfc3339_to_unix(gone["deleted_at"].as_str().unwrap());
        let purge_at = rfc3339_to_unix(gone["purge_at"].as_str().unwrap());
        assert_eq!(purge_at - deleted_at, 7 * 86_400, "{gone}");
        assert_eq!(listed(&db), 0, "{}", db.name);
        // Deleting it again, or restoring a live one, names what is missing.
        let again = one_line_error(&latchkey(
            &db,
            &["client", "delete", "--client-id", &client_id],
            None,
        ));
        assert!(again.contains("no live client"), "{again}");
        json(&latchkey(
            &db,
            &["client", "restore", "--client-id", &client_id],
            None,
        ));
        assert_eq!(listed(&db), 1);
        let live = one_line_error(&latchkey(
            &db,
            &["client", "restore", "--client-id", &client_id],
            None,
        ));
        assert!(live.contains("no deleted client"), "{live}");

        // A user goes with their client, and comes back with it.
        json(&latchkey(
            &db,
            &["admin", "delete", "--username", "api-del"],
            None,
        ));
        assert_eq!(listed(&db), 0);
        let refused = one_line_error(&latchkey(
            &db,
            &["client", "restore", "--client-id", &client_id],
            None,
        ));
        assert!(refused.contains("restore them first"), "{refused}");
        json(&latchkey(
            &db,
            &["admin", "restore", "--username", "api-del"],
            None,
        ));
        assert_eq!(listed(&db), 1);
        assert_chains_verify(&db);
    }
}

#[tokio::test]
async fn seeding_refuses_a_user_in_the_deleted_view() {
    for db in TestDatabases::all().await {
        assert!(latchkey(&db, &["migrate"], None).status.success());
        json(&latchkey(&db, &["site", "create", "--name", "Acme"], None));
        seed(&db, "Acme", 1, 0, 0);
        json(&latchkey(
            &db,
            &["admin", "delete", "--username", "seed-user-0001"],
            None,
        ));
        let refused = one_line_error(&latchkey(
            &db,
            &[
                "seed",
                "--site",
                "Acme",
                "--api-users",
                "1",
                "--clients",
                "0",
                "--audit-events",
                "0",
                "--password-stdin",
            ],
            Some("seeded users passphrase\n"),
        ));
        assert!(refused.contains("Deleted view"), "{} {refused}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_consent_lifetime_from_the_command_line() {
    for db in TestDatabases::all().await {
        acme_with_api_user(&db, "api-consent");
        let update = |value: &str| {
            latchkey(
                &db,
                &[
                    "site",
                    "update",
                    "--name",
                    "Acme",
                    "--consent-lifetime",
                    value,
                ],
                None,
            )
        };
        let site = json(&update("30d"));
        assert_eq!(site["consent_lifetime_seconds"], 30 * 86_400, "{}", db.name);
        let never = json(&update("never"));
        assert_eq!(never["consent_lifetime_seconds"], 0);
        let too_short = one_line_error(&update("5m"));
        assert!(
            too_short.contains("between 1 hour and 2 years"),
            "{too_short}"
        );
        let garbage = one_line_error(&update("soon"));
        assert!(garbage.contains("is not a duration"), "{garbage}");
        db.cleanup().await;
    }
}
