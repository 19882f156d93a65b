//! Sessions in PostgreSQL (so any number of server processes share them), found by the SHA-256
//! of a random cookie token. Idle and absolute expiry; all of a person's sessions end when their
//! password changes or they are deactivated.

use super::{CurrentUser, Role};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// A session unused for this long ends.
pub const IDLE_MINUTES: i64 = 120;
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE_HOURS: i64 = 12;

/// 32 random bytes, hex: for session tokens, CSRF tokens and one-time links.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Tokens are stored only as hashes: a copy of the database opens no session and no link.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A token we could have made: 64 hex digits. Anything else is not looked up.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub struct Session {
    pub user: CurrentUser,
    pub csrf_token: String,
}

/// Starts a session for `user_id`; returns the cookie token.
pub async fn create(
    pool: &PgPool,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO user_session (token_hash, user_id, tenant_id, csrf_token, absolute_expiry)
         VALUES ($1, $2, $3, $4, now() + make_interval(hours => $5::int))",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(tenant_id)
    .bind(new_token())
    .bind(ABSOLUTE_HOURS as i32)
    .execute(pool)
    .await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    tenant_id: Option<Uuid>,
    email: String,
    name: String,
    role: String,
    school_id: Option<Uuid>,
    school_name: Option<String>,
    tenant_name: Option<String>,
    csrf_token: String,
    stale: bool,
}

/// The live session of `token`, if any: unexpired, of an active person.
pub async fn lookup(pool: &PgPool, token: &str) -> Result<Option<Session>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    let hash = token_hash(token);
    let row: Option<Row> = sqlx::query_as(
        "SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.school_id,
                sc.name AS school_name, t.name AS tenant_name, s.csrf_token,
                s.last_seen_at < now() - interval '1 minute' AS stale
         FROM user_session s
         JOIN app_user u ON u.id = s.user_id
         LEFT JOIN tenant t ON t.id = u.tenant_id
         LEFT JOIN school sc ON sc.id = u.school_id AND sc.tenant_id = u.tenant_id
         WHERE s.token_hash = $1
           AND u.active
           AND s.absolute_expiry > now()
           AND s.last_seen_at > now() - make_interval(mins => $2::int)",
    )
    .bind(&hash)
    .bind(IDLE_MINUTES as i32)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let Ok(role) = row.role.parse::<Role>() else {
        return Ok(None);
    };
    // Keep the idle clock running, but write at most once a minute per session.
    if row.stale {
        sqlx::query("UPDATE user_session SET last_seen_at = now() WHERE token_hash = $1")
            .bind(&hash)
            .execute(pool)
            .await?;
    }
    Ok(Some(Session {
        user: CurrentUser {
            id: row.id,
            tenant_id: row.tenant_id,
            email: row.email,
            name: row.name,
            role,
            school_id: row.school_id,
            school_name: row.school_name,
            tenant_name: row.tenant_name,
        },
        csrf_token: row.csrf_token,
    }))
}

pub async fn delete(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM user_session WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of a person (password changed, deactivated, role changed).
pub async fn revoke_all(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM user_session WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashes_differ_from_them() {
        let a = new_token();
        let b = new_token();
        assert!(looks_like_token(&a) && looks_like_token(&b));
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 32);
        assert!(!looks_like_token("../../etc/passwd"));
    }
}
