//! Presentational pieces shared by pages.

pub mod application_fields;
pub mod audit_table;
pub mod console_form;
pub mod copy_button;
pub mod expiry_badge;
pub mod failure_timeline;
pub mod hydration;
pub mod icons;
pub mod layout;
pub mod pagination;
pub mod usage_chart;
