//! Linking documents and strands, from the strand page or from the document's page. One School
//! Development Plan serves many strands; a link is made or removed once, and audited.

use super::document::evidence_page;
use super::event;
use crate::assessment::{self, review};
use crate::auth::{SchoolStaff, Scoped};
use crate::domain::{AssessmentId, DocumentId};
use crate::error::AppError;
use crate::web::{Form, Path, redirect_with_flash};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Links document `evidence` to strand `key` of `assessment`; false when it already was.
async fn link(
    s: &mut Scoped<SchoolStaff>,
    evidence: DocumentId,
    assessment: AssessmentId,
    key: &str,
) -> Result<bool, AppError> {
    let added = sqlx::query(
        "INSERT INTO evidence_link (tenant_id, evidence_id, assessment_id, strand_key, linked_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(s.tenant)
    .bind(evidence)
    .bind(assessment)
    .bind(key)
    .bind(s.user.id)
    .execute(&mut *s.tx)
    .await?
    .rows_affected()
        == 1;
    if added {
        let linked = event(s, "evidence.linked", evidence.0)
            .after(json!({"assessment": assessment, "strand": key}));
        s.record(linked).await?;
    }
    Ok(added)
}

#[derive(Deserialize)]
pub struct LinkFromStrand {
    #[serde(default)]
    evidence: String,
}

/// From the strand page: link a document of the library to this strand.
pub async fn post_strand_link(
    mut s: Scoped<SchoolStaff>,
    Path((id, key)): Path<(AssessmentId, String)>,
    Form(form): Form<LinkFromStrand>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    if !h.fw.strands().any(|(_, st)| st.key == key) {
        return Err(AppError::NotFound);
    }
    review::ensure_editable(&mut s, id).await?;
    let back = format!("/assessments/{id}/strands/{key}");
    let Some(evidence) = DocumentId::parse(&form.evidence) else {
        let page = crate::handbook::strand::page_with_error(
            &mut s,
            &h,
            &key,
            "evidence",
            "Choose a document to link to this strand",
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let e = evidence.load(&mut s).await?;
    link(&mut s, DocumentId(e.id), id, &key).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(&state, &back, "evidence-linked"))
}

#[derive(Deserialize)]
pub struct Unlink {
    /// "evidence" when sent from the document's page, to go back there; else the strand page.
    #[serde(default)]
    from: String,
}

pub async fn post_strand_unlink(
    mut s: Scoped<SchoolStaff>,
    Path((id, key, evidence)): Path<(AssessmentId, String, DocumentId)>,
    Form(form): Form<Unlink>,
) -> Result<Response, AppError> {
    id.load(&mut s).await?;
    let e = evidence.load(&mut s).await?;
    review::ensure_editable(&mut s, id).await?;
    let removed = sqlx::query(
        "DELETE FROM evidence_link
         WHERE tenant_id = $1 AND evidence_id = $2 AND assessment_id = $3 AND strand_key = $4",
    )
    .bind(s.tenant)
    .bind(e.id)
    .bind(id)
    .bind(&key)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    if removed == 1 {
        let unlinked =
            event(&s, "evidence.unlinked", e.id).before(json!({"assessment": id, "strand": key}));
        s.record(unlinked).await?;
    }
    let state = s.state.clone();
    s.commit().await?;
    let back = if form.from == "evidence" {
        format!("/evidence/{evidence}")
    } else {
        format!("/assessments/{id}/strands/{key}")
    };
    Ok(redirect_with_flash(&state, &back, "evidence-unlinked"))
}

#[derive(Deserialize)]
pub struct LinkFromEvidence {
    #[serde(default)]
    strand: String,
}

/// From the document's page: link it to a strand of the school's open handbook.
pub async fn post_evidence_link(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<DocumentId>,
    Form(form): Form<LinkFromEvidence>,
) -> Result<Response, AppError> {
    let e = id.load(&mut s).await?;
    let school = s.school()?;
    let Some(assessment) = assessment::open_of_school(&mut s.tx, s.tenant, school).await? else {
        return Err(AppError::NotFound);
    };
    let h = assessment.load(&mut s).await?;
    review::ensure_editable(&mut s, assessment).await?;
    let key = form.strand.trim();
    if !h.fw.strands().any(|(_, st)| st.key == key) {
        let mut page = evidence_page(&mut s, e).await?;
        page.errors
            .add("strand", "Select the strand to link this document to");
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    link(&mut s, id, assessment, key).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/evidence/{id}"),
        "evidence-linked",
    ))
}
