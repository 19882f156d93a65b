//! Where evidence files live: an object store addressed by the SHA-256 of the content, so the same
//! file uploaded twice (or by two schools) is kept once, and a stored object never changes.
//!
//! Two kinds: a local folder, `<data dir>/evidence/<first 2 hex>/<sha256>` (the embedded default),
//! and an S3-compatible object store (`AQM_EVIDENCE_URL=s3://bucket/prefix`), where several
//! processes behind a load balancer share the files without a network file system. Callers use
//! the operations below and nothing else.

use axum::body::Body;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// The SHA-256 of a file's content, as 64 lowercase hex digits: the only name an object has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash::from_digest(Sha256::digest(bytes).as_slice())
    }

    /// From a finished incremental hasher (uploads are hashed while they arrive).
    pub fn from_hasher(hasher: Sha256) -> ContentHash {
        ContentHash::from_digest(hasher.finalize().as_slice())
    }

    fn from_digest(digest: &[u8]) -> ContentHash {
        ContentHash(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A stored hash read back from the database; `None` unless it is exactly 64 lowercase hex
    /// digits, so it can never make a path that leaves the store's folder.
    pub fn parse(hex: &str) -> Option<ContentHash> {
        (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| ContentHash(hex.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored object ready to send.
pub struct Object {
    pub len: u64,
    pub body: Body,
}

#[derive(Clone, Debug)]
pub enum Store {
    Local(LocalStore),
    S3(S3Store),
}

impl Store {
    /// The local store under `<data_dir>/evidence`.
    pub fn local(data_dir: &Path) -> Store {
        Store::Local(LocalStore {
            root: data_dir.join("evidence"),
        })
    }

    /// The store the settings choose: `evidence_url` unset is the local folder; `s3://bucket/prefix`
    /// an S3-compatible store, configured by the usual `AWS_*` variables (AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP for a plain-HTTP
    /// endpoint) and by `options` (the same keys in lower case), which take precedence.
    pub fn from_settings(
        data_dir: &Path,
        evidence_url: Option<&str>,
        options: &[(String, String)],
    ) -> anyhow::Result<Store> {
        match evidence_url {
            None | Some("") => Ok(Store::local(data_dir)),
            Some(url) if url.starts_with("s3://") => Ok(Store::S3(S3Store::new(url, options)?)),
            Some(other) => anyhow::bail!(
                "AQM_EVIDENCE_URL must be s3://bucket/prefix (or unset for the local folder), not {other:?}"
            ),
        }
    }

    /// Keeps `bytes` under `hash` (which must be theirs). Returns false when the object was
    /// already there, in which case nothing is written.
    pub async fn put(&self, hash: &ContentHash, bytes: &[u8]) -> io::Result<bool> {
        match self {
            Store::Local(s) => s.put(hash, bytes).await,
            Store::S3(s) => s.put(hash, bytes).await,
        }
    }

    pub async fn get(&self, hash: &ContentHash) -> io::Result<Option<Object>> {
        match self {
            Store::Local(s) => s.get(hash).await,
            Store::S3(s) => s.get(hash).await,
        }
    }

    pub async fn exists(&self, hash: &ContentHash) -> io::Result<bool> {
        match self {
            Store::Local(s) => Ok(tokio::fs::try_exists(s.path(hash)).await?),
            Store::S3(s) => s.exists(hash).await,
        }
    }

    /// Removes the object of `hash`, if there is one. Only for a file no row names (an upload
    /// that failed after storing it); kept files are never removed (deletion is soft).
    pub async fn remove(&self, hash: &ContentHash) -> io::Result<()> {
        match self {
            Store::Local(s) => match tokio::fs::remove_file(s.path(hash)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Store::S3(s) => s.remove(hash).await,
        }
    }

    /// A line for the start-up output.
    pub fn description(&self) -> String {
        match self {
            Store::Local(s) => format!("evidence files in {}", s.root.display()),
            Store::S3(s) => format!("evidence files in {}", s.url),
        }
    }
}

#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    fn path(&self, hash: &ContentHash) -> PathBuf {
        self.root.join(&hash.as_str()[..2]).join(hash.as_str())
    }

    /// Written to a temporary file in the store's own `tmp` folder (same file system), flushed to
    /// disk, then renamed into place: a crash leaves either no object or a whole one, never half.
    async fn put(&self, hash: &ContentHash, bytes: &[u8]) -> io::Result<bool> {
        let target = self.path(hash);
        if tokio::fs::try_exists(&target).await? {
            return Ok(false);
        }
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        tokio::fs::create_dir_all(target.parent().expect("objects sit in a folder")).await?;
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().simple().to_string());
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            file.write_all(bytes).await?;
            file.sync_all().await?;
            drop(file);
            // Two uploads of the same file at once both get here; either rename leaves the same
            // bytes in place.
            tokio::fs::rename(&tmp, &target).await
        }
        .await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        written.map(|()| true)
    }

    async fn get(&self, hash: &ContentHash) -> io::Result<Option<Object>> {
        let file = match tokio::fs::File::open(self.path(hash)).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata().await?.len();
        Ok(Some(Object {
            len,
            body: Body::from_stream(tokio_util::io::ReaderStream::new(file)),
        }))
    }
}

/// An S3-compatible bucket, objects named `<prefix>/<first 2 hex>/<sha256>` as in the folder.
#[derive(Clone)]
pub struct S3Store {
    inner: std::sync::Arc<object_store::aws::AmazonS3>,
    prefix: String,
    url: String,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client holds credentials; the URL is all a log line needs.
        f.debug_struct("S3Store").field("url", &self.url).finish()
    }
}

fn s3_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        other => io::Error::other(other),
    }
}

impl S3Store {
    fn new(url: &str, options: &[(String, String)]) -> anyhow::Result<S3Store> {
        use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
        // TLS to the endpoint through rustls with ring, already built for mail; the process
        // default is installed once (a second install is refused, harmlessly).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env().with_url(url);
        for (key, value) in options {
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|e| anyhow::anyhow!("unknown S3 setting {key}: {e}"))?;
            builder = builder.with_config(key, value);
        }
        // An upload waits at most about ten seconds for a store that does not answer, then
        // says so; the default would keep the person waiting for minutes.
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(10),
            ..Default::default()
        };
        let inner = builder.with_retry(retry).build()?;
        let prefix = url
            .trim_start_matches("s3://")
            .split_once('/')
            .map_or("", |(_, p)| p)
            .trim_matches('/')
            .to_string();
        Ok(S3Store {
            inner: std::sync::Arc::new(inner),
            prefix,
            url: url.to_string(),
        })
    }

    fn path(&self, hash: &ContentHash) -> object_store::path::Path {
        let name = format!("{}/{}", &hash.as_str()[..2], hash.as_str());
        if self.prefix.is_empty() {
            object_store::path::Path::from(name)
        } else {
            object_store::path::Path::from(format!("{}/{name}", self.prefix))
        }
    }

    async fn exists(&self, hash: &ContentHash) -> io::Result<bool> {
        use object_store::ObjectStoreExt;
        match self.inner.head(&self.path(hash)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// One PUT of the whole object: S3 makes it visible whole or not at all, so a failed or
    /// interrupted upload leaves no half object.
    async fn put(&self, hash: &ContentHash, bytes: &[u8]) -> io::Result<bool> {
        use object_store::ObjectStoreExt;
        if self.exists(hash).await? {
            return Ok(false);
        }
        let payload = object_store::PutPayload::from(bytes.to_vec());
        self.inner
            .put(&self.path(hash), payload)
            .await
            .map_err(s3_error)?;
        Ok(true)
    }

    /// Streamed from the store to the response: the file is never held whole in memory.
    async fn get(&self, hash: &ContentHash) -> io::Result<Option<Object>> {
        use futures_util::TryStreamExt;
        use object_store::ObjectStoreExt;
        let result = match self.inner.get(&self.path(hash)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(s3_error(e)),
        };
        let len = result.meta.size;
        let stream = result.into_stream().map_err(s3_error);
        Ok(Some(Object {
            len,
            body: Body::from_stream(stream),
        }))
    }

    async fn remove(&self, hash: &ContentHash) -> io::Result<()> {
        use object_store::ObjectStoreExt;
        match self.inner.delete(&self.path(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_checked_before_they_become_paths() {
        let h = ContentHash::of(b"abc");
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ContentHash::parse(h.as_str()), Some(h));
        assert_eq!(ContentHash::parse("../../etc/passwd"), None);
        assert_eq!(ContentHash::parse(&"A".repeat(64)), None);
        assert_eq!(ContentHash::parse("ab"), None);
    }

    #[tokio::test]
    async fn the_same_bytes_are_stored_once_and_read_back_whole() {
        let dir = std::env::temp_dir().join(format!("aqm-store-{}", uuid::Uuid::new_v4()));
        let store = Store::local(&dir);
        let h = ContentHash::of(b"minutes");
        assert!(!store.exists(&h).await.unwrap());
        assert!(store.put(&h, b"minutes").await.unwrap());
        assert!(!store.put(&h, b"minutes").await.unwrap(), "already there");
        assert!(store.exists(&h).await.unwrap());
        store.remove(&h).await.unwrap();
        assert!(!store.exists(&h).await.unwrap());
        store.remove(&h).await.unwrap();
        assert!(store.put(&h, b"minutes").await.unwrap());
        let path = dir.join("evidence").join(&h.as_str()[..2]).join(h.as_str());
        assert_eq!(std::fs::read(&path).unwrap(), b"minutes");
        // Nothing is left behind in the temporary folder.
        assert_eq!(
            std::fs::read_dir(dir.join("evidence/tmp")).unwrap().count(),
            0
        );
        let object = store.get(&h).await.unwrap().unwrap();
        assert_eq!(object.len, 7);
        let bytes = axum::body::to_bytes(object.body, 100).await.unwrap();
        assert_eq!(&bytes[..], b"minutes");
        assert!(
            store
                .get(&ContentHash::of(b"other"))
                .await
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
