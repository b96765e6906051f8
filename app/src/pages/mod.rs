//! One file per screen.

pub mod account;
pub mod account_forms;
pub mod admin_tokens;
pub mod administrator_delete;
pub mod administrator_edit;
pub mod administrator_new;
pub mod administrators;
pub mod audit_log;
pub mod authorize_prompt;
pub mod client_confirm;
pub mod client_detail;
pub mod client_new;
pub mod clients_list;
pub mod dashboard;
pub mod deleted;
pub mod mail_section;
pub mod not_found;
pub mod pending_requests;
pub mod security_settings;
pub mod setup;
pub mod sign_in;
pub mod site_settings;
pub mod sites;
pub mod terms;
pub mod webhooks;
