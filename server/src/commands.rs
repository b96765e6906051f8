//! What each `latchkey` subcommand does. Machine-readable results go to stdout (JSON or a
//! table); logs go to stderr; failures return one clear message for `main` to print.

use crate::cli_support::{CliError, parse_duration, print_json, rfc3339};
use crate::{
    admin_token_commands, audit_stream_verify,
    config::{
        AdminCommand, AdminCreateArgs, AuditCommand, Cli, ClientCommand, ClientCreateArgs, Command,
        GlobalArgs, LeakCommand, SecretPolicyArg, SeedArgs, ServeArgs, SiteCommand,
    },
    key_commands, master_key,
    middleware::HttpPolicy,
    startup::{Mode, build_router},
};
use app::{
    domain::{
        AccessTokenFormat, ClientDescription, ClientName, EmailAddress, GrantTypes, NewPassword,
        RedirectUri, ResourceUri, ScopeSet, SiteName, Timestamp, Username,
        secret_lifetime::LifetimeChoice,
    },
    server::{
        AppState, Clock, Settings,
        crypto::signatures::PayloadKey,
        services::{
            access::{self, Acting},
            audit, clients,
            context::ServiceContext,
            failure_timeline, leaks,
            notifications::mail_settings,
            secrets, setup, site_resources, sites,
            users::{self, NewUser, SiteRoles},
        },
        state::{SecretPolicy, TermsOfUse},
    },
};
use migrations::{Migrator, MigratorTrait};
use serde_json::json;
use std::{io::BufRead, net::SocketAddr};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(&cli.global, args).await,
        Command::Migrate => {
            let db = connect(&cli.global, 2).await?;
            Migrator::up(&db, None).await?;
            tracing::info!("database is up to date");
            Ok(())
        }
        Command::Site(command) => site(&cli.global, command).await,
        Command::Admin(AdminCommand::Create(args)) => admin_create(&cli.global, args).await,
        Command::Admin(AdminCommand::List { site, json }) => {
            admin_list(&cli.global, &site, json).await
        }
        Command::Admin(AdminCommand::Delete { username }) => {
            admin_delete(&cli.global, &username, true).await
        }
        Command::Admin(AdminCommand::Restore { username }) => {
            admin_delete(&cli.global, &username, false).await
        }
        Command::Client(command) => client(&cli.global, command).await,
        Command::AdminToken(command) => {
            let state = open(&cli.global, settings(&cli.global)?, None, 2).await?;
            admin_token_commands::run(&state, command).await
        }
        Command::Audit(AuditCommand::Verify { against, stream }) if !stream.is_empty() => {
            audit_verify_stream(&cli.global, &stream, against.as_deref())
        }
        Command::Audit(AuditCommand::Verify { against, .. }) => {
            audit_verify(&cli.global, against.as_deref()).await
        }
        Command::Audit(AuditCommand::Head) => audit_head(&cli.global).await,
        Command::Audit(AuditCommand::Streams) => audit_streams(&cli.global).await,
        Command::Audit(AuditCommand::Rekey) => audit_rekey(&cli.global).await,
        Command::Audit(AuditCommand::Prune { older_than }) => {
            audit_prune(&cli.global, &older_than).await
        }
        Command::Seed(args) => seed(&cli.global, args).await,
        Command::Leak(LeakCommand::Report { source, url }) => {
            leak_report(&cli.global, source, url).await
        }
        Command::Keys(command) => {
            let state = open(&cli.global, settings(&cli.global)?, None, 2).await?;
            key_commands::run(&state, command).await
        }
    }
}

/// `latchkey leak report`: candidates from stdin, 100 at a time.
async fn leak_report(
    global: &GlobalArgs,
    source: String,
    url: Option<String>,
) -> Result<(), CliError> {
    use std::io::BufRead;
    let state = open(global, settings(global)?, None, 2).await?;
    let candidates: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let reporter = leaks::Reporter {
        label: source,
        address: None,
        trusted: true,
    };
    let candidates: Vec<leaks::Candidate> = candidates
        .into_iter()
        .map(|token| leaks::Candidate {
            token,
            url: url.clone(),
            source: None,
        })
        .collect();
    let mut findings = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(leaks::MAX_CANDIDATES) {
        let now = state.clock.now();
        findings.extend(leaks::report(&state.db, &state.keys, chunk, &reporter, now).await?);
    }
    print_json(&json!(
        findings
            .iter()
            .map(leaks::LeakFinding::to_json)
            .collect::<Vec<_>>()
    ))
}

async fn connect(global: &GlobalArgs, pool: u32) -> Result<sea_orm::DatabaseConnection, CliError> {
    if global.database_url.is_none() {
        std::fs::create_dir_all(&global.data_dir)?;
    }
    let url = global.database_url();
    app::server::db::connect(&url, pool)
        .await
        .map_err(|error| CliError(format!("cannot open the database: {error}")))
}

/// The operator settings every command shares (policies, terms).
fn settings(global: &GlobalArgs) -> Result<Settings, CliError> {
    let terms = match (&global.terms_file, &global.terms_version) {
        (Some(path), Some(version)) => TermsOfUse {
            version: version.trim().to_owned(),
            text: std::fs::read_to_string(path)
                .map_err(|error| CliError(format!("--terms-file {}: {error}", path.display())))?,
        },
        _ => TermsOfUse::default(),
    };
    Ok(Settings {
        allow_loopback_redirects: global.allow_loopback_redirects,
        webhooks_allow_private: global.webhooks_allow_private,
        secret_policy: match global.secret_policy {
            SecretPolicyArg::Reveal => SecretPolicy::Reveal,
            SecretPolicyArg::ShowOnce => SecretPolicy::ShowOnce,
        },
        terms,
        retire_warning_window: global.retire_warning_window,
        deleted_retention: global.deleted_retention_days * 24 * 60 * 60,
        ..Settings::default()
    })
}

/// Reads `--leak-report-keys`: GitHub's `{"public_keys": [{"key_identifier", "key"}]}`.
fn leak_report_keys(path: &std::path::Path) -> Result<Vec<PayloadKey>, CliError> {
    let failed = |why: String| CliError(format!("--leak-report-keys {}: {why}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?;
    let keys = document["public_keys"]
        .as_array()
        .ok_or_else(|| failed("no \"public_keys\" array".into()))?;
    keys.iter()
        .map(|key| {
            let id = key["key_identifier"].as_str().unwrap_or_default();
            let pem = key["key"].as_str().unwrap_or_default();
            PayloadKey::parse(id, pem).map_err(failed)
        })
        .collect()
}

/// Connects, migrates and assembles the state shared by every command.
async fn open(
    global: &GlobalArgs,
    settings: Settings,
    setup_token: Option<String>,
    pool: u32,
) -> Result<AppState, CliError> {
    let key = master_key::load(global)?;
    let db = connect(global, pool).await?;
    Migrator::up(&db, None).await?;
    Ok(AppState::new(
        db,
        settings,
        &key,
        Clock::System,
        setup_token,
    )?)
}

/// Parses `--public-url`: https, or plain http for a loopback host only.
fn public_url(args: &ServeArgs) -> Result<url::Url, CliError> {
    let raw = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let url = url::Url::parse(&raw)
        .map_err(|error| CliError(format!("--public-url {raw:?}: {error}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(CliError(format!(
            "--public-url {raw:?} must use https (plain http is allowed only for loopback addresses)"
        ))),
    }
}

async fn serve(global: &GlobalArgs, args: ServeArgs) -> Result<(), CliError> {
    let public_url = public_url(&args)?;
    if args.refresh_token_absolute_ttl < args.refresh_token_ttl {
        return Err(CliError(format!(
            "--refresh-token-absolute-ttl ({}) must be at least --refresh-token-ttl ({})",
            args.refresh_token_absolute_ttl, args.refresh_token_ttl
        )));
    }
    let secure = public_url.scheme() == "https" || args.trusted_proxy;
    let issuer = public_url.as_str().trim_end_matches('/').to_owned();
    let settings = Settings {
        public_url: issuer.clone(),
        secure_cookies: secure,
        access_token_ttl: args.access_token_ttl,
        refresh_token_ttl: args.refresh_token_ttl,
        refresh_token_absolute_ttl: args.refresh_token_absolute_ttl,
        code_ttl: args.code_ttl,
        reauth_window: args.reauth_window,
        leak_report_keys: match &args.leak_report_keys {
            Some(path) => leak_report_keys(path)?,
            None => Vec::new(),
        },
        mail_configured: args.smtp_url.is_some(),
        stale_client_after: (args.stale_client_days > 0).then_some(args.stale_client_days * 86_400),
        dpop_require_nonce: args.dpop_require_nonce,
        ..settings(global)?
    };
    let mailer = match &args.smtp_url {
        Some(url) => {
            let from = args
                .mail_from
                .clone()
                .unwrap_or_else(|| default_mail_from(&public_url));
            Some(crate::mail_sender::Mailer::new(&url.0, &from, &issuer).map_err(CliError)?)
        }
        None => None,
    };
    let state = open(
        global,
        settings,
        args.setup_token.clone(),
        args.pool_size(global.is_sqlite()),
    )
    .await?;
    if setup::needs_setup(&state.db).await?
        && let Some(token) = state.setup_token.reveal_for_log()
    {
        tracing::warn!(
            "First run: open {issuer}/setup and enter the setup token {token} \
             (or create an administrator with `latchkey admin create`)"
        );
    }
    crate::background::spawn(
        state.clone(),
        args.audit_retention_days,
        mailer,
        args.audit_stream
            .clone()
            .map(|target| (target, args.audit_stream_max_bytes)),
    );
    let usage = state.clone();
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("latchkey")
        .site_root(args.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .build();
    let policy = HttpPolicy {
        trusted_proxy: args.trusted_proxy,
        secure,
        public_origin: public_url.origin().ascii_serialization(),
        metrics: args.metrics,
    };
    let mode = if args.token_server_only {
        Mode::TokenServerOnly
    } else {
        Mode::Full
    };
    let router = build_router(state, leptos_options, policy, mode);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| CliError(format!("cannot listen on {}: {error}", args.addr)))?;
    tracing::info!(address = %args.addr, public_url = %issuer, ?mode, "Latchkey is listening");
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    if let Err(error) = usage.usage.flush(&usage.db).await {
        tracing::warn!(%error, "writing usage counts at shutdown failed");
    }
    if let Err(error) = usage.failure_timeline.flush(&usage.db).await {
        tracing::warn!(%error, "writing failure timelines at shutdown failed");
    }
    tracing::info!("stopped");
    Ok(())
}

/// `Latchkey <latchkey@HOST>` with the public URL's host when it is a domain name, else
/// `localhost` (an address needs a domain).
fn default_mail_from(public_url: &url::Url) -> String {
    let host = match public_url.host() {
        Some(url::Host::Domain(name)) if name.contains('.') => name.to_owned(),
        _ => "localhost".to_owned(),
    };
    format!("Latchkey <latchkey@{host}>")
}

async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn site(global: &GlobalArgs, command: SiteCommand) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    match command {
        SiteCommand::Create { name } => {
            let name = SiteName::parse(&name)?;
            let operator = Acting::operator();
            let site = sites::create(&ServiceContext::new(&state, &operator), &name).await?;
            print_json(&json!({"id": site.id, "name": site.name}))
        }
        SiteCommand::Update {
            name,
            secret_expires_in,
            email_notifications,
            consent_lifetime,
            access_token_format,
        } => {
            let site = sites::find_by_name(&state.db, &name)
                .await?
                .ok_or_else(|| CliError(format!("no site named {name:?}")))?;
            let operator = Acting::operator();
            let cx = ServiceContext::new(&state, &operator);
            let site = match secret_expires_in.as_deref() {
                None => site,
                Some(raw) => {
                    let lifetime = match lifetime_arg(Some(raw))? {
                        LifetimeChoice::SiteDefault => LifetimeChoice::Never,
                        choice => choice,
                    };
                    sites::set_secret_lifetime(&cx, site.id, lifetime).await?
                }
            };
            let site = match email_notifications {
                None => site,
                Some(switch) => {
                    let on = switch == crate::config::Switch::On;
                    mail_settings::set_enabled(&cx, site.id, on).await?
                }
            };
            let site = match consent_lifetime.as_deref().map(str::trim) {
                None => site,
                Some(raw) => {
                    let seconds = match raw {
                        "never" | "0" => 0,
                        text => parse_duration(text)?,
                    };
                    sites::set_consent_lifetime(&cx, site.id, seconds).await?
                }
            };
            let site = match access_token_format.as_deref() {
                None => site,
                Some(raw) => {
                    let format = AccessTokenFormat::parse(raw).map_err(|invalid| {
                        CliError(format!("--access-token-format: {}", invalid.0))
                    })?;
                    sites::set_access_token_format(&cx, site.id, format).await?
                }
            };
            print_json(&json!({
                "id": site.id,
                "name": site.name,
                "secret_lifetime_seconds": site.secret_lifetime,
                "email_notifications": site.email_notifications,
                "consent_lifetime_seconds": site.consent_lifetime,
                "access_token_format": site.access_token_format,
            }))
        }
        SiteCommand::AddResource { name, uri } => site_resource(&state, &name, &uri, true).await,
        SiteCommand::RemoveResource { name, uri } => {
            site_resource(&state, &name, &uri, false).await
        }
        SiteCommand::List { json } => {
            let all = sites::list_all(&state.db).await?;
            if json {
                print_json(&json!(
                    all.iter()
                        .map(|s| json!({"id": s.id, "name": s.name}))
                        .collect::<Vec<_>>()
                ))
            } else {
                println!("{:<36}  NAME", "ID");
                for site in all {
                    println!("{:<36}  {}", site.id, site.name);
                }
                Ok(())
            }
        }
    }
}

/// `latchkey site add-resource` (`adding`) or `remove-resource`: prints the site's resource
/// servers after the change.
async fn site_resource(
    state: &AppState,
    name: &str,
    uri: &str,
    adding: bool,
) -> Result<(), CliError> {
    let site = sites::find_by_name(&state.db, name)
        .await?
        .ok_or_else(|| CliError(format!("no site named {name:?}")))?;
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    if adding {
        let uri = ResourceUri::parse(uri, state.settings.allow_loopback_redirects)
            .map_err(|e| CliError(format!("--uri: {e}")))?;
        site_resources::add(&cx, site.id, &uri).await?;
    } else {
        site_resources::remove(&cx, site.id, uri).await?;
    }
    print_json(&json!({
        "site": site.name,
        "resources": site_resources::list(&state.db, site.id).await?,
    }))
}

fn read_password_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(CliError("no password on standard input".into()));
    }
    Ok(password)
}

async fn admin_create(global: &GlobalArgs, args: AdminCreateArgs) -> Result<(), CliError> {
    let username = Username::parse(&args.username)?;
    let email = EmailAddress::parse(&args.email)?;
    let password = NewPassword::parse(&read_password_line()?, username.as_str())
        .map_err(|problem| CliError(format!("password: {problem}")))?;
    let state = open(global, settings(global)?, None, 2).await?;
    let mut roles = Vec::new();
    let mut granted = Vec::new();
    for name in &args.sites {
        let site = sites::find_by_name(&state.db, name).await?.ok_or_else(|| {
            CliError(format!(
                "no site named {name:?} (create it with `latchkey site create`)"
            ))
        })?;
        let site_roles = SiteRoles {
            site_id: site.id,
            is_site_admin: !args.api_user_only,
            is_api_user: args.api_user || args.api_user_only,
        };
        granted.push(json!({
            "site": site.name,
            "site_administrator": site_roles.is_site_admin,
            "api_user": site_roles.is_api_user,
        }));
        roles.push(site_roles);
    }
    let new_user = NewUser {
        username,
        email,
        password,
        roles,
    };
    let operator = Acting::operator();
    let cx = ServiceContext::new(&state, &operator);
    let user = users::create(&cx, &state.passwords, new_user).await?;
    print_json(&json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "sites": granted,
    }))
}

async fn admin_list(global: &GlobalArgs, site_name: &str, as_json: bool) -> Result<(), CliError> {
    const PAGE: u64 = 500;
    let state = open(global, settings(global)?, None, 2).await?;
    let site = sites::find_by_name(&state.db, site_name)
        .await?
        .ok_or_else(|| CliError(format!("no site named {site_name:?}")))?;
    let mut rows = Vec::new();
    for page in 0.. {
        let found =
            users::list_for_site(&state.db, &Acting::operator(), site.id, "", page, PAGE).await?;
        let done = (found.rows.len() as u64) < PAGE;
        rows.extend(found.rows);
        if done {
            break;
        }
    }
    let last_sign_in = |at: Option<i64>| at.map(|at| app::domain::Timestamp(at).format_rfc3339());
    if as_json {
        return print_json(&json!(
            rows.iter()
                .map(|row| json!({
                    "id": row.user.id,
                    "username": row.user.username,
                    "email": row.user.email,
                    "site_administrator": row.roles.is_site_admin,
                    "api_user": row.roles.is_api_user,
                    "active": row.user.is_active(),
                    "last_sign_in": last_sign_in(row.user.last_sign_in_at),
                }))
                .collect::<Vec<_>>()
        ));
    }
    println!(
        "{:<24} {:<32} {:<30} {:<9} LAST SIGN-IN",
        "USERNAME", "EMAIL", "ROLES", "STATUS"
    );
    for row in rows {
        println!(
            "{:<24} {:<32} {:<30} {:<9} {}",
            row.user.username,
            row.user.email,
            users::role_words(row.roles.is_site_admin, row.roles.is_api_user),
            if row.user.is_active() {
                "active"
            } else {
                "disabled"
            },
            last_sign_in(row.user.last_sign_in_at).unwrap_or_else(|| "never".into()),
        );
    }
    Ok(())
}

/// A secret lifetime flag: absent for the site's setting, `never`, or a duration.
fn lifetime_arg(raw: Option<&str>) -> Result<LifetimeChoice, CliError> {
    match raw.map(str::trim) {
        None => Ok(LifetimeChoice::SiteDefault),
        Some("never") => Ok(LifetimeChoice::Never),
        Some(text) => LifetimeChoice::seconds(parse_duration(text)?)
            .map_err(|message| CliError(format!("{text:?}: {message}"))),
    }
}

async fn client(global: &GlobalArgs, command: ClientCommand) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    match command {
        ClientCommand::Create(args) => client_create(&state, args).await,
        ClientCommand::List {
            site,
            json,
            unused_since,
        } => client_list(&state, site.as_deref(), json, unused_since.as_deref()).await,
        ClientCommand::RotateSecret {
            client_id,
            grace,
            revoke_tokens,
            expires_in,
            even_if_in_use,
        } => {
            let client = clients::find_by_client_id(&state.db, &client_id)
                .await?
                .ok_or_else(|| CliError(format!("no client with Consumer Key {client_id:?}")))?;
            let existing = if revoke_tokens {
                secrets::ExistingTokens::RevokeAll
            } else {
                secrets::ExistingTokens::Keep
            };
            let rotation = secrets::Rotation {
                grace_seconds: parse_duration(&grace)?,
                existing,
                lifetime: lifetime_arg(expires_in.as_deref())?,
                even_if_in_use,
            };
            let operator = Acting::operator();
            let cx = ServiceContext::new(&state, &operator);
            let secret = secrets::rotate(&cx, client.id, rotation).await?;
            let newest = secrets::slots(&state.db, client.id).await?;
            print_json(&json!({
                "client_id": client.client_id,
                "client_secret": secret.expose(),
                "expires_at": rfc3339(newest.first().and_then(|slot| slot.ends_at())),
                "old_secret_valid_for_seconds": parse_duration(&grace)?,
                "tokens_revoked": revoke_tokens,
            }))
        }
        ClientCommand::Approve { client_id } => {
            client_review(&state, &client_id, clients::review::Decision::Approve).await
        }
        ClientCommand::Reject { client_id, reason } => {
            let reason = app::domain::ReviewReason::parse(&reason)
                .map_err(|problem| CliError(format!("--reason: {problem}")))?;
            client_review(
                &state,
                &client_id,
                clients::review::Decision::Reject(reason),
            )
            .await
        }
        ClientCommand::Delete { client_id } => client_delete(&state, &client_id, true).await,
        ClientCommand::Restore { client_id } => client_delete(&state, &client_id, false).await,
        ClientCommand::RetireSecret {
            client_id,
            even_if_in_use,
        } => {
            let client = clients::find_by_client_id(&state.db, &client_id)
                .await?
                .ok_or_else(|| CliError(format!("no client with Consumer Key {client_id:?}")))?;
            let now = state.clock.now();
            let slots = secrets::slots(&state.db, client.id).await?;
            let Some(old) = slots
                .iter()
                .skip(1)
                .find(|slot| slot.is_valid_at(now.unix()))
            else {
                return Err(CliError(format!(
                    "{client_id} has no old secret in a grace period"
                )));
            };
            let operator = Acting::operator();
            let cx = ServiceContext::new(&state, &operator);
            secrets::retire(&cx, client.id, old.id, even_if_in_use).await?;
            print_json(&json!({
                "client_id": client.client_id,
                "retired_secret_hint": old.hint,
                "last_used_at": old.last_used_at,
                "last_used_from": old.last_used_from,
                "last_user_agent": old.last_user_agent,
                "use_count": old.use_count,
            }))
        }
    }
}

/// `latchkey client approve|reject`: decides a pending request, as the console's Pending list
/// does.
async fn client_review(
    state: &AppState,
    client_id: &str,
    decision: clients::review::Decision,
) -> Result<(), CliError> {
    let client = clients::find_by_client_id(&state.db, client_id)
        .await?
        .filter(|client| !client.is_deleted())
        .ok_or_else(|| CliError(format!("no client with Consumer Key {client_id:?}")))?;
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    let decided = clients::review::decide(&cx, client.id, decision).await?;
    print_json(&json!({
        "client_id": decided.client_id,
        "name": decided.name,
        "status": decided.status().as_str(),
        "rejection_reason": decided.review_reason,
    }))
}

/// `latchkey client delete|restore`: moves a client to the Deleted view (`delete`) or back.
async fn client_delete(state: &AppState, client_id: &str, delete: bool) -> Result<(), CliError> {
    let client = clients::find_by_client_id(&state.db, client_id)
        .await?
        .filter(|client| client.is_deleted() != delete)
        .ok_or_else(|| {
            CliError(format!(
                "no {} client with Consumer Key {client_id:?}",
                if delete { "live" } else { "deleted" }
            ))
        })?;
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    let changed = if delete {
        clients::delete(&cx, client.id).await?
    } else {
        clients::restore(&cx, client.id).await?
    };
    print_json(&json!({
        "client_id": changed.client_id,
        "name": changed.name,
        "deleted_at": rfc3339(changed.deleted_at),
        "purge_at": rfc3339(changed.deleted_at.map(|at| state.settings.purge_at(at))),
    }))
}

/// `latchkey admin delete|restore`: moves a user (and the clients they own) to the Deleted
/// view, or back.
async fn admin_delete(global: &GlobalArgs, username: &str, delete: bool) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    let user = users::find_by_username(&state.db, username)
        .await?
        .filter(|user| user.is_deleted() != delete)
        .ok_or_else(|| {
            CliError(format!(
                "no {} user named {username:?}",
                if delete { "live" } else { "deleted" }
            ))
        })?;
    let operator = Acting::operator();
    let cx = ServiceContext::new(&state, &operator);
    if delete {
        users::delete(&cx, user.id).await?;
    } else {
        users::restore(&cx, user.id).await?;
    }
    print_json(&json!({
        "username": user.username,
        "deleted": delete,
        "purge_at": delete.then(|| rfc3339(Some(state.settings.purge_at(state.clock.now().unix())))),
    }))
}

async fn client_create(state: &AppState, args: ClientCreateArgs) -> Result<(), CliError> {
    let field = |name: &str, problem: app::domain::Invalid| CliError(format!("{name}: {problem}"));
    let name = ClientName::parse(&args.name).map_err(|e| field("--name", e))?;
    let description =
        ClientDescription::parse(&args.description).map_err(|e| field("--description", e))?;
    let redirect_uri =
        RedirectUri::parse(&args.redirect_uri, state.settings.allow_loopback_redirects)
            .map_err(|e| field("--redirect-uri", e))?;
    let scopes = ScopeSet::from_inputs(&args.scopes).map_err(|e| field("--scope", e))?;
    if !args.accept_terms {
        return Err(CliError(format!(
            "registration needs --accept-terms: read the Latchkey API Terms of Use (version {}) first",
            state.settings.terms.version
        )));
    }
    let grant_types = if args.grant_types.is_empty() {
        GrantTypes::default()
    } else {
        GrantTypes::parse(args.grant_types.iter().map(String::as_str))
            .map_err(|e| field("--grant-type", e))?
    };
    let owner = match &args.owner {
        Some(username) => Some(
            users::find_by_username(&state.db, username)
                .await?
                .ok_or_else(|| CliError(format!("no user named {username:?}")))?,
        ),
        None if grant_types.is_machine_only() => None,
        None => {
            return Err(CliError(
                "--owner: the API user the client acts for is required unless the client is \
                 registered for --grant-type client_credentials alone"
                    .into(),
            ));
        }
    };
    let site = match (&args.site, &owner) {
        (Some(name), _) => sites::find_by_name(&state.db, name)
            .await?
            .ok_or_else(|| CliError(format!("no site named {name:?}")))?,
        (None, None) => {
            return Err(CliError(
                "--site: a client without an owner belongs to the site named here".into(),
            ));
        }
        (None, Some(owner)) => {
            let mut candidates = access::api_user_sites(&state.db, owner.id).await?;
            match candidates.len() {
                1 => candidates.remove(0),
                0 => {
                    return Err(CliError(format!(
                        "{} is not an API user of any site",
                        owner.username
                    )));
                }
                _ => {
                    return Err(CliError(format!(
                        "{} is an API user of several sites: pass --site",
                        owner.username
                    )));
                }
            }
        }
    };
    let registration = clients::Registration {
        name,
        description,
        redirect_uri,
        scopes,
        owner_user_id: owner.as_ref().map(|owner| owner.id),
        grant_types,
        require_pkce: args.require_pkce,
        require_dpop: args.require_dpop,
        terms_accepted: true,
        secret_lifetime: lifetime_arg(args.secret_expires_in.as_deref())?,
    };
    let operator = Acting::operator();
    let cx = ServiceContext::new(state, &operator);
    let (client, secret) = clients::register(&cx, site.id, registration).await?;
    let scopes = clients::client_scopes(&state.db, client.id).await?;
    let slots = secrets::slots(&state.db, client.id).await?;
    print_json(&json!({
        "client_id": client.client_id,
        "client_secret": secret.expose(),
        "secret_expires_at": rfc3339(slots.first().and_then(|slot| slot.ends_at())),
        "name": client.name,
        "description": client.description,
        "redirect_uri": client.redirect_uri,
        "site": site.name,
        "owner": owner.map(|owner| owner.username),
        "grant_types": client.grant_types().names(),
        "scopes": scopes.to_string(),
        "require_pkce": client.require_pkce,
        "require_dpop": client.require_dpop,
        "terms_version": client.terms_version,
    }))
}

async fn client_list(
    state: &AppState,
    site: Option<&str>,
    as_json: bool,
    unused_since: Option<&str>,
) -> Result<(), CliError> {
    const PAGE: u64 = 500;
    let unused_for_days = unused_since
        .map(parse_duration)
        .transpose()?
        .map(|seconds| seconds / 86_400);
    let all_sites = match site {
        Some(name) => vec![
            sites::find_by_name(&state.db, name)
                .await?
                .ok_or_else(|| CliError(format!("no site named {name:?}")))?,
        ],
        None => sites::list_all(&state.db).await?,
    };
    let now = state.clock.now();
    let mut rows = Vec::new();
    for site in &all_sites {
        for page in 0.. {
            let query = clients::ClientQuery {
                search: String::new(),
                sort: clients::ClientSort::Name,
                descending: false,
                page,
                per_page: PAGE,
                unused_for_days,
                expiring_within_days: None,
            };
            let found = clients::list(&state.db, &Acting::operator(), site.id, &query, now).await?;
            let done = (found.rows.len() as u64) < PAGE;
            rows.extend(found.rows.into_iter().map(|row| (site.name.clone(), row)));
            if done {
                break;
            }
        }
    }
    let when = rfc3339;
    if as_json {
        let mut slots =
            secrets::slots_of(&state.db, rows.iter().map(|(_, row)| row.client.id)).await?;
        print_json(&json!(
            rows.iter()
                .map(|(site, row)| {
                    let slots = slots.remove(&row.client.id).unwrap_or_default();
                    let states = secrets::slot_states(&slots, now);
                    json!({
                        "client_id": row.client.client_id,
                        "name": row.client.name,
                        "site": site,
                        "owner": row.owner,
                        "created_at": Timestamp(row.client.created_at).format_rfc3339(),
                        "last_used_at": when(row.client.last_used_at),
                        "active": row.client.is_active(),
                        "status": row.client.status().as_str(),
                        "rejection_reason": row.client.review_reason,
                        "secrets": slots.iter().zip(states).map(|(slot, state)| json!({
                            "hint": slot.hint,
                            "state": state.as_str(),
                            "created_at": Timestamp(slot.created_at).format_rfc3339(),
                            "expires_at": when(slot.ends_at()),
                            "retired_at": when(slot.retired_at),
                            "last_used_at": when(slot.last_used_at),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect::<Vec<_>>()
        ))?;
    } else {
        println!(
            "{:<34} {:<28} {:<16} {:<16} {:<21} STATUS",
            "CONSUMER KEY", "NAME", "SITE", "OWNER", "LAST USED"
        );
        for (site, row) in &rows {
            println!(
                "{:<34} {:<28} {:<16} {:<16} {:<21} {}",
                row.client.client_id,
                row.client.name,
                site,
                row.owner.as_deref().unwrap_or(app::domain::SITE_OWNED),
                when(row.client.last_used_at).unwrap_or_else(|| "never".into()),
                row.client.status().as_str()
            );
        }
    }
    if unused_since.is_some() && !rows.is_empty() {
        return Err(CliError(format!(
            "{} client(s) unused for {}",
            rows.len(),
            unused_since.unwrap_or_default()
        )));
    }
    Ok(())
}

async fn seed(global: &GlobalArgs, args: SeedArgs) -> Result<(), CliError> {
    use crate::seed;
    let password = NewPassword::parse(&read_password_line()?, "seed-user")
        .map_err(|problem| CliError(format!("password: {problem}")))?;
    let state = open(global, settings(global)?, None, 4).await?;
    let plan = seed::SeedPlan {
        site: SiteName::parse(&args.site)?,
        api_users: args.api_users.max(1),
        clients: args.clients,
        audit_events: args.audit_events,
        password,
        codes: args.codes,
        token_pairs: args.token_pairs,
    };
    let started = std::time::Instant::now();
    let report = seed::seed(&state, &plan).await?;
    tracing::info!(
        clients = report.clients.len(),
        api_users = report.api_users.len(),
        audit_events = args.audit_events,
        seconds = started.elapsed().as_secs_f64(),
        "seeded"
    );
    if let Some(dir) = &args.fixtures_dir {
        write_fixtures(dir, &report)?;
    }
    print_json(&json!({
        "site": args.site,
        "site_id": report.site_id,
        "api_users": report.api_users,
        "clients": report.clients.iter().map(|c| json!({
            "id": c.id,
            "client_id": c.client_id,
            "client_secret": c.secret.expose(),
            "redirect_uri": c.redirect_uri,
            "owner": c.owner,
        })).collect::<Vec<_>>(),
    }))
}

/// Writes the minted codes and tokens for a load generator: one credential per line,
/// tab-separated, starting with the client's HTTP Basic credentials (RFC 6749 2.3.1).
fn write_fixtures(dir: &std::path::Path, report: &crate::seed::SeedReport) -> Result<(), CliError> {
    use std::fmt::Write as _;
    let basic: Vec<String> = report
        .clients
        .iter()
        .map(|c| app::server::protocol::encode_basic(&c.client_id, c.secret.expose()))
        .collect();
    let mut codes = String::new();
    for minted in &report.fixtures.codes {
        let client = &report.clients[minted.client];
        let _ = writeln!(
            codes,
            "{}\t{}\t{}",
            basic[minted.client],
            minted.value.expose(),
            client.redirect_uri
        );
    }
    let mut tokens = String::new();
    for minted in &report.fixtures.token_pairs {
        let _ = writeln!(
            tokens,
            "{}\t{}\t{}",
            basic[minted.client],
            minted.value.access_token.expose(),
            // The seed mints through the authorization code path: always a pair.
            minted
                .value
                .refresh_token
                .as_ref()
                .map_or("", |refresh| refresh.expose())
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| CliError(format!("{}: {e}", dir.display())))?;
    for (name, content) in [("codes.tsv", codes), ("tokens.tsv", tokens)] {
        let path = dir.join(name);
        std::fs::write(&path, content).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

async fn audit_prune(global: &GlobalArgs, older_than: &str) -> Result<(), CliError> {
    let age = parse_duration(older_than)?;
    if age <= 0 {
        return Err(CliError(
            "--older-than must be a positive age, e.g. 365d".into(),
        ));
    }
    let state = open(global, settings(global)?, None, 2).await?;
    let now = state.clock.now();
    let cutoff = now.plus_seconds(-age);
    let pruned = audit::retention::prune_all(&state.db, &state.keys, cutoff, now).await?;
    let failures = failure_timeline::prune(&state.db, cutoff).await?;
    print_json(&json!({
        "pruned": pruned,
        "failures_pruned": failures,
        "older_than": cutoff.format_rfc3339()
    }))
}

async fn audit_verify(
    global: &GlobalArgs,
    against: Option<&std::path::Path>,
) -> Result<(), CliError> {
    let anchors = audit_stream_verify::read_anchors(against).map_err(CliError)?;
    let state = open(global, settings(global)?, None, 2).await?;
    let mut reports = Vec::new();
    let mut broken = None;
    for chain in audit::chains(&state.db).await? {
        let report = audit::verify_chain(&state.db, &state.keys, &chain).await?;
        if broken.is_none() {
            broken = report.broken.as_ref().map(|link| {
                format!(
                    "audit chain {} is broken at event #{} (id {}): {}",
                    link.chain, link.seq, link.event_id, link.reason
                )
            });
        }
        reports.push(json!({
            "chain": report.chain,
            "events": report.events,
            "ok": report.broken.is_none(),
        }));
    }
    let mut anchored = Vec::new();
    for anchor in &anchors {
        let problem = audit::check_anchor(&state.db, &state.keys, anchor).await?;
        if broken.is_none()
            && let Some(problem) = &problem
        {
            broken = Some(format!(
                "audit chain {} does not reach its anchor (#{}): {problem}",
                anchor.chain, anchor.seq
            ));
        }
        anchored.push(json!({"chain": anchor.chain, "seq": anchor.seq, "ok": problem.is_none()}));
    }
    print_json(&json!({"chains": reports, "anchors": anchored}))?;
    match broken {
        None => Ok(()),
        Some(message) => Err(CliError(message)),
    }
}

/// `latchkey audit verify --stream FILE...`: an exported stream, checked with the key alone.
fn audit_verify_stream(
    global: &GlobalArgs,
    files: &[std::path::PathBuf],
    against: Option<&std::path::Path>,
) -> Result<(), CliError> {
    let anchors = audit_stream_verify::read_anchors(against).map_err(CliError)?;
    let keys = app::server::keys::Keys::derive(&master_key::load_existing(global)?);
    let report = audit_stream_verify::verify_files(&keys, files, anchors).map_err(CliError)?;
    print_json(&audit_stream_verify::report_json(files, &report))?;
    match report.broken {
        None => Ok(()),
        Some(problem) => Err(CliError(format!(
            "the audit stream does not verify: {problem}"
        ))),
    }
}

/// `latchkey audit streams`: each stream's lease, last delivery and backlog.
async fn audit_streams(global: &GlobalArgs) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    let now = state.clock.now();
    let streams = audit::stream::status(&state.db).await?;
    print_json(&json!({
        "streams": streams
            .iter()
            .map(|s| json!({
                "name": s.name,
                "leased": s.lease_until >= now.unix(),
                "lease_until": app::domain::Timestamp(s.lease_until).format_rfc3339(),
                "delivered_at": s.delivered_at.map(|at| app::domain::Timestamp(at).format_rfc3339()),
                "behind": s.behind,
            }))
            .collect::<Vec<_>>()
    }))
}

/// `latchkey audit head`: the signed heads, for the operator to keep outside the database.
async fn audit_head(global: &GlobalArgs) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    let anchors = audit::export_anchors(&state.db, &state.keys, state.clock.now()).await?;
    print_json(&json!({
        "latchkey_audit_anchors": 1,
        "created_at": state.clock.now().format_rfc3339(),
        "anchors": anchors,
    }))
}

/// `latchkey audit rekey`: keys chains written before links were keyed.
async fn audit_rekey(global: &GlobalArgs) -> Result<(), CliError> {
    let state = open(global, settings(global)?, None, 2).await?;
    let mut results = Vec::new();
    for chain in audit::chains(&state.db).await? {
        let txn = app::server::db::begin_write(&state.db).await?;
        let relinked = audit::rekey(&txn, &state.keys, &chain, state.clock.now()).await?;
        txn.commit_neutral().await?;
        results.push(json!({"chain": chain, "relinked": relinked}));
    }
    print_json(&json!({"chains": results}))
}
