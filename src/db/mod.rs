//! The database: the connection pool, migrations, the embedded default cluster, and the record of
//! loaded framework versions.

pub mod embedded;
pub mod frameworks;

pub use embedded::ManagedPostgres;

use crate::config::Config;
use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
use std::time::Duration;
use uuid::Uuid;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The embedded cluster's application database.
pub const EMBEDDED_DATABASE: &str = "aqm";

/// The database the server talks to, and the embedded cluster behind it when there is one (to be
/// stopped after the server has finished).
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<ManagedPostgres>,
}

/// The row-level-security role web requests run as (see the accounts migration).
pub const APP_ROLE: &str = "aqm_app";

/// The two ways into the database.
///
/// - `tenant_tx`: a transaction as `aqm_app` with the tenant set, so row-level security shows only
///   that tenant's rows. Every request of a signed-in person goes through it.
/// - `system`: the login role, which row-level security does not restrict. Only for what comes
///   before a tenant is known or spans tenants: sign-in, sessions, one-time links, the outbox
///   worker, the platform operator's tools, the CLI.
#[derive(Clone)]
pub struct Db {
    app: PgPool,
    system: PgPool,
}

impl Db {
    /// Builds both pools over `options`. Call after migrations, which create the app role.
    pub fn new(system: PgPool) -> Db {
        let options = system.connect_options().as_ref().clone();
        let app = PgPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("SET ROLE aqm_app").await?;
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Db { app, system }
    }

    /// A transaction in which only `tenant`'s rows are visible.
    pub async fn tenant_tx(
        &self,
        tenant: Uuid,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.app.begin().await?;
        // set_config(..., true) lasts until the transaction ends, so the pooled connection goes
        // back without a tenant.
        sqlx::query("SELECT set_config('aqm.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// The unrestricted pool; see the type's comment for the few places allowed to use it.
    pub fn system(&self) -> &PgPool {
        &self.system
    }

    /// The pool of the row-level-security role, for checks that need no tenant (health).
    pub fn app_pool(&self) -> &PgPool {
        &self.app
    }

    pub async fn close(&self) {
        self.app.close().await;
        self.system.close().await;
    }
}

/// Connects to `DATABASE_URL`, or starts the embedded cluster in the data folder when it is unset.
pub async fn open(config: &Config) -> anyhow::Result<Database> {
    match &config.database_url {
        Some(url) => {
            let options: PgConnectOptions = url
                .expose()
                .parse()
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            let pool = pool(options).await?;
            Ok(Database {
                pool,
                embedded: None,
            })
        }
        None => {
            let root = config.data_dir.clone();
            let pg = tokio::task::spawn_blocking(move || ManagedPostgres::start(&root))
                .await
                .context("the embedded PostgreSQL start-up panicked")??;
            ensure_database(&pg, EMBEDDED_DATABASE).await?;
            let pool = pool(pg.connect_options(EMBEDDED_DATABASE)).await?;
            Ok(Database {
                pool,
                embedded: Some(pg),
            })
        }
    }
}

/// Creates `name` in the cluster unless it exists.
pub async fn ensure_database(pg: &ManagedPostgres, name: &str) -> anyhow::Result<()> {
    let mut admin = pg
        .connect_options("postgres")
        .connect()
        .await
        .context("cannot connect to the embedded PostgreSQL")?;
    create_database_if_missing(&mut admin, name).await?;
    admin.close().await?;
    Ok(())
}

pub async fn create_database_if_missing(
    admin: &mut PgConnection,
    name: &str,
) -> anyhow::Result<()> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut *admin)
            .await?;
    if !exists {
        // Identifiers cannot be bound; the name is ours, checked to be a plain identifier.
        anyhow::ensure!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "invalid database name {name}"
        );
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut *admin)
            .await?;
    }
    Ok(())
}

/// A pool with time limits, so a stuck query or an abandoned transaction cannot hold a connection
/// for ever.
pub async fn pool(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    let options = options.options([
        ("statement_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ]);
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .context("cannot connect to PostgreSQL")
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("database migrations failed")
}
