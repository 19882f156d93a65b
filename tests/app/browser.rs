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

/// Goes to `path` (when given), checks the page with axe, and records violations.
async fn check(
    browser: &Browser,
    base: &str,
    path: Option<&str>,
    label: &str,
    failures: &mut Vec<String>,
) {
    if let Some(p) = path {
        browser.goto(&format!("{base}{p}")).await;
    }
    for v in browser.accessibility_violations().await {
        failures.push(format!("{label}: {v}"));
    }
}

#[tokio::test]
async fn sign_in_invitation_reset_and_every_roles_pages_have_no_accessibility_violations() {
    use aqm::auth::Role;
    use aqm::auth::links::{Purpose, create_token};
    let app = spawn_app().await;
    let tenant = app.add_tenant("liverpool").await;
    let school = app.add_school(tenant, 100001, "Riverside Primary").await;
    let invited = app
        .add_user(Some(tenant), Role::Assessor, None, "invited@example.org")
        .await;
    let mut conn = app.pool.acquire().await.unwrap();
    let token = create_token(&mut conn, invited.id, Some(tenant), Purpose::Invitation)
        .await
        .unwrap();
    drop(conn);
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();

    // Signed out, with and without errors.
    check(&browser, &base, Some("/sign-in"), "sign-in", &mut failures).await;
    browser.submit("form[action='/sign-in']", &[]).await;
    assert!(browser.text().await.contains("Enter your email address"));
    check(&browser, &base, None, "sign-in with errors", &mut failures).await;
    check(
        &browser,
        &base,
        Some("/password-reset"),
        "reset",
        &mut failures,
    )
    .await;
    browser
        .submit(
            "form[action='/password-reset']",
            &[("#email", "not an email")],
        )
        .await;
    check(&browser, &base, None, "reset with errors", &mut failures).await;
    let link = format!("/set-password/{token}");
    check(&browser, &base, Some(&link), "set password", &mut failures).await;
    browser
        .submit(
            "form[method='post'][action^='/set-password']",
            &[("#password", "short"), ("#confirm", "other")],
        )
        .await;
    assert!(browser.text().await.contains("12 characters or more"));
    check(
        &browser,
        &base,
        None,
        "set password with errors",
        &mut failures,
    )
    .await;
    check(
        &browser,
        &base,
        Some(&format!("/set-password/{}", "ab".repeat(32))),
        "bad link",
        &mut failures,
    )
    .await;

    // Each role, through the real sign-in form, on each of its pages.
    let roles: [(Role, &[&str]); 6] = [
        (Role::AttendanceLead, &["/home"]),
        (Role::HeadTeacher, &["/home", "/people", "/people/invite"]),
        (Role::Assessor, &["/home"]),
        (Role::LaOfficer, &["/home", "/schools", "/audit"]),
        (
            Role::TenantAdmin,
            &[
                "/home",
                "/people",
                "/people/invite",
                "/schools",
                "/schools/import",
                "/audit",
            ],
        ),
        (Role::PlatformOperator, &["/home", "/operator/tenants"]),
    ];
    for (i, (role, pages)) in roles.into_iter().enumerate() {
        let user = app
            .add_user(
                (role != Role::PlatformOperator).then_some(tenant),
                role,
                role.is_school_role().then_some(school),
                &format!("role{i}@example.org"),
            )
            .await;
        browser.goto(&format!("{base}/sign-in")).await;
        browser
            .submit(
                "form[action='/sign-in']",
                &[("#email", &user.email), ("#password", &user.password)],
            )
            .await;
        assert!(
            browser.text().await.contains("Signed in as"),
            "{role:?} signed in"
        );
        for page in pages {
            check(
                &browser,
                &base,
                Some(page),
                &format!("{role:?} {page}"),
                &mut failures,
            )
            .await;
        }
        match role {
            Role::TenantAdmin => {
                browser.goto(&format!("{base}/people/invite")).await;
                browser.submit("form[action='/people/invite']", &[]).await;
                check(&browser, &base, None, "invite with errors", &mut failures).await;
                check(
                    &browser,
                    &base,
                    Some(&format!("/people/{}", invited.id)),
                    "person",
                    &mut failures,
                )
                .await;
                check(
                    &browser,
                    &base,
                    Some(&format!("/schools/{school}")),
                    "school",
                    &mut failures,
                )
                .await;
                browser.goto(&format!("{base}/schools/import")).await;
                browser.submit("form[action^='/schools/import']", &[]).await;
                assert!(browser.text().await.contains("Select a CSV file"));
                check(&browser, &base, None, "import with errors", &mut failures).await;
            }
            Role::PlatformOperator => {
                browser
                    .submit("form[action='/operator/tenants']", &[])
                    .await;
                check(
                    &browser,
                    &base,
                    None,
                    "add authority with errors",
                    &mut failures,
                )
                .await;
            }
            _ => {}
        }
        browser.submit("form[action='/sign-out']", &[]).await;
        assert!(browser.text().await.contains("You have signed out"));
    }
    browser.quit().await;
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
}
