//! Small pieces every workflow's handlers share: a redirect that leaves a message for the next
//! page, and extractors whose rejections are the service's own pages. A mistyped or cut-off id in
//! an address is simply not found; a form or query that cannot be read gets the form error page,
//! never a parser's message in plain text.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

/// A one-word key for a message on the next page ("signed-out"); never free text.
pub const FLASH_COOKIE: &str = "aqm_flash";

/// A Set-Cookie value: HttpOnly, SameSite=Lax (links from emails arrive signed in), Secure when
/// the service is served over https. `max_age` of 0 deletes the cookie.
pub fn cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie values are ASCII tokens")
}

/// A redirect to `to` that shows the message `flash` (a key of `auth::flash_message`) there.
pub fn redirect_with_flash(state: &AppState, to: &str, flash: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(FLASH_COOKIE, flash, state.secure(), None),
    );
    response
}

/// A plain redirect after a form was handled.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Whether a script (autosave) asked for JSON rather than a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Path parameters; anything that does not parse (a cut-off id) is not found.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(AppError::NotFound),
        }
    }
}

/// Control characters other than tab and line breaks: nobody types them, PostgreSQL cannot store
/// NUL, and refusing a form for an invisible character would leave people hunting for it. Every
/// form field and query value has them removed before a handler sees it (the text is otherwise
/// kept exactly as sent).
pub fn is_unwanted_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// `text` without the control characters of `is_unwanted_control`.
pub fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_unwanted_control) {
        std::borrow::Cow::Owned(text.chars().filter(|c| !is_unwanted_control(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A urlencoded form or query with every name and value passed through `strip_controls`.
fn cleaned_urlencoded(input: &[u8]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(input) {
        out.append_pair(&strip_controls(&k), &strip_controls(&v));
    }
    out.finish()
}

/// The query string; one that cannot be read gets the form error page.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = cleaned_urlencoded(parts.uri.query().unwrap_or_default().as_bytes());
        match serde_urlencoded::from_str(&query) {
            Ok(v) => Ok(Query(v)),
            Err(e) => {
                tracing::info!(error = %e, "unreadable query string");
                Err(AppError::BadRequest)
            }
        }
    }
}

/// A urlencoded form; one that cannot be read gets the form error page.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            tracing::info!("a form posted without the form content type");
            return Err(AppError::BadRequest);
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::TooLarge);
            }
            Err(e) => {
                tracing::info!(error = %e, "unreadable form");
                return Err(AppError::BadRequest);
            }
        };
        match serde_urlencoded::from_str(&cleaned_urlencoded(&bytes)) {
            Ok(v) => Ok(Form(v)),
            Err(e) => {
                tracing::info!(error = %e, "unreadable form");
                Err(AppError::BadRequest)
            }
        }
    }
}

/// The bytes of the form field `name` of a multipart form (the last, if it repeats), reading past
/// the others; a body over its limit answers "too large", one that cannot be read (a part header
/// with a line break in it, a body cut off) "could not be read".
pub async fn file_field(
    multipart: &mut axum::extract::Multipart,
    name: &str,
) -> Result<Option<axum::body::Bytes>, AppError> {
    let mut bytes = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some(name) {
            bytes = Some(field.bytes().await.map_err(multipart_error)?);
        }
    }
    Ok(bytes)
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        tracing::info!(error = %e, "unreadable upload");
        AppError::BadRequest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_and_everything_else_stays() {
        assert_eq!(strip_controls("abc\0def"), "abcdef");
        assert_eq!(strip_controls("a\u{1b}[31mb\u{7f}\u{85}"), "a[31mb");
        assert_eq!(
            strip_controls("line one\r\nline\ttwo"),
            "line one\r\nline\ttwo"
        );
        assert!(matches!(
            strip_controls("Ysgol Gymraeg – café"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            cleaned_urlencoded(b"actions=abc%00def&name=A+B&x%00y=1&e=%C3%A9"),
            "actions=abcdef&name=A+B&xy=1&e=%C3%A9"
        );
    }
}
