//! The record of loaded framework versions. A version's file must never change once recorded:
//! assessments pin a version, and a silent rewrite would change what schools were judged against.

use crate::framework::Catalogue;
use sqlx::PgPool;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(
        "{file}: framework {key} {version} was recorded with different content; a published version must not change: put the change in a new file (a new version)"
    )]
    Changed {
        file: String,
        key: String,
        version: String,
    },
    #[error(
        "{criteria_dir}: framework {key} {version} was recorded before but its file is missing; a published version must stay available"
    )]
    Missing {
        criteria_dir: String,
        key: String,
        version: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Records every loaded version (first time) and checks that recorded versions are unchanged.
pub async fn record(
    pool: &PgPool,
    catalogue: &Catalogue,
    criteria_dir: &Path,
) -> Result<(), RecordError> {
    for fw in catalogue.all() {
        sqlx::query(
            "INSERT INTO framework_version (framework_key, version, name, content_hash)
             VALUES ($1, $2, $3, $4) ON CONFLICT (framework_key, version) DO NOTHING",
        )
        .bind(&fw.key)
        .bind(&fw.version)
        .bind(&fw.name)
        .bind(&fw.content_hash)
        .execute(pool)
        .await?;
    }
    let recorded: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT framework_key, version, content_hash FROM framework_version ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    for (key, version, hash) in recorded {
        match catalogue.get(&key, &version) {
            Some(fw) if fw.content_hash == hash => {}
            Some(fw) => {
                return Err(RecordError::Changed {
                    file: fw.path.display().to_string(),
                    key,
                    version,
                });
            }
            None => {
                return Err(RecordError::Missing {
                    criteria_dir: criteria_dir.display().to_string(),
                    key,
                    version,
                });
            }
        }
    }
    Ok(())
}
