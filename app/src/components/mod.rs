//! Presentational pieces shared by pages.

pub mod audit_table;
pub mod copy_button;
pub mod field;
pub mod hydration;
pub mod icons;
pub mod layout;
pub mod notice;
pub mod pagination;
pub mod usage_chart;
