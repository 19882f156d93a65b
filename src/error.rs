//! The one error type handlers return. Internals are logged with the request's span; people see a
//! plain page. Another tenant's or school's id is simply `NotFound`.

use crate::layout::Layout;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// No session: the person is sent to sign in, then back to `0`.
    #[error("sign-in required")]
    SignInRequired(String),
    /// Signed in, but the person's role may not use this page.
    #[error("forbidden")]
    Forbidden,
    /// A form or query string that cannot be read (a field of the wrong shape).
    #[error("unreadable request")]
    BadRequest,
    #[error("CSRF check failed")]
    Csrf,
    #[error("request too large")]
    TooLarge,
    /// Too many people are downloading large files at once: try again shortly.
    #[error("busy")]
    Busy,
    /// The record cannot be changed at this stage (a submitted handbook); the text says why.
    #[error("locked: {0}")]
    Locked(&'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: &'static str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            AppError::SignInRequired(next) => {
                let target = format!(
                    "/sign-in?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return axum::response::Redirect::to(&target).into_response();
            }
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your security, forms stop working after you sign in or out, or after a long time. Go back, reload the page and try again. Copy any text you typed first.",
            ),
            AppError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many downloads at once",
                "Many handbooks are being downloaded at the moment. Try again in a minute.",
            ),
            AppError::Locked(why) => (StatusCode::CONFLICT, "This cannot be changed now", *why),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You cannot use this page",
                "Your account does not give you access to this page. Use the links in the menu to reach your own work.",
            ),
            AppError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "This form could not be read",
                "Something in what was sent is not in the form this page expects. Go back, check what you entered and try again.",
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "What you sent is too large",
                "Go back and send less at a time.",
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address.",
            ),
            AppError::Database(e) => {
                tracing::error!(error = %e, "database error");
                server_error()
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                server_error()
            }
        };
        let page = ErrorPage {
            layout: Layout::default(),
            heading,
            message,
        };
        (status, page).into_response()
    }
}

fn server_error() -> (StatusCode, &'static str, &'static str) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you saved before this page appeared has been lost.",
    )
}

/// The answer for any address no route matches.
pub async fn not_found() -> AppError {
    AppError::NotFound
}
