//! Across authorities, optional and off by default: an authority's administrators may opt in
//! (`/settings/sharing`); its officers then choose published entries to share platform-wide, and
//! its people see the entries other opted-in authorities chose, with the authority's name. Both
//! authorities must have opted in. Those rows are read across tenants through `aqm_system`,
//! whose policy and column grants let it see nothing else of the practice table.

use crate::auth::{Administrators, Members, Officers, Scoped};
use crate::domain::PracticeId;
use crate::error::AppError;
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// An entry another authority shares platform-wide.
#[derive(sqlx::FromRow, Clone)]
pub struct WideEntry {
    pub id: Uuid,
    pub authority: String,
    pub school: String,
    pub phase: String,
    pub strand_label: String,
    pub actions: String,
    pub impact: String,
    pub updated_at: NaiveDateTime,
}

impl WideEntry {
    pub fn written(&self) -> String {
        self.updated_at.format("%-d %B %Y").to_string()
    }

    pub fn phase_label(&self) -> &'static str {
        self.phase
            .parse::<crate::admin::school_types::Phase>()
            .map_or("Unknown", |p| p.label())
    }
}

pub async fn opted_in(conn: &mut sqlx::PgConnection, tenant: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT share_practice_widely FROM tenant WHERE id = $1")
        .bind(tenant)
        .fetch_one(conn)
        .await
}

const WIDE_SELECT: &str = "SELECT p.id, t.name AS authority, s.name AS school, s.phase, p.strand_label, p.actions, p.impact,
        (p.updated_at AT TIME ZONE 'Europe/London') AS updated_at
     FROM practice p
     JOIN tenant t ON t.id = p.tenant_id AND t.share_practice_widely
     JOIN school s ON s.tenant_id = p.tenant_id AND s.id = p.school_id";

/// Other opted-in authorities' shared entries matching the resource base's search and filters;
/// nothing unless `viewer` has opted in too.
pub async fn entries(
    system: &PgPool,
    viewer: Uuid,
    q: &str,
    theme: Option<i32>,
    strand: Option<&str>,
    phase: Option<&str>,
) -> Result<Vec<WideEntry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{WIDE_SELECT}
         WHERE p.platform_wide AND p.status = 'published' AND p.tenant_id <> $1
           AND (SELECT share_practice_widely FROM tenant WHERE id = $1)
           AND ($2 = '' OR p.search @@ websearch_to_tsquery('english', $2))
           AND ($3::int IS NULL OR p.theme_number = $3)
           AND ($4::text IS NULL OR p.strand_key = $4)
           AND ($5::text IS NULL OR s.phase = $5)
         ORDER BY p.theme_number, p.strand_key, t.name, s.name
         LIMIT 200"
    ))
    .bind(viewer)
    .bind(q)
    .bind(theme)
    .bind(strand)
    .bind(phase)
    .fetch_all(system)
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "practice/wide_entry.html")]
pub struct WideEntryPage {
    layout: Layout,
    e: WideEntry,
}

/// `/practice/shared/{id}`: another authority's shared entry (404 unless both have opted in and
/// it is shared and published).
pub async fn get_wide_entry(
    s: Scoped<Members>,
    Path(id): Path<PracticeId>,
) -> Result<WideEntryPage, AppError> {
    let e: WideEntry = sqlx::query_as(&format!(
        "{WIDE_SELECT}
         WHERE p.id = $2 AND p.platform_wide AND p.status = 'published' AND p.tenant_id <> $1
           AND (SELECT share_practice_widely FROM tenant WHERE id = $1)"
    ))
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(s.state.db.system())
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(WideEntryPage {
        layout: s.layout("/practice"),
        e,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "practice/sharing_setting.html")]
pub struct SettingPage {
    layout: Layout,
    on: bool,
}

pub async fn get_setting(mut s: Scoped<Administrators>) -> Result<SettingPage, AppError> {
    let on = opted_in(&mut s.tx, s.tenant).await?;
    Ok(SettingPage {
        layout: s.layout("/settings/sharing"),
        on,
    })
}

#[derive(Deserialize)]
pub struct SettingForm {
    #[serde(default)]
    share: String,
}

pub async fn post_setting(
    mut s: Scoped<Administrators>,
    Form(form): Form<SettingForm>,
) -> Result<Response, AppError> {
    let on = form.share == "yes";
    let before = opted_in(&mut s.tx, s.tenant).await?;
    sqlx::query("UPDATE tenant SET share_practice_widely = $2 WHERE id = $1")
        .bind(s.tenant)
        .bind(on)
        .execute(&mut *s.tx)
        .await?;
    if !on {
        // Opting out takes back every entry shared so far.
        sqlx::query("UPDATE practice SET platform_wide = false WHERE tenant_id = $1")
            .bind(s.tenant)
            .execute(&mut *s.tx)
            .await?;
    }
    let changed = s
        .event("practice_sharing.changed")
        .before(json!({"share_widely": before}))
        .after(json!({"share_widely": on}));
    s.record(changed).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/settings/sharing",
        "sharing-saved",
    ))
}

#[derive(Deserialize)]
pub struct WideForm {
    #[serde(default)]
    wide: String,
}

/// The officer shares a published entry with other authorities, or stops.
pub async fn post_wide(
    mut s: Scoped<Officers>,
    Path(id): Path<PracticeId>,
    Form(form): Form<WideForm>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    if e.status() != super::Status::Published {
        return Err(AppError::Locked(
            "Only published practice can be shared with other authorities.",
        ));
    }
    let wide = form.wide == "yes";
    if wide && !opted_in(&mut s.tx, s.tenant).await? {
        return Err(AppError::Locked(
            "Your authority does not share practice with other authorities. Its administrators can turn this on.",
        ));
    }
    super::review::set_mark(s, id, super::review::Mark::PlatformWide, wide).await
}
