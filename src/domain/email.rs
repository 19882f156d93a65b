//! An email address the service can write to. The rule is the mail library's own address parse,
//! so whatever a form accepts, the mail worker can send.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

/// Longest address (RFC 5321's path limit).
const MAX_LEN: usize = 254;

impl EmailAddress {
    /// Trimmed and lower-cased (sign-in is by email, and people type capitals); `None` when it
    /// cannot be an address to write to: the mail library refuses it, it has no dot in its domain
    /// (no one at a school is reached at `localhost`), or it is too long.
    pub fn parse(input: &str) -> Option<EmailAddress> {
        let email = input.trim().to_lowercase();
        if email.len() > MAX_LEN || email.chars().any(char::is_whitespace) {
            return None;
        }
        let address: lettre::Address = email.parse().ok()?;
        let domain = address.domain();
        let dotted = domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.');
        dotted.then_some(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_the_mail_worker_can_send_to() {
        assert_eq!(
            EmailAddress::parse(" Jane@School.ORG ").map(EmailAddress::into_string),
            Some("jane@school.org".into())
        );
        for bad in [
            "jane",
            "jane@localhost",
            "a b@c.d",
            "a@b..c",
            "jane@@school.org",
            "jane@school.org,other@school.org",
            "<jane@school.org>",
            "jane@.school.org",
            "",
        ] {
            assert_eq!(EmailAddress::parse(bad), None, "{bad}");
        }
        // Whatever is accepted, the mail library takes as an address.
        for good in ["first.last+tag@sub.school.org.uk", "o'neill@school.org"] {
            let e = EmailAddress::parse(good).unwrap();
            assert!(e.as_str().parse::<lettre::Address>().is_ok());
        }
        assert_eq!(
            EmailAddress::parse(&format!("{}@school.org", "a".repeat(250))),
            None
        );
    }
}
