//! Latchkey's schema, one migration per change, applied at start and by `latchkey migrate`.
//!
//! Rules that keep SQLite and PostgreSQL behaving the same:
//! - times are `BIGINT` seconds since the Unix epoch (no time-zone or text-format surprises);
//! - case-insensitive uniqueness uses a lower-cased `*_key` column with a unique index;
//! - migrations never import entities: they describe tables, the entities read them.

pub use sea_orm_migration::prelude::*;

mod m20261125_000001_sites_and_users;
mod m20261125_000002_sessions;
mod m20261125_000003_audit_events;
mod m20261125_000004_sign_in_throttle;
mod m20261125_000005_clients;
mod m20261125_000006_tokens;
mod m20261125_000007_alerts_and_checkpoints;
mod m20261125_000008_client_list_indexes;
mod m20261129_000009_credential_epoch;
mod m20261201_000010_sessions_end_and_keyed_heads;
mod m20261202_000011_secret_use_evidence;
mod m20261202_000012_client_failures;
mod m20261202_000013_secret_expiry;
mod m20261202_000014_leak_response;
mod m20261202_000015_soft_delete;
mod m20261202_000016_webhooks;
mod m20261203_000017_mail;
mod m20261203_000018_client_review;
mod m20261203_000019_consents;
mod m20261203_000020_audit_streams;
mod m20261204_000021_admin_tokens;
mod m20261204_000022_client_credentials;
mod m20261204_000023_resource_indicators;
mod m20261205_000024_jwt_access_tokens;
mod m20261205_000025_dpop;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_sites_and_users::Migration),
            Box::new(m20261125_000002_sessions::Migration),
            Box::new(m20261125_000003_audit_events::Migration),
            Box::new(m20261125_000004_sign_in_throttle::Migration),
            Box::new(m20261125_000005_clients::Migration),
            Box::new(m20261125_000006_tokens::Migration),
            Box::new(m20261125_000007_alerts_and_checkpoints::Migration),
            Box::new(m20261125_000008_client_list_indexes::Migration),
            Box::new(m20261129_000009_credential_epoch::Migration),
            Box::new(m20261201_000010_sessions_end_and_keyed_heads::Migration),
            Box::new(m20261202_000011_secret_use_evidence::Migration),
            Box::new(m20261202_000012_client_failures::Migration),
            Box::new(m20261202_000013_secret_expiry::Migration),
            Box::new(m20261202_000014_leak_response::Migration),
            Box::new(m20261202_000015_soft_delete::Migration),
            Box::new(m20261202_000016_webhooks::Migration),
            Box::new(m20261203_000017_mail::Migration),
            Box::new(m20261203_000018_client_review::Migration),
            Box::new(m20261203_000019_consents::Migration),
            Box::new(m20261203_000020_audit_streams::Migration),
            Box::new(m20261204_000021_admin_tokens::Migration),
            Box::new(m20261204_000022_client_credentials::Migration),
            Box::new(m20261204_000023_resource_indicators::Migration),
            Box::new(m20261205_000024_jwt_access_tokens::Migration),
            Box::new(m20261205_000025_dpop::Migration),
        ]
    }
}
