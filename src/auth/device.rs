//! Devices a person has signed in from, so that strangers' failed guesses cannot lock them out.
//!
//! A successful sign-in (or setting a password from an emailed link) leaves a random token in a
//! long-lived cookie of that browser; the database keeps its SHA-256 beside the person. Sign-in
//! from a browser holding a token known for that account is counted against that device, not
//! against the account (see `routes::post_sign_in`). A browser shared by several people keeps a
//! token for each of the last few. Changing the password forgets every device of the person.

use super::session::{looks_like_token, new_token, token_hash};
use super::{cookie, parse_cookies};
use axum::http::{HeaderMap, HeaderValue};
use sqlx::PgConnection;
use uuid::Uuid;

pub const DEVICE_COOKIE: &str = "aqm_device";
/// How long a device stays known after its last sign-in.
const DEVICE_DAYS: i32 = 180;
/// Tokens one browser keeps (one per person who signed in on it, most recent first).
const PER_BROWSER: usize = 4;

/// The well-formed tokens in the browser's device cookie.
pub fn tokens(headers: &HeaderMap) -> Vec<String> {
    parse_cookies(headers)
        .get(DEVICE_COOKIE)
        .map(|v| {
            v.split('.')
                .filter(|t| looks_like_token(t))
                .take(PER_BROWSER)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The hash of the browser's token that is known for the account of `email`, if any.
pub async fn known_for_email(
    conn: &mut PgConnection,
    tokens: &[String],
    email: &str,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    if tokens.is_empty() {
        return Ok(None);
    }
    let hashes: Vec<Vec<u8>> = tokens.iter().map(|t| token_hash(t)).collect();
    sqlx::query_scalar(
        "SELECT d.token_hash FROM known_device d JOIN app_user u ON u.id = d.user_id
         WHERE d.token_hash = ANY($1) AND u.email = $2 AND NOT u.stand_in AND d.expires_at > now()
         LIMIT 1",
    )
    .bind(&hashes)
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Remembers this browser for `user_id` and returns the cookie to set: the token already known
/// for the person (its time renewed), or a new one put first.
pub async fn remember(
    conn: &mut PgConnection,
    user_id: Uuid,
    tokens: &[String],
    secure: bool,
) -> Result<HeaderValue, sqlx::Error> {
    let hashes: Vec<Vec<u8>> = tokens.iter().map(|t| token_hash(t)).collect();
    let renewed = sqlx::query(
        "UPDATE known_device SET expires_at = now() + make_interval(days => $3::int)
         WHERE user_id = $1 AND token_hash = ANY($2)",
    )
    .bind(user_id)
    .bind(&hashes)
    .bind(DEVICE_DAYS)
    .execute(&mut *conn)
    .await?;
    let mut kept = tokens.to_vec();
    if renewed.rows_affected() == 0 {
        // A token the browser brought but that is not this person's is not adopted: it might
        // have been planted. This person gets one of their own.
        let token = new_token();
        sqlx::query(
            "INSERT INTO known_device (token_hash, user_id, expires_at)
             VALUES ($1, $2, now() + make_interval(days => $3::int))",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(DEVICE_DAYS)
        .execute(&mut *conn)
        .await?;
        kept.insert(0, token);
        kept.truncate(PER_BROWSER);
    }
    sqlx::query("DELETE FROM known_device WHERE user_id = $1 AND expires_at <= now()")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(cookie(
        DEVICE_COOKIE,
        &kept.join("."),
        secure,
        Some(i64::from(DEVICE_DAYS) * 24 * 60 * 60),
    ))
}

/// Forgets every device of a person (their password changed).
pub async fn forget_all(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM known_device WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}
