//! The one integration-test binary: the real application against real PostgreSQL (the managed
//! cluster, or the server of DATABASE_URL), a fresh database per test, and real headless Chromium
//! for the browser tests.

mod accounts;
mod audit;
mod authority;
mod best_fit;
mod browser;
mod calendar;
mod corpus;
mod counted;
mod embedded;
mod evidence;
mod export;
mod faults;
mod handbook;
mod helpers;
mod isolation;
mod mail;
mod new_user;
mod practice;
mod processes;
mod public_pages;
mod queries;
mod review;
mod s3;
mod schools;
mod security;
mod serving;
mod visit;
mod webdriver;
mod world;
