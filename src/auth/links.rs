//! Single-use links sent by email: invitations (7 days) and password resets (1 hour). Only the
//! hash of a link's token is stored; using a link marks it (and the person's other open links)
//! used, sets the password and ends every session of the person.

use super::session::{looks_like_token, new_token, revoke_all, token_hash};
use crate::audit;
use crate::error::AppError;
use crate::mail;
use crate::state::AppState;
use askama::Template;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Invitation,
    Reset,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Invitation => "invitation",
            Purpose::Reset => "reset",
        }
    }

    /// How long a link stays usable.
    fn valid_for(self) -> &'static str {
        match self {
            Purpose::Invitation => "7 days",
            Purpose::Reset => "1 hour",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Unknown,
    Used,
    Expired,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub purpose: Purpose,
}

#[derive(sqlx::FromRow)]
struct Row {
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    email: String,
    name: String,
    purpose: String,
    used: bool,
    expired: bool,
}

/// The link of `token`, or why it cannot be used.
pub async fn find(pool: &PgPool, token: &str) -> Result<Result<Link, Problem>, sqlx::Error> {
    if !looks_like_token(token) {
        return Ok(Err(Problem::Unknown));
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT t.user_id, u.tenant_id, u.email, u.name, t.purpose,
                t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired
         FROM user_token t JOIN app_user u ON u.id = t.user_id
         WHERE t.token_hash = $1 AND u.active",
    )
    .bind(token_hash(token))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Err(Problem::Unknown),
        Some(r) if r.used => Err(Problem::Used),
        Some(r) if r.expired => Err(Problem::Expired),
        Some(r) => Ok(Link {
            user_id: r.user_id,
            tenant_id: r.tenant_id,
            email: r.email,
            name: r.name,
            purpose: if r.purpose == "reset" {
                Purpose::Reset
            } else {
                Purpose::Invitation
            },
        }),
    })
}

/// Sets the password and spends the link, in one transaction; a link used twice at the same
/// moment succeeds once.
pub async fn use_to_set_password(
    pool: &PgPool,
    token: &str,
    link: &Link,
    password_hash: &str,
    address: &str,
) -> Result<Result<(), Problem>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let spent = sqlx::query(
        "UPDATE user_token SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(token_hash(token))
    .execute(&mut *tx)
    .await?;
    if spent.rows_affected() != 1 {
        return Ok(Err(Problem::Used));
    }
    sqlx::query("UPDATE user_token SET used_at = now() WHERE user_id = $1 AND used_at IS NULL")
        .bind(link.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE app_user SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(link.user_id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
    revoke_all(&mut tx, link.user_id).await?;
    // Whoever knew the old password may have signed in: no device stays known.
    super::device::forget_all(&mut tx, link.user_id).await?;
    audit::record(
        &mut tx,
        &audit::Event::new(match link.purpose {
            Purpose::Invitation => "user.password_created",
            Purpose::Reset => "user.password_reset",
        })
        .tenant(link.tenant_id)
        .actor(Some(link.user_id), &link.email)
        .subject("user", link.user_id)
        .address(Some(address.to_string())),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// What the link email says; rendered as plain text and as HTML.
struct LinkMail<'a> {
    name: &'a str,
    purpose: Purpose,
    url: &'a str,
    valid_for: &'a str,
    invited_as: &'a str,
}

#[derive(Template)]
#[template(path = "mail/link.txt")]
struct LinkText<'a>(&'a LinkMail<'a>);

#[derive(Template)]
#[template(path = "mail/link.html")]
struct LinkHtml<'a>(&'a LinkMail<'a>);

/// Makes a link for `user_id` and returns its token (the path is `/set-password/<token>`).
pub async fn create_token(
    conn: &mut PgConnection,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    purpose: Purpose,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    let interval = match purpose {
        Purpose::Invitation => "7 days",
        Purpose::Reset => "1 hour",
    };
    sqlx::query(
        "INSERT INTO user_token (token_hash, user_id, tenant_id, purpose, expires_at)
         VALUES ($1, $2, $3, $4, now() + $5::interval)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(tenant_id)
    .bind(purpose.as_str())
    .bind(interval)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Makes a link for `user_id` and writes its email to the outbox, in the caller's transaction.
/// `invited_as` says what the person is invited to be ("Attendance Lead at Riverside Primary").
#[allow(clippy::too_many_arguments)]
pub async fn create_and_send(
    conn: &mut PgConnection,
    base_url: &str,
    user_id: Uuid,
    tenant_id: Option<Uuid>,
    email: &str,
    name: &str,
    purpose: Purpose,
    invited_as: &str,
) -> Result<(), AppError> {
    let token = create_token(&mut *conn, user_id, tenant_id, purpose).await?;
    let url = format!("{base_url}/set-password/{token}");
    let mail = LinkMail {
        name,
        purpose,
        url: &url,
        valid_for: purpose.valid_for(),
        invited_as,
    };
    let text = LinkText(&mail).render().map_err(|e| anyhow::anyhow!(e))?;
    let html = LinkHtml(&mail).render().map_err(|e| anyhow::anyhow!(e))?;
    let subject = match purpose {
        Purpose::Invitation => "You are invited to the Attendance Quality Mark service",
        Purpose::Reset => "Reset your Attendance Quality Mark password",
    };
    mail::enqueue(
        conn,
        tenant_id,
        &mail::Message {
            to: email.to_string(),
            subject: subject.to_string(),
            text,
            html,
            attachment: None,
        },
    )
    .await?;
    Ok(())
}

/// What an address that already has an account is told when another authority invites it.
struct AlreadyRegisteredMail<'a> {
    name: &'a str,
    invited_as: &'a str,
    inviter: &'a str,
    sign_in_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/already_registered.txt")]
struct AlreadyRegisteredText<'a>(&'a AlreadyRegisteredMail<'a>);

#[derive(Template)]
#[template(path = "mail/already_registered.html")]
struct AlreadyRegisteredHtml<'a>(&'a AlreadyRegisteredMail<'a>);

/// In place of an invitation link, for an address with an account in another authority: tells
/// the person they were invited and that nothing changed, with no link and nothing about their
/// own authority (the inviting authority's outbox row holds only what it already knew).
#[allow(clippy::too_many_arguments)]
pub async fn send_already_registered(
    conn: &mut PgConnection,
    base_url: &str,
    tenant_id: Uuid,
    email: &str,
    name: &str,
    invited_as: &str,
    inviter: &str,
) -> Result<(), AppError> {
    let sign_in_url = format!("{base_url}/sign-in");
    let mail = AlreadyRegisteredMail {
        name,
        invited_as,
        inviter,
        sign_in_url: &sign_in_url,
    };
    let text = AlreadyRegisteredText(&mail)
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    let html = AlreadyRegisteredHtml(&mail)
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    mail::enqueue(
        conn,
        Some(tenant_id),
        &mail::Message {
            to: email.to_string(),
            subject: "You are invited to the Attendance Quality Mark service".to_string(),
            text,
            html,
            attachment: None,
        },
    )
    .await?;
    Ok(())
}

/// Sends a reset link to an active account with that email, at most 3 an hour; does nothing
/// (visibly the same) otherwise.
pub async fn send_reset(state: &AppState, email: &str, address: &str) -> Result<(), AppError> {
    let pool = state.db.system();
    let mut tx = pool.begin().await?;
    let account: Option<(Uuid, Option<Uuid>, String, i64)> = sqlx::query_as(
        "SELECT u.id, u.tenant_id, u.name,
                (SELECT count(*) FROM user_token t
                 WHERE t.user_id = u.id AND t.purpose = 'reset' AND t.created_at > now() - interval '1 hour')
         FROM app_user u WHERE u.email = $1 AND u.active AND NOT u.stand_in",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, tenant_id, name, recent)) = account else {
        return Ok(());
    };
    if recent >= 3 {
        return Ok(());
    }
    create_and_send(
        &mut tx,
        &state.config.base_url(),
        user_id,
        tenant_id,
        email,
        &name,
        Purpose::Reset,
        "",
    )
    .await?;
    audit::record(
        &mut tx,
        &audit::Event::new("user.password_reset_requested")
            .tenant(tenant_id)
            .actor(Some(user_id), email)
            .subject("user", user_id)
            .address(Some(address.to_string())),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
