//! Passwords: argon2id hashing off the async runtime, and the rules a new password must meet.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::{LazyLock, OnceLock};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 200;

/// Hashing costs ~20 ms of one core (argon2id, m=19456 KiB, t=2, p=1: OWASP's recommendation).
/// At most one hash per core runs at a time, so a burst of sign-ins queues instead of starving
/// every other request of memory and CPU.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

fn hasher() -> Argon2<'static> {
    // Argon2::default() is argon2id v19 with m=19456, t=2, p=1.
    Argon2::default()
}

fn salt() -> SaltString {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    SaltString::encode_b64(&bytes).expect("16 bytes make a valid salt")
}

/// Hashes a password (PHC string), off the async runtime.
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password(password.as_bytes(), &salt())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// A hash of a password nobody knows, checked when the email is unknown or has no password, so
/// that answer takes as long as a wrong password does.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher()
            .hash_password(b"no account has this password", &salt())
            .expect("hashing a constant works")
            .to_string()
    })
}

/// Checks `password` against `stored` (or against a dummy when there is none), off the runtime.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let Ok(_permit) = HASHING.acquire().await else {
        return false;
    };
    let password = password.to_string();
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash()).to_string();
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// Passwords people choose most often that are long enough to pass the length rule; refused
/// outright. (Shorter common passwords fail the length rule anyway.)
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789abc",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abc123456789",
    "abcdefghijkl",
    "administrator",
    "changeme1234",
    "football1234",
    "iloveyou1234",
    "letmein12345",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "qwerty123456",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "welcome12345",
    "welcome123456",
    "trustno11234",
    "liverpool1234",
    "liverpoolfc12",
    "attendance123",
    "attendance1234",
    "school123456",
    "teacher12345",
    "password!234",
    "p@ssword1234",
    "p@ssw0rd1234",
    "passw0rd1234",
    "monkey123456",
    "sunshine1234",
    "princess1234",
    "superman1234",
    "baseball1234",
    "dragon123456",
    "master123456",
];

/// Why a new password is refused, in words for the person choosing it; `None` when it is fine.
pub fn weakness(password: &str, email: &str, name: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Some(format!("Password must be {MIN_LENGTH} characters or more"));
    }
    if chars > MAX_LENGTH {
        return Some(format!("Password must be {MAX_LENGTH} characters or fewer"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Some(
            "This password is too common. Choose a password that is harder to guess".into(),
        );
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Some("Password must use more than a few different characters".into());
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if (local.len() >= 4 && lower.contains(&local)) || lower == name.to_lowercase().replace(' ', "")
    {
        return Some("Password must not contain your email address or name".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_common_passwords_are_refused() {
        assert!(
            weakness("short", "a@b.c", "A")
                .unwrap()
                .contains("12 characters")
        );
        assert!(
            weakness("Password1234", "a@b.c", "A")
                .unwrap()
                .contains("too common")
        );
        assert!(weakness("aaaaaaaaaaaaaaa", "a@b.c", "A").is_some());
        assert!(weakness("jane.smith-2026!", "jane.smith@school.org", "Jane Smith").is_some());
        assert_eq!(weakness("correct horse battery", "a@b.c", "A"), None);
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", Some(&h)).await);
        assert!(!verify("wrong horse battery", Some(&h)).await);
        assert!(!verify("no account has this password", None).await);
    }
}
