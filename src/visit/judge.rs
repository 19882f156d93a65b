//! Visit mode, for a tablet in a school hall: theme by theme, each strand's statements, what the
//! school claimed and wrote with its documents, and the assessor's agreed level and notes.
//!
//! Each strand's form works on its own without JavaScript. With it (`static/visit.js`), every
//! change is kept in the browser and sent through a queue that retries until the server confirms
//! it, so nothing is lost when the Wi-Fi drops or the tab is closed. A change carries the
//! browser's time (`stamp`); the server keeps the newest, so a late retry never overwrites a
//! newer note.

use super::{Assessed, NONE, level_words};
use crate::assessment::Stage;
use crate::auth::{Assessors, Scoped};
use crate::domain::{AssessmentId, DocumentId};
use crate::error::AppError;
use crate::evidence::EvidenceRow;
use crate::framework::{Framework, Theme};
use crate::handbook::{self, TEXT_LIMIT};
use crate::layout::Layout;
use crate::web::{Form, Path, redirect_with_flash, wants_json};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(sqlx::FromRow, Clone, Default)]
pub struct Judgement {
    pub strand_key: String,
    pub agreed_level: Option<String>,
    pub notes: String,
    pub client_stamp: i64,
}

/// Every judgement recorded on a handbook, by strand.
pub async fn judgements(
    conn: &mut sqlx::PgConnection,
    tenant: Uuid,
    id: AssessmentId,
) -> Result<HashMap<String, Judgement>, sqlx::Error> {
    let rows: Vec<Judgement> = sqlx::query_as(
        "SELECT strand_key, agreed_level, notes, client_stamp FROM strand_judgement
         WHERE tenant_id = $1 AND assessment_id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|j| (j.strand_key.clone(), j))
        .collect())
}

/// Agreed levels for the best-fit rule: strands agreed at a level (none of the levels counts as
/// judged without a level, as an empty claim does).
pub fn agreed(
    judgements: &HashMap<String, Judgement>,
) -> std::collections::BTreeMap<String, String> {
    judgements
        .values()
        .filter_map(|j| {
            j.agreed_level
                .as_deref()
                .filter(|l| *l != NONE)
                .map(|l| (j.strand_key.clone(), l.to_string()))
        })
        .collect()
}

pub struct ThemeProgress {
    pub number: u32,
    pub title: String,
    pub judged: usize,
    pub strands: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/school.html")]
pub struct SchoolPage {
    layout: Layout,
    a: Assessed,
    visit: String,
    deadline: String,
    themes: Vec<ThemeProgress>,
    judged: usize,
    strands: usize,
    award: Option<String>,
}

/// `/visits/{id}`: one assigned school — its handbook, visit, progress of the visit and award.
pub async fn get_school(
    mut s: Scoped<Assessors>,
    Path(id): Path<AssessmentId>,
) -> Result<SchoolPage, AppError> {
    let a = id.load_for_assessor(&mut s).await?;
    let js = judgements(&mut s.tx, s.tenant, id).await?;
    let (dl, _, _) = crate::assessment::deadline::load(&mut s.tx, s.tenant, a.visit_at).await?;
    let award: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM award WHERE tenant_id = $1 AND assessment_id = $2")
            .bind(s.tenant)
            .bind(id)
            .fetch_optional(&mut *s.tx)
            .await?;
    let themes: Vec<ThemeProgress> =
        a.fw.themes
            .iter()
            .map(|t| ThemeProgress {
                number: t.number,
                title: t.title.clone(),
                judged: t
                    .strands
                    .iter()
                    .filter(|st| js.get(&st.key).is_some_and(|j| j.agreed_level.is_some()))
                    .count(),
                strands: t.strands.len(),
            })
            .collect();
    Ok(SchoolPage {
        layout: s.layout("/visits"),
        visit: a
            .visit_at
            .map_or_else(|| "Not arranged".to_string(), crate::dates::visit),
        deadline: if a.stage.is_settled() {
            "Submitted".to_string()
        } else {
            dl.describe()
        },
        judged: themes.iter().map(|t| t.judged).sum(),
        strands: themes.iter().map(|t| t.strands).sum(),
        themes,
        award: award.map(|o| level_words(&a.fw, Some(&o))),
        a,
    })
}

pub struct LevelChoice {
    pub key: String,
    pub name: String,
}

pub struct StatementView {
    pub level: String,
    pub text: String,
}

pub struct DocView {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
}

pub struct StrandView {
    pub key: String,
    pub heading: String,
    pub statements: Vec<StatementView>,
    pub claimed: String,
    pub actions: String,
    pub impact: String,
    pub documents: Vec<DocView>,
    /// The agreed level key, "none", or "" while not judged.
    pub agreed: String,
    pub notes: String,
    pub stamp: i64,
    /// The assessor recommended this strand's practice as worth sharing.
    pub recommended: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "visit/theme.html")]
pub struct ThemePage {
    layout: Layout,
    a: Assessed,
    number: u32,
    title: String,
    strands: Vec<StrandView>,
    levels: Vec<LevelChoice>,
    /// Why the judgements can no longer change, if they cannot.
    locked: Option<&'static str>,
    previous: Option<u32>,
    next: Option<u32>,
    /// A strand whose plain-form save was refused, with the reason.
    error: Option<(String, String)>,
}

fn theme(fw: &Framework, number: u32) -> Result<&Theme, AppError> {
    fw.themes
        .iter()
        .find(|t| t.number == number)
        .ok_or(AppError::NotFound)
}

/// Why judgements may not be recorded at this stage, if they may not.
pub fn judging_locked(stage: Stage) -> Option<&'static str> {
    match stage {
        Stage::Submitted => None,
        Stage::Awarded => {
            Some("The award has been agreed: the levels and notes can no longer change.")
        }
        Stage::Withdrawn => Some("The school has been withdrawn from its cohort."),
        _ => Some(
            "The school has not submitted its handbook yet. You can record levels and notes once the head teacher has submitted it.",
        ),
    }
}

async fn theme_page(
    s: &mut Scoped<Assessors>,
    id: AssessmentId,
    number: u32,
) -> Result<ThemePage, AppError> {
    let a = id.load_for_assessor(s).await?;
    let t = theme(&a.fw, number)?.clone();
    let entries = handbook::entries(&mut s.tx, s.tenant, id).await?;
    let js = judgements(&mut s.tx, s.tenant, id).await?;
    let docs: Vec<(String, Uuid, String, String)> = sqlx::query_as(
        "SELECT l.strand_key, e.id, e.title, e.file_name
         FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND e.deleted_at IS NULL
         ORDER BY e.title",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_all(&mut *s.tx)
    .await?;
    let recommended: std::collections::HashSet<String> = sqlx::query_scalar(
        "SELECT strand_key FROM practice_recommendation WHERE tenant_id = $1 AND assessment_id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_all(&mut *s.tx)
    .await?
    .into_iter()
    .collect();
    let strands = t
        .strands
        .iter()
        .map(|st| {
            let e = entries.get(&st.key);
            let j = js.get(&st.key);
            StrandView {
                key: st.key.clone(),
                heading: st.heading(),
                statements: a
                    .fw
                    .levels
                    .iter()
                    .filter_map(|l| {
                        st.statements.get(&l.key).map(|text| StatementView {
                            level: l.name.clone(),
                            text: text.clone(),
                        })
                    })
                    .collect(),
                claimed: handbook::level_name(&a.fw, e.and_then(|e| e.claimed_level.as_deref())),
                actions: e.map(|e| e.actions.clone()).unwrap_or_default(),
                impact: e.map(|e| e.impact.clone()).unwrap_or_default(),
                documents: docs
                    .iter()
                    .filter(|d| d.0 == st.key)
                    .map(|d| DocView {
                        id: d.1,
                        title: d.2.clone(),
                        file_name: d.3.clone(),
                    })
                    .collect(),
                agreed: j.and_then(|j| j.agreed_level.clone()).unwrap_or_default(),
                notes: j.map(|j| j.notes.clone()).unwrap_or_default(),
                stamp: j.map_or(0, |j| j.client_stamp),
                recommended: recommended.contains(&st.key),
            }
        })
        .collect();
    let numbers: Vec<u32> = a.fw.themes.iter().map(|t| t.number).collect();
    let at = numbers.iter().position(|n| *n == number).unwrap_or(0);
    let mut levels: Vec<LevelChoice> =
        a.fw.levels
            .iter()
            .map(|l| LevelChoice {
                key: l.key.clone(),
                name: l.name.clone(),
            })
            .collect();
    levels.push(LevelChoice {
        key: NONE.to_string(),
        name: level_words(&a.fw, Some(NONE)),
    });
    Ok(ThemePage {
        layout: s.layout("/visits"),
        locked: judging_locked(a.stage),
        a,
        number,
        title: t.title.clone(),
        strands,
        levels,
        previous: at.checked_sub(1).map(|i| numbers[i]),
        next: numbers.get(at + 1).copied(),
        error: None,
    })
}

pub async fn get_theme(
    mut s: Scoped<Assessors>,
    Path((id, number)): Path<(AssessmentId, u32)>,
) -> Result<ThemePage, AppError> {
    theme_page(&mut s, id, number).await
}

#[derive(Deserialize, Default)]
pub struct JudgementForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    notes: String,
    /// The browser's time of the change, in milliseconds; absent from a plain form.
    #[serde(default)]
    stamp: String,
}

/// What the form's level means: `Ok(None)` not judged, a level key, or "none".
pub fn parse_level(fw: &Framework, input: &str) -> Result<Option<String>, &'static str> {
    match input.trim() {
        "" => Ok(None),
        NONE => Ok(Some(NONE.to_string())),
        k if fw.level(k).is_some() => Ok(Some(k.to_string())),
        _ => Err("Choose a level from the list"),
    }
}

/// Records one strand's agreed level and notes (JSON for the queue, a redirect for the form).
pub async fn post_judgement(
    mut s: Scoped<Assessors>,
    Path((id, key)): Path<(AssessmentId, String)>,
    headers: HeaderMap,
    Form(form): Form<JudgementForm>,
) -> Result<Response, AppError> {
    let a = id.load_for_assessor(&mut s).await?;
    let Some((t, _)) = a.fw.strands().find(|(_, st)| st.key == key) else {
        return Err(AppError::NotFound);
    };
    let number = t.number;
    let json = wants_json(&headers);
    if let Some(why) = judging_locked(a.stage) {
        if json {
            return Ok((
                StatusCode::CONFLICT,
                axum::Json(json!({"status": "locked", "message": why})),
            )
                .into_response());
        }
        return Err(AppError::Locked(why));
    }
    let level = parse_level(&a.fw, &form.level);
    let problem = match &level {
        Err(m) => Some((*m).to_string()),
        Ok(_) if form.notes.chars().count() > TEXT_LIMIT => Some(format!(
            "The notes must be {TEXT_LIMIT} characters or fewer"
        )),
        Ok(_) => None,
    };
    if let Some(message) = problem {
        if json {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({"status": "invalid", "message": message})),
            )
                .into_response());
        }
        let mut page = theme_page(&mut s, id, number).await?;
        if let Some(st) = page.strands.iter_mut().find(|st| st.key == key) {
            st.notes = form.notes.clone();
        }
        page.error = Some((key, message));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let level = level.unwrap_or_default();
    // A plain form has no browser clock: the server's time orders it among queued changes.
    let stamp = match form.stamp.trim().parse::<i64>() {
        Ok(n) if n > 0 => n,
        _ => chrono::Utc::now().timestamp_millis(),
    };
    let stored: Option<i64> = sqlx::query_scalar(
        "INSERT INTO strand_judgement (tenant_id, assessment_id, strand_key, agreed_level, notes, client_stamp, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, assessment_id, strand_key) DO UPDATE
             SET agreed_level = EXCLUDED.agreed_level, notes = EXCLUDED.notes,
                 client_stamp = EXCLUDED.client_stamp, updated_by = EXCLUDED.updated_by, updated_at = now()
             WHERE strand_judgement.client_stamp <= EXCLUDED.client_stamp
         RETURNING client_stamp",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(&key)
    .bind(&level)
    .bind(&form.notes)
    .bind(stamp)
    .bind(s.user.id)
    .fetch_optional(&mut *s.tx)
    .await?;
    if stored.is_some() {
        let ev = s
            .event("visit.judged")
            .school(Some(a.v.school_id))
            .subject("assessment", id)
            .after(json!({"strand": key, "agreed_level": level, "notes_chars": form.notes.chars().count()}));
        s.record(ev).await?;
    }
    let state = s.state.clone();
    s.commit().await?;
    if json {
        // An older change than the one kept is confirmed too: the newer one already stands.
        return Ok(axum::Json(json!({
            "status": if stored.is_some() { "saved" } else { "superseded" },
            "key": key,
            "stamp": stamp,
        }))
        .into_response());
    }
    Ok(redirect_with_flash(
        &state,
        &format!("/visits/{id}/themes/{number}#strand-{key}"),
        "judgement-saved",
    ))
}

/// A document linked to the handbook, for its assessor; 404 for any other.
pub async fn get_document(
    mut s: Scoped<Assessors>,
    Path((id, doc)): Path<(AssessmentId, DocumentId)>,
) -> Result<Response, AppError> {
    id.load_for_assessor(&mut s).await?;
    let e: EvidenceRow = sqlx::query_as(&format!(
        "{} FROM evidence e
         WHERE e.tenant_id = $1 AND e.id = $2 AND e.deleted_at IS NULL
           AND EXISTS (SELECT 1 FROM evidence_link l WHERE l.tenant_id = e.tenant_id
                       AND l.evidence_id = e.id AND l.assessment_id = $3)",
        crate::evidence::FILE_COLUMNS
    ))
    .bind(s.tenant)
    .bind(doc)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let state = s.state.clone();
    drop(s);
    crate::evidence::document::file_response(&state, &e).await
}

#[derive(Deserialize)]
pub struct RecommendForm {
    #[serde(default)]
    recommend: String,
}

/// "Strength worth sharing": the assessor recommends (or no longer recommends) that the school
/// share this strand's practice; the school sees it on the strand and decides.
pub async fn post_recommend(
    mut s: Scoped<Assessors>,
    Path((id, key)): Path<(AssessmentId, String)>,
    Form(form): Form<RecommendForm>,
) -> Result<Response, AppError> {
    let a = id.load_for_assessor(&mut s).await?;
    let (theme, _, _) = handbook::strand::find_strand(&a.fw, &key).ok_or(AppError::NotFound)?;
    let number = theme.number;
    if form.recommend == "yes" {
        sqlx::query(
            "INSERT INTO practice_recommendation (tenant_id, assessment_id, strand_key, assessor_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(s.tenant)
        .bind(id)
        .bind(&key)
        .bind(s.user.id)
        .execute(&mut *s.tx)
        .await?;
    } else {
        sqlx::query(
            "DELETE FROM practice_recommendation WHERE tenant_id = $1 AND assessment_id = $2 AND strand_key = $3",
        )
        .bind(s.tenant)
        .bind(id)
        .bind(&key)
        .execute(&mut *s.tx)
        .await?;
    }
    let recorded = s
        .event("practice.recommended")
        .school(Some(a.v.school_id))
        .subject("assessment", id)
        .after(json!({"strand": key, "recommended": form.recommend == "yes"}));
    s.record(recorded).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(crate::web::redirect_with_flash(
        &state,
        &format!("/visits/{id}/themes/{number}#strand-{key}"),
        "practice-recommended",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreed_levels_feed_the_best_fit_without_none() {
        let mut js = HashMap::new();
        for (k, l) in [("1.1", Some("silver")), ("1.2", Some(NONE)), ("1.3", None)] {
            js.insert(
                k.to_string(),
                Judgement {
                    strand_key: k.into(),
                    agreed_level: l.map(str::to_string),
                    notes: String::new(),
                    client_stamp: 1,
                },
            );
        }
        let a = agreed(&js);
        assert_eq!(a.len(), 1);
        assert_eq!(a.get("1.1").map(String::as_str), Some("silver"));
    }

    #[test]
    fn judging_only_while_submitted() {
        assert_eq!(judging_locked(Stage::Submitted), None);
        assert!(judging_locked(Stage::Awarded).is_some());
        assert!(judging_locked(Stage::InProgress).is_some());
        assert!(judging_locked(Stage::WithHead).is_some());
    }
}
