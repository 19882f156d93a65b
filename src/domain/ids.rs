//! Typed ids: an assessment's id cannot be passed where a document's is expected. They parse from
//! paths and forms like the UUIDs they wrap, and bind to queries as UUIDs.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// From a form field: `None` unless it is a UUID.
            pub fn parse(input: &str) -> Option<Self> {
                Uuid::parse_str(input.trim()).ok().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )+};
}

typed_id! {
    /// A school's handbook in one cohort.
    AssessmentId;
    /// A document of a school's evidence library.
    DocumentId;
    SchoolId;
    /// A frozen copy of a submitted handbook.
    SubmissionId;
    /// A person's account.
    PersonId;
    CohortId;
    /// A closure day of an authority.
    ClosureDayId;
    /// A strand's practice offered for the authority's resource base.
    PracticeId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_from_form_fields() {
        let u = Uuid::new_v4();
        assert_eq!(
            AssessmentId::parse(&format!(" {u} ")),
            Some(AssessmentId(u))
        );
        assert_eq!(DocumentId::parse("d828db55-3ca3"), None);
        assert_eq!(SchoolId::parse(""), None);
        assert_eq!(PersonId(u).to_string(), u.to_string());
    }
}
