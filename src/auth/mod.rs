//! Who is asking: roles, the signed-in person, sessions, CSRF protection and sign-in itself.
//!
//! `middleware` runs on every request: it finds the session from its cookie, checks CSRF on every
//! state-changing request, and puts the person (if any) and the CSRF token in the request.
//! Handlers take one of the extractors of `scoped` (who may act, in which tenant), or `Ctx` on
//! pages anyone may see.

pub mod device;
pub mod links;
pub mod password;
pub mod routes;
pub mod scoped;
pub mod session;

pub use scoped::{
    Actor, Administrators, Assessors, AttendanceLeads, HeadTeachers, Members, Officers, Operator,
    PeopleManagers, Roles, SchoolStaff, Scoped, SignedIn,
};

use crate::error::AppError;
use crate::layout::{Layout, PUBLIC_NAV, PageContext};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "aqm_session";
/// Before sign-in, forms are protected by a token in this cookie that the form repeats.
pub const CSRF_COOKIE: &str = "aqm_csrf";
pub use crate::web::{FLASH_COOKIE, cookie};
/// Forms send the token in this field (multipart forms as their first part); scripts in a
/// header. Never in the address, where it would stay in the history.
pub const CSRF_FIELD: &str = "csrf_token";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest urlencoded form body read for the CSRF check (long handbook texts fit well within it).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    AttendanceLead,
    HeadTeacher,
    Assessor,
    LaOfficer,
    TenantAdmin,
    PlatformOperator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::AttendanceLead,
        Role::HeadTeacher,
        Role::Assessor,
        Role::LaOfficer,
        Role::TenantAdmin,
        Role::PlatformOperator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::AttendanceLead => "attendance_lead",
            Role::HeadTeacher => "head_teacher",
            Role::Assessor => "assessor",
            Role::LaOfficer => "la_officer",
            Role::TenantAdmin => "tenant_admin",
            Role::PlatformOperator => "platform_operator",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::AttendanceLead => "Attendance Lead",
            Role::HeadTeacher => "Head teacher",
            Role::Assessor => "Assessor",
            Role::LaOfficer => "LA officer",
            Role::TenantAdmin => "Authority administrator",
            Role::PlatformOperator => "Platform operator",
        }
    }

    /// Roles that belong to one school.
    pub fn is_school_role(self) -> bool {
        matches!(self, Role::AttendanceLead | Role::HeadTeacher)
    }

    /// The pages each role may reach from its navigation, and nothing else.
    pub fn nav(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Role::AttendanceLead => &[
                ("/home", "Home"),
                ("/handbook", "Handbook"),
                ("/evidence", "Evidence library"),
                ("/practice", "Good practice"),
                ("/frameworks", "Criteria"),
            ],
            Role::Assessor => &[
                ("/home", "Home"),
                ("/visits", "Visits"),
                ("/practice", "Good practice"),
                ("/frameworks", "Criteria"),
            ],
            Role::HeadTeacher => &[
                ("/home", "Home"),
                ("/handbook", "Handbook"),
                ("/evidence", "Evidence library"),
                ("/practice", "Good practice"),
                ("/people", "Attendance Leads"),
                ("/frameworks", "Criteria"),
            ],
            Role::LaOfficer => &[
                ("/home", "Home"),
                ("/dashboard", "Dashboard"),
                ("/cohorts", "Cohorts"),
                ("/attendance", "Attendance data"),
                ("/practice", "Good practice"),
                ("/schools", "Schools"),
                ("/people", "People"),
                ("/moderation", "Moderation"),
                ("/audit", "Audit log"),
                ("/frameworks", "Criteria"),
            ],
            Role::TenantAdmin => &[
                ("/home", "Home"),
                ("/schools", "Schools"),
                ("/people", "People"),
                ("/settings/best-fit", "Best-fit rule"),
                ("/settings/award", "Award validity"),
                ("/settings/sharing", "Sharing practice"),
                ("/audit", "Audit log"),
            ],
            Role::PlatformOperator => &[
                ("/home", "Home"),
                ("/operator/tenants", "Authorities"),
                ("/operator/mail", "Mail"),
            ],
        }
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// The signed-in person. Tenant and school come from here, never from a URL or a form.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: Uuid,
    /// `None` only for platform operators.
    pub tenant_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub school_id: Option<Uuid>,
    pub school_name: Option<String>,
    pub tenant_name: Option<String>,
}

impl CurrentUser {
    /// How the header names the person: "Jane Smith, Attendance Lead, Riverside Primary".
    pub fn signed_in_as(&self) -> String {
        let mut parts = vec![self.name.clone(), self.role.label().to_string()];
        if let Some(place) = self.school_name.as_ref().or(self.tenant_name.as_ref()) {
            parts.push(place.clone());
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

#[derive(Debug, Clone)]
struct Flash(&'static str);

/// The layout context of this request: the person's navigation and name, the form token, and a
/// message carried over from the previous page.
pub fn page_context(parts: &Parts) -> PageContext {
    let user = parts.extensions.get::<CurrentUser>();
    PageContext {
        nav: user.map_or(PUBLIC_NAV, |u| u.role.nav()),
        signed_in_as: user.map(CurrentUser::signed_in_as),
        csrf_token: parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
        flash: parts.extensions.get::<Flash>().map(|f| f.0),
    }
}

/// For pages anyone may see: the person, if signed in, and the layout context.
pub struct Ctx {
    pub user: Option<CurrentUser>,
    pub page: PageContext,
}

impl Ctx {
    pub fn layout(&self, current_path: &str) -> Layout {
        self.page.layout(current_path)
    }

    /// The CSRF token forms of this page repeat.
    pub fn csrf(&self) -> &str {
        &self.page.csrf_token
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            user: parts.extensions.get::<CurrentUser>().cloned(),
            page: page_context(parts),
        })
    }
}

/// Messages a redirect may leave for the next page, by key.
pub fn flash_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "signed-out" => "You have signed out.",
        "password-set" => "Your password has been set. Sign in with it now.",
        "reset-sent" => {
            "If an account uses that email address, we have sent it a link to reset the password. The link works for 1 hour."
        }
        "invited" => "Invitation sent. The link in it works for 7 days.",
        "deactivated" => "The account has been deactivated and its sessions ended.",
        "role-changed" => "The role has been changed.",
        "tenant-added" => "The authority has been added.",
        "mail-retried" => {
            "The message will be sent again within a minute, its attempts counted from the first."
        }
        "mail-retried-all" => {
            "Every given-up message will be sent again within a minute, its attempts counted from the first."
        }
        "mail-none-given-up" => "No message is given up now: there was nothing to try again.",
        "mail-not-given-up" => {
            "That message is no longer given up: it has been sent, or is being tried again."
        }
        "schools-imported" => "The schools file has been imported.",
        "enrolled" => "The school is enrolled and its handbook is open.",
        "closure-day-added" => "The closure day has been added.",
        "closure-day-removed" => "The closure day has been removed.",
        "strand-saved" => "Saved.",
        "evidence-uploaded" => {
            "The document is in your evidence library. Link it to the strands it supports."
        }
        "evidence-linked" => "The document is linked to the strand.",
        "sent-to-head" => "The handbook has been sent to your head teacher, who has been emailed.",
        "comment-added" => "Your comment has been added.",
        "returned" => {
            "The handbook has been returned to the Attendance Lead, who has been emailed."
        }
        "submitted" => {
            "The handbook has been submitted. The assessor has been emailed a link and the handbook as a PDF."
        }
        "visit-set" => "The assessor and visit are saved. The school has been emailed.",
        "reopened" => "The handbook has been reopened for the school, who have been emailed.",
        "evidence-unlinked" => "The document is no longer linked to the strand.",
        "evidence-deleted" => "The document has been deleted from your evidence library.",
        "best-fit-saved" => {
            "The best-fit rule has been saved. Every handbook of your authority suggests by it from now on."
        }
        "best-fit-unchanged" => "Nothing has changed: the best-fit rule is as it was.",
        "judgement-saved" => "The level and notes for the strand are saved.",
        "award-agreed" => {
            "The award is recorded. The school has been emailed the certificate and the report."
        }
        "award-acknowledged" => {
            "You have acknowledged the outcome. Your assessor and authority can see it."
        }
        "renewed" => {
            "Your renewal handbook has started, with the texts and evidence links of the awarded one. Claim each strand's level again."
        }
        "award-setting-saved" => "Saved. Awards agreed from now on are valid for this many years.",
        "event-saved" => "The event is saved.",
        "invitations-sent" => {
            "Invitations have been sent to the Attendance Lead and head teacher of every school in the cohort."
        }
        "register-saved" => "The register is saved.",
        "withdrawn" => {
            "The school has been withdrawn from the cohort. Its handbook is kept, read-only, and the school has been emailed."
        }
        "figure-saved" => "The figures are saved.",
        "target-saved" => "The targets are saved.",
        "practice-saved" => "Saved. Nothing is shared until your head teacher approves it.",
        "practice-sent" => "Sent to your head teacher, who has been emailed to approve it.",
        "practice-offered" => {
            "Approved and offered to the local authority, who will publish it, ask for changes or decline it."
        }
        "practice-withdrawn" => "Withdrawn. It is no longer in the resource base.",
        "practice-decided" => "Done. The school has been emailed.",
        "practice-featured" => "Saved. Featured entries are in the celebration booklet.",
        "practice-contacted" => "Your message has been sent to the school's contact.",
        "sharing-saved" => "Saved.",
        "practice-recommended" => "Saved. The school sees your recommendation on the strand.",
        _ => return None,
    })
}

pub fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // Lengths are not secret (every token has the same length); the bytes are.
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Unsafe methods must come from our own pages: the browser says so (Sec-Fetch-Site, or Origin
/// for older browsers), and the form repeats the CSRF token.
fn same_origin(headers: &HeaderMap, base_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => {
            let ours = url::Url::parse(base_url).map(|u| u.origin());
            let theirs = url::Url::parse(origin).map(|u| u.origin());
            matches!((ours, theirs), (Ok(a), Ok(b)) if a.is_tuple() && a == b)
        }
        None => true,
    }
}

/// How much of a multipart body is read to find the token: the first part is a short hidden
/// field, so a token further in than this is not looked for.
const MULTIPART_PEEK: usize = 8 * 1024;

/// The boundary of a multipart/form-data content type.
fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return None;
    }
    ct.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_string())
    })
}

/// The token when it is the first part of a multipart body (the upload forms put it there, so
/// it is read before the file and never travels in the address). `None` until the first part has
/// been seen whole.
fn token_in_first_part(buffer: &[u8], boundary: &str) -> Option<Option<String>> {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(buffer);
    let start = text.find(&delimiter)? + delimiter.len();
    let rest = &text[start..];
    let headers_end = rest.find("\r\n\r\n")?;
    let value_start = headers_end + 4;
    let value_end = rest[value_start..].find(&format!("\r\n{delimiter}"))? + value_start;
    let headers = &rest[..headers_end];
    let named = headers
        .to_ascii_lowercase()
        .contains(&format!("name=\"{CSRF_FIELD}\""));
    Some(named.then(|| rest[value_start..value_end].to_string()))
}

/// Reads the start of a multipart body for the token, then hands the whole body on unchanged:
/// what was read first, then the rest as it arrives, so a large file is still streamed.
async fn peek_multipart(req: Request, boundary: &str) -> (Request, Option<String>) {
    use futures_util::StreamExt;
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut buffer: Vec<u8> = Vec::new();
    let mut found = None;
    let mut failed = None;
    while buffer.len() < MULTIPART_PEEK {
        if let Some(t) = token_in_first_part(&buffer, boundary) {
            found = t;
            break;
        }
        match stream.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(e)) => {
                failed = Some(e);
                break;
            }
            None => break,
        }
    }
    if found.is_none() {
        found = token_in_first_part(&buffer, boundary).flatten();
    }
    let head = futures_util::stream::iter(
        std::iter::once(Ok(axum::body::Bytes::from(buffer))).chain(failed.map(Err)),
    );
    let body = Body::from_stream(head.chain(stream));
    (Request::from_parts(parts, body), found)
}

/// How long the start of a request body read here (a form, the first part of an upload) may
/// take to arrive: a client trickling a byte at a time is not waited for.
const BODY_READ_TIME: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, PartialEq, Eq)]
enum BodyProblem {
    TooLarge,
    TooSlow,
}

/// A whole urlencoded body, up to `limit` bytes, arrived within `time`.
async fn read_form(
    body: Body,
    limit: usize,
    time: std::time::Duration,
) -> Result<axum::body::Bytes, BodyProblem> {
    match tokio::time::timeout(time, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        // A body that broke off is as unreadable as one that is too large.
        Ok(Err(_)) => Err(BodyProblem::TooLarge),
        Err(_) => Err(BodyProblem::TooSlow),
    }
}

/// Finds the session, guards state-changing requests against CSRF, and hands the person and the
/// token to handlers.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let secure = state.config.base_url().starts_with("https://");
    let cookies = parse_cookies(req.headers());
    let mut set_cookies = Vec::new();

    let mut session = None;
    if let Some(token) = cookies.get(SESSION_COOKIE) {
        match session::lookup(state.db.system(), token).await {
            Ok(Some(s)) => session = Some(s),
            Ok(None) => set_cookies.push(cookie(SESSION_COOKIE, "", secure, Some(0))),
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    let expected = match &session {
        Some(s) => s.csrf_token.clone(),
        None => match cookies.get(CSRF_COOKIE) {
            Some(t) if session::looks_like_token(t) => t.clone(),
            _ => {
                let t = session::new_token();
                set_cookies.push(cookie(CSRF_COOKIE, &t, secure, None));
                t
            }
        },
    };

    let mut req = req;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        if !same_origin(req.headers(), &state.config.base_url()) {
            return AppError::Csrf.into_response();
        }
        let header_token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let boundary = multipart_boundary(req.headers());
        let sent = match (header_token, boundary) {
            (Some(t), _) => Some(t),
            (None, Some(boundary)) => {
                match tokio::time::timeout(BODY_READ_TIME, peek_multipart(req, &boundary)).await {
                    Ok((r, t)) => {
                        req = r;
                        t
                    }
                    Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
                }
            }
            (None, None) if is_form => {
                // Read the form to find the token, then hand the same bytes on to the handler.
                let (parts, body) = req.into_parts();
                let bytes = match read_form(body, FORM_LIMIT, BODY_READ_TIME).await {
                    Ok(b) => b,
                    Err(BodyProblem::TooLarge) => return AppError::TooLarge.into_response(),
                    Err(BodyProblem::TooSlow) => {
                        return StatusCode::REQUEST_TIMEOUT.into_response();
                    }
                };
                let t = form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v.into_owned());
                req = Request::from_parts(parts, Body::from(bytes));
                t
            }
            (None, None) => None,
        };
        if !sent.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())) {
            return AppError::Csrf.into_response();
        }
    }

    let flash = cookies
        .get(FLASH_COOKIE)
        .and_then(|k| flash_message(k))
        .map(Flash);
    // Shown once: the page that shows it clears it.
    if flash.is_some() && req.method() == Method::GET {
        set_cookies.push(cookie(FLASH_COOKIE, "", secure, Some(0)));
    }
    req.extensions_mut().insert(CsrfToken(expected));
    if let Some(f) = flash {
        req.extensions_mut().insert(f);
    }
    if let Some(s) = session {
        req.extensions_mut().insert(s.user);
    }

    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let already: Vec<String> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split('=').next().map(str::to_string))
        .collect();
    for c in set_cookies {
        let name = c
            .to_str()
            .unwrap_or("")
            .split('=')
            .next()
            .unwrap_or("")
            .to_string();
        if !already.contains(&name) {
            headers.append(header::SET_COOKIE, c);
        }
    }
    // Pages may be personal: keep them out of shared caches and the back-forward cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn origin_checks() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "https://aqm.example"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h, "https://aqm.example"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://aqm.example"),
        );
        assert!(same_origin(&h, "https://aqm.example/"));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, "https://aqm.example"));
        let mut h = HeaderMap::new();
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:3000"),
        );
        assert!(same_origin(&h, "http://127.0.0.1:3000/x"));
        assert!(!same_origin(&h, "http://127.0.0.1:3001"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, "http://127.0.0.1:3000"));
    }

    #[test]
    fn the_token_is_read_from_the_first_part_of_a_multipart_body() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF";
        assert_eq!(
            token_in_first_part(body, "XyZ"),
            Some(Some("abc123".to_string()))
        );
        // Not yet whole: read more.
        assert_eq!(token_in_first_part(&body[..40], "XyZ"), None);
        let other =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nabc\r\n--XyZ--";
        assert_eq!(token_in_first_part(other, "XyZ"), Some(None));
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=\"XyZ\""),
        );
        assert_eq!(multipart_boundary(&h).as_deref(), Some("XyZ"));
    }

    #[tokio::test]
    async fn a_form_body_that_stops_arriving_is_not_waited_for() {
        let whole = Body::from("csrf_token=abc&email=a");
        assert_eq!(
            read_form(whole, 100, std::time::Duration::from_secs(1)).await,
            Ok(axum::body::Bytes::from("csrf_token=abc&email=a"))
        );
        let first = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from(
            "csrf_token=abc",
        ))]);
        let stalled = Body::from_stream(futures_util::StreamExt::chain(
            first,
            futures_util::stream::pending(),
        ));
        assert_eq!(
            read_form(stalled, 100, std::time::Duration::from_millis(50)).await,
            Err(BodyProblem::TooSlow)
        );
        let large = Body::from("x".repeat(101));
        assert_eq!(
            read_form(large, 100, std::time::Duration::from_secs(1)).await,
            Err(BodyProblem::TooLarge)
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
