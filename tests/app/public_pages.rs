//! The public pages over HTTP, and the framework record's immutability.

use crate::helpers::{criteria_dir, html_escape, spawn_app, temp_dir};
use aqm::db::frameworks::{self, RecordError};
use aqm::framework;

#[tokio::test]
async fn framework_page_shows_every_statement_prompt_and_source() {
    let app = spawn_app().await;
    let resp = app.get("/frameworks/laqm/v1").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let fw = app.catalogue.get("laqm", "v1").unwrap();
    let mut statements = 0;
    for (theme, strand) in fw.strands() {
        for text in strand.statements.values() {
            assert!(
                html.contains(&html_escape(text)),
                "strand {} of theme {} is missing: {text}",
                strand.key,
                theme.number
            );
            statements += 1;
        }
    }
    assert_eq!(statements, 114);
    for theme in &fw.themes {
        assert!(html.contains(&html_escape(&theme.title)));
        for text in theme.prompts.iter().chain(&theme.evidence_sources) {
            assert!(html.contains(&html_escape(text)), "missing: {text}");
        }
    }
    // The handbook's guidance: the 5-working-day rule and the CPD sessions.
    assert!(html.contains("at least 5 working days before your assessment visit"));
    assert!(html.contains("CPD 2 – Key Themes 3 and 4"));
    // The best-fit rule is not presented as the handbook's: it is the authority's setting, with
    // the platform's default explained, rounding included.
    assert!(html.contains("gives no thresholds"));
    assert!(html.contains("Until an authority sets its own, the service's default rule applies:"));
    assert!(html.contains(&html_escape(
        "Silver: at least 75% of the strands judged in a theme, rounded up to a whole strand (3 of 3,"
    )));
    // Every strand shows the platform's title, flagged as the service's label.
    for (_, strand) in fw.strands() {
        assert!(
            html.contains(&html_escape(&strand.heading())),
            "{}",
            strand.key
        );
    }
    assert!(html.contains(
        "tells apart different strands the handbook prints with the same number (4.5 (community) and 4.5 (charter)), are this service's labels, not the handbook's."
    ));
}

#[tokio::test]
async fn home_page_introduces_the_service_and_links_the_criteria() {
    let app = spawn_app().await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("Attendance Quality Mark"));
    assert!(html.contains("href=\"/frameworks/laqm/v1\""));
}

#[tokio::test]
async fn unknown_pages_and_versions_answer_404_with_a_page() {
    let app = spawn_app().await;
    for path in [
        "/frameworks/laqm/v9",
        "/frameworks/nope/v1",
        "/nothing-here",
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 404, "{path}");
        assert!(resp.text().await.unwrap().contains("Page not found"));
    }
}

#[tokio::test]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let resp = app.get("/").await;
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-request-id"].to_str().unwrap().len(), 36);
}

#[tokio::test]
async fn healthz_checks_the_database() {
    let app = spawn_app().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok\n");
    app.db.close().await;
    assert_eq!(app.get("/healthz").await.status(), 503);
}

#[tokio::test]
async fn static_files_are_served_without_the_gds_font_or_crown() {
    let app = spawn_app().await;
    let resp = app.get("/static/aqm.css").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let css = resp.text().await.unwrap();
    assert!(!css.contains("GDS Transport"));
    assert!(!css.contains("crown"));
}

#[tokio::test]
async fn a_recorded_version_whose_file_changed_is_refused() {
    let app = spawn_app().await;
    let dir = temp_dir("criteria");
    std::fs::create_dir_all(dir.join("laqm")).unwrap();
    let original = std::fs::read_to_string(criteria_dir().join("laqm/v1.toml")).unwrap();
    let file = dir.join("laqm/v1.toml");
    std::fs::write(&file, original.replacen("Introduction", "Intro", 1)).unwrap();
    let changed = framework::load_dir(&dir).unwrap();
    let err = frameworks::record(&app.pool, &changed, &dir)
        .await
        .unwrap_err();
    assert!(matches!(err, RecordError::Changed { .. }));
    let message = err.to_string();
    assert!(
        message.starts_with(&file.display().to_string()),
        "{message}"
    );
    assert!(message.contains("new file"), "{message}");

    // The recorded file unchanged is accepted again, and a new version beside it is recorded.
    std::fs::write(&file, &original).unwrap();
    std::fs::write(
        dir.join("laqm/v2.toml"),
        original.replace("version = \"v1\"", "version = \"v2\""),
    )
    .unwrap();
    let both = framework::load_dir(&dir).unwrap();
    frameworks::record(&app.pool, &both, &dir).await.unwrap();
    let versions: Vec<String> =
        sqlx::query_scalar("SELECT version FROM framework_version ORDER BY version")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(versions, vec!["v1", "v2"]);
}

/// laqm v1's one accepted edit (the best-fit rule moved out, strand titles in): a database that
/// recorded the file as it was starts after its migration, and only that exact old file is
/// accepted so; any other recorded content still stops start-up.
#[tokio::test]
async fn a_database_that_recorded_laqm_v1_before_its_one_edit_starts_and_no_other() {
    const OLD: &str = "0742e551b75e07abb9a900c02b59f5e499c3fad5cd05848c6882a7aaf71970f5";
    const MIGRATION: i64 = 20261202150001;
    let app = spawn_app().await;
    let dir = criteria_dir();
    let shipped = app
        .catalogue
        .get("laqm", "v1")
        .unwrap()
        .content_hash
        .clone();
    // As a database migrated and started before the edit: the old hash recorded, the
    // migration not yet applied.
    let before_the_edit = |hash: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query("UPDATE framework_version SET content_hash = $1 WHERE framework_key = 'laqm' AND version = 'v1'")
                .bind(hash)
                .execute(&pool)
                .await
                .unwrap();
            sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
                .bind(MIGRATION)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    let recorded = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT content_hash FROM framework_version WHERE framework_key = 'laqm' AND version = 'v1'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let catalogue = framework::load_dir(&dir).unwrap();

    // Without the migration, the old record stops start-up, as any changed file does.
    before_the_edit(OLD).await;
    let refused = frameworks::record(&app.pool, &catalogue, &dir).await;
    assert!(matches!(refused, Err(RecordError::Changed { .. })));
    // Start-up migrates first: the old record becomes the shipped file's, and start-up goes on.
    aqm::db::migrate(&app.pool).await.unwrap();
    assert_eq!(recorded().await, shipped);
    frameworks::record(&app.pool, &catalogue, &dir)
        .await
        .unwrap();

    // Any other recorded content is left as it was, and still stops start-up.
    let other = "1111111111111111111111111111111111111111111111111111111111111111";
    before_the_edit(other).await;
    aqm::db::migrate(&app.pool).await.unwrap();
    assert_eq!(recorded().await, other);
    let err = frameworks::record(&app.pool, &catalogue, &dir)
        .await
        .unwrap_err();
    assert!(matches!(err, RecordError::Changed { .. }), "{err}");
}
