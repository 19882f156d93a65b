//! The `aqm` command: `serve` (the default), `migrate`, and the operator's set-up commands.

use anyhow::Context;
use aqm::admin::{cli, demo};
use aqm::app;
use aqm::config::Config;
use aqm::{db, startup};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "aqm", version, about = "Attendance Quality Mark platform")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Local authorities (tenants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// User accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Schools.
    #[command(subcommand)]
    School(SchoolCommand),
    /// Create the demo authority with a dozen schools and one account per role.
    Demo,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Add a local authority.
    Add {
        /// Short name used in commands, e.g. liverpool.
        #[arg(long)]
        slug: String,
        /// Full name, e.g. "Liverpool City Council".
        #[arg(long)]
        name: String,
        /// Decides the bank-holiday calendar.
        #[arg(long, value_parser = ["england", "wales"])]
        nation: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person. Without --password, prints a link where they set one (valid 7 days).
    Add {
        /// The authority's short name (not for platform operators).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["attendance_lead", "head_teacher", "assessor", "la_officer", "tenant_admin", "platform_operator"])]
        role: String,
        /// URN of the school, for Attendance Leads and head teachers.
        #[arg(long)]
        school: Option<i32>,
        /// Their password (12 characters or more). Visible to others on this machine while the
        /// command runs: prefer the printed link.
        #[arg(long)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum SchoolCommand {
    /// Import schools from a "Get information about schools" CSV extract.
    Import {
        /// The authority's short name.
        #[arg(long)]
        tenant: String,
        /// The CSV file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aqm: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = cli.config;
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => with_database(&config, |_| async { Ok(()) })
                .await
                .map(|()| println!("migrations applied")),
            Command::Demo => {
                let c = config.clone();
                with_database(&config, |pool| async move {
                    if demo::seed(&pool, c.demo_password.expose()).await? {
                        print!(
                            "{}",
                            demo::sign_ins(
                                &c.base_url(),
                                c.demo_password.expose(),
                                demo_password_from_env()
                            )
                        );
                    } else {
                        println!("the demo authority exists already");
                    }
                    Ok(())
                })
                .await
            }
            Command::Tenant(TenantCommand::Add { slug, name, nation }) => {
                with_database(&config, |pool| async move {
                    cli::add_tenant(&pool, &slug, &name, &nation).await?;
                    println!("added authority {slug}: {name}");
                    Ok(())
                })
                .await
            }
            Command::User(UserCommand::Add {
                tenant,
                email,
                name,
                role,
                school,
                password,
            }) => {
                let base_url = config.base_url();
                with_database(&config, |pool| async move {
                    let added = cli::add_user(
                        &pool,
                        &base_url,
                        cli::NewUser {
                            tenant: tenant.as_deref(),
                            email: &email,
                            name: &name,
                            role: &role,
                            school_urn: school,
                            password: password.as_deref(),
                        },
                    )
                    .await?;
                    match added {
                        cli::Added::WithPassword => println!("added {email}; they can sign in now"),
                        cli::Added::Link(link) => println!(
                            "added {email}; they set their password at (valid 7 days):\n{link}"
                        ),
                    }
                    Ok(())
                })
                .await
            }
            Command::School(SchoolCommand::Import { tenant, file }) => {
                with_database(&config, |pool| async move {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let summary = cli::import_schools(&pool, &tenant, &bytes)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    println!("{summary}");
                    Ok(())
                })
                .await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line an operator can act on: the whole cause chain, joined.
            eprintln!("aqm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo_password_from_env() -> bool {
    std::env::var_os("AQM_DEMO_PASSWORD").is_some()
}

/// Runs `work` against the migrated database, then closes it (stopping the embedded cluster if
/// this command started it).
async fn with_database<F, Fut>(config: &Config, work: F) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let database = db::open_for_command(config).await?;
    let result = match db::migrate(&database.pool).await {
        Ok(()) => work(database.pool.clone()).await,
        Err(e) => Err(e),
    };
    close(database).await;
    result
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Criteria first: a broken file stops us before anything is started.
    let catalogue = startup::load_criteria(&config)?;
    let database = db::open(&config).await?;
    let result = serve_with(config, catalogue, &database.pool).await;
    close(database).await;
    result
}

async fn serve_with(
    config: Config,
    catalogue: aqm::framework::Catalogue,
    pool: &sqlx::PgPool,
) -> anyhow::Result<()> {
    let embedded = config.database_url.is_none();
    let demo_password = config.demo_password.clone();
    let where_db = match &config.database_url {
        Some(_) => "the PostgreSQL server of DATABASE_URL".to_string(),
        None => format!(
            "its own PostgreSQL in {}",
            config.data_dir.join("postgres").display()
        ),
    };
    let app = startup::build(config, catalogue, pool.clone()).await?;
    let base_url = app.state.config.base_url();
    // A new embedded installation gets the demo authority, so there is something to sign in to.
    if embedded && demo::is_empty(pool).await? && demo::seed(pool, demo_password.expose()).await? {
        print!(
            "{}",
            demo::sign_ins(&base_url, demo_password.expose(), demo_password_from_env())
        );
    }
    for fw in app.state.catalogue.all() {
        println!(
            "criteria: {} {} ({} themes, {} statements) from {}",
            fw.short_name,
            fw.version,
            fw.themes.len(),
            fw.statement_count(),
            fw.path.display()
        );
    }
    println!("mail: {}", app.mailer.description());
    println!("aqm is serving {base_url} using {where_db}; press Ctrl-C to stop");
    println!("files: {}", app.state.store.description());
    app.run(app::shutdown_signal()).await
}

/// Closes the pool, then stops the embedded cluster (if any) so no PostgreSQL is left running.
async fn close(database: db::Database) {
    database.pool.close().await;
    if let Some(pg) = database.embedded {
        let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
        println!("embedded PostgreSQL stopped");
    }
}
