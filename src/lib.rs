//! aqm, the Attendance Quality Mark platform: local authorities (tenants) run attendance quality
//! mark programmes in which schools self-assess against a criteria framework, assessors agree
//! awards, and officers follow progress.
//!
//! One binary: an axum server rendering askama templates over PostgreSQL (sqlx), with criteria
//! frameworks read from versioned TOML files at start and recorded in the database.
//!
//! The house reads top-down; each layer imports only layers below it, never one that imports it
//! back:
//! 1. Entry: `startup` (the one start-up, for `aqm serve` and the tests) and `app` (the one route
//!    table, middleware, serving with time limits and a connection cap).
//! 2. Workflows, each owning its handlers, queries and page structs:
//!    - `home`: each role's home page, leading to that role's work.
//!    - `handbook`: the Attendance Lead's handbook: overview with best fit, themes, the strand page
//!      and its save (autosave), the exports (print page, PDF, ZIP).
//!    - `evidence`: the school's evidence library: `library`, `upload` (checked by content, with
//!      the pupil-data check), `document` (page, download, delete), `links` (to strands).
//!    - `review`: the head teacher's review (send, comment, return, approve and submit with a
//!      frozen snapshot emailed to the assessor as a PDF) and the officer's assessor, visit and
//!      reopening.
//!    - `programme`: the LA officer's cohorts and enrolments (which open handbooks), and the
//!      authority's closure days (`calendar`).
//!    - `authority`: the LA officer's view: the cohort's events and registers, withdrawal, reading
//!      a school's handbook, the city-wide dashboard, attendance figures (the DfE file, figures
//!      by hand, targets) against national comparators, the impact view; tables as CSV and XLSX.
//!    - `practice`: good practice shared across schools: the school's offer (lead writes, head
//!      approves), the officer's review and the celebration booklet, the searchable resource base.
//!    - `admin`: people, schools and their import (`school_import`), the authority's best-fit rule
//!      (`best_fit`), the audit log page in words (`audit_words`) with each strand revision it
//!      refers to, authorities, the CLI, demo data.
//!    - `public`: pages for everyone: home, criteria, accessibility statement.
//! 3. Shared by the workflows: `assessment` (a school's handbook record and its loader, its
//!    stage, review state, timeline and comments), `closure_days` (the authority's closure days
//!    and the loader of its working-day calendar), `best_fit_setting` (the authority's best-fit
//!    rule in force, and whose it is), `accounts` (the one way to add a person, and invitations
//!    with their stand-ins), `pupil_data` (the personal-data check), `web` (flash redirects;
//!    extractors whose rejections are the service's own pages and whose text arrives without
//!    control characters), `forms` (field errors, date inputs, the return path after sign-in),
//!    `layout` (the page layout context, from plain values), `dates` (the one style of dates and
//!    times shown to people, UK time).
//! 4. `auth`: roles, the signed-in person, sessions, CSRF, sign-in and its throttling, known
//!    devices (`device`), links, and the `Scoped<R>` extractor (role check, tenant transaction,
//!    page context); `error`: the one `AppError`.
//! 5. `state` (what every request can reach), `db` (the pools of the two roles the web process
//!    runs as, `aqm_app` and `aqm_system`; migrations, the embedded cluster, framework records),
//!    `store` (evidence files, content-addressed), `mail` (the outbox and its
//!    worker), `audit` (the append-only log writer).
//! 6. `domain` (typed values parsed once: email, names, slugs, ids), `framework` (criteria model,
//!    TOML loading and validation, applying a best-fit rule it is given; pure), `calendar`
//!    (working days from the shipped bank holidays and an authority's closure days, and the
//!    deadline "at least N working days before the visit"; pure), `config`.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod assessment;
pub mod audit;
pub mod auth;
pub mod authority;
pub mod best_fit_setting;
pub mod calendar;
pub mod closure_days;
pub mod config;
pub mod content;
pub mod dates;
pub mod db;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod forms;
pub mod framework;
pub mod handbook;
pub mod home;
pub mod layout;
pub mod mail;
pub mod practice;
pub mod programme;
pub mod public;
pub mod pupil_data;
pub mod review;
pub mod startup;
pub mod state;
pub mod store;
pub mod visit;
pub mod web;
