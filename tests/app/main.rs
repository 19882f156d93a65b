//! The one integration-test binary: the real application against real PostgreSQL (the managed
//! cluster, or the server of DATABASE_URL), a fresh database per test, and real headless Chromium
//! for the browser tests.

mod accounts;
mod audit;
mod best_fit;
mod browser;
mod embedded;
mod evidence;
mod export;
mod handbook;
mod helpers;
mod isolation;
mod mail;
mod public_pages;
mod schools;
mod webdriver;
