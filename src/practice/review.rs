//! The authority's review of offered practice: an officer publishes it, asks for changes with a
//! message, or declines it; features published entries for the award and celebration event and
//! downloads them as one PDF booklet, the programme's record of innovative practice.

use super::{ENTRY_SELECT, Entry, Status};
use crate::auth::{Officers, Role, Scoped};
use crate::domain::PracticeId;
use crate::error::AppError;
use crate::handbook::pdf::{Block, Para};
use crate::layout::Layout;
use crate::review::notice::{self, Notice};
use crate::web::{Form, Path, redirect_with_flash};
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Template, WebTemplate)]
#[template(path = "practice/review.html")]
pub struct ReviewPage {
    layout: Layout,
    offered: Vec<Entry>,
    published: Vec<Entry>,
    others: Vec<Entry>,
    /// The authority shares chosen practice with other authorities.
    wide: bool,
}

pub async fn get_review(mut s: Scoped<Officers>) -> Result<ReviewPage, AppError> {
    // What the officer may see: approved by the head, not withdrawn.
    let all: Vec<Entry> = sqlx::query_as(&format!(
        "{ENTRY_SELECT} WHERE p.tenant_id = $1 AND p.status IN ('offered', 'changes_requested', 'published', 'declined')
         ORDER BY p.updated_at DESC"
    ))
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let (offered, rest): (Vec<Entry>, Vec<Entry>) =
        all.into_iter().partition(|e| e.status() == Status::Offered);
    let (published, others) = rest
        .into_iter()
        .partition(|e| e.status() == Status::Published);
    let wide = super::wide::opted_in(&mut s.tx, s.tenant).await?;
    Ok(ReviewPage {
        wide,
        layout: s.layout("/practice/review"),
        offered,
        published,
        others,
    })
}

#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    message: String,
}

pub async fn post_decision(
    mut s: Scoped<Officers>,
    Path(id): Path<PracticeId>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let message = form.message.trim().to_string();
    let mut errors = crate::forms::Errors::default();
    let to = match form.decision.as_str() {
        "publish" => Some(Status::Published),
        "changes" => Some(Status::ChangesRequested),
        "decline" => Some(Status::Declined),
        _ => None,
    };
    match to {
        None => errors.add(
            "decision",
            "Choose whether to publish it, ask for changes or decline it",
        ),
        Some(Status::ChangesRequested | Status::Declined) if message.is_empty() => errors.add(
            "message",
            "Write a message to the school saying what to change, or why",
        ),
        _ if message.chars().count() > super::base::MESSAGE_LIMIT => errors.add(
            "message",
            format!(
                "The message must be {} characters or fewer",
                super::base::MESSAGE_LIMIT
            ),
        ),
        _ => {}
    }
    if e.status() != Status::Offered {
        errors.add(
            "decision",
            "Only practice waiting for the local authority can be decided on",
        );
    }
    if !errors.is_empty() {
        let docs = super::documents(&mut s.tx, s.tenant, e.id).await?;
        let page = DecisionPage {
            layout: s.layout("/practice/review"),
            e,
            docs,
            errors,
            message,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let to = to.unwrap_or(Status::Offered);
    sqlx::query(
        "UPDATE practice SET status = $3, officer_message = $4, updated_at = now(),
                published_at = CASE WHEN $3 = 'published' THEN now() ELSE published_at END
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(to.as_str())
    .bind(&message)
    .execute(&mut *s.tx)
    .await?;
    let (subject, first) = match to {
        Status::Published => (
            format!("Your practice on strand {} is published", e.strand_label),
            "Your school's practice is now in the authority's resource base, for every school to read.".to_string(),
        ),
        Status::ChangesRequested => (
            format!("Changes asked for: your practice on strand {}", e.strand_label),
            "Your local authority asks for changes before publishing your school's practice.".to_string(),
        ),
        _ => (
            format!("Your practice on strand {} was not published", e.strand_label),
            "Your local authority has declined to publish your school's practice.".to_string(),
        ),
    };
    let link = crate::review::link(
        &s,
        &format!(
            "/assessments/{}/strands/{}/practice",
            e.assessment_id, e.strand_key
        ),
    );
    for to in notice::school_staff(
        &mut s.tx,
        s.tenant,
        e.school_id,
        &[Role::AttendanceLead, Role::HeadTeacher],
    )
    .await?
    {
        let mut paragraphs = vec![first.clone()];
        if !message.is_empty() {
            paragraphs.push(format!("Their message: {message}"));
        }
        let n = Notice {
            name: String::new(),
            subject: subject.clone(),
            paragraphs,
            link: Some(("See it".to_string(), link.clone())),
            attachment: None,
        };
        notice::send(&mut s.tx, s.tenant, &to, n).await?;
    }
    let decided = s
        .event("practice.decided")
        .school(Some(e.school_id))
        .subject("practice", id)
        .after(json!({"status": to.as_str(), "message": message}));
    s.record(decided).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/practice/review",
        "practice-decided",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "practice/decision.html")]
pub struct DecisionPage {
    layout: Layout,
    e: Entry,
    docs: Vec<(uuid::Uuid, String, String, String, String)>,
    errors: crate::forms::Errors,
    message: String,
}

#[derive(Deserialize)]
pub struct FeatureForm {
    #[serde(default)]
    featured: String,
}

pub async fn post_feature(
    mut s: Scoped<Officers>,
    Path(id): Path<PracticeId>,
    Form(form): Form<FeatureForm>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    if e.status() != Status::Published {
        return Err(AppError::Locked("Only published practice can be featured."));
    }
    set_mark(s, id, Mark::Featured, form.featured == "yes").await
}

/// The officer's yes/no marks on a published entry.
pub(super) enum Mark {
    /// For the award and celebration event's booklet.
    Featured,
    /// Shown to other authorities that share practice too.
    PlatformWide,
}

/// Sets `mark` on entry `id` (already checked to be published), records it and goes back to the
/// review page.
pub(super) async fn set_mark(
    mut s: Scoped<Officers>,
    id: PracticeId,
    mark: Mark,
    on: bool,
) -> Result<Response, AppError> {
    // The column names are the code's own, never the request's.
    let (sql, event, field) = match mark {
        Mark::Featured => (
            "UPDATE practice SET featured = $3 WHERE tenant_id = $1 AND id = $2",
            "practice.featured",
            "featured",
        ),
        Mark::PlatformWide => (
            "UPDATE practice SET platform_wide = $3 WHERE tenant_id = $1 AND id = $2",
            "practice.shared_widely",
            "platform_wide",
        ),
    };
    sqlx::query(sql)
        .bind(s.tenant)
        .bind(id)
        .bind(on)
        .execute(&mut *s.tx)
        .await?;
    let changed = s
        .event(event)
        .subject("practice", id)
        .after(json!({ field: on }));
    s.record(changed).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        "/practice/review",
        "practice-featured",
    ))
}

/// The booklet's words (pure): each featured entry with its school, strand, award and practice.
pub fn booklet_blocks(authority: &str, entries: &[Entry]) -> Vec<Block> {
    let mut b = vec![
        Block::Heading(1, "Celebrating innovative practice".into()),
        Block::Para(Para::plain(format!(
            "Attendance Quality Mark: practice shared by the schools of {authority}, featured for the award and celebration event."
        ))),
    ];
    if entries.is_empty() {
        b.push(Block::Para(Para::plain("No entry has been featured yet.")));
    }
    for e in entries {
        b.push(Block::Heading(
            2,
            format!("{}: strand {}", e.school, e.strand_label),
        ));
        b.push(Block::Para(Para::labelled("Award:", e.award_words())));
        if !e.actions.trim().is_empty() {
            b.push(Block::Heading(3, "What the school did".into()));
            b.push(Block::Para(Para::plain(&e.actions)));
        }
        if !e.impact.trim().is_empty() {
            b.push(Block::Heading(3, "Impact".into()));
            b.push(Block::Para(Para::plain(&e.impact)));
        }
    }
    b
}

pub async fn get_booklet(mut s: Scoped<Officers>) -> Result<Response, AppError> {
    let entries: Vec<Entry> = sqlx::query_as(&format!(
        "{ENTRY_SELECT} WHERE p.tenant_id = $1 AND p.status = 'published' AND p.featured
         ORDER BY p.theme_number, p.strand_key, s.name"
    ))
    .bind(s.tenant)
    .fetch_all(&mut *s.tx)
    .await?;
    let authority = s.user.tenant_name.clone().unwrap_or_default();
    drop(s);
    let blocks = booklet_blocks(&authority, &entries);
    let bytes = crate::visit::outcome::render(
        "Celebrating innovative practice".to_string(),
        format!("Attendance Quality Mark, {authority}"),
        blocks,
    )
    .await?;
    Ok(crate::visit::outcome::pdf_response(
        bytes,
        "Good practice booklet",
    ))
}

/// The decision page of one offered entry.
pub async fn get_decision(
    mut s: Scoped<Officers>,
    Path(id): Path<PracticeId>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let docs = super::documents(&mut s.tx, s.tenant, e.id).await?;
    Ok(DecisionPage {
        layout: s.layout("/practice/review"),
        e,
        docs,
        errors: crate::forms::Errors::default(),
        message: String::new(),
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_booklet_names_school_strand_award_and_practice() {
        let e = Entry {
            id: uuid::Uuid::nil(),
            school_id: uuid::Uuid::nil(),
            school: "Riverside Primary".into(),
            phase: "primary".into(),
            assessment_id: uuid::Uuid::nil(),
            strand_key: "3.5".into(),
            theme_number: 3,
            strand_label: "3.5: First day calling".into(),
            actions: "We call on the first day of absence.".into(),
            impact: String::new(),
            status: "published".into(),
            contact_id: uuid::Uuid::nil(),
            contact: "Alex".into(),
            contact_email: "alex@example.org".into(),
            contact_shows_email: false,
            officer_message: String::new(),
            featured: true,
            platform_wide: false,
            award: Some("gold".into()),
            updated_at: chrono::NaiveDateTime::default(),
        };
        let b = booklet_blocks("Liverpool", &[e]);
        let text = format!("{b:?}");
        assert!(text.contains("Riverside Primary: strand 3.5: First day calling"));
        assert!(text.contains("Gold"));
        assert!(text.contains("We call on the first day of absence."));
        assert!(!text.contains("Impact"), "no empty heading");
        assert!(
            format!("{:?}", booklet_blocks("Liverpool", &[]))
                .contains("No entry has been featured yet.")
        );
    }
}
