//! The one start-up, used by `aqm serve` and by the tests alike: load the criteria (a broken file
//! stops everything before anything is started), migrate, record the framework versions, start
//! the mail worker, bind the listener and build the route table. What differs between production
//! and a test is only the `Config` and the database handed in.

use crate::app;
use crate::config::Config;
use crate::db::{self, Db};
use crate::framework::{self, Catalogue};
use crate::mail::{self, MailWorker};
use crate::review::reminders::{self, ReminderWorker};
use crate::state::AppState;
use crate::store::Store;
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// How often each process looks for deadline reminders that fall due.
const REMINDER_EVERY: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// A built application, listening but not yet serving.
pub struct Application {
    pub state: AppState,
    pub listener: TcpListener,
    pub address: SocketAddr,
    pub mailer: MailWorker,
    /// Sends the deadline reminders that fall due.
    pub reminders: ReminderWorker,
    /// Time limits and the connection cap of serving; the defaults unless a test changes them.
    pub limits: app::ServeLimits,
}

/// Loads the criteria of `config` (before any database work, so a broken file is the first thing
/// an operator hears about).
pub fn load_criteria(config: &Config) -> anyhow::Result<Catalogue> {
    Ok(framework::load_dir(&config.criteria_dir)?)
}

/// Builds the application over `pool`: migrates it, records the frameworks, starts the mail
/// worker and binds `config.bind` (port 0 picks a free one). `config.base_url` is set to the
/// bound address when it was not given.
pub async fn build(
    mut config: Config,
    catalogue: Catalogue,
    pool: sqlx::PgPool,
) -> anyhow::Result<Application> {
    // The benchmark's switch must never reach a server that others can reach.
    if config.bench_unthrottled_sign_in && !config.bind.ip().is_loopback() {
        anyhow::bail!(
            "AQM_BENCH_UNTHROTTLED_SIGN_IN is for the load benchmark on a loopback address only"
        );
    }
    db::migrate(&pool).await?;
    db::frameworks::record(&pool, &catalogue, &config.criteria_dir).await?;
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let address = listener.local_addr()?;
    if config.base_url.is_none() && config.bind.port() == 0 {
        config.base_url = Some(format!("http://{address}"));
    }
    let db = Db::new(pool);
    // The workers run as the system role, not as the tables' owner.
    let mailer = mail::start(db.system().clone(), &config).await?;
    let reminders = reminders::start(db.system().clone(), config.base_url(), REMINDER_EVERY);
    let store = Store::from_settings(
        &config.data_dir,
        config.evidence_url.as_deref(),
        &config.evidence_options,
    )?;
    let state = AppState {
        db,
        catalogue: Arc::new(catalogue),
        store,
        config: Arc::new(config),
        exports: Arc::new(tokio::sync::Semaphore::new(
            crate::handbook::export::EXPORTS_AT_ONCE,
        )),
    };
    Ok(Application {
        state,
        listener,
        address,
        mailer,
        reminders,
        limits: app::ServeLimits::default(),
    })
}

impl Application {
    /// Serves until `shutdown` completes, then finishes the requests in flight and stops the mail
    /// worker (the message in hand is finished; the rest wait in the outbox for the next start).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let served = app::serve(self.listener, app::build(self.state), self.limits, shutdown)
            .await
            .context("the web server failed");
        self.reminders.stop().await;
        self.mailer.stop().await;
        db.close().await;
        served
    }
}
