//! Tenant admin, LA officer and platform operator screens: people, schools, the authority's
//! best-fit rule, the audit log, authorities and written mail.

pub mod audit_log;
pub mod audit_words;
pub mod award_setting;
pub mod best_fit;
pub mod cli;
pub mod demo;
pub mod gias;
pub mod mail_page;
pub mod people;
pub mod school_import;
pub mod school_types;
pub mod schools;
pub mod tenants;
