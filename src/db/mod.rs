//! The database: the connection pool, migrations, the embedded default cluster, and the record of
//! loaded framework versions.

pub mod embedded;
pub mod frameworks;

pub use embedded::{Caller, ManagedPostgres, SharedCluster};

use crate::config::Config;
use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool, Postgres, Transaction};
use std::time::Duration;
use uuid::Uuid;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The embedded cluster's application database.
pub const EMBEDDED_DATABASE: &str = "aqm";

/// The database the server talks to, and the embedded cluster behind it when there is one.
pub struct Database {
    pub pool: PgPool,
    /// The embedded cluster this process started: to be stopped after the pool is closed.
    pub embedded: Option<ManagedPostgres>,
    /// The embedded cluster another aqm process started: left running; dropping this tells that
    /// process we are done with it.
    pub shared: Option<SharedCluster>,
}

/// The row-level-security role web requests run as (see the accounts migration).
pub const APP_ROLE: &str = "aqm_app";
/// The role of the web process's work outside a tenant (see the security migration).
pub const SYSTEM_ROLE: &str = "aqm_system";

/// What an owner's session says to pass the tables' forced row-level security.
const MAINTENANCE_ON: &str = "SET aqm.maintenance = 'on'";

/// The two ways into the database.
///
/// - `tenant_tx`: a transaction as `aqm_app` with the tenant set, so row-level security shows only
///   that tenant's rows. Every request of a signed-in person goes through it.
/// - `system`: the role `aqm_system`, which row-level security does not restrict but which owns
///   nothing, is no superuser, and may only add to the audit log. Only for what comes before a
///   tenant is known or spans tenants: sign-in, sessions, one-time links, the outbox worker, the
///   platform operator's pages.
///
/// Neither is the login role, which owns the tables: that one runs the migrations at start, and
/// the command line (`aqm tenant add` and the like) and the demo data use it.
#[derive(Clone)]
pub struct Db {
    app: PgPool,
    system: PgPool,
}

/// A pool over the login's connection settings that takes `role` on every new connection.
fn role_pool(options: PgConnectOptions, role: &'static str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // The role names are ours, plain identifiers.
                conn.execute(format!("SET ROLE {role}").as_str()).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

impl Db {
    /// Builds both pools over the connection settings of `owner` (the login role's pool). Call
    /// after migrations, which create the roles.
    pub fn new(owner: PgPool) -> Db {
        let options = owner.connect_options().as_ref().clone();
        Db {
            app: role_pool(options.clone(), APP_ROLE),
            system: role_pool(options, SYSTEM_ROLE),
        }
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

    /// The pool of work outside a tenant; see the type's comment for the few places allowed to use
    /// it.
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

/// For the server: connects to `DATABASE_URL`, or, when it is unset, to the embedded cluster of the
/// data folder, starting it unless it runs already (see [`embedded::attach`] for how the server
/// and commands share it).
pub async fn open(config: &Config) -> anyhow::Result<Database> {
    open_as(config, Caller::Server).await
}

/// `open` for a short command (`aqm tenant add`, ...): uses the embedded cluster of a running
/// server, or starts one of its own for as long as the command runs.
pub async fn open_for_command(config: &Config) -> anyhow::Result<Database> {
    open_as(config, Caller::Command).await
}

async fn open_as(config: &Config, caller: Caller) -> anyhow::Result<Database> {
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
                shared: None,
            })
        }
        None => {
            let root = config.data_dir.clone();
            let attached = tokio::task::spawn_blocking(move || embedded::attach(&root, caller))
                .await
                .context("the embedded PostgreSQL start-up panicked")??;
            let connected = async {
                ensure_database(attached.connect_options("postgres"), EMBEDDED_DATABASE).await?;
                pool(attached.connect_options(EMBEDDED_DATABASE)).await
            }
            .await;
            let pool = match connected {
                Ok(pool) => pool,
                Err(e) => {
                    // Stopped now, and under the lock, rather than when the process exits.
                    if let embedded::Attached::Started(pg) = attached {
                        let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
                    }
                    return Err(e);
                }
            };
            let (embedded, shared) = match attached {
                embedded::Attached::Started(pg) => (Some(pg), None),
                embedded::Attached::Shared(cluster) => {
                    tracing::debug!(
                        pid = cluster.pid(),
                        "using the embedded PostgreSQL already running at {}",
                        cluster.socket_dir().display()
                    );
                    (None, Some(cluster))
                }
            };
            Ok(Database {
                pool,
                embedded,
                shared,
            })
        }
    }
}

/// Creates `name` in the cluster reached by `admin` (options for its `postgres` database) unless
/// it exists.
pub async fn ensure_database(admin: PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let mut admin = admin
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
    if database_exists(admin, name).await? {
        return Ok(());
    }
    // Identifiers cannot be bound; the name is ours, checked to be a plain identifier.
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "invalid database name {name}"
    );
    let created = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut *admin)
        .await;
    // Another aqm process sharing the cluster may have created it at the same moment.
    match created {
        Ok(_) => Ok(()),
        Err(_) if database_exists(admin, name).await? => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn database_exists(admin: &mut PgConnection, name: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut *admin)
            .await?,
    )
}

/// The login role's pool (the tables' owner: migrations, the command line, the demo data), with
/// time limits, so a stuck query or an abandoned transaction cannot hold a connection for ever.
///
/// Its connections say they do maintenance: row-level security is forced on the tenant tables, and
/// the owner's policy lets only such sessions through (see the force_rls migration). The pools of
/// [`Db`] copy the connection settings, not this, so requests never carry it.
pub async fn pool(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    let options = options.options([
        ("statement_timeout", "30s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ]);
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(MAINTENANCE_ON).await?;
                Ok(())
            })
        })
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
