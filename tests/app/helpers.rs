//! `spawn_app`: the real application on a random port over a fresh, migrated database.

use aqm::config::{Config, Secret};
use aqm::db::{self, Db, ManagedPostgres};
use aqm::framework::Catalogue;
use aqm::startup;
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
            let root = run_root().join("pg");
            Server::Managed(ManagedPostgres::start(&root).expect("the test PostgreSQL starts"))
        }
    })
}

/// One folder per test run for everything the tests write (the managed cluster, data folders,
/// criteria copies); folders of earlier runs whose process is gone are removed on the way in.
fn run_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if let Some(pid) = name
                    .strip_prefix("aqm-test-")
                    .and_then(|p| p.parse::<i32>().ok())
                {
                    // SAFETY: signal 0 only checks whether the process exists.
                    if unsafe { libc::kill(pid, 0) } != 0 {
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let root = std::env::temp_dir().join(format!("aqm-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        root
    })
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
    let dir = run_root().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
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
        upload_limit_mb: 25,
        smtp_url: None,
        mail_from: "Attendance Quality Mark <no-reply@aqm.invalid>".into(),
        mail_attempts: 8,
        mail_first_retry_secs: 30.0,
        mail_longest_retry_secs: 3600.0,
        demo_password: Secret::new("demo-attendance-2026"),
        evidence_url: None,
        evidence_options: Vec::new(),
        bench_unthrottled_sign_in: false,
    }
}

pub struct TestApp {
    pub address: String,
    /// The unrestricted pool, for a test's own checks.
    pub pool: PgPool,
    pub db: Db,
    pub client: reqwest::Client,
    pub catalogue: Arc<Catalogue>,
    /// The test's data folder (evidence files live in its `evidence` folder).
    pub data_dir: PathBuf,
    pub store: aqm::store::Store,
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
    spawn_app_with(|_| {}).await
}

/// `spawn_app` with settings changed by `configure` (a smaller upload limit, say). The same
/// start-up as `aqm serve`, over a fresh database.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_serving(configure, aqm::app::ServeLimits::default()).await
}

/// `spawn_app_with`, serving with `limits` (shorter time limits, a smaller connection cap).
pub async fn spawn_app_serving(
    configure: impl FnOnce(&mut Config),
    limits: aqm::app::ServeLimits,
) -> TestApp {
    let database = fresh_database().await;
    let pool = db::pool(options(&database)).await.expect("pool");
    spawn_app_on(pool, configure, limits).await
}

/// The application over `pool`, a database of a server the test chose (its own cluster, say).
pub async fn spawn_app_on(
    pool: PgPool,
    configure: impl FnOnce(&mut Config),
    limits: aqm::app::ServeLimits,
) -> TestApp {
    let mut config = test_config(&criteria_dir());
    configure(&mut config);
    let catalogue = startup::load_criteria(&config).expect("criteria");
    let mut built = startup::build(config, catalogue, pool.clone())
        .await
        .expect("the application starts");
    built.limits = limits;
    let state = built.state.clone();
    let address = format!("http://{}", built.address);
    // Mail goes to .eml files in the test's data folder, as it does without SMTP settings.
    tokio::spawn(built.run(std::future::pending()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        pool,
        db: state.db.clone(),
        client,
        catalogue: state.catalogue.clone(),
        data_dir: state.config.data_dir.clone(),
        store: state.store.clone(),
    }
}

/// A second process of the same service: its own listener, workers and data folder, on the
/// database of `first`, as a second server behind a load balancer would be.
pub async fn spawn_second(first: &TestApp) -> TestApp {
    let config = test_config(&criteria_dir());
    let catalogue = startup::load_criteria(&config).expect("criteria");
    let built = startup::build(config, catalogue, first.pool.clone())
        .await
        .expect("the second process starts");
    let state = built.state.clone();
    let address = format!("http://{}", built.address);
    tokio::spawn(built.run(std::future::pending()));
    TestApp {
        address,
        pool: first.pool.clone(),
        db: state.db.clone(),
        client: first.client.clone(),
        catalogue: state.catalogue.clone(),
        data_dir: state.config.data_dir.clone(),
        store: state.store.clone(),
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

/// What a visitor's browser would keep: cookies, and the CSRF token of the last page.
pub struct Visitor {
    address: String,
    client: reqwest::Client,
    pub cookies: std::collections::HashMap<String, String>,
    csrf: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first hidden CSRF field on the page.
    fn csrf_token(&self) -> Option<String> {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }
}

pub struct TestUser {
    pub id: uuid::Uuid,
    pub email: String,
    pub password: String,
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    pub fn visitor(&self) -> Visitor {
        Visitor {
            address: self.address.clone(),
            client: self.client.clone(),
            cookies: Default::default(),
            csrf: None,
        }
    }

    pub async fn add_tenant(&self, slug: &str) -> uuid::Uuid {
        let id = uuid::Uuid::new_v4();
        sqlx::query("INSERT INTO tenant (id, slug, name, nation) VALUES ($1, $2, $3, 'england')")
            .bind(id)
            .bind(slug)
            .bind(format!("{slug} City Council"))
            .execute(&self.pool)
            .await
            .unwrap();
        id
    }

    pub async fn add_school(&self, tenant: uuid::Uuid, urn: i32, name: &str) -> uuid::Uuid {
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            "INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status)
             VALUES ($1, $2, $3, $4, 'primary', '341', 'open')",
        )
        .bind(id)
        .bind(tenant)
        .bind(urn)
        .bind(name)
        .execute(&self.pool)
        .await
        .unwrap();
        id
    }

    /// An account with `PASSWORD`, ready to sign in.
    pub async fn add_user(
        &self,
        tenant: Option<uuid::Uuid>,
        role: aqm::auth::Role,
        school: Option<uuid::Uuid>,
        email: &str,
    ) -> TestUser {
        let id = uuid::Uuid::new_v4();
        let hash = aqm::auth::password::hash(PASSWORD).await.unwrap();
        sqlx::query(
            "INSERT INTO app_user (id, tenant_id, email, name, role, school_id, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(tenant)
        .bind(email)
        .bind(format!("Person {email}"))
        .bind(role.as_str())
        .bind(school)
        .bind(hash)
        .execute(&self.pool)
        .await
        .unwrap();
        TestUser {
            id,
            email: email.to_string(),
            password: PASSWORD.to_string(),
        }
    }

    /// A visitor signed in as an officer of another authority ("sefton"), made for the purpose.
    pub async fn stranger_officer(&self) -> Visitor {
        let other = self.add_tenant("sefton").await;
        let stranger = self
            .add_user(
                Some(other),
                aqm::auth::Role::LaOfficer,
                None,
                "officer@sefton.example.org",
            )
            .await;
        self.signed_in(&stranger).await
    }

    /// A visitor signed in as `user`.
    pub async fn signed_in(&self, user: &TestUser) -> Visitor {
        let mut v = self.visitor();
        let page = v.sign_in(&user.email, &user.password).await;
        assert_eq!(
            page.status, 303,
            "sign-in of {} failed: {}",
            user.email, page.body
        );
        v
    }
}

impl Visitor {
    /// A visitor of an `aqm` server at `address` that this test did not start in-process (a
    /// child `aqm` process).
    pub fn of(address: &str) -> Visitor {
        Visitor {
            address: address.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Default::default(),
            csrf: None,
        }
    }

    /// The server's address, "http://127.0.0.1:<port>".
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The CSRF token of the last page, as a form of ours would send it.
    pub fn csrf(&self) -> String {
        self.csrf.clone().unwrap_or_default()
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, resp: reqwest::Response) -> Page {
        for value in resp.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), val.to_string());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let body = resp.text().await.unwrap();
        let page = Page {
            status,
            location,
            body,
        };
        if let Some(t) = page.csrf_token() {
            self.csrf = Some(t);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Posts a form as the browser would from our page: with the CSRF token of the last page
    /// (fetching `/` first when no page has given one yet).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        if self.csrf.is_none() {
            self.get("/sign-in").await;
        }
        let token = self.csrf.clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    /// Posts exactly `fields`, with no CSRF token added.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Posts `body`, already form-encoded (it may hold what a form of ours would never send,
    /// such as bytes that are not UTF-8).
    pub async fn post_encoded(&mut self, path: &str, body: String) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }

    /// Posts a form as a page's script does, asking for JSON: the status and the reply.
    pub async fn post_json(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, serde_json::Value) {
        if self.csrf.is_none() {
            self.get("/sign-in").await;
        }
        let token = self.csrf.clone().unwrap_or_default();
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        let resp = self
            .client
            .post(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .header("accept", "application/json")
            .header("x-csrf-token", &token)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let reply = resp.json().await.unwrap_or(serde_json::Value::Null);
        (status, reply)
    }

    /// A download: the raw response, with this visitor's cookies.
    pub async fn download(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.get("/sign-in").await;
        let page = self
            .post("/sign-in", &[("email", email), ("password", password)])
            .await;
        if page.status == 303 {
            // The session has a CSRF token of its own: pick it up from a page.
            self.csrf = None;
            self.get("/home").await;
        }
        page
    }
}

impl Visitor {
    /// Uploads `bytes` as the form field `field` (multipart), with the CSRF token as the form's
    /// first part, as our upload forms send it.
    pub async fn upload(
        &mut self,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: Vec<u8>,
        extra: &[(&str, &str)],
    ) -> Page {
        let token = self.csrf.clone().unwrap_or_default();
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", token)
            .part(
                field.to_string(),
                reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
            );
        for (k, v) in extra {
            form = form.text(k.to_string(), v.to_string());
        }
        self.post_multipart(path, form).await
    }

    /// Posts `form` as multipart/form-data, as a page's upload form would (the caller adds the
    /// CSRF field).
    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.address))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.read(resp).await
    }
}
