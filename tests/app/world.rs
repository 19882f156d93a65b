//! The one builder of test worlds: authorities, schools, people by role, open handbooks and
//! evidence documents, written straight to the database. Each suite's `world()` is a few calls
//! of it, so a new table or column is set up in one place.

use crate::helpers::{TestApp, TestUser};
use aqm::auth::Role;
use std::collections::HashMap;
use uuid::Uuid;

/// One person to add: (key, email, tenant, role, school).
pub type Person<'k, 'e> = (&'k str, &'e str, Option<Uuid>, Role, Option<Uuid>);

pub struct Builder<'a> {
    app: &'a TestApp,
}

impl<'a> Builder<'a> {
    pub fn new(app: &'a TestApp) -> Builder<'a> {
        Builder { app }
    }

    /// An authority (in England) called "<slug> City Council".
    pub async fn tenant(&self, slug: &str) -> Uuid {
        self.app.add_tenant(slug).await
    }

    /// An open primary school of `tenant`.
    pub async fn school(&self, tenant: Uuid, urn: i32, name: &str) -> Uuid {
        self.app.add_school(tenant, urn, name).await
    }

    /// People who can sign in with the test password, by key.
    pub async fn people<'k>(&self, list: &[Person<'k, '_>]) -> HashMap<&'k str, TestUser> {
        let mut people = HashMap::new();
        for &(key, email, tenant, role, school) in list {
            people.insert(key, self.app.add_user(tenant, role, school, email).await);
        }
        people
    }

    /// An open handbook (assessment) of `school` in a cohort of its own; (handbook, cohort).
    pub async fn handbook(&self, tenant: Uuid, school: Uuid) -> (Uuid, Uuid) {
        let cohort = Uuid::new_v4();
        sqlx::query("INSERT INTO cohort (id, tenant_id, name) VALUES ($1, $2, $3)")
            .bind(cohort)
            .bind(tenant)
            .bind(format!("cohort {school}"))
            .execute(&self.app.pool)
            .await
            .unwrap();
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version)
             VALUES ($1, $2, $3, $4, 'laqm', 'v1')",
        )
        .bind(id)
        .bind(tenant)
        .bind(school)
        .bind(cohort)
        .execute(&self.app.pool)
        .await
        .unwrap();
        (id, cohort)
    }

    /// A document in `school`'s evidence library, its file in the store.
    pub async fn document(&self, tenant: Uuid, school: Uuid, title: &str) -> Uuid {
        let bytes = format!("%PDF-1.4\n% {title}\n");
        let hash = aqm::store::ContentHash::of(bytes.as_bytes());
        self.app.store.put(&hash, bytes.as_bytes()).await.unwrap();
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO evidence (id, tenant_id, school_id, title, file_name, content_type, size_bytes, sha256)
             VALUES ($1, $2, $3, $4, 'plan.pdf', 'application/pdf', $5, $6)",
        )
        .bind(id)
        .bind(tenant)
        .bind(school)
        .bind(title)
        .bind(bytes.len() as i64)
        .bind(hash.as_str())
        .execute(&self.app.pool)
        .await
        .unwrap();
        id
    }
}
