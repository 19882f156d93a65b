//! Where a handbook is in its life, and who may change it there (pure).

use crate::auth::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    InProgress,
    WithHead,
    Returned,
    Submitted,
    Awarded,
    /// Withdrawn from its cohort by the authority: kept, read-only.
    Withdrawn,
}

impl Stage {
    pub fn parse(s: &str) -> Option<Stage> {
        Some(match s {
            "in_progress" => Stage::InProgress,
            "with_head" => Stage::WithHead,
            "returned" => Stage::Returned,
            "submitted" => Stage::Submitted,
            "awarded" => Stage::Awarded,
            "withdrawn" => Stage::Withdrawn,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::InProgress => "in_progress",
            Stage::WithHead => "with_head",
            Stage::Returned => "returned",
            Stage::Submitted => "submitted",
            Stage::Awarded => "awarded",
            Stage::Withdrawn => "withdrawn",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::InProgress => "In progress",
            Stage::WithHead => "With the head teacher",
            Stage::Returned => "Returned to the Attendance Lead",
            Stage::Submitted => "Submitted to the assessor",
            Stage::Awarded => "Awarded",
            Stage::Withdrawn => "Withdrawn",
        }
    }

    /// The GOV.UK tag colour of the stage.
    pub fn tag(self) -> &'static str {
        match self {
            Stage::InProgress => "govuk-tag--blue",
            Stage::WithHead => "govuk-tag--purple",
            Stage::Returned => "govuk-tag--orange",
            Stage::Submitted => "govuk-tag--green",
            Stage::Awarded => "govuk-tag--turquoise",
            Stage::Withdrawn => "govuk-tag--grey",
        }
    }

    /// Whether a person of `role` may change the handbook's texts, claims and links now: the
    /// school while it is being written; only the head teacher while it is with them (the lead
    /// waits for it to come back); no one once submitted, until it is reopened.
    pub fn editable_by(self, role: Role) -> bool {
        match self {
            Stage::InProgress | Stage::Returned => role.is_school_role(),
            Stage::WithHead => role == Role::HeadTeacher,
            Stage::Submitted | Stage::Awarded | Stage::Withdrawn => false,
        }
    }

    /// Why `role` may not change it now, in words for the page.
    pub fn locked_reason(self, role: Role) -> Option<&'static str> {
        if self.editable_by(role) {
            return None;
        }
        Some(match self {
            Stage::WithHead => {
                "The handbook is with your head teacher. You can change it again when they return it to you."
            }
            Stage::Submitted => {
                "The handbook has been submitted to the assessor and can no longer be changed. Your local authority can reopen it if something must change."
            }
            Stage::Awarded => "The handbook's award has been agreed: it can no longer be changed.",
            Stage::Withdrawn => {
                "Your school has been withdrawn from this cohort by the local authority: the handbook can be read but no longer changed."
            }
            Stage::InProgress | Stage::Returned => {
                "Only the school's staff can change the handbook."
            }
        })
    }

    /// The lead may send it to the head from here.
    pub fn can_send_to_head(self) -> bool {
        matches!(self, Stage::InProgress | Stage::Returned)
    }

    /// Submitted, awarded or withdrawn: no deadline applies, no reminder is due.
    pub fn is_settled(self) -> bool {
        matches!(self, Stage::Submitted | Stage::Awarded | Stage::Withdrawn)
    }

    /// The head may return it or approve and submit it from here.
    pub fn with_head(self) -> bool {
        self == Stage::WithHead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_round_trip() {
        for s in [
            Stage::InProgress,
            Stage::WithHead,
            Stage::Returned,
            Stage::Submitted,
            Stage::Awarded,
            Stage::Withdrawn,
        ] {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        assert_eq!(Stage::parse("open"), None);
    }

    #[test]
    fn who_may_change_the_handbook_when() {
        use Role::*;
        assert!(Stage::InProgress.editable_by(AttendanceLead));
        assert!(Stage::InProgress.editable_by(HeadTeacher));
        assert!(Stage::Returned.editable_by(AttendanceLead));
        assert!(!Stage::WithHead.editable_by(AttendanceLead));
        assert!(Stage::WithHead.editable_by(HeadTeacher));
        for role in Role::ALL {
            assert!(!Stage::Submitted.editable_by(role));
            assert!(!Stage::Awarded.editable_by(role));
            assert!(!Stage::Withdrawn.editable_by(role));
        }
        assert!(Stage::Withdrawn.is_settled());
        assert!(!Stage::InProgress.editable_by(LaOfficer));
        assert!(Stage::WithHead.locked_reason(AttendanceLead).is_some());
        assert_eq!(Stage::WithHead.locked_reason(HeadTeacher), None);
    }
}
