//! Suites that print their counts: the database's own walls read from its catalogue, tenants
//! interleaved on few connections, and concurrent saves of one strand. Each prints a line that
//! starts with "security:", which `security/run` collects into one summary.

use crate::handbook::world;
use crate::helpers::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;

#[tokio::test]
async fn the_catalogue_shows_no_role_or_object_that_bypasses_the_walls() {
    let app = spawn_app().await;
    let mut checks = 0;
    let mut failures = Vec::new();
    // The roles the web process runs as: no superuser, no BYPASSRLS, owner of nothing.
    for role in ["aqm_app", "aqm_system"] {
        let (superuser, bypass, owns): (bool, bool, i64) = sqlx::query_as(
            "SELECT r.rolsuper, r.rolbypassrls,
                    (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relowner = r.oid)
             FROM pg_roles r WHERE r.rolname = $1",
        )
        .bind(role)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        checks += 3;
        if superuser || bypass || owns > 0 {
            failures.push(format!(
                "{role}: superuser {superuser}, bypassrls {bypass}, owns {owns}"
            ));
        }
    }
    // No function runs with its owner's rights, except those written for it (none today).
    let definers: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prosecdef",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    checks += 1;
    if !definers.is_empty() {
        failures.push(format!("SECURITY DEFINER functions: {definers:?}"));
    }
    // A view reads with its owner's rights unless it says security_invoker.
    let views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
           AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    checks += 1;
    if !views.is_empty() {
        failures.push(format!("views without security_invoker: {views:?}"));
    }
    // Every table with a tenant column has row-level security, forced so that it holds the
    // tables' owner too, a policy for the web role, and the owner's two maintenance policies (one
    // lets its own commands through on a PostgreSQL where it is no superuser, the other holds back
    // its other sessions).
    let tables: Vec<(String, bool, bool, i64, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid
                  AND p.polroles && ARRAY(SELECT oid FROM pg_roles WHERE rolname IN ('aqm_app', 'aqm_system'))),
                (SELECT count(*) = 2 FROM pg_policy p WHERE p.polrelid = c.oid
                  AND p.polroles = ARRAY[c.relowner]
                  AND ((p.polname = 'maintenance' AND p.polpermissive)
                    OR (p.polname = 'maintenance_only' AND NOT p.polpermissive)))
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (table, rls, forced, policies, maintenance) in &tables {
        checks += 4;
        if !rls || !forced || *policies == 0 || !maintenance {
            failures.push(format!(
                "{table}: row-level security {rls}, forced {forced}, {policies} policies of the \
                 web roles, owner's maintenance policies {maintenance}"
            ));
        }
    }
    println!(
        "security: database catalogue: {checks} checks over {} tenant tables, {} failures",
        tables.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// On a managed PostgreSQL the login that owns the tables is no superuser, and forced row-level
/// security holds it too: the migrations, the demo data and the application work through its own
/// pool (whose sessions say they do maintenance), while a plain session of the same login, as an
/// operator's psql would be, sees no tenant row and can add none.
#[tokio::test]
async fn an_owner_that_is_no_superuser_sees_tenant_rows_only_in_maintenance() {
    let database = fresh_database().await;
    let owner = format!("aqm_owner_{}", Uuid::new_v4().simple());
    let mut admin: sqlx::PgConnection = sqlx::Connection::connect_with(&options(&database))
        .await
        .unwrap();
    for statement in [
        // What a managed service's administrator login has: it may create roles, nothing more.
        format!("CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE"),
        format!("ALTER DATABASE {database} OWNER TO {owner}"),
        format!("ALTER SCHEMA public OWNER TO {owner}"),
    ] {
        sqlx::Executor::execute(&mut admin, statement.as_str())
            .await
            .unwrap();
    }
    let as_owner = options(&database).username(&owner);
    let pool = aqm::db::pool(as_owner.clone()).await.unwrap();
    let app = spawn_app_on(pool.clone(), |_| {}, aqm::app::ServeLimits::default()).await;
    let password = "demo-attendance-2026";
    assert!(
        aqm::admin::demo::seed(&pool, password).await.unwrap(),
        "the demo data loads as the owner"
    );
    let mut lead = app.visitor();
    assert_eq!(
        lead.sign_in("lead@aqm-demo.test", password).await.status,
        303
    );
    // The lead's handbook, through the web role: the demo rows are the tenant's own there.
    let to_handbook = lead.get("/handbook").await;
    let handbook = lead.get(to_handbook.location.as_deref().unwrap()).await;
    assert_eq!(handbook.status, 200, "{}", handbook.body);
    assert!(handbook.body.contains("Strand 1.1"), "{}", handbook.body);

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relrowsecurity ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut plain: sqlx::PgConnection = sqlx::Connection::connect_with(&as_owner).await.unwrap();
    let mut seen_in_maintenance = 0i64;
    for table in &tables {
        let count = format!("SELECT count(*) FROM {table}");
        let without: i64 = sqlx::query_scalar(&count)
            .fetch_one(&mut plain)
            .await
            .unwrap();
        assert_eq!(without, 0, "{table}: rows seen without maintenance");
        let with: i64 = sqlx::query_scalar(&count).fetch_one(&pool).await.unwrap();
        seen_in_maintenance += with;
    }
    assert!(
        seen_in_maintenance > 0,
        "the owner's pool sees the demo rows"
    );
    let refused = sqlx::query(
        "INSERT INTO tenant (id, slug, name, nation) VALUES ($1, 'stray', 'Stray', 'england')",
    )
    .bind(Uuid::new_v4())
    .execute(&mut plain)
    .await;
    let refusal = refused.expect_err("a session without maintenance adds a tenant");
    assert!(
        refusal.to_string().contains("row-level security"),
        "{refusal}"
    );
    println!(
        "security: owner without maintenance: {} tables read, 0 rows seen, insert refused",
        tables.len()
    );

    // The role is the cluster's, not the database's: leave none behind.
    drop(plain);
    drop(admin);
    app.db.close().await;
    pool.close().await;
    let mut admin: sqlx::PgConnection = sqlx::Connection::connect_with(&options("postgres"))
        .await
        .unwrap();
    for statement in [
        format!("DROP DATABASE {database} WITH (FORCE)"),
        format!("DROP ROLE {owner}"),
    ] {
        let _ = sqlx::Executor::execute(&mut admin, statement.as_str()).await;
    }
}

/// Two tenants' requests interleaved on the web role's pool, a third of them failing
/// mid-transaction: none ever sees the other tenant's rows.
#[tokio::test]
async fn interleaved_tenants_on_shared_connections_never_see_each_other() {
    let app = spawn_app().await;
    let a = app.add_tenant("alpha").await;
    let b = app.add_tenant("beta").await;
    for (t, base) in [(a, 100_000), (b, 200_000)] {
        for i in 1..=5 {
            app.add_school(t, base + i, &format!("School {}", base + i))
                .await;
        }
    }
    let db = app.db.clone();
    let leaks = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    const REQUESTS: usize = 2_000;
    let mut tasks = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let (db, leaks, failed) = (db.clone(), leaks.clone(), failed.clone());
        let (mine, other) = if i % 2 == 0 { (a, b) } else { (b, a) };
        tasks.push(tokio::spawn(async move {
            let mut tx = db.tenant_tx(mine).await.unwrap();
            let seen: Vec<Uuid> = sqlx::query_scalar("SELECT tenant_id FROM school")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            if seen.contains(&other) || seen.len() != 5 {
                leaks.fetch_add(1, Ordering::Relaxed);
            }
            if i % 3 == 0 {
                // A statement that fails: the transaction is dropped without a commit, and its
                // connection goes back to the pool for the other tenant's next request.
                let _ = sqlx::query("SELECT 1 / 0").execute(&mut *tx).await;
                failed.fetch_add(1, Ordering::Relaxed);
                drop(tx);
            } else {
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let leaks = leaks.load(Ordering::Relaxed);
    println!(
        "security: interleaved tenants: {REQUESTS} transactions, {} failing mid-way, {leaks} leaks",
        failed.load(Ordering::Relaxed)
    );
    assert_eq!(leaks, 0);
}

/// 50 saves of one strand at the same version at once: exactly one is saved, 49 are told of the
/// conflict, and every one of the 50 texts is kept.
#[tokio::test]
async fn fifty_concurrent_saves_of_one_strand_lose_no_text() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let strand = format!("/assessments/{}/strands/2.1", w.assessment);
    let mut first = app.signed_in(&w.lead).await;
    first.get(&strand).await;
    let saved = first
        .post(&strand, &[("actions", "The first text."), ("version", "0")])
        .await;
    assert_eq!(saved.status, 303);
    const SAVES: usize = 50;
    let mut people = Vec::with_capacity(SAVES);
    for _ in 0..SAVES {
        let mut v = app.signed_in(&w.lead).await;
        v.get(&strand).await;
        people.push(v);
    }
    let mut tasks = Vec::with_capacity(SAVES);
    for (i, mut v) in people.into_iter().enumerate() {
        let strand = strand.clone();
        tasks.push(tokio::spawn(async move {
            let text = format!("Concurrent text number {i}.");
            v.post(&strand, &[("actions", &text), ("version", "1")])
                .await
                .status
        }));
    }
    let mut statuses = Vec::with_capacity(SAVES);
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let saved = statuses.iter().filter(|s| **s == 303).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT actions) FROM strand_revision
         WHERE assessment_id = $1 AND strand_key = '2.1' AND actions LIKE 'Concurrent text number %'",
    )
    .bind(w.assessment)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let lost = SAVES - usize::try_from(kept).unwrap_or(0);
    println!(
        "security: concurrent saves: {SAVES} saves of one strand, {saved} saved, {conflicts} conflicts, {lost} lost"
    );
    assert_eq!((saved, conflicts, lost), (1, SAVES - 1, 0), "{statuses:?}");
}
