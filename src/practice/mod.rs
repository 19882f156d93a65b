//! Good practice shared across the authority's schools: a school offers a strand's practice in a
//! version edited for sharing (the lead writes it, the head approves it), an officer reviews it
//! before it is published, and every lead, head, assessor and officer of the authority browses
//! and searches the published entries (`base`), asks the school about one through the service,
//! and the officer features entries for the celebration event's booklet (`review`).
//!
//! Who sees an entry is one rule (`visible`): published entries, everyone of the authority;
//! anything else, only its own school and (once the head has approved it) the officers.

pub mod base;
pub mod offer;
pub mod review;
pub mod wide;

use crate::auth::{Role, Roles, Scoped};
use crate::domain::PracticeId;
use crate::error::AppError;
use crate::pupil_data;
use chrono::NaiveDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    WithHead,
    Offered,
    ChangesRequested,
    Published,
    Declined,
    Withdrawn,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "with_head" => Status::WithHead,
            "offered" => Status::Offered,
            "changes_requested" => Status::ChangesRequested,
            "published" => Status::Published,
            "declined" => Status::Declined,
            "withdrawn" => Status::Withdrawn,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::WithHead => "with_head",
            Status::Offered => "offered",
            Status::ChangesRequested => "changes_requested",
            Status::Published => "published",
            Status::Declined => "declined",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::WithHead => "Waiting for the head teacher's approval",
            Status::Offered => "Offered: waiting for the local authority",
            Status::ChangesRequested => "Changes asked for by the local authority",
            Status::Published => "Published",
            Status::Declined => "Declined by the local authority",
            Status::Withdrawn => "Withdrawn",
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Status::Draft | Status::ChangesRequested => "govuk-tag--orange",
            Status::WithHead => "govuk-tag--purple",
            Status::Offered => "govuk-tag--blue",
            Status::Published => "govuk-tag--green",
            Status::Declined | Status::Withdrawn => "govuk-tag--grey",
        }
    }

    /// The school may still change the shared version.
    pub fn editable(self) -> bool {
        matches!(
            self,
            Status::Draft | Status::WithHead | Status::ChangesRequested
        )
    }
}

/// Who may see an entry (pure): a published one, everyone of its authority; otherwise its own
/// school's lead and head; and the authority's officers once the head has approved it.
pub fn visible(status: Status, role: Role, own_school: bool) -> bool {
    if status == Status::Published {
        return true;
    }
    match role {
        Role::AttendanceLead | Role::HeadTeacher => own_school,
        Role::LaOfficer | Role::TenantAdmin => {
            matches!(
                status,
                Status::Offered | Status::ChangesRequested | Status::Declined
            )
        }
        _ => false,
    }
}

#[derive(sqlx::FromRow, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub school_id: Uuid,
    pub school: String,
    pub phase: String,
    pub assessment_id: Uuid,
    pub strand_key: String,
    pub theme_number: i32,
    pub strand_label: String,
    pub actions: String,
    pub impact: String,
    pub status: String,
    pub contact_id: Uuid,
    pub contact: String,
    pub contact_email: String,
    pub contact_shows_email: bool,
    pub officer_message: String,
    pub featured: bool,
    pub platform_wide: bool,
    pub award: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl Entry {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }

    pub fn written(&self) -> String {
        self.updated_at.format("%-d %B %Y").to_string()
    }

    pub fn phase_label(&self) -> &'static str {
        self.phase
            .parse::<crate::admin::school_types::Phase>()
            .map_or("Unknown", |p| p.label())
    }

    /// The school's latest award in words ("Gold"), or "No award yet".
    pub fn award_words(&self) -> String {
        match self.award.as_deref() {
            None | Some(crate::visit::NOT_YET) => "No award yet".to_string(),
            Some(k) => {
                let mut c = k.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            }
        }
    }
}

/// The columns of an entry, with its school, contact and the school's latest award.
pub const ENTRY_SELECT: &str = "SELECT p.id, p.school_id, s.name AS school, s.phase, p.assessment_id, p.strand_key,
        p.theme_number, p.strand_label, p.actions, p.impact, p.status, p.contact_id, u.name AS contact,
        u.email AS contact_email, p.contact_shows_email, p.officer_message, p.featured, p.platform_wide,
        (SELECT aw.outcome FROM award aw JOIN assessment x ON x.tenant_id = aw.tenant_id AND x.id = aw.assessment_id
          WHERE aw.tenant_id = p.tenant_id AND x.school_id = p.school_id ORDER BY aw.awarded_on DESC LIMIT 1) AS award,
        (p.updated_at AT TIME ZONE 'Europe/London') AS updated_at
     FROM practice p
     JOIN school s ON s.tenant_id = p.tenant_id AND s.id = p.school_id
     JOIN app_user u ON u.tenant_id = p.tenant_id AND u.id = p.contact_id";

impl PracticeId {
    /// The entry, if the signed-in person may see it; 404 otherwise (another authority's, another
    /// school's unpublished one, one not yet approved for an officer).
    pub async fn load<R: Roles>(self, s: &mut Scoped<R>) -> Result<Entry, AppError> {
        let e: Entry = sqlx::query_as(&format!(
            "{ENTRY_SELECT} WHERE p.tenant_id = $1 AND p.id = $2"
        ))
        .bind(s.tenant)
        .bind(self)
        .fetch_optional(&mut *s.tx)
        .await?
        .ok_or(AppError::NotFound)?;
        let own = s.user.school_id == Some(e.school_id);
        if !visible(e.status(), s.user.role, own) {
            return Err(AppError::NotFound);
        }
        Ok(e)
    }
}

/// Documents chosen to go with an entry: (id, title, file name, content type, sha256).
pub async fn documents(
    conn: &mut sqlx::PgConnection,
    tenant: Uuid,
    practice: Uuid,
) -> Result<Vec<(Uuid, String, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.id, e.title, e.file_name, e.content_type, e.sha256
         FROM practice_document d JOIN evidence e ON e.tenant_id = d.tenant_id AND e.id = d.evidence_id
         WHERE d.tenant_id = $1 AND d.practice_id = $2 AND e.deleted_at IS NULL ORDER BY e.title",
    )
    .bind(tenant)
    .bind(practice)
    .fetch_all(conn)
    .await
}

/// What the pupil-data check finds in a shared version's texts (pure).
pub fn text_findings(actions: &str, impact: &str, year: i32) -> Vec<String> {
    pupil_data::find(actions, year)
        .into_iter()
        .chain(pupil_data::find(impact, year))
        .map(|f| f.describe())
        .collect()
}

/// The largest part of a shared text document read for the pupil-data check.
const DOCUMENT_CHECK_LIMIT: usize = 4 * 1024 * 1024;

/// What the pupil-data check finds in the chosen documents whose text can be read (plain text
/// and CSV); the others the head confirms on the form.
pub async fn document_findings(
    state: &crate::state::AppState,
    docs: &[(Uuid, String, String, String, String)],
    year: i32,
) -> Result<Vec<String>, AppError> {
    let mut out = Vec::new();
    for (_, title, _, content_type, sha) in docs {
        if !content_type.starts_with("text/") {
            continue;
        }
        let Some(hash) = crate::store::ContentHash::parse(sha) else {
            continue;
        };
        let Some(object) = state
            .store
            .get(&hash)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read evidence {sha}: {e}"))?
        else {
            continue;
        };
        let bytes = axum::body::to_bytes(object.body, DOCUMENT_CHECK_LIMIT)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read evidence {sha}: {e}"))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let found = tokio::task::spawn_blocking(move || pupil_data::find(&text, year))
            .await
            .map_err(|e| anyhow::anyhow!("the pupil data check failed: {e}"))?;
        out.extend(found.iter().map(|f| format!("{title}: {}", f.describe())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_published_practice_leaves_its_school() {
        use Role::*;
        for role in [
            AttendanceLead,
            HeadTeacher,
            Assessor,
            LaOfficer,
            TenantAdmin,
        ] {
            assert!(visible(Status::Published, role, false));
        }
        for st in [Status::Draft, Status::WithHead, Status::Withdrawn] {
            assert!(visible(st, AttendanceLead, true));
            assert!(visible(st, HeadTeacher, true));
            assert!(!visible(st, AttendanceLead, false));
            assert!(!visible(st, LaOfficer, false), "{st:?}");
            assert!(!visible(st, Assessor, false));
        }
        assert!(visible(Status::Offered, LaOfficer, false));
        assert!(visible(Status::ChangesRequested, TenantAdmin, false));
        assert!(!visible(Status::Offered, Assessor, false));
        assert!(!visible(Status::Offered, HeadTeacher, false));
        assert!(!visible(Status::Withdrawn, LaOfficer, false));
    }

    #[test]
    fn statuses_round_trip_and_say_who_may_edit() {
        for st in [
            Status::Draft,
            Status::WithHead,
            Status::Offered,
            Status::ChangesRequested,
            Status::Published,
            Status::Declined,
            Status::Withdrawn,
        ] {
            assert_eq!(Status::parse(st.as_str()), Some(st));
        }
        assert!(Status::ChangesRequested.editable());
        assert!(!Status::Published.editable());
        assert!(!Status::Offered.editable());
    }

    #[test]
    fn a_shared_text_with_a_pupil_number_is_found() {
        let f = text_findings("Called A123456789012 on the first day", "", 2026);
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("Unique Pupil Number"));
        assert!(text_findings("First-day calling for every absence", "", 2026).is_empty());
    }
}
