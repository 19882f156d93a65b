//! Values parsed once where they enter (a form, the command line, a file) and trusted after: each
//! type's rule sits beside it with its tests, so the web invite, the operator's new authority, the
//! CLI and the demo data all accept exactly the same input. A level claimed for a strand is
//! parsed against that strand (`LevelKey`).

pub mod email;
pub mod ids;
pub mod level;
pub mod names;

pub use email::EmailAddress;
pub use ids::{
    AssessmentId, ClosureDayId, CohortId, DocumentId, PersonId, PracticeId, SchoolId, SubmissionId,
};
pub use level::LevelKey;
pub use names::{CohortName, PersonName, TenantSlug};
