//! Tenant admin, LA officer and platform operator screens: people, schools, the audit log,
//! authorities and written mail.

pub mod people;
