//! The authority's best-fit rule: the platform's default until an administrator sets one, named
//! wherever a suggestion is shown; set on a validated form, every change audited, a stale form
//! refused; other roles refused.

use crate::handbook::{World, world};
use crate::helpers::{Page, TestApp, TestUser, Visitor, html_escape, spawn_app};
use aqm::auth::Role;

const SETTINGS: &str = "/settings/best-fit";

/// The default rule as the form shows it, with `changes` applied.
fn rule_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("version", "0"),
        ("strands-1", "100%"),
        ("themes-1", "100%"),
        ("strands-2", "75%"),
        ("themes-2", "80%"),
        ("strands-3", "75%"),
        ("themes-3", "80%"),
        ("starts_above", "left_out"),
        ("stops_below", "meets_at_top"),
    ];
    for (k, v) in changes {
        match form.iter_mut().find(|(f, _)| f == k) {
            Some(field) => field.1 = v,
            None => form.push((k, v)),
        }
    }
    form
}

async fn admin(app: &TestApp, w: &World) -> (TestUser, Visitor) {
    let user = app
        .add_user(Some(w.tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let mut v = app.signed_in(&user).await;
    assert_eq!(v.get(SETTINGS).await.status, 200);
    (user, v)
}

/// Theme 1 (three strands): two claimed at Silver and one at Bronze.
async fn claim_theme_1(app: &TestApp, w: &World) -> Visitor {
    let mut lead = app.signed_in(&w.lead).await;
    for (key, level) in [("1.1", "silver"), ("1.2", "silver"), ("1.3", "bronze")] {
        let path = format!("/assessments/{}/strands/{key}", w.assessment);
        lead.get(&path).await;
        let saved = lead
            .post(
                &path,
                &[("version", "0"), ("actions", "Written."), ("level", level)],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
    lead
}

async fn overview(lead: &mut Visitor, w: &World) -> Page {
    let page = lead.get(&format!("/assessments/{}", w.assessment)).await;
    assert_eq!(page.status, 200);
    page
}

async fn rule_events(app: &TestApp) -> Vec<(serde_json::Value, serde_json::Value)> {
    sqlx::query_as(
        "SELECT before, after FROM audit_event WHERE action = 'best_fit_rule.changed' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_overview_names_the_rule_and_follows_the_authoritys_choice() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = claim_theme_1(&app, &w).await;

    // The platform's default: three quarters of 3 strands rounds up to all 3, so theme 1 is Bronze.
    let before = overview(&mut lead, &w).await;
    assert!(
        before.body.contains(&html_escape(
            "Suggested by the platform's default rule: liverpool City Council has not set a rule of its own."
        )),
        "{}",
        before.body
    );
    assert!(before.body.contains("Suggested best fit: Bronze."));
    assert!(before.body.contains("Silver needs 3 of 3 strands"));
    assert!(before.body.contains(&html_escape(
        "Silver: at least 75% of the strands judged in a theme, rounded up to a whole strand (3 of 3, 4 of 5, 6 of 8, 7 of 9)"
    )));
    // Strands are listed with their titles, and the two printed 4.5 are told apart.
    assert!(before.body.contains("Strand 1.1: School Development Plan"));
    assert!(
        before
            .body
            .contains("Strand 4.5 (community): Out in the local community")
    );
    assert!(
        before
            .body
            .contains("Strand 4.5 (charter): The Liverpool Attendance Charter")
    );

    // The administrator asks Silver for 2 strands of a theme.
    let (_, mut admin) = admin(&app, &w).await;
    let saved = admin
        .post(SETTINGS, &rule_form(&[("strands-2", "2")]))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let settings = admin.get(SETTINGS).await;
    assert!(settings.body.contains("The best-fit rule has been saved."));
    assert!(settings.body.contains(&html_escape(
        "liverpool City Council's own rule is in force, set "
    )));

    let after = overview(&mut lead, &w).await;
    assert!(
        after.body.contains("Suggested best fit: Silver."),
        "{}",
        after.body
    );
    let source = format!(
        "Suggested by liverpool City Council{}s rule, set ",
        html_escape("'")
    );
    let at = after.body.find(&source).expect("the rule is named");
    let sentence = &after.body[at..at + 120];
    assert!(
        sentence.contains(" by Person admin@example.org."),
        "{sentence}"
    );
    // "set 2 December 2026 at 12:52": a day, a month's name, a year and a time.
    let when = sentence[source.len()..].split(" by ").next().unwrap();
    let words: Vec<&str> = when.split(' ').collect();
    assert_eq!(words.len(), 5, "{when}");
    assert!(words[0].parse::<u32>().is_ok() && words[2].len() == 4 && words[3] == "at");
    assert!(after.body.contains(&html_escape(
        "Silver: at least 2 of the strands judged in a theme, or all of them where fewer are judged"
    )));

    // The exported handbook names the rule too.
    let print = lead
        .get(&format!("/assessments/{}/print", w.assessment))
        .await;
    assert_eq!(print.status, 200);
    assert!(print.body.contains(&source), "{}", print.body);
    assert!(
        print
            .body
            .contains("4.5 (charter): The Liverpool Attendance Charter")
    );

    // Audited, with the rule before and after.
    let events = rule_events(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0["rule"], "The platform's default");
    assert_eq!(
        events[0].0["silver"],
        "at least 75% of a theme's strands, at least 80% of the themes"
    );
    assert_eq!(events[0].1["rule"], "The authority's own");
    assert_eq!(
        events[0].1["silver"],
        "at least 2 of a theme's strands, at least 80% of the themes"
    );
    let audit = admin.get("/audit").await;
    assert!(audit.body.contains(&html_escape(
        "Person admin@example.org changed the authority's best-fit rule"
    )));
    assert!(audit.body.contains("at least 2 of a theme"));

    // Back to the platform's default: named as chosen, and audited.
    admin.get(SETTINGS).await;
    let back = admin
        .post(SETTINGS, &[("action", "default"), ("version", "1")])
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    let reset = overview(&mut lead, &w).await;
    assert!(reset.body.contains("Suggested best fit: Bronze."));
    assert!(reset.body.contains(&html_escape(
        "Suggested by the platform's default rule, chosen for liverpool City Council on "
    )));
    let events = rule_events(&app).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1["rule"], "The platform's default");
    let audit = admin.get("/audit").await;
    assert!(audit.body.contains(&html_escape(
        "Person admin@example.org chose the platform's default best-fit rule"
    )));
}

#[tokio::test]
async fn the_form_refuses_bad_shares_next_to_their_fields_and_saves_nothing() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, mut admin) = admin(&app, &w).await;
    let refused = admin
        .post(
            SETTINGS,
            &rule_form(&[
                ("strands-2", "three quarters"),
                ("themes-3", "7"),
                ("strands-1", "0%"),
                ("stops_below", ""),
            ]),
        )
        .await;
    assert_eq!(refused.status, 422);
    for (field, message) in [
        (
            "strands-2",
            "Silver: enter a percentage or a whole number, like 75% or 3",
        ),
        (
            "stops_below",
            "Choose how strands that stop below a level count",
        ),
    ] {
        assert!(
            refused
                .body
                .contains(&format!("id=\"{field}-error\" class=\"govuk-error-message\"><span class=\"govuk-visually-hidden\">Error:</span> {message}")),
            "{field}: {}",
            refused.body
        );
        assert!(refused.body.contains(&format!("<a href=\"#{field}\">")));
    }
    // What was typed stays in the form.
    assert!(refused.body.contains("value=\"three quarters\""));
    // Shares that parse are checked against the framework once every field reads.
    let range = admin
        .post(
            SETTINGS,
            &rule_form(&[("themes-3", "7"), ("strands-1", "0%")]),
        )
        .await;
    assert_eq!(range.status, 422);
    assert!(
        range
            .body
            .contains("Gold: there are 6 themes; enter 6 or fewer, or a percentage")
    );
    assert!(
        range
            .body
            .contains("Bronze: enter a percentage from 1% to 100%")
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM best_fit_rule")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(rule_events(&app).await.is_empty());
    // Saving what is already in force changes and audits nothing.
    admin.get(SETTINGS).await;
    let same = admin
        .post(SETTINGS, &[("action", "default"), ("version", "0")])
        .await;
    assert_eq!(same.status, 303);
    assert!(
        admin
            .get(SETTINGS)
            .await
            .body
            .contains("Nothing has changed")
    );
    assert!(rule_events(&app).await.is_empty());
}

#[tokio::test]
async fn a_form_filled_in_against_an_older_rule_is_refused_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (_, mut first) = admin(&app, &w).await;
    let second_user = app
        .add_user(
            Some(w.tenant),
            Role::TenantAdmin,
            None,
            "second@example.org",
        )
        .await;
    let mut second = app.signed_in(&second_user).await;
    second.get(SETTINGS).await;
    // Both opened the form at version 0; the second saves first.
    let saved = second
        .post(SETTINGS, &rule_form(&[("themes-2", "4")]))
        .await;
    assert_eq!(saved.status, 303);
    let stale = first.post(SETTINGS, &rule_form(&[("themes-2", "3")])).await;
    assert_eq!(stale.status, 409);
    assert!(
        stale
            .body
            .contains("Someone changed the rule while you were editing it")
    );
    assert!(stale.body.contains("value=\"3\""));
    assert!(stale.body.contains("set ") && stale.body.contains("by Person second@example.org"));
    // The form now carries the newer version: saving again, knowingly, works.
    assert!(stale.body.contains("name=\"version\" value=\"1\""));
    let again = first
        .post(SETTINGS, &rule_form(&[("themes-2", "3"), ("version", "1")]))
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let events = rule_events(&app).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].0["silver"],
        "at least 75% of a theme's strands, at least 4 of the themes"
    );
}

#[tokio::test]
async fn only_authority_administrators_reach_the_rule() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let assessor = app
        .add_user(Some(w.tenant), Role::Assessor, None, "assessor@example.org")
        .await;
    for user in [&w.officer, &w.lead, &w.head, &assessor] {
        let mut v = app.signed_in(user).await;
        assert_eq!(v.get(SETTINGS).await.status, 403, "{}", user.email);
        let posted = v.post(SETTINGS, &rule_form(&[("strands-2", "1")])).await;
        assert_eq!(posted.status, 403, "{}", user.email);
        let home = v.get("/home").await;
        assert!(!home.body.contains(SETTINGS), "{}", user.email);
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM best_fit_rule")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    // The administrator finds it from the navigation and the home page.
    let (_, mut admin) = admin(&app, &w).await;
    let home = admin.get("/home").await;
    assert_eq!(home.body.matches("href=\"/settings/best-fit\"").count(), 2);
}
