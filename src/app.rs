//! The application: shared state, the one route table (read it top to bottom), the middleware
//! every request passes, and serving with graceful shutdown.

use crate::config::Config;
use crate::db::Db;
use crate::evidence::{self, Store};
use crate::framework::Catalogue;
use crate::{admin, auth, error, handbook, home, programme, public};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub catalogue: Arc<Catalogue>,
    pub config: Arc<Config>,
    /// Where evidence files are kept.
    pub store: Store,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Pages may load scripts, styles and images from this origin only; no inline script or style,
/// and no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn build(state: AppState) -> Router {
    let static_files = ServeDir::new(&state.config.static_dir);
    // The upload route reads a little more than the file limit (the form's other fields); the
    // handler itself refuses the file the moment it passes the limit.
    let upload_body_limit = state
        .config
        .upload_limit()
        .saturating_add(evidence::FORM_OVERHEAD);
    let pages = Router::new()
        // Everyone
        .route("/", get(public::get_home))
        .route("/frameworks", get(public::get_frameworks))
        .route("/frameworks/{key}/{version}", get(public::get_framework))
        .route("/accessibility", get(public::get_accessibility))
        // Signing in, and links from emails
        .route(
            "/sign-in",
            get(auth::routes::get_sign_in).post(auth::routes::post_sign_in),
        )
        .route("/sign-out", post(auth::routes::post_sign_out))
        .route(
            "/password-reset",
            get(auth::routes::get_password_reset).post(auth::routes::post_password_reset),
        )
        .route(
            "/set-password/{token}",
            get(auth::routes::get_set_password).post(auth::routes::post_set_password),
        )
        // Signed in: each role's home
        .route("/home", get(home::get_home))
        // The handbook: Attendance Leads and head teachers of the school
        .route("/handbook", get(handbook::get_handbook))
        .route("/assessments/{id}", get(handbook::get_overview))
        .route(
            "/assessments/{id}/themes/{number}",
            get(handbook::get_theme),
        )
        .route(
            "/assessments/{id}/strands/{key}",
            get(handbook::get_strand).post(handbook::post_strand),
        )
        .route("/assessments/{id}/print", get(handbook::export::get_print))
        .route(
            "/assessments/{id}/handbook.pdf",
            get(handbook::export::get_pdf),
        )
        .route(
            "/assessments/{id}/handbook.zip",
            get(handbook::export::get_zip),
        )
        // Evidence library: Attendance Leads and head teachers of the school
        .route("/evidence", get(evidence::get_library))
        .route(
            "/evidence/upload",
            get(evidence::get_upload)
                .post(evidence::post_upload)
                .layer(axum::extract::DefaultBodyLimit::max(upload_body_limit)),
        )
        .route("/evidence/{id}", get(evidence::get_evidence))
        .route("/evidence/{id}/download", get(evidence::get_download))
        .route("/evidence/{id}/links", post(evidence::post_evidence_link))
        .route("/evidence/{id}/delete", post(evidence::post_delete))
        .route(
            "/assessments/{id}/strands/{key}/evidence",
            post(evidence::post_strand_link),
        )
        .route(
            "/assessments/{id}/strands/{key}/evidence/{eid}/unlink",
            post(evidence::post_strand_unlink),
        )
        // The programme: LA officers (and tenant admins)
        .route(
            "/cohorts",
            get(programme::get_cohorts).post(programme::post_cohort),
        )
        .route("/cohorts/{id}", get(programme::get_cohort))
        .route("/cohorts/{id}/enrol", post(programme::post_enrol))
        // People: tenant admins, LA officers, head teachers (their school's leads)
        .route("/people", get(admin::people::get_people))
        .route(
            "/people/invite",
            get(admin::people::get_invite).post(admin::people::post_invite),
        )
        .route("/people/{id}", get(admin::people::get_person))
        .route(
            "/people/{id}/deactivate",
            post(admin::people::post_deactivate),
        )
        .route("/people/{id}/role", post(admin::people::post_role))
        // Schools and the audit log: tenant admins and LA officers
        .route("/schools", get(admin::schools::get_schools))
        .route(
            "/schools/import",
            get(admin::schools::get_import)
                .post(admin::schools::post_import)
                .layer(axum::extract::DefaultBodyLimit::max(
                    admin::schools::IMPORT_LIMIT,
                )),
        )
        .route("/schools/{id}", get(admin::schools::get_school))
        .route("/audit", get(admin::audit_log::get_audit))
        .route("/audit.csv", get(admin::audit_log::get_audit_csv))
        .route("/audit/revisions/{id}", get(admin::audit_log::get_revision))
        // Platform operator
        .route(
            "/operator/tenants",
            get(admin::tenants::get_tenants).post(admin::tenants::post_tenant),
        )
        .route("/operator/mail", get(admin::mail_page::get_mail))
        .layer(axum::middleware::from_fn_with_state(
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

    routes.layer(
        ServiceBuilder::new()
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
            .layer(axum::middleware::from_fn(time_limit))
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

/// How long a request may take before it is answered 408.
const REQUEST_TIME: Duration = Duration::from_secs(30);
/// Evidence uploads read the file inside the handler: 25 MB over a slow school connection takes
/// minutes, not seconds. Only signed-in school staff get as far as reading the body.
const UPLOAD_TIME: Duration = Duration::from_secs(10 * 60);

async fn time_limit(req: Request<Body>, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit =
        if req.method() == axum::http::Method::POST && req.uri().path() == "/evidence/upload" {
            UPLOAD_TIME
        } else {
            REQUEST_TIME
        };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Liveness and readiness in one: answers 200 only when the database answers.
async fn get_healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let check = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(state.db.app_pool());
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Ok(1)) => (StatusCode::OK, "ok\n"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n"),
    }
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
