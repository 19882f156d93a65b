//! The GIAS school import against the real database: counts, audit events, idempotence, all or
//! nothing, and tenants kept apart.

use crate::helpers::{manifest_dir, spawn_app};
use aqm::admin::school_import::{self, ImportSummary, SchoolRecord};
use aqm::admin::school_types::{Phase, SchoolStatus};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

const ADMIN: &str = "admin@sampleshire.example";

fn sample() -> Vec<u8> {
    std::fs::read(manifest_dir().join("tests/data/gias-sample.csv")).expect("the sample file")
}

async fn tenant(pool: &PgPool, slug: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO tenant (id, slug, name, nation) VALUES ($1, $2, $3, 'england')")
        .bind(id)
        .bind(slug)
        .bind(format!("{slug} council"))
        .execute(pool)
        .await
        .unwrap();
    id
}

/// Parses `bytes` and imports them for `tenant` in one tenant transaction, committed on success.
async fn import_file(
    app: &crate::helpers::TestApp,
    tenant: Uuid,
    bytes: &[u8],
) -> Result<ImportSummary, String> {
    let records = school_import::parse_gias(bytes).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut tx = app.db.tenant_tx(tenant).await.unwrap();
    let summary = school_import::import(&mut tx, tenant, None, ADMIN, &records)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.unwrap();
    Ok(summary)
}

/// (urn, id, name, updated_at) of a tenant's schools, by URN.
async fn schools(pool: &PgPool, tenant: Uuid) -> Vec<(i32, Uuid, String, DateTime<Utc>)> {
    sqlx::query_as("SELECT urn, id, name, updated_at FROM school WHERE tenant_id = $1 ORDER BY urn")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (action, school_id, actor_email, before, after) of a tenant's audit events, oldest first.
type AuditRow = (
    String,
    Option<Uuid>,
    Option<String>,
    Option<Value>,
    Option<Value>,
);

async fn audit(pool: &PgPool, tenant: Uuid) -> Vec<AuditRow> {
    sqlx::query_as(
        "SELECT action, school_id, actor_email, before, after
         FROM audit_event WHERE tenant_id = $1 ORDER BY id",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn importing_the_sample_adds_every_school_with_an_audit_trail() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;

    let summary = import_file(&app, a, &sample()).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 12,
            updated: 0,
            unchanged: 0
        }
    );

    let rows = schools(&app.pool, a).await;
    assert_eq!(rows.len(), 12);
    let (phase, status): (String, String) =
        sqlx::query_as("SELECT phase, status FROM school WHERE tenant_id = $1 AND urn = 990007")
            .bind(a)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (phase.as_str(), status.as_str()),
        ("alternative_provision", "open")
    );

    let events = audit(&app.pool, a).await;
    assert_eq!(events.len(), 13);
    let added: Vec<&AuditRow> = events.iter().filter(|e| e.0 == "school.added").collect();
    assert_eq!(added.len(), 12);
    for (_, school_id, email, before, after) in &added {
        let (urn, id, _, _) = rows
            .iter()
            .find(|r| Some(r.1) == *school_id)
            .expect("the event names an imported school");
        assert_eq!(email.as_deref(), Some(ADMIN));
        assert_eq!(*before, None);
        assert_eq!(after.as_ref().unwrap()["urn"], json!(urn), "{id}");
    }
    let last = events.last().unwrap();
    assert_eq!(last.0, "schools.imported");
    assert_eq!(
        last.4,
        Some(json!({"added": 12, "updated": 0, "unchanged": 0}))
    );
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    import_file(&app, a, &sample()).await.unwrap();
    let schools_before = schools(&app.pool, a).await;
    let events_before = audit(&app.pool, a).await.len();

    let summary = import_file(&app, a, &sample()).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 0,
            updated: 0,
            unchanged: 12
        }
    );
    assert_eq!(schools(&app.pool, a).await, schools_before);
    assert_eq!(audit(&app.pool, a).await.len(), events_before);
}

#[tokio::test]
async fn a_file_with_one_bad_line_is_refused_whole() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    let text = "URN,EstablishmentName,PhaseOfEducation (name),LA (code),EstablishmentStatus (name)\n\
                990001,Hill Top Primary School,Primary,999,Open\n\
                990002,Sampleton Academy,Secondary,999,Open\n\
                99O003,Riverside High School,Secondary,999,Open\n\
                990004,Little Acorns Nursery School,Nursery,999,Open\n";

    let err = import_file(&app, a, text.as_bytes()).await.unwrap_err();
    assert_eq!(err, r#"line 4: URN "99O003" is not a number"#);
    assert!(schools(&app.pool, a).await.is_empty());
    assert!(audit(&app.pool, a).await.is_empty());
}

#[tokio::test]
async fn a_failure_part_way_leaves_nothing_behind() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    let record = |urn, name: &str| SchoolRecord {
        urn,
        name: name.into(),
        phase: Phase::Primary,
        la_code: "999".into(),
        status: SchoolStatus::Open,
    };
    // parse_gias refuses a blank name; the database does too, after the first school is written.
    let records = [
        record(990001, "Hill Top Primary School"),
        record(990002, " "),
    ];

    let mut tx = app.db.tenant_tx(a).await.unwrap();
    let err = school_import::import(&mut tx, a, None, ADMIN, &records)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("check constraint"), "{err}");
    drop(tx);

    assert!(schools(&app.pool, a).await.is_empty());
    assert!(audit(&app.pool, a).await.is_empty());
}

#[tokio::test]
async fn a_changed_name_is_one_update_with_before_and_after() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    import_file(&app, a, &sample()).await.unwrap();
    let schools_before = schools(&app.pool, a).await;
    let events_before = audit(&app.pool, a).await.len();

    let renamed = String::from_utf8(sample()).unwrap().replace(
        "Hill Top Primary School",
        "Hill Top Community Primary School",
    );
    let summary = import_file(&app, a, renamed.as_bytes()).await.unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            added: 0,
            updated: 1,
            unchanged: 11
        }
    );

    let schools_after = schools(&app.pool, a).await;
    for (before, after) in schools_before.iter().zip(&schools_after) {
        assert_eq!(before.1, after.1, "ids stay");
        if after.0 == 990001 {
            assert_eq!(after.2, "Hill Top Community Primary School");
            assert!(after.3 > before.3, "updated_at moves on");
        } else {
            assert_eq!(before, after);
        }
    }

    let events = audit(&app.pool, a).await;
    let new = &events[events_before..];
    assert_eq!(new.len(), 2);
    let (action, school_id, email, before, after) = &new[0];
    assert_eq!(action, "school.updated");
    assert_eq!(*school_id, Some(schools_before[0].1));
    assert_eq!(email.as_deref(), Some(ADMIN));
    let fields = |name: &str| {
        json!({
            "urn": 990001,
            "name": name,
            "phase": "primary",
            "la_code": "999",
            "status": "open",
        })
    };
    assert_eq!(*before, Some(fields("Hill Top Primary School")));
    assert_eq!(*after, Some(fields("Hill Top Community Primary School")));
    assert_eq!(new[1].0, "schools.imported");
    assert_eq!(
        new[1].4,
        Some(json!({"added": 0, "updated": 1, "unchanged": 11}))
    );
}

#[tokio::test]
async fn schools_missing_from_a_later_file_are_left_alone() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    import_file(&app, a, &sample()).await.unwrap();
    let before = schools(&app.pool, a).await;

    let partial: String = String::from_utf8(sample())
        .unwrap()
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let summary = import_file(&app, a, partial.as_bytes()).await.unwrap();
    assert_eq!(summary.unchanged, 3);
    assert_eq!(schools(&app.pool, a).await, before);
}

#[tokio::test]
async fn the_same_urns_for_another_tenant_are_that_tenant_s_own() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    let b = tenant(&app.pool, "otherborough").await;
    import_file(&app, a, &sample()).await.unwrap();
    let a_schools = schools(&app.pool, a).await;
    let a_events = audit(&app.pool, a).await;

    let renamed = String::from_utf8(sample())
        .unwrap()
        .replace("Hill Top Primary School", "Hill Top School (B)");
    let summary = import_file(&app, b, renamed.as_bytes()).await.unwrap();
    assert_eq!(summary.added, 12, "B sees none of A's schools");

    assert_eq!(schools(&app.pool, a).await, a_schools);
    assert_eq!(audit(&app.pool, a).await, a_events);
    let b_schools = schools(&app.pool, b).await;
    assert_eq!(b_schools.len(), 12);
    for (a_row, b_row) in a_schools.iter().zip(&b_schools) {
        assert_eq!(a_row.0, b_row.0);
        assert_ne!(a_row.1, b_row.1, "B has rows of its own");
    }
    assert_eq!(b_schools[0].2, "Hill Top School (B)");
    assert_eq!(audit(&app.pool, b).await.len(), 13);
}

#[tokio::test]
async fn row_level_security_refuses_an_import_named_for_another_tenant() {
    let app = spawn_app().await;
    let a = tenant(&app.pool, "sampleshire").await;
    let b = tenant(&app.pool, "otherborough").await;
    let records = school_import::parse_gias(&sample()).unwrap();

    // A mistake in the caller (the wrong tenant's transaction) is stopped by the second wall.
    let mut tx = app.db.tenant_tx(a).await.unwrap();
    let err = school_import::import(&mut tx, b, None, ADMIN, &records)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
    assert!(schools(&app.pool, a).await.is_empty());
    assert!(schools(&app.pool, b).await.is_empty());
}

/// The tenant admin's upload page: a good file imports, a bad one lists its lines and imports
/// nothing, and other roles cannot reach it.
#[tokio::test]
async fn a_tenant_admin_imports_schools_from_the_web_page() {
    use crate::helpers::spawn_app;
    use aqm::auth::Role;
    let app = spawn_app().await;
    let tenant = app.add_tenant("sampleshire").await;
    let admin = app
        .add_user(Some(tenant), Role::TenantAdmin, None, "admin@example.org")
        .await;
    let officer = app
        .add_user(Some(tenant), Role::LaOfficer, None, "officer@example.org")
        .await;
    let sample =
        std::fs::read(crate::helpers::manifest_dir().join("tests/data/gias-sample.csv")).unwrap();

    let mut a = app.signed_in(&admin).await;
    a.get("/schools/import").await;
    let bad = String::from_utf8(sample.clone())
        .unwrap()
        .replacen("990003", "99O003", 1);
    let refused = a
        .upload("/schools/import", "file", "bad.csv", bad.into_bytes(), &[])
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("nothing was imported"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("is not a number"));
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM school")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0);

    let done = a
        .upload("/schools/import", "file", "gias.csv", sample.clone(), &[])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("12 added, 0 updated, 0 unchanged"));
    let again = a
        .upload("/schools/import", "file", "gias.csv", sample.clone(), &[])
        .await;
    assert!(again.body.contains("0 added, 0 updated, 12 unchanged"));
    let list = a.get("/schools").await;
    assert!(list.body.contains("990001"));

    let no_token = a.post_raw("/schools/import", &[]).await;
    assert_eq!(no_token.status, 403);
    let mut o = app.signed_in(&officer).await;
    o.get("/schools").await;
    assert_eq!(
        o.upload("/schools/import", "file", "gias.csv", sample, &[])
            .await
            .status,
        403
    );
}
