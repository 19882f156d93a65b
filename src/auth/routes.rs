//! Sign-in, sign-out, setting a password from an invitation or reset link, and asking for a reset.

use super::{
    CSRF_COOKIE, Ctx, FLASH_COOKIE, SESSION_COOKIE, cookie, device, links, parse_cookies, password,
    session,
};
use crate::audit;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::forms::{Errors, safe_next};
use crate::layout::Layout;
use crate::state::AppState;
use crate::web::redirect_with_flash;
use askama::Template;
use askama_web::WebTemplate;

use crate::web::{Form, Path, Query};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use uuid::Uuid;

/// Failed sign-ins allowed within `THROTTLE_MINUTES`: per account from devices it has not signed
/// in from; per known device and account; and the number of accounts one address may fail on.
const ACCOUNT_FAILURES: i64 = 5;
const DEVICE_FAILURES: i64 = 5;
const ADDRESS_ACCOUNTS: i64 = 20;
const THROTTLE_MINUTES: i32 = 15;
/// The first key of the advisory locks that make one throttling decision at a time per account
/// and per address (the second is a hash of the email or the address).
const LOCK_ACCOUNT: i32 = 0x5167_0001;
const LOCK_ADDRESS: i32 = 0x5167_0002;

#[derive(Template, WebTemplate)]
#[template(path = "auth/sign_in.html")]
pub struct SignInPage {
    layout: Layout,
    errors: Errors,
    email: String,
    next: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn get_sign_in(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    if ctx.user.is_some() {
        return Redirect::to("/home").into_response();
    }
    SignInPage {
        layout: ctx.layout("/sign-in"),
        errors: Errors::default(),
        email: String::new(),
        next: safe_next(q.next.as_deref()).to_string(),
    }
    .into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Account {
    id: Uuid,
    tenant_id: Option<Uuid>,
    password_hash: Option<String>,
    active: bool,
}

pub async fn post_sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.next.as_deref()).to_string();
    let mut errors = Errors::default();
    if email.is_empty() {
        errors.add("email", "Enter your email address");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    let page = |errors: Errors| SignInPage {
        layout: ctx.layout("/sign-in"),
        errors,
        email: email.clone(),
        next: next.clone(),
    };
    if !errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(errors)).into_response());
    }

    let pool = state.db.system();
    let address = peer.ip().to_string();
    let device_tokens = device::tokens(&headers);
    let attempt = if state.config.bench_unthrottled_sign_in {
        None
    } else {
        admit(pool, &email, &address, &device_tokens).await?
    };
    if attempt.is_none() && !state.config.bench_unthrottled_sign_in {
        let mut errors = Errors::default();
        errors.add(
            "email",
            format!("Too many failed attempts. Wait {THROTTLE_MINUTES} minutes and try again, or reset your password"),
        );
        return Ok((StatusCode::TOO_MANY_REQUESTS, page(errors)).into_response());
    }

    let account: Option<Account> = sqlx::query_as(
        "SELECT id, tenant_id, password_hash, active FROM app_user WHERE email = $1 AND NOT stand_in",
    )
    .bind(&email)
    .fetch_optional(pool)
    .await?;
    // Unknown email, no password yet, deactivated and wrong password all take one hash check and
    // give one answer.
    let stored = account
        .as_ref()
        .filter(|a| a.active)
        .and_then(|a| a.password_hash.as_deref());
    let ok = password::verify(&form.password, stored).await;

    let mut tx = pool.begin().await?;
    if let Some(attempt) = attempt {
        sqlx::query("UPDATE sign_in_attempt SET succeeded = $2 WHERE id = $1")
            .bind(attempt)
            .bind(ok)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        &audit::Event::new(if ok {
            "sign_in.succeeded"
        } else {
            "sign_in.failed"
        })
        .tenant(account.as_ref().and_then(|a| a.tenant_id))
        .actor(account.as_ref().map(|a| a.id), &email)
        .address(Some(address)),
    )
    .await?;
    let secure = state.secure();
    let device_cookie = match account.as_ref().filter(|_| ok) {
        Some(a) => Some(device::remember(&mut tx, a.id, &device_tokens, secure).await?),
        None => None,
    };
    tx.commit().await?;

    let Some(account) = account.filter(|_| ok) else {
        let mut errors = Errors::default();
        errors.add("email", "The email address or password is not right");
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(errors)).into_response());
    };

    // A new session id at every sign-in: a token planted before sign-in is worth nothing after.
    if let Some(old) = parse_cookies(&headers).get(SESSION_COOKIE) {
        session::delete(pool, old).await?;
    }
    let token = session::create(pool, account.id, account.tenant_id).await?;
    let mut response = Redirect::to(&next).into_response();
    let h = response.headers_mut();
    h.extend(device_cookie.map(|c| (header::SET_COOKIE, c)));
    h.append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, &token, secure, None),
    );
    h.append(header::SET_COOKIE, cookie(CSRF_COOKIE, "", secure, Some(0)));
    Ok(response)
}

/// Decides whether this sign-in attempt may be checked and, if so, records it (as pending) in
/// the same transaction, under a lock per account and per address: concurrent attempts are
/// counted one after another, so no more than the limits are ever checked. Returns the
/// attempt's id, or `None` when it is refused.
///
/// An attempt from a browser that has signed in to this account before is counted against that
/// device (5 failures), not against the account: five wrong guesses by someone else lock out only
/// devices the account has never used. Addresses are limited by how many accounts fail from
/// them, not by attempts, so one school behind one proxy is not locked out by a few typos.
async fn admit(
    pool: &sqlx::PgPool,
    email: &str,
    address: &str,
    device_tokens: &[String],
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Always the account first, then the address: the same order everywhere, so no deadlock.
    for (space, key) in [(LOCK_ACCOUNT, email), (LOCK_ADDRESS, address)] {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(space)
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    let device = device::known_for_email(&mut tx, device_tokens, email).await?;
    // Failures include attempts still being checked (`succeeded` NULL).
    let (account_failures, device_failures, address_accounts): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1 AND NOT trusted),
                count(*) FILTER (WHERE email = $1 AND trusted AND device = $3),
                count(DISTINCT email) FILTER (WHERE address = $2 AND NOT trusted)
         FROM sign_in_attempt
         WHERE succeeded IS NOT TRUE AND at > now() - make_interval(mins => $4::int)
           AND (email = $1 OR address = $2)",
    )
    .bind(email)
    .bind(address)
    .bind(&device)
    .bind(THROTTLE_MINUTES)
    .fetch_one(&mut *tx)
    .await?;
    // A known device that has failed too often is a stranger again.
    let trusted = device.is_some() && device_failures < DEVICE_FAILURES;
    if !trusted && (account_failures >= ACCOUNT_FAILURES || address_accounts >= ADDRESS_ACCOUNTS) {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sign_in_attempt (email, address, trusted, device) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(email)
    .bind(address)
    .bind(trusted)
    .bind(device.filter(|_| trusted))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

pub async fn post_sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = parse_cookies(&headers).get(SESSION_COOKIE) {
        session::delete(state.db.system(), token).await?;
    }
    let secure = state.config.base_url().starts_with("https://");
    let mut response = Redirect::to("/sign-in").into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, "", secure, Some(0)),
    );
    h.append(
        header::SET_COOKIE,
        cookie(FLASH_COOKIE, "signed-out", secure, None),
    );
    Ok(response)
}

/// A redirect that leaves a message for the next page.
#[derive(Template, WebTemplate)]
#[template(path = "auth/set_password.html")]
pub struct SetPasswordPage {
    layout: Layout,
    errors: Errors,
    heading: &'static str,
    email: String,
    token: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/link_problem.html")]
pub struct LinkProblemPage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

fn link_problem(ctx: &Ctx, problem: links::Problem) -> Response {
    let (status, heading, message) = match problem {
        links::Problem::Unknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check you copied the whole link from the email. If it still does not work, ask for a new one.",
        ),
        links::Problem::Used => (
            StatusCode::GONE,
            "This link has already been used",
            "Each link works once. If you have set your password, sign in with it. If you have forgotten it, reset it.",
        ),
        links::Problem::Expired => (
            StatusCode::GONE,
            "This link has expired",
            "Invitation links work for 7 days and password reset links for 1 hour. Ask whoever invited you for a new invitation, or reset your password again.",
        ),
    };
    (
        status,
        LinkProblemPage {
            layout: ctx.layout("/set-password"),
            heading,
            message,
        },
    )
        .into_response()
}

fn set_password_heading(purpose: links::Purpose) -> &'static str {
    match purpose {
        links::Purpose::Invitation => "Create your password",
        links::Purpose::Reset => "Choose a new password",
    }
}

pub async fn get_set_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match links::find(state.db.system(), &token).await? {
        Err(problem) => Ok(link_problem(&ctx, problem)),
        Ok(link) => Ok(SetPasswordPage {
            layout: ctx.layout("/set-password"),
            errors: Errors::default(),
            heading: set_password_heading(link.purpose),
            email: link.email,
            token,
        }
        .into_response()),
    }
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn post_set_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response, AppError> {
    let link = match links::find(state.db.system(), &token).await? {
        Err(problem) => return Ok(link_problem(&ctx, problem)),
        Ok(link) => link,
    };
    let mut errors = Errors::default();
    if let Some(weak) = password::weakness(&form.password, &link.email, &link.name) {
        errors.add("password", weak);
    } else if form.password != form.confirm {
        errors.add("confirm", "The passwords do not match");
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            SetPasswordPage {
                layout: ctx.layout("/set-password"),
                errors,
                heading: set_password_heading(link.purpose),
                email: link.email,
                token,
            },
        )
            .into_response());
    }
    let hash = password::hash(&form.password).await?;
    match links::use_to_set_password(
        state.db.system(),
        &token,
        &link,
        &hash,
        &peer.ip().to_string(),
    )
    .await?
    {
        Ok(()) => {
            // The link proved the address is theirs: this browser becomes a known device, so
            // the person can sign in even while strangers' guesses hold the account's limit.
            let mut conn = state.db.system().acquire().await?;
            let known = device::remember(
                &mut conn,
                link.user_id,
                &device::tokens(&headers),
                state.secure(),
            )
            .await?;
            let mut response = redirect_with_flash(&state, "/sign-in", "password-set");
            response.headers_mut().append(header::SET_COOKIE, known);
            Ok(response)
        }
        Err(problem) => Ok(link_problem(&ctx, problem)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/reset_request.html")]
pub struct ResetRequestPage {
    layout: Layout,
    errors: Errors,
    email: String,
}

pub async fn get_password_reset(ctx: Ctx) -> ResetRequestPage {
    ResetRequestPage {
        layout: ctx.layout("/password-reset"),
        errors: Errors::default(),
        email: String::new(),
    }
}

#[derive(Deserialize)]
pub struct ResetRequestForm {
    #[serde(default)]
    email: String,
}

pub async fn post_password_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    Form(form): Form<ResetRequestForm>,
) -> Result<Response, AppError> {
    let Some(email) = EmailAddress::parse(&form.email).map(EmailAddress::into_string) else {
        let mut errors = Errors::default();
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@example.org",
        );
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ResetRequestPage {
                layout: ctx.layout("/password-reset"),
                errors,
                email: form.email,
            },
        )
            .into_response());
    };
    // The same answer, at the same moment, whether or not the account exists: the link is made
    // and queued after the answer has gone, so its work cannot be timed.
    let address = peer.ip().to_string();
    let background = state.clone();
    tokio::spawn(async move {
        if let Err(e) = links::send_reset(&background, &email, &address).await {
            tracing::error!(error = %e, "a password reset link could not be queued");
        }
    });
    Ok(redirect_with_flash(&state, "/sign-in", "reset-sent"))
}
