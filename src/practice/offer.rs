//! The school offers a strand's practice: the lead writes a version for sharing (the handbook's
//! text is not changed) and chooses documents from those linked to the strand, the head teacher
//! approves it (nothing leaves the school before), and either of them may withdraw it at any time.
//! The pupil-data check runs on the shared texts and on every shared document it can read.

use super::{ENTRY_SELECT, Entry, Status, document_findings, documents, text_findings};
use crate::auth::{Role, SchoolStaff, Scoped};
use crate::domain::{AssessmentId, PracticeId};
use crate::error::AppError;
use crate::forms::Errors;
use crate::handbook::TEXT_LIMIT;
use crate::handbook::strand::find_strand;
use crate::layout::Layout;
use crate::review::notice::{self, Notice, Recipient};
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use serde_json::json;
use sqlx::PgConnection;
use std::collections::HashSet;
use uuid::Uuid;

/// Good practice as the strand page shows it.
pub struct Sharing {
    /// Other schools of the authority with published practice on this strand.
    pub others: i64,
    pub recommended: bool,
    /// This school's live offer on the strand, if any.
    pub own: Option<Status>,
}

pub async fn sharing(
    conn: &mut PgConnection,
    tenant: Uuid,
    school: Uuid,
    assessment: AssessmentId,
    key: &str,
) -> Result<Sharing, sqlx::Error> {
    let (others, recommended, own): (i64, bool, Option<String>) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT school_id) FROM practice WHERE tenant_id = $1 AND strand_key = $4
                   AND status = 'published' AND school_id <> $2),
                EXISTS (SELECT 1 FROM practice_recommendation WHERE tenant_id = $1 AND assessment_id = $3 AND strand_key = $4),
                (SELECT status FROM practice WHERE tenant_id = $1 AND assessment_id = $3 AND strand_key = $4
                   ORDER BY created_at DESC LIMIT 1)",
    )
    .bind(tenant)
    .bind(school)
    .bind(assessment)
    .bind(key)
    .fetch_one(conn)
    .await?;
    Ok(Sharing {
        others,
        recommended,
        own: own.as_deref().and_then(Status::parse),
    })
}

/// A document linked to the strand, and whether it goes with the offer.
pub struct Choice {
    pub id: Uuid,
    pub title: String,
    pub file_name: String,
    pub chosen: bool,
    pub readable: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "practice/offer.html")]
pub struct OfferPage {
    layout: Layout,
    assessment: Uuid,
    key: String,
    label: String,
    title: String,
    school: String,
    entry: Option<Entry>,
    actions: String,
    impact: String,
    shows_email: bool,
    choices: Vec<Choice>,
    errors: Errors,
    pupil_data: Vec<String>,
    is_head: bool,
    editable: bool,
    recommended: bool,
}

/// The school's latest offer on the strand (the live one, or the last withdrawn or declined).
async fn latest(
    s: &mut Scoped<SchoolStaff>,
    assessment: AssessmentId,
    key: &str,
) -> Result<Option<Entry>, AppError> {
    Ok(sqlx::query_as(&format!(
        "{ENTRY_SELECT} WHERE p.tenant_id = $1 AND p.assessment_id = $2 AND p.strand_key = $3
         ORDER BY p.created_at DESC LIMIT 1"
    ))
    .bind(s.tenant)
    .bind(assessment)
    .bind(key)
    .fetch_optional(&mut *s.tx)
    .await?)
}

#[derive(serde::Deserialize, Default)]
pub struct OfferForm {
    #[serde(default)]
    actions: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    shows_email: Option<String>,
    #[serde(default)]
    documents_checked: Option<String>,
    /// "send" (to the head), "approve" (the head), or "save".
    #[serde(default)]
    action: String,
}

async fn page(
    s: &mut Scoped<SchoolStaff>,
    id: AssessmentId,
    key: &str,
    form: Option<(&OfferForm, &HashSet<Uuid>)>,
    errors: Errors,
    pupil_data: Vec<String>,
) -> Result<OfferPage, AppError> {
    let h = id.load(s).await?;
    let (_, strand, _) = find_strand(&h.fw, key).ok_or(AppError::NotFound)?;
    let entry = latest(s, id, key).await?;
    let live = entry
        .as_ref()
        .filter(|e| !matches!(e.status(), Status::Withdrawn | Status::Declined));
    let chosen: HashSet<Uuid> = match (form, live) {
        (Some((_, c)), _) => c.clone(),
        (None, Some(e)) => documents(&mut s.tx, s.tenant, e.id)
            .await?
            .into_iter()
            .map(|d| d.0)
            .collect(),
        (None, None) => HashSet::new(),
    };
    let linked: Vec<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT e.id, e.title, e.file_name, e.content_type FROM evidence_link l
         JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND l.strand_key = $3 AND e.deleted_at IS NULL ORDER BY e.title",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(key)
    .fetch_all(&mut *s.tx)
    .await?;
    let (actions, impact, shows_email) = match (form, live) {
        (Some((f, _)), _) => (f.actions.clone(), f.impact.clone(), f.shows_email.is_some()),
        (None, Some(e)) => (e.actions.clone(), e.impact.clone(), e.contact_shows_email),
        (None, None) => {
            // A new offer starts from the handbook's own text, to be edited for sharing.
            let e = crate::handbook::entry(&mut s.tx, s.tenant, id, key)
                .await?
                .unwrap_or_default();
            (e.actions, e.impact, false)
        }
    };
    let recommended: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM practice_recommendation WHERE tenant_id = $1 AND assessment_id = $2 AND strand_key = $3)",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(key)
    .fetch_one(&mut *s.tx)
    .await?;
    Ok(OfferPage {
        layout: s.layout("/handbook"),
        assessment: id.0,
        key: key.to_string(),
        label: strand.reference(),
        title: strand.title.clone(),
        school: h.a.school_name.clone(),
        editable: live.is_none_or(|e| e.status().editable()),
        entry,
        actions,
        impact,
        shows_email,
        choices: linked
            .into_iter()
            .map(|(id, title, file_name, content_type)| Choice {
                chosen: chosen.contains(&id),
                readable: content_type.starts_with("text/"),
                id,
                title,
                file_name,
            })
            .collect(),
        errors,
        pupil_data,
        is_head: s.user.role == Role::HeadTeacher,
        recommended,
    })
}

pub async fn get_offer(
    mut s: Scoped<SchoolStaff>,
    Path((id, key)): Path<(AssessmentId, String)>,
) -> Result<OfferPage, AppError> {
    page(&mut s, id, &key, None, Errors::default(), Vec::new()).await
}

/// The offer's texts, or the errors to show next to them (pure).
pub fn check(actions: &str, impact: &str, errors: &mut Errors) {
    if actions.trim().is_empty() && impact.trim().is_empty() {
        errors.add(
            "actions",
            "Write the practice you want to share: what you did, its evidence or its impact",
        );
    }
    for (field, what, text) in [
        ("actions", "Actions and evidence", actions),
        ("impact", "Impact", impact),
    ] {
        let n = text.chars().count();
        if n > TEXT_LIMIT {
            errors.add(
                field,
                format!("{what} must be {TEXT_LIMIT} characters or fewer; it is {n}"),
            );
        }
    }
}

pub async fn post_offer(
    mut s: Scoped<SchoolStaff>,
    Path((id, key)): Path<(AssessmentId, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    // Checkboxes named "document" repeat; the other fields are read as a form.
    let chosen: HashSet<Uuid> = fields
        .iter()
        .filter(|(k, _)| k == "document")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let form: OfferForm = serde_urlencoded::from_str(
        &serde_urlencoded::to_string(
            fields
                .iter()
                .filter(|(k, _)| k != "document")
                .collect::<Vec<_>>(),
        )
        .map_err(|_| AppError::BadRequest)?,
    )
    .map_err(|_| AppError::BadRequest)?;
    let h = id.load(&mut s).await?;
    let (theme, strand, _) = find_strand(&h.fw, &key).ok_or(AppError::NotFound)?;
    let (theme_number, label) = (
        theme.number,
        format!("{}: {}", strand.reference(), strand.title),
    );
    let entry = latest(&mut s, id, &key).await?;
    let live = entry.filter(|e| !matches!(e.status(), Status::Withdrawn | Status::Declined));
    if let Some(e) = &live
        && !e.status().editable()
    {
        return Err(AppError::Locked(
            "This practice has been offered to the local authority and can no longer be changed. Withdraw it to change it and offer it again.",
        ));
    }
    let mut errors = Errors::default();
    check(&form.actions, &form.impact, &mut errors);
    // Only documents linked to this strand of this handbook can go with it.
    let linked: HashSet<Uuid> = sqlx::query_scalar(
        "SELECT l.evidence_id FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND l.strand_key = $3 AND e.deleted_at IS NULL",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(&key)
    .fetch_all(&mut *s.tx)
    .await?
    .into_iter()
    .collect();
    let chosen: HashSet<Uuid> = chosen.intersection(&linked).copied().collect();
    let year = chrono::Utc::now().year();
    let mut pupil_data = text_findings(&form.actions, &form.impact, year);
    let docs: Vec<(Uuid, String, String, String, String)> = sqlx::query_as(
        "SELECT id, title, file_name, content_type, sha256 FROM evidence WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(s.tenant)
    .bind(chosen.iter().copied().collect::<Vec<_>>())
    .fetch_all(&mut *s.tx)
    .await?;
    let state = s.state.clone();
    pupil_data.extend(document_findings(&state, &docs, year).await?);
    if !pupil_data.is_empty() {
        errors.add(
            "actions",
            "Take out the pupils' personal data below: nothing of it may be shared",
        );
    }
    let approve = form.action == "approve";
    if approve && s.user.role != Role::HeadTeacher {
        errors.add(
            "actions",
            "Only your head teacher can approve sharing. Send it to them instead",
        );
    }
    let unreadable = docs.iter().any(|d| !d.3.starts_with("text/"));
    if (approve || form.action == "send") && unreadable && form.documents_checked.is_none() {
        errors.add(
            "documents_checked",
            "Confirm that you have checked the chosen documents contain no pupil's personal data",
        );
    }
    if !errors.is_empty() {
        let p = page(&mut s, id, &key, Some((&form, &chosen)), errors, pupil_data).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let status = match form.action.as_str() {
        "approve" => Status::Offered,
        "send" => Status::WithHead,
        _ => live.as_ref().map_or(Status::Draft, |e| match e.status() {
            Status::ChangesRequested => Status::ChangesRequested,
            st => st,
        }),
    };
    let practice = match &live {
        Some(e) => {
            sqlx::query(
                "UPDATE practice SET actions = $3, impact = $4, contact_shows_email = $5, status = $6,
                        approved_by = CASE WHEN $7 THEN $8 ELSE approved_by END,
                        approved_at = CASE WHEN $7 THEN now() ELSE approved_at END, updated_at = now()
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(s.tenant)
            .bind(e.id)
            .bind(&form.actions)
            .bind(&form.impact)
            .bind(form.shows_email.is_some())
            .bind(status.as_str())
            .bind(approve)
            .bind(s.user.id)
            .execute(&mut *s.tx)
            .await?;
            e.id
        }
        None => {
            let new = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO practice (id, tenant_id, school_id, assessment_id, strand_key, theme_number, strand_label,
                                       actions, impact, status, contact_id, contact_shows_email, created_by,
                                       approved_by, approved_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11,
                         CASE WHEN $13 THEN $11 END, CASE WHEN $13 THEN now() END)",
            )
            .bind(new)
            .bind(s.tenant)
            .bind(h.a.school_id)
            .bind(id)
            .bind(&key)
            .bind(i32::try_from(theme_number).unwrap_or(0))
            .bind(&label)
            .bind(&form.actions)
            .bind(&form.impact)
            .bind(status.as_str())
            .bind(s.user.id)
            .bind(form.shows_email.is_some())
            .bind(approve)
            .execute(&mut *s.tx)
            .await?;
            new
        }
    };
    sqlx::query("DELETE FROM practice_document WHERE tenant_id = $1 AND practice_id = $2")
        .bind(s.tenant)
        .bind(practice)
        .execute(&mut *s.tx)
        .await?;
    sqlx::query(
        "INSERT INTO practice_document (tenant_id, practice_id, evidence_id) SELECT $1, $2, unnest($3::uuid[])",
    )
    .bind(s.tenant)
    .bind(practice)
    .bind(chosen.iter().copied().collect::<Vec<_>>())
    .execute(&mut *s.tx)
    .await?;
    let link = crate::review::link(&s, &format!("/assessments/{id}/strands/{key}/practice"));
    match status {
        Status::WithHead => {
            for to in notice::school_staff(&mut s.tx, s.tenant, h.a.school_id, &[Role::HeadTeacher])
                .await?
            {
                let n = Notice {
                    name: String::new(),
                    subject: format!("Approve sharing strand {}?", strand.reference()),
                    paragraphs: vec![format!(
                        "{} would like to share your school's practice on strand {} with the other schools of the authority. Nothing is shared until you approve it.",
                        s.user.name, label
                    )],
                    link: Some(("Read it and approve it".to_string(), link.clone())),
                    attachment: None,
                };
                notice::send(&mut s.tx, s.tenant, &to, n).await?;
            }
        }
        Status::Offered => {
            let officers: Vec<Recipient> = sqlx::query_as(
                "SELECT name, email FROM app_user WHERE tenant_id = $1 AND role = 'la_officer' AND active AND NOT stand_in ORDER BY name",
            )
            .bind(s.tenant)
            .fetch_all(&mut *s.tx)
            .await?;
            let review = crate::review::link(&s, &format!("/practice/{practice}"));
            for to in officers {
                let n = Notice {
                    name: String::new(),
                    subject: format!(
                        "Good practice offered: {} ({})",
                        h.a.school_name,
                        strand.reference()
                    ),
                    paragraphs: vec![format!(
                        "{} has offered its practice on strand {} for the resource base. Publish it, ask for changes or decline it.",
                        h.a.school_name, label
                    )],
                    link: Some(("Review it".to_string(), review.clone())),
                    attachment: None,
                };
                notice::send(&mut s.tx, s.tenant, &to, n).await?;
            }
        }
        _ => {}
    }
    let saved = s
        .event("practice.saved")
        .subject("practice", practice)
        .after(json!({"strand": key, "status": status.as_str(), "documents": chosen.len()}));
    s.record(saved).await?;
    s.commit().await?;
    let flash = match status {
        Status::WithHead => "practice-sent",
        Status::Offered => "practice-offered",
        _ => "practice-saved",
    };
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{id}/strands/{key}/practice"),
        flash,
    ))
}

/// The school takes its practice back: gone from the resource base at once.
pub async fn post_withdraw(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<PracticeId>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    if s.user.school_id != Some(e.school_id) {
        return Err(AppError::NotFound);
    }
    if matches!(e.status(), Status::Withdrawn | Status::Declined) {
        return Err(AppError::Locked("This practice is no longer offered."));
    }
    sqlx::query(
        "UPDATE practice SET status = 'withdrawn', featured = false, updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .execute(&mut *s.tx)
    .await?;
    let withdrawn = s
        .event("practice.withdrawn")
        .subject("practice", id)
        .before(json!({"status": e.status}));
    s.record(withdrawn).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!(
            "/assessments/{}/strands/{}/practice",
            e.assessment_id, e.strand_key
        ),
        "practice-withdrawn",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_needs_some_text_within_the_limit() {
        let mut e = Errors::default();
        check(" ", "", &mut e);
        assert!(e.get("actions").is_some());
        let mut e = Errors::default();
        check(&"x".repeat(TEXT_LIMIT + 1), "", &mut e);
        assert!(e.get("actions").unwrap().contains("characters or fewer"));
        let mut e = Errors::default();
        check("", "Attendance rose by two points", &mut e);
        assert!(e.is_empty());
    }
}
