//! aqm, the Attendance Quality Mark platform: local authorities (tenants) run attendance quality
//! mark programmes in which schools self-assess against a criteria framework, assessors agree
//! awards, and officers follow progress.
//!
//! One binary: an axum server rendering askama templates over PostgreSQL (sqlx), with criteria
//! frameworks read from versioned TOML files at start and recorded in the database.
//!
//! Module map:
//! - `config`: settings from the environment and flags; secrets redacted.
//! - `auth`: roles, the signed-in person, sessions, CSRF, sign-in, invitation and reset links.
//! - `home`: each role's home page.
//! - `handbook`: the Attendance Lead's handbook: overview with best fit, themes, strands, autosave.
//! - `evidence`: the school's evidence library: uploads checked by content, the object store
//!   (content-addressed, local folder), links between documents and strands, downloads.
//! - `programme`: the LA officer's cohorts and enrolments (which open handbooks).
//! - `admin`: people, schools and their import, the audit log page (in words) and the strand
//!   revisions it links to, authorities, CLI, demo data.
//! - `audit`: the append-only audit log writer.
//! - `forms`: form errors shown next to fields; input parsing.
//! - `app`: shared state, the one route table, middleware, serving with graceful shutdown.
//! - `error`: the one `AppError` and its error pages.
//! - `layout`: the context every page's layout gets (navigation).
//! - `db`: pools (the row-level-security role for requests, the login role for the few tenant-less
//!   tasks), migrations, the embedded default PostgreSQL cluster, framework version records.
//! - `framework`: criteria model, TOML loading and validation, the best-fit rule (pure).
//! - `mail`: the email outbox: enqueue in the request's transaction, a worker that sends over
//!   SMTP or writes .eml files, the list of written mail.
//! - `public`: pages for everyone: home, criteria, accessibility statement.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod evidence;
pub mod forms;
pub mod framework;
pub mod handbook;
pub mod home;
pub mod layout;
pub mod mail;
pub mod programme;
pub mod public;
