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
                "/settings/best-fit",
                "/audit",
            ],
        ),
        (
            Role::PlatformOperator,
            &["/home", "/operator/tenants", "/operator/mail"],
        ),
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
        browser.sign_in(&base, &user).await;
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
                browser.goto(&format!("{base}/settings/best-fit")).await;
                browser
                    .submit(
                        "form[action='/settings/best-fit']",
                        &[("#strands-2", "most"), ("#themes-3", "")],
                    )
                    .await;
                assert!(browser.text().await.contains("Enter the themes Gold needs"));
                check(
                    &browser,
                    &base,
                    None,
                    "best-fit rule with errors",
                    &mut failures,
                )
                .await;
            }
            Role::PlatformOperator => {
                browser.goto(&format!("{base}/operator/tenants")).await;
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

#[tokio::test]
async fn the_handbook_autosaves_keeps_unsent_text_and_passes_accessibility_checks() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();

    browser.sign_in(&base, &w.lead).await;
    let overview = format!("/assessments/{}", w.assessment);
    check(&browser, &base, Some(&overview), "overview", &mut failures).await;
    check(
        &browser,
        &base,
        Some(&format!("{overview}/themes/3")),
        "theme",
        &mut failures,
    )
    .await;
    let strand = format!("{overview}/strands/2.1");
    check(&browser, &base, Some(&strand), "strand", &mut failures).await;
    let print = format!("{overview}/print");
    check(
        &browser,
        &base,
        Some(&print),
        "handbook to print",
        &mut failures,
    )
    .await;
    browser.goto(&format!("{base}{strand}")).await;

    // Type, wait for the autosave, reload: the text is there.
    browser
        .type_into("#actions", "Governors receive termly attendance reports.")
        .await;
    browser
        .wait_for(
            "return document.getElementById('save-status').textContent.startsWith('Saved');",
            "autosave",
        )
        .await;
    browser.goto(&format!("{base}{strand}")).await;
    let value = browser
        .eval(
            "return document.getElementById('actions').value;",
            json!([]),
        )
        .await;
    assert_eq!(value, "Governors receive termly attendance reports.");

    // Leave before the autosave fires: the text stays in the browser and is saved on return.
    browser.type_into("#impact", " Unsent words.").await;
    browser.goto(&format!("{base}{overview}")).await;
    browser.goto(&format!("{base}{strand}")).await;
    assert!(
        browser
            .text()
            .await
            .contains("Restored text you had not saved yet.")
    );
    browser
        .wait_for(
            "return document.getElementById('save-status').textContent.startsWith('Saved');",
            "restored text saved",
        )
        .await;
    let stored: String =
        sqlx::query_scalar("SELECT impact FROM strand_entry WHERE strand_key = '2.1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, " Unsent words.");

    // Error states: pupil data, and a stale version.
    browser.goto(&format!("{base}{strand}")).await;
    browser
        .submit(
            &format!("form[action='{strand}']"),
            &[("#actions", "Pupil A123456789012 was helped.")],
        )
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("looks like a Unique Pupil Number")
    );
    check(
        &browser,
        &base,
        None,
        "strand with pupil data warning",
        &mut failures,
    )
    .await;
    browser.goto(&format!("{base}{strand}")).await;
    browser
        .submit(
            &format!("form[action='{strand}']"),
            &[("input[name='version']", "0"), ("#actions", "Stale")],
        )
        .await;
    assert!(browser.text().await.contains("while you were editing it"));
    check(&browser, &base, None, "strand with conflict", &mut failures).await;
    browser.submit("form[action='/sign-out']", &[]).await;

    // The officer's programme pages.
    browser.sign_in(&base, &w.officer).await;
    check(&browser, &base, Some("/cohorts"), "cohorts", &mut failures).await;
    browser.submit("form[action='/cohorts']", &[]).await;
    check(&browser, &base, None, "cohorts with errors", &mut failures).await;
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT id FROM cohort")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    check(
        &browser,
        &base,
        Some(&format!("/cohorts/{cohort}")),
        "cohort",
        &mut failures,
    )
    .await;
    // Closure days: empty, with errors, with a day listed (and its remove button).
    check(
        &browser,
        &base,
        Some("/calendar"),
        "closure days",
        &mut failures,
    )
    .await;
    browser.submit("form[action='/calendar']", &[]).await;
    assert!(
        browser
            .text()
            .await
            .contains("Enter the date of the closure day")
    );
    check(
        &browser,
        &base,
        None,
        "closure days with errors",
        &mut failures,
    )
    .await;
    browser
        .submit(
            "form[action='/calendar']",
            &[
                ("#closure_date-day", "1"),
                ("#closure_date-month", "6"),
                ("#closure_date-year", "2026"),
                ("#description", "INSET day"),
            ],
        )
        .await;
    assert!(browser.text().await.contains("Monday 1 June 2026"));
    check(
        &browser,
        &base,
        None,
        "closure days with a day",
        &mut failures,
    )
    .await;
    browser.quit().await;
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_evidence_library_uploads_in_the_browser_and_passes_accessibility_checks() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    let files = crate::helpers::temp_dir("browser-files");
    let pdf = files.join("Attendance policy.pdf");
    std::fs::write(&pdf, crate::evidence::PDF).unwrap();
    let visits = files.join("visits.txt");
    std::fs::write(&visits, "Pupil A123456789012 was visited at home.\n").unwrap();

    browser.sign_in(&base, &w.lead).await;
    check(
        &browser,
        &base,
        Some("/evidence"),
        "empty library",
        &mut failures,
    )
    .await;
    check(
        &browser,
        &base,
        Some("/evidence/upload"),
        "upload",
        &mut failures,
    )
    .await;
    let form = "form[action^='/evidence/upload']";
    browser
        .submit(
            form,
            &[("#evidence_date-day", "31"), ("#evidence_date-month", "2")],
        )
        .await;
    let text = browser.text().await;
    assert!(text.contains("Select a file to upload"), "{text}");
    assert!(text.contains("Date of the evidence must include a year"));
    check(&browser, &base, None, "upload with errors", &mut failures).await;

    // A real file through the real form (the CSRF token in the address): a warning first.
    browser.goto(&format!("{base}/evidence/upload")).await;
    browser.type_into("#file", visits.to_str().unwrap()).await;
    browser.submit(form, &[("#title", "Home visits")]).await;
    assert!(
        browser
            .text()
            .await
            .contains("looks like a Unique Pupil Number")
    );
    check(
        &browser,
        &base,
        None,
        "upload with pupil data warning",
        &mut failures,
    )
    .await;

    browser.goto(&format!("{base}/evidence/upload")).await;
    browser.type_into("#file", pdf.to_str().unwrap()).await;
    browser
        .submit(
            form,
            &[
                ("#title", "Attendance policy"),
                ("#evidence_date-day", "1"),
                ("#evidence_date-month", "9"),
                ("#evidence_date-year", "2026"),
            ],
        )
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("The document is in your evidence library")
    );
    check(&browser, &base, None, "evidence page", &mut failures).await;
    browser
        .submit("form[action$='/links']", &[("#strand", "1.1")])
        .await;
    assert!(browser.text().await.contains("Unlink"));
    check(
        &browser,
        &base,
        None,
        "evidence page with a link",
        &mut failures,
    )
    .await;
    browser.submit("form[action$='/links']", &[]).await;
    assert!(browser.text().await.contains("Select the strand"));
    check(
        &browser,
        &base,
        None,
        "evidence page with errors",
        &mut failures,
    )
    .await;
    check(&browser, &base, Some("/evidence"), "library", &mut failures).await;
    check(
        &browser,
        &base,
        Some(&format!("/assessments/{}/strands/1.1", w.assessment)),
        "strand with a document",
        &mut failures,
    )
    .await;
    browser.quit().await;
    let _ = std::fs::remove_dir_all(files);
    assert!(
        failures.is_empty(),
        "accessibility violations:\n{}",
        failures.join("\n")
    );
}

/// A person who chooses a file over the limit sees our page saying so, not a broken connection,
/// although the server stops reading the upload part-way.
#[tokio::test]
async fn an_oversized_upload_in_the_browser_gets_a_clear_answer() {
    let app = crate::helpers::spawn_app_with(|c| c.upload_limit_mb = 1).await;
    let w = crate::handbook::world(&app).await;
    let base = app.address.clone();
    let files = crate::helpers::temp_dir("browser-big");
    let big = files.join("big.pdf");
    let mut bytes = crate::evidence::PDF.to_vec();
    bytes.resize(8 * 1024 * 1024, b' ');
    std::fs::write(&big, bytes).unwrap();
    let browser = Browser::start().await;
    browser.sign_in(&base, &w.lead).await;
    browser.goto(&format!("{base}/evidence/upload")).await;
    browser.type_into("#file", big.to_str().unwrap()).await;
    browser
        .submit("form[action^='/evidence/upload']", &[("#title", "Big")])
        .await;
    let text = browser.text().await;
    let mut failures = Vec::new();
    check(&browser, &base, None, "upload too large", &mut failures).await;
    browser.quit().await;
    let _ = std::fs::remove_dir_all(files);
    assert!(
        text.contains("The selected file must be smaller than 1 MB"),
        "{text}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The audit log with long texts, long words and every kind of event: no sideways scrolling at
/// 1280 px nor on a phone, and no accessibility violations, on the log and on a revision.
#[tokio::test]
async fn the_audit_log_fits_a_phone_and_passes_accessibility_checks() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    crate::audit::a_mornings_work(&app, &w).await;
    let unbroken = format!("https://example.org/{}", "attendance-policy-".repeat(12));
    crate::audit::old_strand_event(&app, &w, "2.1", &unbroken, &format!("See {unbroken}")).await;
    let revision: i64 = sqlx::query_scalar("SELECT max(id) FROM strand_revision")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    browser.sign_in(&base, &w.officer).await;
    let pages = ["/audit".to_string(), format!("/audit/revisions/{revision}")];
    for width in [1280, 390] {
        browser.set_size(width, 900).await;
        for page in &pages {
            check(
                &browser,
                &base,
                Some(page),
                &format!("{page} at {width}px"),
                &mut failures,
            )
            .await;
            let facts = browser
                .eval(
                    "return {
                        scroll: document.documentElement.scrollWidth,
                        window: window.innerWidth,
                        h1: document.querySelector('h1').textContent.trim()
                    };",
                    json!([]),
                )
                .await;
            assert_ne!(facts["h1"], "Page not found", "{page}");
            let (scroll, window) = (
                facts["scroll"].as_i64().unwrap(),
                facts["window"].as_i64().unwrap(),
            );
            assert!(window <= width as i64, "{page}: window {window}px");
            if scroll > width as i64 {
                failures.push(format!(
                    "{page} at {width}px scrolls sideways: {scroll}px wide"
                ));
            }
        }
    }
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Chromium's own print of the handbook page on A4: the evidence tables theme by theme, whole
/// words, about as many pages as the words need.
#[tokio::test]
async fn the_handbook_prints_from_the_browser_on_a_sensible_number_of_a4_pages() {
    use crate::export::{assert_themes_on_new_pages, assert_whole_words, read_pdf};
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    crate::export::write_seven_strands(&mut lead, w.assessment).await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    browser.sign_in(&base, &w.lead).await;
    browser
        .goto(&format!("{base}/assessments/{}/print", w.assessment))
        .await;
    let source = browser.text().await;
    let pdf = browser.print_a4().await;
    browser.quit().await;
    let read = read_pdf(&pdf, "printed.pdf");
    let size = read
        .info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        size.starts_with("841.") || size.starts_with("842 ") || size.starts_with("595"),
        "A4: {size}"
    );
    assert_whole_words(&read, &source);
    assert!(assert_themes_on_new_pages(&read) > 0, "a row carries on");
    assert!(
        (7..=24).contains(&read.pages),
        "{} pages printed for seven strands",
        read.pages
    );
}

/// The head teacher's review pages, comments and the timeline, the officer's assessor and visit
/// form, and the assessor's submitted handbook: no accessibility violations, errors included.
#[tokio::test]
async fn the_review_pages_have_no_accessibility_violations() {
    use aqm::auth::Role;
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let assessor = app
        .add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await;
    let overview = format!("/assessments/{}", w.assessment);
    let mut lead = app.signed_in(&w.lead).await;
    lead.get(&overview).await;
    assert_eq!(
        lead.post(&format!("{overview}/send-to-head"), &[])
            .await
            .status,
        303
    );
    let mut head = app.signed_in(&w.head).await;
    let strand = format!("{overview}/strands/1.1");
    head.get(&strand).await;
    head.post(
        &format!("{strand}/comments"),
        &[("comment", "Add the attendance policy's review date.")],
    )
    .await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();

    browser.sign_in(&base, &w.officer).await;
    let visit = format!("/assessments/{}/visit", w.assessment);
    check(&browser, &base, Some(&visit), "visit form", &mut failures).await;
    browser
        .submit("form[action$='/visit']", &[("#time", "25:00")])
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("Choose the assessor who will visit")
    );
    check(
        &browser,
        &base,
        None,
        "visit form with errors",
        &mut failures,
    )
    .await;
    browser
        .submit(
            "form[action$='/visit']",
            &[
                ("#assessor", &assessor.id.to_string()),
                ("#visit-day", "12"),
                ("#visit-month", "3"),
                ("#visit-year", "2031"),
                ("#time", "09:30"),
            ],
        )
        .await;
    assert!(browser.text().await.contains("12 March 2031 at 09:30"));
    check(&browser, &base, None, "cohort with a visit", &mut failures).await;

    browser.sign_in(&base, &w.head).await;
    check(
        &browser,
        &base,
        Some(&overview),
        "overview with the head",
        &mut failures,
    )
    .await;
    assert!(browser.text().await.contains("Sent to the head teacher"));
    check(
        &browser,
        &base,
        Some(&strand),
        "strand with comments",
        &mut failures,
    )
    .await;
    browser
        .submit("form[action$='/comments']", &[("#comment", " ")])
        .await;
    check(&browser, &base, None, "comment with errors", &mut failures).await;
    let back = format!("{overview}/return");
    check(&browser, &base, Some(&back), "return", &mut failures).await;
    browser.submit("form[action$='/return']", &[]).await;
    assert!(browser.text().await.contains("Enter a message"));
    check(&browser, &base, None, "return with errors", &mut failures).await;
    let submit = format!("{overview}/submit");
    check(&browser, &base, Some(&submit), "submit", &mut failures).await;
    browser.submit("form[action$='/submit']", &[]).await;
    check(
        &browser,
        &base,
        None,
        "overview after submission",
        &mut failures,
    )
    .await;
    assert!(browser.text().await.contains("Approved and submitted"));

    let link: uuid::Uuid = sqlx::query_scalar("SELECT id FROM submission")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    browser.sign_in(&base, &assessor).await;
    check(
        &browser,
        &base,
        Some(&format!("/submissions/{link}")),
        "submitted handbook",
        &mut failures,
    )
    .await;
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
