//! Pages in real headless Chromium: every page a person can reach, with long real content and in
//! its error states, passes axe-core's WCAG 2.2 A/AA rules and reads without sideways scrolling
//! at desktop width, on a 390 px phone and at 320 px (`check`). Every problem of a test is
//! collected and reported in one assertion, page by page.

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
async fn public_pages_pass_accessibility_checks_and_fit_a_phone() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    for path in PAGES {
        check(&browser, &app.address, Some(path), path, &mut failures).await;
    }
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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

/// A phone held upright (CSS pixels).
const PHONE: u32 = 390;
const DESKTOP: u32 = 1280;
/// WCAG's reflow width: 1280 px zoomed to 400%.
const REFLOW: u32 = 320;

/// Goes to `path` (when given) and checks the page as it stands, at desktop width, on a phone
/// and at WCAG's reflow width: axe-core's WCAG 2.2 A/AA rules at the first two, and at all three
/// no sideways scrolling and nothing wider than the screen.
/// Records every problem in `failures`, the page's label first.
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
    for width in [DESKTOP, PHONE, REFLOW] {
        browser.set_size(width, 900).await;
        if width != REFLOW {
            for v in browser.accessibility_violations().await {
                failures.push(format!("{label} at {width}px: {v}"));
            }
        }
        if let Some(misfit) = misfit(browser, width).await {
            failures.push(format!("{label} at {width}px: {misfit}"));
        }
    }
    browser.set_size(DESKTOP, 900).await;
}

/// How the current page does not fit a window `width` wide, if it does not: the page's width
/// when it scrolls sideways, the outermost elements that stick out of the screen, and text that
/// runs off it (hidden and clipped elements aside, such as visually hidden text for screen
/// readers).
async fn misfit(browser: &Browser, width: u32) -> Option<String> {
    let facts = browser
        .eval(
            "const root = document.documentElement;
             const screen = root.clientWidth;
             const clipped = (el) => {
               for (let e = el; e && e !== document.body; e = e.parentElement) {
                 const s = getComputedStyle(e);
                 if (s.clipPath !== 'none' || (s.clip && s.clip !== 'auto')) return true;
               }
               return false;
             };
             const out = new Set();
             for (const el of document.body.querySelectorAll('*')) {
               const r = el.getBoundingClientRect();
               if (r.width === 0 || r.height === 0) continue;
               if (r.left >= -1 && r.right <= screen + 1) continue;
               if (clipped(el)) continue;
               out.add(el);
             }
             const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               [...el.classList].map((c) => '.' + c).join('');
             const wide = [...out].filter((el) => !out.has(el.parentElement)).map((el) =>
               name(el) + ' (' + Math.round(el.getBoundingClientRect().width) + 'px: ' +
               el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 40) + ')');
             // Text running off the screen (a long word that does not wrap).
             const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
             const spilt = new Set();
             for (let t = texts.nextNode(); t; t = texts.nextNode()) {
               if (!t.textContent.trim() || spilt.has(t.parentElement) || clipped(t.parentElement)) continue;
               const range = document.createRange();
               range.selectNodeContents(t);
               if ([...range.getClientRects()].some((r) => r.left < -1 || r.right > screen + 1)) {
                 spilt.add(t.parentElement);
                 wide.push('text in ' + name(t.parentElement) + ' (' +
                   t.textContent.replace(/\\s+/g, ' ').trim().slice(0, 40) + ')');
               }
             }
             return {scroll: root.scrollWidth, screen, window: window.innerWidth, wide};",
            json!([]),
        )
        .await;
    let window = facts["window"].as_i64().unwrap();
    assert_eq!(window, width as i64, "the window's width");
    let (scroll, screen) = (
        facts["scroll"].as_i64().unwrap(),
        facts["screen"].as_i64().unwrap(),
    );
    let wide: Vec<&str> = facts["wide"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    if scroll <= screen && wide.is_empty() {
        return None;
    }
    Some(format!(
        "the page is {scroll}px wide on a {screen}px screen; wider than the screen: {}",
        wide.join("; ")
    ))
}

/// A school's full name as Get information about schools has it, at its longest.
const LONG_SCHOOL: &str = "The Blessed Sacrament Catholic Primary School and Nursery, a Voluntary Academy of the Archdiocese of Liverpool";
/// An email address that is one long word.
const LONG_EMAIL: &str = "firstname.middlename.double-barrelled-surname@blessed-sacrament-catholic-primary.liverpool.sch.uk";

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
    // Real content at its longest: a school's full name, an email address of one long word, an
    // authority with a long name, mail written to files.
    app.add_school(tenant, 100009, LONG_SCHOOL).await;
    app.add_user(Some(tenant), Role::AttendanceLead, Some(school), LONG_EMAIL)
        .await;
    let other = app.add_tenant("rhondda-cynon-taf").await;
    sqlx::query("UPDATE tenant SET name = $2 WHERE id = $1")
        .bind(other)
        .bind("Rhondda Cynon Taf County Borough Council (Rhondda Cynon Taf) Attendance Service")
        .execute(&app.pool)
        .await
        .unwrap();
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
    browser.goto(&format!("{base}/password-reset")).await;
    browser
        .submit("form[action='/password-reset']", &[("#email", LONG_EMAIL)])
        .await;
    check(&browser, &base, None, "reset requested", &mut failures).await;
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

    // A message given up, so the operator's Mail page shows its table and "Try again" buttons.
    sqlx::query(
        "INSERT INTO outbox (id, to_address, subject, body_text, body_html, status, attempts, last_error)
         VALUES ($1, 'a.person.with.a.long.address@primary-school.example.org', 'Your invitation to the Attendance Quality Mark', 'Text', '<p>Text</p>', 'dead', 8, '550 5.1.1 <a.person.with.a.long.address@primary-school.example.org>: Recipient address rejected: User unknown in virtual mailbox table')",
    )
    .bind(uuid::Uuid::new_v4())
    .execute(&app.pool)
    .await
    .unwrap();

    // Each role, through the real sign-in form, on each of its pages.
    let nobody = format!("/assessments/{}", uuid::Uuid::new_v4());
    let roles: [(Role, &[&str]); 6] = [
        (
            Role::AttendanceLead,
            // With no handbook open yet; a page of another role's; a page that is not there.
            &["/home", "/handbook", "/evidence", "/schools", &nobody],
        ),
        (
            Role::HeadTeacher,
            &["/home", "/handbook", "/people", "/people/invite"],
        ),
        (Role::Assessor, &["/home", "/frameworks"]),
        (
            Role::LaOfficer,
            &["/home", "/cohorts", "/schools", "/people", "/audit"],
        ),
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
                let long_person: uuid::Uuid =
                    sqlx::query_scalar("SELECT id FROM app_user WHERE email = $1")
                        .bind(LONG_EMAIL)
                        .fetch_one(&app.pool)
                        .await
                        .unwrap();
                check(
                    &browser,
                    &base,
                    Some(&format!("/people/{long_person}")),
                    "person with a long email address",
                    &mut failures,
                )
                .await;
                browser.goto(&format!("{base}/schools/import")).await;
                browser.submit("form[action^='/schools/import']", &[]).await;
                assert!(browser.text().await.contains("Select a CSV file"));
                check(&browser, &base, None, "import with errors", &mut failures).await;
                let files = crate::helpers::temp_dir("browser-import");
                let header = "URN,EstablishmentName,PhaseOfEducation (name),LA (code),EstablishmentStatus (name)";
                let bad = files.join("bad.csv");
                std::fs::write(
                    &bad,
                    format!(
                        "{header}\n{}x,\"{LONG_SCHOOL}\",Primary,341,Open\n",
                        "9".repeat(60)
                    ),
                )
                .unwrap();
                browser.goto(&format!("{base}/schools/import")).await;
                browser.type_into("#file", bad.to_str().unwrap()).await;
                browser.submit("form[action^='/schools/import']", &[]).await;
                assert!(browser.text().await.contains("is not a number"));
                check(
                    &browser,
                    &base,
                    None,
                    "import with line problems",
                    &mut failures,
                )
                .await;
                let good = files.join("good.csv");
                std::fs::write(
                    &good,
                    format!("{header}\n100010,\"{LONG_SCHOOL} Nursery\",Primary,341,Open\n"),
                )
                .unwrap();
                browser.goto(&format!("{base}/schools/import")).await;
                browser.type_into("#file", good.to_str().unwrap()).await;
                browser.submit("form[action^='/schools/import']", &[]).await;
                assert!(browser.text().await.contains("Schools imported"));
                check(&browser, &base, None, "import done", &mut failures).await;
                check(
                    &browser,
                    &base,
                    Some("/schools"),
                    "schools after the import",
                    &mut failures,
                )
                .await;
                let _ = std::fs::remove_dir_all(files);
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
                // The reset email to the long address is written by now, or soon.
                browser
                    .wait_for(
                        &format!(
                            "return fetch('/operator/mail').then(r => r.text()).then(t => t.includes('{LONG_EMAIL}'));"
                        ),
                        "the reset email listed",
                    )
                    .await;
                check(
                    &browser,
                    &base,
                    Some("/operator/mail"),
                    "mail with a message",
                    &mut failures,
                )
                .await;
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
        browser.goto(&format!("{base}/home")).await;
        browser.submit("form[action='/sign-out']", &[]).await;
        assert!(browser.text().await.contains("You have signed out"));
    }
    browser.quit().await;
    assert!(
        failures.is_empty(),
        "pages with accessibility violations or that do not fit the screen:\n{}",
        failures.join("\n")
    );
}

/// A word too long for any phone's line, as a web address in a text is.
fn unbroken() -> String {
    format!("https://example.org/{}", "attendance-policy-".repeat(8))
}

/// A handbook with long texts and long words in strands 1.1 and 1.2, a document with a long
/// title and file name linked to 1.1, and a school with a long name in the cohort.
async fn long_content(app: &crate::helpers::TestApp, w: &crate::handbook::World) {
    let mut lead = app.signed_in(&w.lead).await;
    let mut text = String::new();
    while text.len() < 2000 {
        text.push_str("Every absence is followed up on the first day with a call home. ");
    }
    text.push_str(&unbroken());
    for key in ["1.1", "1.2"] {
        let path = format!("/assessments/{}/strands/{key}", w.assessment);
        lead.get(&path).await;
        let saved = lead
            .post(
                &path,
                &[
                    ("version", "0"),
                    ("actions", &text),
                    ("level", "silver"),
                    ("impact", &text),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
    let uploaded = crate::evidence::upload(
        &mut lead,
        &format!("{}.pdf", "Attendance-and-punctuality-policy-".repeat(4)),
        crate::evidence::PDF,
        &format!("Attendance policy {}", unbroken()),
        &[("description", &text[text.len() - 600..])],
    )
    .await;
    let id = crate::evidence::uploaded_id(&uploaded);
    lead.get(&format!("/evidence/{id}")).await;
    let linked = lead
        .post(&format!("/evidence/{id}/links"), &[("strand", "1.1")])
        .await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    let school = app.add_school(w.tenant, 100009, LONG_SCHOOL).await;
    let mut officer = app.signed_in(&w.officer).await;
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT id FROM cohort")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    officer.get(&format!("/cohorts/{cohort}")).await;
    let enrolled = officer
        .post(
            &format!("/cohorts/{cohort}/enrol"),
            &[("school", &school.to_string())],
        )
        .await;
    assert_eq!(enrolled.status, 303, "{}", enrolled.body);
}

#[tokio::test]
async fn the_handbook_autosaves_keeps_unsent_text_and_passes_accessibility_checks() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    long_content(&app, &w).await;
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

    // The save status stays in sight while typing in any of the fields, on a phone too, and does
    // not cover the field being typed in.
    for width in [PHONE, DESKTOP] {
        browser.set_size(width, 844).await;
        browser.goto(&format!("{base}{strand}")).await;
        // Typing in the first text, moving to the level with the Tab key, typing in the last text.
        for (field, keys) in [
            ("#actions", " More."),
            ("#actions", "\u{E004}"),
            ("#impact", " More."),
        ] {
            browser.type_into(field, keys).await;
            let seen = browser
                .eval(
                    "const status = document.getElementById('save-status');
                     const s = status.getBoundingClientRect();
                     const f = document.activeElement.getBoundingClientRect();
                     const over = document.elementFromPoint(s.left + 2, s.top + s.height / 2);
                     return {
                       focused: document.activeElement.id,
                       text: status.textContent,
                       inView: s.top >= 0 && s.bottom <= window.innerHeight && s.height > 0,
                       onTop: status.contains(over),
                       fieldShows: f.bottom > 0 && f.top < s.top
                     };",
                    json!([]),
                )
                .await;
            let focused = seen["focused"].as_str().unwrap();
            let expected = if keys == "\u{E004}" {
                "level"
            } else {
                &field[1..]
            };
            assert!(focused.starts_with(expected), "{seen}");
            assert_ne!(seen["text"], "", "{focused} at {width}px: {seen}");
            for fact in ["inView", "onTop", "fieldShows"] {
                assert_eq!(seen[fact], true, "{focused} at {width}px: {fact} {seen}");
            }
        }
        browser
            .wait_for(
                "return document.getElementById('save-status').textContent.startsWith('Saved');",
                "autosave after typing",
            )
            .await;
    }
    browser.set_size(DESKTOP, 900).await;

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
    check(&browser, &base, Some("/home"), "lead's home", &mut failures).await;
    check(
        &browser,
        &base,
        Some(&format!("{overview}/strands/1.1")),
        "strand with long texts and a document",
        &mut failures,
    )
    .await;
    check(
        &browser,
        &base,
        Some("/evidence"),
        "library with a long title",
        &mut failures,
    )
    .await;
    let document: uuid::Uuid = sqlx::query_scalar("SELECT id FROM evidence")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    check(
        &browser,
        &base,
        Some(&format!("/evidence/{document}")),
        "document with a long file name",
        &mut failures,
    )
    .await;
    browser.submit("form[action='/sign-out']", &[]).await;

    // The head teacher's view of the same handbook.
    browser.sign_in(&base, &w.head).await;
    check(&browser, &base, Some("/home"), "head's home", &mut failures).await;
    check(
        &browser,
        &base,
        Some(&format!("{overview}/themes/1")),
        "theme as the head",
        &mut failures,
    )
    .await;
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
        "pages with accessibility violations or that do not fit the screen:\n{}",
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
        "pages with accessibility violations or that do not fit the screen:\n{}",
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
    for page in ["/audit".to_string(), format!("/audit/revisions/{revision}")] {
        check(&browser, &base, Some(&page), &page, &mut failures).await;
        let h1 = browser
            .eval(
                "return document.querySelector('h1').textContent.trim();",
                json!([]),
            )
            .await;
        assert_ne!(h1, "Page not found", "{page}");
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

/// Visit mode at tablet size: the assessor records a level and notes for every strand while the
/// network drops and returns, and nothing is lost; then agrees Silver with a reason, the head
/// acknowledges, and the public check shows the award, then "expired".
#[tokio::test]
async fn visit_mode_on_a_tablet_keeps_every_level_and_note_through_a_lost_connection() {
    use aqm::auth::Role;
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let assessor = crate::review::assessor(&app, &w).await;
    crate::visit::submitted(&app, &w, &assessor).await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    browser.sign_in(&base, &assessor).await;
    check(&browser, &base, Some("/visits"), "caseload", &mut failures).await;
    let visit = format!("/visits/{}", w.assessment);
    check(
        &browser,
        &base,
        Some(&visit),
        "assigned school",
        &mut failures,
    )
    .await;
    let fw = app.catalogue.get("laqm", "v1").unwrap();
    let stored = |key: String| {
        let pool = app.pool.clone();
        let id = w.assessment;
        async move {
            sqlx::query_as::<_, (Option<String>, String)>(
                "SELECT agreed_level, notes FROM strand_judgement WHERE assessment_id = $1 AND strand_key = $2",
            )
            .bind(id)
            .bind(key)
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    };
    let all_sent = "return document.getElementById('queue-status').dataset.waiting === '0';";
    for theme in &fw.themes {
        browser
            .goto(&format!("{base}{visit}/themes/{}", theme.number))
            .await;
        browser.set_size(820, 1180).await;
        if theme.number == 1 {
            check(&browser, &base, None, "visit mode", &mut failures).await;
            browser.set_size(820, 1180).await;
        }
        for (i, st) in theme.strands.iter().enumerate() {
            // The Wi-Fi drops after the first strand of theme 1 and comes back after its last.
            if theme.number == 1 && i == 1 {
                browser
                    .wait_for(all_sent, "the first strand to be sent")
                    .await;
                browser.set_offline(true).await;
            }
            let level = if st.statements.contains_key("silver") {
                "silver".to_string()
            } else {
                st.statements.keys().next().unwrap().clone()
            };
            browser
                .eval(
                    "const r = document.getElementById('level-' + arguments[0] + '-' + arguments[1]);
                     r.click();",
                    json!([st.key, level]),
                )
                .await;
            browser
                .type_into(
                    &format!("textarea[id='notes-{}']", st.key),
                    &format!("Seen in the hall: {}", st.key),
                )
                .await;
            if theme.number == 1 && i + 1 == theme.strands.len() {
                let status = browser.text().await;
                assert!(
                    status.contains("waiting to be sent"),
                    "the page says what is waiting: {status}"
                );
                assert_eq!(stored(st.key.clone()).await, None);
                browser.set_offline(false).await;
            }
        }
        browser
            .wait_for(all_sent, "every change to be confirmed")
            .await;
        assert!(
            browser
                .text()
                .await
                .contains("All your levels and notes are saved.")
        );
    }
    for (_, st) in fw.strands() {
        let (level, notes) = stored(st.key.clone())
            .await
            .unwrap_or_else(|| panic!("strand {} not saved", st.key));
        assert!(level.is_some(), "{}", st.key);
        assert_eq!(notes, format!("Seen in the hall: {}", st.key));
    }
    // The award: Silver, with a reason.
    let award = format!("{visit}/award");
    check(&browser, &base, Some(&award), "award", &mut failures).await;
    browser
        .submit(
            "form[action$='/award']",
            &[
                ("#outcome-silver", "silver"),
                (
                    "#reason",
                    "Agreed with the school after reviewing theme 5's evidence.",
                ),
                (
                    "#strengths-1",
                    "The attendance policy is known by every family.",
                ),
            ],
        )
        .await;
    assert!(browser.text().await.contains("Award: Silver"));
    let outcome = format!("/assessments/{}/award", w.assessment);
    // The head acknowledges.
    browser.sign_in(&base, &w.head).await;
    check(
        &browser,
        &base,
        Some(&outcome),
        "award outcome",
        &mut failures,
    )
    .await;
    browser.submit("form[action$='/acknowledge']", &[]).await;
    assert!(browser.text().await.contains("Acknowledged by"));
    // The public check, signed out.
    let code: String = sqlx::query_scalar("SELECT verify_code FROM award WHERE assessment_id = $1")
        .bind(w.assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    browser.submit("form[action='/sign-out']", &[]).await;
    let verify = format!("/verify/{code}");
    check(
        &browser,
        &base,
        Some(&verify),
        "verification",
        &mut failures,
    )
    .await;
    let text = browser.text().await;
    assert!(
        text.contains("Current") && text.contains("Silver") && text.contains("Riverside Primary")
    );
    sqlx::query("UPDATE award SET expires_on = current_date - 1 WHERE assessment_id = $1")
        .bind(w.assessment)
        .execute(&app.pool)
        .await
        .unwrap();
    browser.goto(&format!("{base}{verify}")).await;
    assert!(browser.text().await.contains("expired"));
    // The officer's moderation and the administrator's setting.
    browser.sign_in(&base, &w.officer).await;
    check(
        &browser,
        &base,
        Some("/moderation"),
        "moderation",
        &mut failures,
    )
    .await;
    let admin = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    browser.sign_in(&base, &admin).await;
    check(
        &browser,
        &base,
        Some("/settings/award"),
        "award validity",
        &mut failures,
    )
    .await;
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The officer's year in the browser: the cohort's five events, a register, the DfE file
/// through the real form (with markers and a school of another authority), a target, one
/// school's attendance against England, the dashboard with its impact view, and the downloads
/// matching the screen; every page passes the accessibility checks and fits a phone.
#[tokio::test]
async fn the_officer_runs_the_programme_and_shows_its_impact_in_the_browser() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    // The cohort started in 2024/25, so the year before is 2023/24; a third school of the
    // authority takes no part.
    sqlx::query("UPDATE cohort SET name = '2024/25'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.add_school(w.tenant, 100003, "Parkside Primary").await;
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT id FROM cohort")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let files = crate::helpers::temp_dir("browser-attendance");
    let csv = files.join("absence.csv");
    std::fs::write(
        &csv,
        "time_period,time_identifier,geographic_level,la_name,education_phase,school_urn,school_name,sess_overall_percent,enrolments_pa_10_exact_percent,enrolments_pa_50_exact_percent
202324,Academic year,School,Liverpool,State-funded primary,100001,Riverside Primary,8.0,24.0,2.0
202324,Academic year,School,Liverpool,State-funded primary,100002,Hilltop Primary,9.0,26.0,c
202324,Academic year,School,Liverpool,State-funded primary,100003,Parkside Primary,7.0,20.0,x
202324,Academic year,School,Sefton,State-funded primary,999001,Elsewhere Primary,6.0,15.0,z
202425,Academic year,School,Liverpool,State-funded primary,100001,Riverside Primary,6.0,18.0,1.0
202425,Academic year,School,Liverpool,State-funded primary,100002,Hilltop Primary,8.0,25.0,x
202425,Academic year,School,Liverpool,State-funded primary,100003,Parkside Primary,7.0,20.0,x
",
    )
    .unwrap();
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    browser.sign_in(&base, &w.officer).await;
    let cohort_page = format!("/cohorts/{cohort}");
    check(&browser, &base, Some(&cohort_page), "cohort", &mut failures).await;
    let events = format!("{cohort_page}/events");
    check(&browser, &base, Some(&events), "events", &mut failures).await;
    browser
        .submit(
            "form[action$='/events']",
            &[("#kind", "launch"), ("#time", "9am")],
        )
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("Enter the start time like 09:30")
    );
    check(&browser, &base, None, "events with errors", &mut failures).await;
    for (kind, month, year) in [
        ("launch", "9", "2024"),
        ("cpd1", "11", "2024"),
        ("cpd2", "1", "2025"),
        ("cpd3", "3", "2025"),
        ("celebration", "7", "2027"),
    ] {
        browser.goto(&format!("{base}{events}")).await;
        browser
            .submit(
                "form[action$='/events']",
                &[
                    ("#kind", kind),
                    ("#when-day", "16"),
                    ("#when-month", month),
                    ("#when-year", year),
                    ("#time", "13:30"),
                    ("#place", "The Cunard Building, Pier Head"),
                    ("#capacity", "80"),
                ],
            )
            .await;
        assert!(
            browser.text().await.contains("The event is saved."),
            "{kind}"
        );
    }
    let launch: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM programme_event WHERE kind = 'launch'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let register = format!("/events/{launch}");
    check(&browser, &base, Some(&register), "register", &mut failures).await;
    browser
        .submit(
            "form[action$='/register']",
            &[(&format!("#lead-{}", w.school), "yes")],
        )
        .await;
    assert!(browser.text().await.contains("The register is saved."));
    browser.goto(&format!("{base}{cohort_page}")).await;
    assert!(
        browser
            .text()
            .await
            .contains("Head teacher missed the launch")
    );

    // The DfE file through the form.
    check(
        &browser,
        &base,
        Some("/attendance"),
        "attendance data",
        &mut failures,
    )
    .await;
    browser
        .submit("form[action='/attendance/import']", &[])
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("Select the DfE school-level absence file")
    );
    check(&browser, &base, None, "import with errors", &mut failures).await;
    browser.goto(&format!("{base}/attendance")).await;
    browser.type_into("#file", csv.to_str().unwrap()).await;
    browser
        .submit("form[action='/attendance/import']", &[])
        .await;
    let text = browser.text().await;
    assert!(
        text.contains("6 figures imported for 2023/24, 2024/25"),
        "{text}"
    );
    assert!(text.contains("1 rows were for schools outside your authority"));
    check(&browser, &base, None, "import done", &mut failures).await;

    // A target, and the school's attendance against England.
    let school = format!("/schools/{}/attendance", w.school);
    browser.goto(&format!("{base}{school}")).await;
    browser
        .submit(
            "form[action$='/targets']",
            &[
                ("#target-year", "2024/25"),
                ("#target-overall", "5.5"),
                ("#target-pa", "16"),
            ],
        )
        .await;
    assert!(browser.text().await.contains("The targets are saved."));
    check(&browser, &base, None, "school attendance", &mut failures).await;
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('#table-school-attendance tbody tr')].map(r => [...r.cells].map(c => c.innerText.replace(/^.*\\n/, '').trim()));",
            json!([]),
        )
        .await;
    assert_eq!(shown[1][0], "2024/25");
    assert_eq!(shown[1][1], "6.0");
    assert_eq!(shown[1][4], "5.5");
    assert_eq!(shown[0][3], "5.5", "England, primary, 2023/24");

    // The dashboard: statuses, the themes, the impact view.
    check(
        &browser,
        &base,
        Some("/dashboard"),
        "dashboard",
        &mut failures,
    )
    .await;
    let text = browser.text().await;
    assert!(text.contains("Impact on attendance"));
    let impact = browser
        .eval(
            "return [...document.querySelectorAll('#table-impact tbody tr')].map(r => [...r.cells].map(c => c.innerText.replace(/^.*\\n/, '').trim()));",
            json!([]),
        )
        .await;
    let participating = impact[0].as_array().unwrap();
    assert_eq!(participating[0], "Participating schools");
    assert_eq!(participating[1], "2");
    assert_eq!(participating[2], "8.5");
    assert_eq!(participating[3], "7.0");
    assert_eq!(participating[4], "-1.5");
    let all = impact
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0].as_str().unwrap().starts_with("All schools"))
        .unwrap();
    assert_eq!(all[4], "-1.0");
    // The downloads say the same as the screen.
    let officer = app.signed_in(&w.officer).await;
    let file = officer
        .download("/dashboard?table=impact&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        file.contains("\"Participating schools\",2,8.5,7.0,-1.5,"),
        "{file}"
    );
    browser
        .submit(
            "form[action='/dashboard']",
            &[("#phase", "primary"), ("#sort", "written")],
        )
        .await;
    check(&browser, &base, None, "dashboard filtered", &mut failures).await;
    let rows = browser
        .eval(
            "return document.querySelectorAll('#table-schools tbody tr').length;",
            json!([]),
        )
        .await;
    let listed = officer
        .download("/dashboard?phase=primary&sort=written&table=schools&format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows, json!(listed.lines().count() - 1));

    // Reading a school's handbook, and the withdrawal form.
    let read = format!("/assessments/{}/read", w.assessment);
    check(
        &browser,
        &base,
        Some(&read),
        "handbook read by the officer",
        &mut failures,
    )
    .await;
    let withdraw = format!("/assessments/{}/withdraw", w.other_assessment);
    check(&browser, &base, Some(&withdraw), "withdraw", &mut failures).await;
    browser.submit("form[action$='/withdraw']", &[]).await;
    check(&browser, &base, None, "withdraw with errors", &mut failures).await;
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Good practice in the browser: the lead's offer (and its errors), the head's approval, the
/// officer's review and decision, the resource base, an entry with its contact form: every page
/// passes the accessibility checks and fits a phone.
#[tokio::test]
async fn good_practice_pages_have_no_accessibility_violations() {
    let app = spawn_app().await;
    let w = crate::handbook::world(&app).await;
    let base = app.address.clone();
    let browser = Browser::start().await;
    let mut failures = Vec::new();
    let offer = format!("/assessments/{}/strands/3.5/practice", w.assessment);
    browser.sign_in(&base, &w.lead).await;
    check(&browser, &base, Some(&offer), "offer", &mut failures).await;
    browser
        .submit(
            "form[action$='/practice']",
            &[("#actions", "Rang A123456789012 daily."), ("#impact", "")],
        )
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("looks like a Unique Pupil Number")
    );
    check(&browser, &base, None, "offer with errors", &mut failures).await;
    browser.goto(&format!("{base}{offer}")).await;
    browser
        .submit(
            "form[action$='/practice']",
            &[
                (
                    "#actions",
                    "We ring every family on the first day of absence.",
                ),
                ("#impact", "Persistent absence fell by a third."),
            ],
        )
        .await;
    check(&browser, &base, None, "offer saved", &mut failures).await;
    browser.sign_in(&base, &w.head).await;
    browser.goto(&format!("{base}{offer}")).await;
    browser
        .eval(
            "document.querySelector(\"button[value='approve']\").click();",
            json!([]),
        )
        .await;
    browser
        .wait_for(
            "return document.body.innerText.includes('Approved and offered');",
            "the approval",
        )
        .await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM practice")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    browser.sign_in(&base, &w.officer).await;
    check(
        &browser,
        &base,
        Some("/practice/review"),
        "review",
        &mut failures,
    )
    .await;
    let decision = format!("/practice/{id}/decision");
    check(&browser, &base, Some(&decision), "decision", &mut failures).await;
    browser.submit("form[action$='/decision']", &[]).await;
    check(&browser, &base, None, "decision with errors", &mut failures).await;
    browser.goto(&format!("{base}{decision}")).await;
    browser
        .submit("form[action$='/decision']", &[("#decision", "publish")])
        .await;
    assert!(
        browser
            .text()
            .await
            .contains("The school has been emailed.")
    );
    check(
        &browser,
        &base,
        None,
        "review after publishing",
        &mut failures,
    )
    .await;
    browser.sign_in(&base, &w.other_lead).await;
    check(
        &browser,
        &base,
        Some("/practice?q=first+day"),
        "resource base",
        &mut failures,
    )
    .await;
    assert!(browser.text().await.contains("1 entry"));
    let entry = format!("/practice/{id}");
    check(&browser, &base, Some(&entry), "entry", &mut failures).await;
    browser.submit("form[action$='/contact']", &[]).await;
    check(&browser, &base, None, "contact with errors", &mut failures).await;
    browser.quit().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
