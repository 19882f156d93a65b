//! Who is asking: roles, the signed-in person, sessions, CSRF protection and sign-in itself.
//!
//! `middleware` runs on every request: it finds the session from its cookie, checks CSRF on every
//! state-changing request, and puts the person (if any) and the CSRF token in the request. Handlers
//! take `CurrentUser` (redirects to sign-in when absent) or `Ctx` (the layout context).

pub mod links;
pub mod password;
pub mod routes;
pub mod session;

use crate::app::AppState;
use crate::error::AppError;
use crate::layout::Layout;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

pub const SESSION_COOKIE: &str = "aqm_session";
/// Before sign-in, forms are protected by a token in this cookie that the form repeats.
pub const CSRF_COOKIE: &str = "aqm_csrf";
/// A one-word key for a message on the next page ("signed-out"); never free text.
pub const FLASH_COOKIE: &str = "aqm_flash";
/// Forms send the token in this field; multipart forms in the query string; scripts in a header.
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
            Role::TenantAdmin => "Tenant admin",
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
                ("/evidence", "Evidence library"),
                ("/frameworks", "Criteria"),
            ],
            Role::Assessor => &[("/home", "Home"), ("/frameworks", "Criteria")],
            Role::HeadTeacher => &[
                ("/home", "Home"),
                ("/evidence", "Evidence library"),
                ("/people", "Attendance Leads"),
                ("/frameworks", "Criteria"),
            ],
            Role::LaOfficer => &[
                ("/home", "Home"),
                ("/cohorts", "Cohorts"),
                ("/schools", "Schools"),
                ("/people", "People"),
                ("/audit", "Audit log"),
                ("/frameworks", "Criteria"),
            ],
            Role::TenantAdmin => &[
                ("/home", "Home"),
                ("/schools", "Schools"),
                ("/people", "People"),
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
    /// Refuses (as 404, so nothing is revealed) unless the person has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// The tenant of a person who must belong to one.
    pub fn tenant(&self) -> Result<Uuid, AppError> {
        self.tenant_id.ok_or(AppError::NotFound)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| AppError::SignInRequired(parts.uri.path().to_string()))
    }
}

#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

#[derive(Debug, Clone)]
struct Flash(&'static str);

/// What every page's layout needs: the person (if signed in), the CSRF token for forms, and a
/// message carried over from the previous page.
pub struct Ctx {
    pub user: Option<CurrentUser>,
    pub csrf: String,
    flash: Option<&'static str>,
}

impl Ctx {
    pub fn layout(&self, current_path: &str) -> Layout {
        Layout::new(self.user.as_ref(), current_path, &self.csrf, self.flash)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            user: parts.extensions.get::<CurrentUser>().cloned(),
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            flash: parts.extensions.get::<Flash>().map(|f| f.0),
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
        "schools-imported" => "The schools file has been imported.",
        "enrolled" => "The school is enrolled and its handbook is open.",
        "strand-saved" => "Saved.",
        "evidence-uploaded" => {
            "The document is in your evidence library. Link it to the strands it supports."
        }
        "evidence-linked" => "The document is linked to the strand.",
        "evidence-unlinked" => "The document is no longer linked to the strand.",
        "evidence-deleted" => "The document has been deleted from your evidence library.",
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Unsafe methods must come from our own pages: the browser says so (Sec-Fetch-Site, or Origin
/// for older browsers), and the form repeats the CSRF token.
fn same_origin(headers: &HeaderMap, base_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == origin_of(base_url),
        None => true,
    }
}

fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn token_in_query(req: &Request) -> Option<String> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
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
        let sent = match (header_token, token_in_query(&req)) {
            (Some(t), _) | (None, Some(t)) => Some(t),
            (None, None) if is_form => {
                // Read the form to find the token, then hand the same bytes on to the handler.
                let (parts, body) = req.into_parts();
                let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
                    Ok(b) => b,
                    Err(_) => return AppError::TooLarge.into_response(),
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
        assert_eq!(
            origin_of("http://127.0.0.1:3000/x"),
            "http://127.0.0.1:3000"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
