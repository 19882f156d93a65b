//! The `aqm` command: `serve` (the default) and `migrate`.

use anyhow::Context;
use aqm::app::{self, AppState};
use aqm::config::Config;
use aqm::{db, framework};
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::sync::Arc;

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
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(cli.config).await,
            Command::Migrate => migrate(cli.config).await,
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

async fn serve(config: Config) -> anyhow::Result<()> {
    // Criteria first: a broken file stops us before anything is started.
    let catalogue = framework::load_dir(&config.criteria_dir)?;
    let database = db::open(&config).await?;
    let result = serve_with(config, catalogue, &database.pool).await;
    close(database).await;
    result
}

async fn serve_with(
    config: Config,
    catalogue: framework::Catalogue,
    pool: &sqlx::PgPool,
) -> anyhow::Result<()> {
    db::migrate(pool).await?;
    db::frameworks::record(pool, &catalogue, &config.criteria_dir).await?;
    let db = db::Db::new(pool.clone());
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let base_url = config.base_url();
    let where_db = match &config.database_url {
        Some(_) => "the PostgreSQL server of DATABASE_URL".to_string(),
        None => format!(
            "its own PostgreSQL in {}",
            config.data_dir.join("postgres").display()
        ),
    };
    for fw in catalogue.all() {
        println!(
            "criteria: {} {} ({} themes, {} statements) from {}",
            fw.short_name,
            fw.version,
            fw.themes.len(),
            fw.statement_count(),
            fw.path.display()
        );
    }
    println!("aqm is serving {base_url} using {where_db}; press Ctrl-C to stop");
    let state = AppState {
        db: db.clone(),
        catalogue: Arc::new(catalogue),
        config: Arc::new(config),
    };
    let served = app::serve(listener, app::build(state), app::shutdown_signal())
        .await
        .context("the web server failed");
    db.close().await;
    served
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let database = db::open(&config).await?;
    let result = db::migrate(&database.pool).await;
    close(database).await;
    result?;
    println!("migrations applied");
    Ok(())
}

/// Closes the pool, then stops the embedded cluster (if any) so no PostgreSQL is left running.
async fn close(database: db::Database) {
    database.pool.close().await;
    if let Some(pg) = database.embedded {
        let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
        println!("embedded PostgreSQL stopped");
    }
}
