//! Pages in real headless Chromium: each page passes axe-core's WCAG 2.2 A/AA rules, and reads on
//! a phone-sized screen without sideways scrolling. Later workflows add their pages to `PAGES`.

use crate::helpers::spawn_app;
use crate::webdriver::Browser;
use serde_json::json;

/// Every page anyone can reach without signing in.
const PAGES: &[&str] = &[
    "/",
    "/frameworks",
    "/frameworks/laqm/v1",
    "/accessibility",
    "/no-such-page",
];

#[tokio::test]
async fn public_pages_have_no_accessibility_violations() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    for path in PAGES {
        browser.goto(&format!("{}{path}", app.address)).await;
        for v in browser.accessibility_violations().await {
            failures.push(format!("{path}: {v}"));
        }
    }
    browser.quit().await;
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn framework_page_renders_in_the_browser_and_fits_a_phone() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    browser
        .goto(&format!("{}/frameworks/laqm/v1", app.address))
        .await;
    let facts = browser
        .eval(
            "return {
                h1: document.querySelector('h1').textContent.trim(),
                strands: document.querySelectorAll('.aqm-strand').length,
                levelHeadings: document.querySelectorAll('.aqm-level').length,
                css: getComputedStyle(document.body).fontFamily,
                scripts: document.body.classList.contains('govuk-frontend-supported')
            };",
            json!([]),
        )
        .await;
    assert_eq!(facts["h1"], "Liverpool Attendance Quality Mark");
    assert_eq!(facts["strands"], 40);
    // Three level columns per strand, side by side; a strand without a level says so.
    assert_eq!(facts["levelHeadings"], 120);
    let font = facts["css"].as_str().unwrap();
    assert!(
        !font.contains("GDS Transport"),
        "house font must not be GDS Transport: {font}"
    );
    assert_eq!(
        facts["scripts"], true,
        "the progressive-enhancement script ran"
    );

    browser.set_size(390, 844).await;
    browser
        .goto(&format!("{}/frameworks/laqm/v1", app.address))
        .await;
    let overflow = browser
        .eval(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    browser.quit().await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page scrolls sideways on a phone by {overflow}px"
    );
}

/// The check above would pass vacuously if axe-core never ran: prove it finds known failures.
#[tokio::test]
async fn the_accessibility_check_catches_a_bad_page() {
    let browser = Browser::start().await;
    browser
        .goto("data:text/html,<html><body><img src='x.png'><a href='/'></a></body></html>")
        .await;
    let violations = browser.accessibility_violations().await;
    browser.quit().await;
    let ids: Vec<&str> = violations
        .iter()
        .map(|v| v.split(' ').next().unwrap())
        .collect();
    for expected in ["html-has-lang", "image-alt", "link-name"] {
        assert!(
            ids.contains(&expected),
            "{expected} not reported: {violations:?}"
        );
    }
}
