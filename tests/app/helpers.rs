//! `spawn_app`: the real application on a random port over a fresh, migrated database.

use aqm::app::{self, AppState};
use aqm::config::{Config, Secret};
use aqm::db::{self, Db, ManagedPostgres};
use aqm::framework::{self, Catalogue};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The PostgreSQL server the tests use: DATABASE_URL's when set, else one managed cluster per
/// test run in the temp folder (stopped by the kernel's parent-death signal when the run ends).
enum Server {
    External(Box<PgConnectOptions>),
    Managed(ManagedPostgres),
}

static SERVER: OnceLock<Server> = OnceLock::new();

fn server() -> &'static Server {
    SERVER.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Server::External(Box::new(
            url.parse().expect("DATABASE_URL is a PostgreSQL URL"),
        )),
        _ => {
            remove_stale_clusters();
            let root = std::env::temp_dir().join(format!("aqm-test-pg-{}", std::process::id()));
            Server::Managed(ManagedPostgres::start(&root).expect("the test PostgreSQL starts"))
        }
    })
}

/// Clusters of earlier test runs whose process is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name
            .strip_prefix("aqm-test-pg-")
            .and_then(|p| p.parse::<i32>().ok())
        {
            // SAFETY: signal 0 only checks whether the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

pub fn options(database: &str) -> PgConnectOptions {
    match server() {
        Server::External(o) => (**o).clone().database(database),
        Server::Managed(pg) => pg.connect_options(database),
    }
}

/// A URL for `DATABASE_URL` of a child `aqm` process.
pub fn url(database: &str) -> String {
    match server() {
        Server::External(_) => {
            let base = std::env::var("DATABASE_URL").unwrap();
            let mut url = options(database).to_url_lossy();
            // to_url_lossy drops the password; keep the one the caller configured.
            if base.contains('@') {
                url = base
                    .rsplit_once('/')
                    .map(|(prefix, _)| format!("{prefix}/{database}"))
                    .unwrap_or(url.to_string())
                    .parse()
                    .unwrap();
            }
            url.to_string()
        }
        Server::Managed(pg) => pg.url(database),
    }
}

/// Creates an empty database with a unique name; returns its name.
pub async fn fresh_database() -> String {
    let name = format!("aqm_test_{}", uuid::Uuid::new_v4().simple());
    let admin_db = match server() {
        Server::External(o) => o.get_database().unwrap_or("postgres").to_string(),
        Server::Managed(_) => "postgres".to_string(),
    };
    let mut admin = options(&admin_db)
        .connect()
        .await
        .expect("admin connection");
    db::create_database_if_missing(&mut admin, &name)
        .await
        .expect("create the test database");
    name
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn criteria_dir() -> PathBuf {
    manifest_dir().join("criteria")
}

/// A fresh temp folder for one test.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aqm-{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn test_config(criteria: &Path) -> Config {
    Config {
        database_url: Some(Secret::new("(test)")),
        bind: "127.0.0.1:0".parse().unwrap(),
        base_url: None,
        data_dir: temp_dir("data"),
        criteria_dir: criteria.to_path_buf(),
        static_dir: manifest_dir().join("static"),
        smtp_url: None,
        mail_from: "Attendance Quality Mark <no-reply@aqm.invalid>".into(),
        demo_password: Secret::new("demo-attendance-2026"),
    }
}

pub struct TestApp {
    pub address: String,
    /// The unrestricted pool, for a test's own checks.
    pub pool: PgPool,
    pub db: Db,
    pub client: reqwest::Client,
    pub catalogue: Arc<Catalogue>,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }
}

/// Starts the real application, as `aqm serve` would, on 127.0.0.1 with a random port.
pub async fn spawn_app() -> TestApp {
    let database = fresh_database().await;
    let pool = db::pool(options(&database)).await.expect("pool");
    db::migrate(&pool).await.expect("migrations");
    let catalogue = framework::load_dir(&criteria_dir()).expect("criteria");
    db::frameworks::record(&pool, &catalogue, &criteria_dir())
        .await
        .expect("record frameworks");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mut config = test_config(&criteria_dir());
    config.base_url = Some(address.clone());
    let catalogue = Arc::new(catalogue);
    let db = Db::new(pool.clone());
    let state = AppState {
        db: db.clone(),
        catalogue: catalogue.clone(),
        config: Arc::new(config),
    };
    tokio::spawn(app::serve(
        listener,
        app::build(state),
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        pool,
        db,
        client,
        catalogue,
    }
}

/// Text as askama's HTML escaping writes it.
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
