//! aqm, the Attendance Quality Mark platform: local authorities (tenants) run attendance quality
//! mark programmes in which schools self-assess against a criteria framework, assessors agree
//! awards, and officers follow progress.
//!
//! One binary: an axum server rendering askama templates over PostgreSQL (sqlx), with criteria
//! frameworks read from versioned TOML files at start and recorded in the database.
//!
//! Module map:
//! - `config`: settings from the environment and flags; secrets redacted.
//! - `app`: shared state, the one route table, middleware, serving with graceful shutdown.
//! - `error`: the one `AppError` and its error pages.
//! - `layout`: the context every page's layout gets (navigation).
//! - `db`: pool, migrations, the embedded default PostgreSQL cluster, framework version records.
//! - `framework`: criteria model, TOML loading and validation, the best-fit rule (pure).
//! - `mail`: the email outbox: enqueue in the request's transaction, a worker that sends over
//!   SMTP or writes .eml files, the list of written mail.
//! - `public`: pages for everyone: home, criteria, accessibility statement.

pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod error;
pub mod framework;
pub mod layout;
pub mod mail;
pub mod public;
