//! The database: the connection pool, migrations, the embedded default cluster, and the record of
//! loaded framework versions.

pub mod embedded;
pub mod frameworks;

pub use embedded::ManagedPostgres;

use crate::config::Config;
use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The embedded cluster's application database.
pub const EMBEDDED_DATABASE: &str = "aqm";

/// The database the server talks to, and the embedded cluster behind it when there is one (to be
/// stopped after the server has finished).
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<ManagedPostgres>,
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
