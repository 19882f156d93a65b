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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The hashes in a migration's text, in order.
    fn hashes(sql: &str) -> Vec<&str> {
        sql.split('\'')
            .skip(1)
            .step_by(2)
            .filter(|s| s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()))
            .collect()
    }

    /// The one accepted edit of laqm v1 replaces exactly the old file's hash with the shipped
    /// file's: were the file edited again, this fails (and start-up would refuse the file for
    /// every database that recorded it).
    #[test]
    fn the_laqm_v1_hash_migration_names_the_shipped_file() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let sql = std::fs::read_to_string(
            root.join("migrations/20261202150001_laqm_v1_rule_moved_out.sql"),
        )
        .unwrap();
        let fw = crate::framework::load_dir(&root.join("criteria"))
            .unwrap()
            .get("laqm", "v1")
            .unwrap();
        assert_eq!(
            hashes(&sql),
            vec![
                fw.content_hash.as_str(),
                "0742e551b75e07abb9a900c02b59f5e499c3fad5cd05848c6882a7aaf71970f5"
            ]
        );
    }
}
