//! Renewal: from an awarded handbook the school starts a new one, on the criteria version now in
//! force, that begins with the previous texts and evidence links. Strands whose keys match carry
//! over (texts, not claims: the school claims again); strands new in that version start empty
//! and are marked new (`assessment::new_strands`).

use crate::assessment::review::record_step;
use crate::auth::{SchoolStaff, Scoped};
use crate::domain::AssessmentId;
use crate::error::AppError;
use crate::web::{Path, redirect_with_flash};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

pub async fn post_renew(
    mut s: Scoped<SchoolStaff>,
    Path(id): Path<AssessmentId>,
) -> Result<Response, AppError> {
    let h = id.load(&mut s).await?;
    let level_award: Option<bool> = sqlx::query_scalar(
        "SELECT outcome <> 'not_yet' FROM award WHERE tenant_id = $1 AND assessment_id = $2",
    )
    .bind(s.tenant)
    .bind(id)
    .fetch_optional(&mut *s.tx)
    .await?;
    if level_award != Some(true) {
        return Err(AppError::Locked(
            "Only a handbook with an award can be renewed.",
        ));
    }
    let fw = s
        .state
        .catalogue
        .current(&h.fw.key)
        .ok_or_else(|| anyhow::anyhow!("no version of framework {} is loaded", h.fw.key))?;
    // The renewal joins the programme year now running: the authority's newest cohort.
    let cohort: Uuid = sqlx::query_scalar(
        "SELECT id FROM cohort WHERE tenant_id = $1 ORDER BY created_at DESC, name DESC LIMIT 1",
    )
    .bind(s.tenant)
    .fetch_one(&mut *s.tx)
    .await?;
    // The awarded handbook closes (a school has one open handbook); it stays readable.
    let closed = sqlx::query(
        "UPDATE assessment SET status = 'closed'
         WHERE tenant_id = $1 AND id = $2 AND status = 'open'
           AND NOT EXISTS (SELECT 1 FROM assessment r WHERE r.tenant_id = $1 AND r.renewal_of = $2)",
    )
    .bind(s.tenant)
    .bind(id)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    if closed != 1 {
        return Err(AppError::Locked("This handbook has already been renewed."));
    }
    let renewal = AssessmentId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version, renewal_of)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(renewal)
    .bind(s.tenant)
    .bind(h.a.school_id)
    .bind(cohort)
    .bind(&fw.key)
    .bind(&fw.version)
    .bind(id)
    .execute(&mut *s.tx)
    .await?;
    let keys: Vec<String> = fw.strands().map(|(_, st)| st.key.clone()).collect();
    let texts = sqlx::query(
        "INSERT INTO strand_entry (tenant_id, assessment_id, strand_key, actions, impact, claimed_level, version, updated_by)
         SELECT tenant_id, $3, strand_key, actions, impact, NULL, 1, $4
         FROM strand_entry WHERE tenant_id = $1 AND assessment_id = $2 AND strand_key = ANY($5)",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(renewal)
    .bind(s.user.id)
    .bind(&keys)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    let links = sqlx::query(
        "INSERT INTO evidence_link (tenant_id, evidence_id, assessment_id, strand_key, linked_by)
         SELECT l.tenant_id, l.evidence_id, $3, l.strand_key, $4
         FROM evidence_link l JOIN evidence e ON e.tenant_id = l.tenant_id AND e.id = l.evidence_id
         WHERE l.tenant_id = $1 AND l.assessment_id = $2 AND l.strand_key = ANY($5) AND e.deleted_at IS NULL",
    )
    .bind(s.tenant)
    .bind(id)
    .bind(renewal)
    .bind(s.user.id)
    .bind(&keys)
    .execute(&mut *s.tx)
    .await?
    .rows_affected();
    record_step(
        &mut s.tx,
        s.tenant,
        renewal,
        "renewed",
        s.user.id,
        &h.a.cohort_name,
    )
    .await?;
    let ev = s
        .event("handbook.renewed")
        .subject("assessment", renewal)
        .after(
            json!({"renews": id, "framework": fw.key, "version": fw.version,
                      "texts_carried": texts, "links_carried": links}),
        );
    s.record(ev).await?;
    let state = s.state.clone();
    s.commit().await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/assessments/{renewal}"),
        "renewed",
    ))
}
