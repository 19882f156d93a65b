//! The one route table (read it top to bottom), the middleware every request passes, and serving
//! with graceful shutdown, time limits for slow clients and a cap on connections.
//!
//! The table is a list of `Route`s, so the tests can read every path and method it serves (the
//! isolation test fails when an id-taking route has no cross-tenant case).

use crate::state::AppState;
use crate::{
    admin, auth, authority, error, evidence, handbook, home, practice, programme, public, review,
    visit,
};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::routing::{MethodRouter, get};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Pages may load scripts, styles and images from this origin only; no inline script or style,
/// and no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Strict-Transport-Security, sent when the public address is https.
const HSTS: &str = "max-age=31536000";

/// How long a request may take before it is answered 408.
const REQUEST_TIME: Duration = Duration::from_secs(30);
/// Evidence uploads read the file inside the handler: 25 MB over a slow school connection takes
/// minutes, not seconds. Only signed-in school staff get as far as reading the body.
const UPLOAD_TIME: Duration = Duration::from_secs(10 * 60);

/// One method of one path, and its handler with any layers of its own.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    router: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let router = match method {
        Method::GET => axum::routing::get(handler),
        Method::POST => axum::routing::post(handler),
        _ => unreachable!("the service answers GET and POST only"),
    };
    Route {
        method,
        path,
        router: router.layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIME,
        )),
    }
}

fn get_<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Route {
    route(Method::GET, path, handler)
}

fn post_<H: Handler<T, AppState>, T: 'static>(path: &'static str, handler: H) -> Route {
    route(Method::POST, path, handler)
}

/// A POST that reads a large body in its handler: a time limit and a body limit of its own.
fn upload<H: Handler<T, AppState>, T: 'static>(
    path: &'static str,
    handler: H,
    body_limit: usize,
    time: Duration,
) -> Route {
    Route {
        method: Method::POST,
        path,
        router: axum::routing::post(handler)
            .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(body_limit))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                time,
            )),
    }
}

/// Every page of the service, by who uses it.
pub fn routes(upload_limit: usize) -> Vec<Route> {
    // The upload route reads a little more than the file limit (the form's other fields); the
    // handler itself refuses the file the moment it passes the limit.
    let upload_body_limit = upload_limit.saturating_add(evidence::FORM_OVERHEAD);
    vec![
        // Everyone
        get_("/", public::get_home),
        get_("/frameworks", public::get_frameworks),
        get_("/frameworks/{key}/{version}", public::get_framework),
        get_("/accessibility", public::get_accessibility),
        // Signing in, and links from emails
        get_("/sign-in", auth::routes::get_sign_in),
        post_("/sign-in", auth::routes::post_sign_in),
        post_("/sign-out", auth::routes::post_sign_out),
        get_("/password-reset", auth::routes::get_password_reset),
        post_("/password-reset", auth::routes::post_password_reset),
        get_("/set-password/{token}", auth::routes::get_set_password),
        post_("/set-password/{token}", auth::routes::post_set_password),
        // Signed in: each role's home
        get_("/home", home::get_home),
        // The handbook: Attendance Leads and head teachers of the school
        get_("/handbook", handbook::get_handbook),
        get_("/assessments/{id}", handbook::get_overview),
        get_("/assessments/{id}/themes/{number}", handbook::get_theme),
        get_(
            "/assessments/{id}/strands/{key}",
            handbook::strand::get_strand,
        ),
        post_(
            "/assessments/{id}/strands/{key}",
            handbook::strand::post_strand,
        ),
        get_("/assessments/{id}/print", handbook::export::get_print),
        get_("/assessments/{id}/handbook.pdf", handbook::export::get_pdf),
        get_("/assessments/{id}/handbook.zip", handbook::export::get_zip),
        // The review: lead to head, comments, return, approve and submit; the assessor reads it
        post_("/assessments/{id}/send-to-head", review::post_send_to_head),
        post_(
            "/assessments/{id}/strands/{key}/comments",
            review::post_comment,
        ),
        get_("/assessments/{id}/return", review::get_return),
        post_("/assessments/{id}/return", review::post_return),
        get_("/assessments/{id}/submit", review::submit::get_submit),
        post_("/assessments/{id}/submit", review::submit::post_submit),
        get_("/submissions/{id}", review::submit::get_submission),
        // Evidence library: Attendance Leads and head teachers of the school
        get_("/evidence", evidence::library::get_library),
        get_("/evidence/upload", evidence::upload::get_upload),
        upload(
            "/evidence/upload",
            evidence::upload::post_upload,
            upload_body_limit,
            UPLOAD_TIME,
        ),
        get_("/evidence/{id}", evidence::document::get_evidence),
        get_("/evidence/{id}/download", evidence::document::get_download),
        post_("/evidence/{id}/links", evidence::links::post_evidence_link),
        post_("/evidence/{id}/delete", evidence::document::post_delete),
        post_(
            "/assessments/{id}/strands/{key}/evidence",
            evidence::links::post_strand_link,
        ),
        post_(
            "/assessments/{id}/strands/{key}/evidence/{eid}/unlink",
            evidence::links::post_strand_unlink,
        ),
        // The programme: LA officers (and authority administrators)
        get_("/cohorts", programme::get_cohorts),
        post_("/cohorts", programme::post_cohort),
        get_("/cohorts/{id}", programme::get_cohort),
        post_("/cohorts/{id}/enrol", programme::post_enrol),
        get_("/assessments/{id}/visit", review::visit::get_visit),
        post_("/assessments/{id}/visit", review::visit::post_visit),
        post_("/assessments/{id}/reopen", review::visit::post_reopen),
        // The assessor's visit and the award.
        get_("/visits", visit::caseload::get_caseload),
        get_("/visits/{id}", visit::judge::get_school),
        get_("/visits/{id}/schedule", visit::schedule::get_schedule),
        post_("/visits/{id}/schedule", visit::schedule::post_schedule),
        get_("/visits/{id}/themes/{number}", visit::judge::get_theme),
        post_("/visits/{id}/strands/{key}", visit::judge::post_judgement),
        get_("/visits/{id}/documents/{doc}", visit::judge::get_document),
        get_("/visits/{id}/award", visit::award::get_award),
        post_("/visits/{id}/award", visit::award::post_award),
        get_("/assessments/{id}/award", visit::outcome::get_outcome),
        post_(
            "/assessments/{id}/award/acknowledge",
            visit::outcome::post_acknowledge,
        ),
        get_(
            "/assessments/{id}/certificate.pdf",
            visit::outcome::get_certificate,
        ),
        get_("/assessments/{id}/report.pdf", visit::outcome::get_report),
        post_("/assessments/{id}/renew", visit::renewal::post_renew),
        get_("/verify/{code}", visit::outcome::get_verify),
        get_("/moderation", visit::moderation::get_moderation),
        get_("/moderation.csv", visit::moderation::get_moderation_csv),
        get_("/settings/award", admin::award_setting::get_award_setting),
        post_("/settings/award", admin::award_setting::post_award_setting),
        // The local authority: events and registers, withdrawal, the dashboard, attendance data
        get_("/cohorts/{id}/events", authority::events::get_events),
        post_("/cohorts/{id}/events", authority::events::post_event),
        get_("/events/{id}", authority::events::get_event),
        post_("/events/{id}/register", authority::events::post_register),
        post_("/events/{id}/invite", authority::events::post_invite),
        get_("/assessments/{id}/read", authority::schools::get_read),
        get_(
            "/assessments/{id}/withdraw",
            authority::schools::get_withdraw,
        ),
        post_(
            "/assessments/{id}/withdraw",
            authority::schools::post_withdraw,
        ),
        get_("/dashboard", authority::dashboard::get_dashboard),
        get_("/attendance", authority::attendance::get_attendance),
        upload(
            "/attendance/import",
            authority::attendance::post_import,
            authority::attendance::IMPORT_LIMIT,
            UPLOAD_TIME,
        ),
        get_(
            "/schools/{id}/attendance",
            authority::attendance::get_school,
        ),
        post_(
            "/schools/{id}/attendance",
            authority::attendance::post_figure,
        ),
        post_(
            "/schools/{id}/attendance/targets",
            authority::attendance::post_target,
        ),
        // Good practice shared across the authority's schools
        get_(
            "/assessments/{id}/strands/{key}/practice",
            practice::offer::get_offer,
        ),
        post_(
            "/assessments/{id}/strands/{key}/practice",
            practice::offer::post_offer,
        ),
        get_("/practice", practice::base::get_base),
        get_("/practice/review", practice::review::get_review),
        get_("/practice/booklet.pdf", practice::review::get_booklet),
        get_("/practice/{id}", practice::base::get_entry),
        get_(
            "/practice/{id}/documents/{doc}",
            practice::base::get_document,
        ),
        post_("/practice/{id}/contact", practice::base::post_contact),
        post_("/practice/{id}/withdraw", practice::offer::post_withdraw),
        get_("/practice/{id}/decision", practice::review::get_decision),
        post_("/practice/{id}/decision", practice::review::post_decision),
        post_("/practice/{id}/feature", practice::review::post_feature),
        post_("/practice/{id}/platform", practice::wide::post_wide),
        get_("/practice/shared/{id}", practice::wide::get_wide_entry),
        get_("/settings/sharing", practice::wide::get_setting),
        post_("/settings/sharing", practice::wide::post_setting),
        post_(
            "/visits/{id}/strands/{key}/recommend",
            visit::judge::post_recommend,
        ),
        get_("/calendar", programme::calendar::get_calendar),
        post_("/calendar", programme::calendar::post_closure_day),
        post_("/calendar/{id}/remove", programme::calendar::post_remove),
        // People: authority administrators, LA officers, head teachers (their school's leads)
        get_("/people", admin::people::get_people),
        get_("/people/invite", admin::people::get_invite),
        post_("/people/invite", admin::people::post_invite),
        get_("/people/{id}", admin::people::get_person),
        post_("/people/{id}/deactivate", admin::people::post_deactivate),
        post_("/people/{id}/role", admin::people::post_role),
        // Schools and the audit log: authority administrators and LA officers
        get_("/schools", admin::schools::get_schools),
        get_("/schools/import", admin::schools::get_import),
        upload(
            "/schools/import",
            admin::schools::post_import,
            admin::schools::IMPORT_LIMIT,
            REQUEST_TIME,
        ),
        get_("/schools/{id}", admin::schools::get_school),
        get_("/audit", admin::audit_log::get_audit),
        get_("/audit.csv", admin::audit_log::get_audit_csv),
        get_("/audit/revisions/{id}", admin::audit_log::get_revision),
        // The authority's settings: authority administrators
        get_("/settings/best-fit", admin::best_fit::get_best_fit),
        post_("/settings/best-fit", admin::best_fit::post_best_fit),
        // Platform operator
        get_("/operator/tenants", admin::tenants::get_tenants),
        post_("/operator/tenants", admin::tenants::post_tenant),
        get_("/operator/mail", admin::mail_page::get_mail),
        post_("/operator/mail/retry", admin::mail_page::post_retry_all),
        post_("/operator/mail/{id}/retry", admin::mail_page::post_retry),
    ]
}

/// Every (method, path) of the route table, for tests.
pub fn route_list() -> Vec<(Method, &'static str)> {
    routes(0).into_iter().map(|r| (r.method, r.path)).collect()
}

pub fn build(state: AppState) -> Router {
    let state_is_https = state.secure();
    let static_files = ServeDir::new(&state.config.static_dir);
    let mut pages = Router::new();
    for r in routes(state.config.upload_limit()) {
        // Two methods of one path merge into one method router.
        pages = pages.route(r.path, r.router);
    }
    let pages = pages.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::middleware,
    ));

    let routes = pages
        .route("/healthz", get(get_healthz))
        .nest_service(
            "/static",
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache"),
                ))
                .service(static_files),
        )
        .fallback(error::not_found)
        .with_state(state);

    // On https, browsers are told to use nothing else for a year (not for subdomains, which may
    // be other services of the same authority).
    let hsts = state_is_https.then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        )
    });
    routes.layer(
        ServiceBuilder::new()
            .option_layer(hsts)
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
            }))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            )),
    )
}

/// Liveness and readiness in one: answers 200 only when the database answers.
async fn get_healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let check = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(state.db.app_pool());
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(1)) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// From the moment a request is awaited (a new connection, or the previous answer sent on
    /// a kept-alive one) to the end of its headers.
    pub header_read: Duration,
    /// A connection on which no byte has moved either way for this long is closed (a request
    /// body that stopped arriving, a kept-alive connection nobody uses).
    pub idle: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read: Duration::from_secs(20),
            idle: Duration::from_secs(60),
            max_connections: 512,
        }
    }
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
///
/// A loop over hyper rather than `axum::serve`, for what axum does not expose: a time limit on
/// request headers (hyper's, which also ends a kept-alive connection that sends no new request),
/// an idle limit on every connection (no byte moved either way: a request body that stopped
/// arriving, an answer nobody reads), and a cap on connections served at once (further ones wait
/// in the listen queue until one ends). Handlers still see `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req)
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        let idle = limits.idle;
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                }
                () = activity.idle_for(idle) => {
                    tracing::debug!(%peer, "closing an idle connection");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// When a connection last moved a byte, in milliseconds since it was accepted.
struct Activity {
    since: tokio::time::Instant,
    last: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            since: tokio::time::Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = self.since + last + limit;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A connection that notes every byte read or written in its `Activity`.
struct Watched {
    inner: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl tokio::io::AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
