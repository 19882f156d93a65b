//! What every request can reach: the database, the loaded criteria frameworks, the settings and the
//! file store. It sits below every workflow, so a workflow imports it without importing the route
//! table that imports the workflow.

use crate::config::Config;
use crate::db::Db;
use crate::framework::Catalogue;
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub catalogue: Arc<Catalogue>,
    pub config: Arc<Config>,
    /// Where evidence files are kept.
    pub store: Store,
    /// Turns for streaming handbook ZIPs (see `handbook::export::EXPORTS_AT_ONCE`).
    pub exports: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Whether the service is reached over https, so cookies are marked Secure.
    pub fn secure(&self) -> bool {
        self.config.base_url().starts_with("https://")
    }
}
