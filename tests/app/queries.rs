//! No N+1: each page issues a bounded number of queries whatever the number of strands, schools,
//! documents or entries. Queries are counted per request from the database driver's own
//! statement events, inside the request's span (its request id is the test's own).

use crate::handbook::world;
use crate::helpers::*;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Statements seen, by request id.
fn counts() -> &'static Mutex<HashMap<String, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    COUNTS.get_or_init(|| Mutex::new(HashMap::new()))
}

struct RequestId(String);

struct IdVisitor(Option<String>);

impl Visit for IdVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "id" {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "id" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

/// The first words of a statement, as sqlx's statement event gives them.
struct SummaryVisitor(String);

impl Visit for SummaryVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}").trim_matches('"').to_string();
        }
    }
}

struct Counter;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Counter {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut v = IdVisitor(None);
        attrs.record(&mut v);
        if let (Some(found), Some(span)) = (v.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(found));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("sqlx::query") {
            return;
        }
        // A pool opening a connection for the request takes its role first: that depends on
        // when the previous request's connection came back to the pool, not on the page.
        let mut summary = SummaryVisitor(String::new());
        event.record(&mut summary);
        if summary.0.starts_with("SET ROLE") || summary.0.starts_with("SET aqm.") {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(RequestId(id)) = span.extensions().get::<RequestId>() {
                *counts().lock().unwrap().entry(id.clone()).or_default() += 1;
                return;
            }
        }
    }
}

fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("sqlx::query", tracing::Level::DEBUG)
            .with_target("aqm", tracing::Level::INFO);
        let subscriber = tracing_subscriber::registry().with(Counter.with_filter(filter));
        // Another test binary's subscriber may be there already; then nothing is counted and
        // the test says so.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// The statements one GET of `path` by `v` issued. The page is fetched once first and counted
/// the second time: a session seen more than a minute ago records that it is in use on its next
/// request, one statement that depends on the clock, not on the data.
async fn queries(v: &Visitor, path: &str) -> usize {
    let client = reqwest::Client::new();
    let id = uuid::Uuid::new_v4().to_string();
    for request_id in [uuid::Uuid::new_v4().to_string(), id.clone()] {
        let resp = client
            .get(format!("{}{path}", v.address()))
            .header("cookie", v.cookie_header())
            .header("x-request-id", &request_id)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let _ = resp.text().await;
    }
    counts().lock().unwrap().get(&id).copied().unwrap_or(0)
}

async fn write(lead: &mut Visitor, assessment: uuid::Uuid, keys: &[&str]) {
    for key in keys {
        let strand = format!("/assessments/{assessment}/strands/{key}");
        lead.get(&strand).await;
        let saved = lead
            .post(
                &strand,
                &[
                    ("actions", "First-day calling for every absence."),
                    ("level", "bronze"),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
    }
}

#[tokio::test]
async fn pages_issue_as_many_queries_for_forty_strands_or_thirty_schools_as_for_one() {
    install();
    let app = spawn_app().await;
    let w = world(&app).await;
    let mut lead = app.signed_in(&w.lead).await;
    let officer = app.signed_in(&w.officer).await;
    let overview = format!("/assessments/{}", w.assessment);
    let strand = format!("/assessments/{}/strands/1.1", w.assessment);
    write(&mut lead, w.assessment, &["1.1"]).await;
    let small = [
        ("overview", queries(&lead, &overview).await),
        ("strand", queries(&lead, &strand).await),
        ("dashboard", queries(&officer, "/dashboard").await),
        ("practice", queries(&lead, "/practice").await),
        ("attendance", queries(&officer, "/attendance").await),
    ];
    assert!(
        small.iter().all(|(_, n)| *n > 0),
        "no statement was counted: {small:?}"
    );
    // Many more strands, schools in the cohort, documents, published entries.
    let keys = [
        "1.2", "1.3", "3.4", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "4.1", "4.2", "5.1", "5.2",
        "6.1",
    ];
    write(&mut lead, w.assessment, &keys).await;
    let build = crate::world::Builder::new(&app);
    let cohort: uuid::Uuid = sqlx::query_scalar("SELECT cohort_id FROM assessment WHERE id = $1")
        .bind(w.assessment)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for i in 0..30 {
        let school = build
            .school(w.tenant, 300_000 + i, &format!("School {i}"))
            .await;
        sqlx::query(
            "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version)
             VALUES (gen_random_uuid(), $1, $2, $3, 'laqm', 'v1')",
        )
        .bind(w.tenant)
        .bind(school)
        .bind(cohort)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    for i in 0..10 {
        let doc = build
            .document(w.tenant, w.school, &format!("Document {i}"))
            .await;
        lead.get(&strand).await;
        lead.post(
            &format!("{strand}/evidence"),
            &[("evidence", &doc.to_string())],
        )
        .await;
    }
    sqlx::query(
        "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                               actions, status, contact_id, created_by)
         SELECT gen_random_uuid(), a.tenant_id, a.school_id, a.id, '1.1', 1, '1.1', 'Shared', 'published', $2, $2
         FROM assessment a WHERE a.tenant_id = $1 AND a.school_id <> $3",
    )
    .bind(w.tenant)
    .bind(w.officer.id)
    .bind(w.school)
    .execute(&app.pool)
    .await
    .unwrap();
    let large = [
        ("overview", queries(&lead, &overview).await),
        ("strand", queries(&lead, &strand).await),
        ("dashboard", queries(&officer, "/dashboard").await),
        ("practice", queries(&lead, "/practice").await),
        ("attendance", queries(&officer, "/attendance").await),
    ];
    println!("queries per page, small then large: {small:?} {large:?}");
    assert_eq!(small, large, "a page's queries grew with its data");
}
