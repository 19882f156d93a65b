//! Configuration from the environment, each setting with a `--flag` twin (clap lists both in
//! `aqm --help`). Secrets are wrapped so they never reach a log line.

use clap::Args;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Args, Clone, Debug)]
pub struct Config {
    /// PostgreSQL server to use. When unset, aqm runs its own cluster in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Address and port the web server listens on.
    #[arg(
        long = "bind",
        env = "AQM_BIND",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Public address of the service, used in links sent by email and for origin checks.
    /// Defaults to http://<bind>.
    #[arg(long, env = "AQM_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Folder for the embedded database, stored files and written mail.
    #[arg(long, env = "AQM_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Folder of criteria frameworks (<framework>/<version>.toml).
    #[arg(
        long,
        env = "AQM_CRITERIA_DIR",
        default_value = "criteria",
        global = true
    )]
    pub criteria_dir: PathBuf,

    /// SMTP server for outgoing mail. When unset, mail is written as .eml files under
    /// <data dir>/mail.
    ///
    /// smtp://relay.internal:25 sends in plain text (a local relay; no TLS, not
    /// even STARTTLS); smtp://user:pass@mail.example.org:587?tls=required demands STARTTLS
    /// (?tls=opportunistic uses it when offered); smtps://user:pass@mail.example.org:465 is TLS
    /// from the start. Default ports: 25, 587 with ?tls=, 465 for smtps. Percent-encode special
    /// characters in the user and password, and never give them to a plain smtp:// URL, which
    /// would send them unencrypted. A path (smtp://host/aqm.example.org) sets the EHLO name.
    #[arg(long, env = "AQM_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<Secret>,

    /// Sender of outgoing mail.
    #[arg(
        long,
        env = "AQM_MAIL_FROM",
        default_value = "Attendance Quality Mark <no-reply@aqm.invalid>",
        global = true
    )]
    pub mail_from: String,

    /// Attempts at sending one email before it is given up and listed on the operator's mail
    /// page.
    #[arg(long, env = "AQM_MAIL_ATTEMPTS", default_value_t = 8, global = true)]
    pub mail_attempts: u16,

    /// Seconds to wait after a failed attempt at sending an email; the wait doubles after each
    /// further failure.
    #[arg(
        long,
        env = "AQM_MAIL_FIRST_RETRY_SECS",
        default_value_t = 30.0,
        global = true
    )]
    pub mail_first_retry_secs: f64,

    /// The longest wait, in seconds, between two attempts at sending an email.
    #[arg(
        long,
        env = "AQM_MAIL_LONGEST_RETRY_SECS",
        default_value_t = 3600.0,
        global = true
    )]
    pub mail_longest_retry_secs: f64,

    /// Password of the demo accounts made by `aqm demo`.
    #[arg(
        long,
        env = "AQM_DEMO_PASSWORD",
        default_value = "demo-attendance-2026",
        global = true,
        hide_env_values = true
    )]
    pub demo_password: Secret,

    /// Largest evidence file accepted, in megabytes (MiB). Uploads are refused as soon as they pass
    /// it, and each upload is held in memory up to this size while it is checked.
    #[arg(
        long = "upload-limit-mb",
        env = "AQM_UPLOAD_LIMIT_MB",
        default_value_t = 25,
        value_parser = clap::value_parser!(u64).range(1..=1024),
        global = true
    )]
    pub upload_limit_mb: u64,

    /// Where evidence files are kept. Unset: <data dir>/evidence. s3://bucket/prefix: an
    /// S3-compatible store (AWS S3, MinIO, Garage, R2...), reached with the usual AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and, for a plain-HTTP endpoint,
    /// AWS_ALLOW_HTTP=true.
    #[arg(long, env = "AQM_EVIDENCE_URL", global = true)]
    pub evidence_url: Option<String>,

    /// Settings of the S3 store given here rather than in AWS_* variables (the same keys in lower
    /// case); they win over the variables.
    #[arg(skip)]
    pub evidence_options: Vec<(String, String)>,

    /// Folder of the stylesheets, scripts and images served under /static.
    #[arg(long, env = "AQM_STATIC_DIR", default_value = "static", global = true)]
    pub static_dir: PathBuf,

    /// For the load benchmark only: sign-in attempts are neither counted nor limited, so many
    /// concurrent sign-ins to one account can be measured. Refused unless the server listens on
    /// a loopback address; never set it on a server people use.
    #[arg(
        long,
        env = "AQM_BENCH_UNTHROTTLED_SIGN_IN",
        default_value_t = false,
        global = true,
        hide = true
    )]
    pub bench_unthrottled_sign_in: bool,
}

impl Config {
    /// The evidence upload limit in bytes.
    pub fn upload_limit(&self) -> usize {
        usize::try_from(self.upload_limit_mb * 1024 * 1024).unwrap_or(usize::MAX)
    }

    /// The base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }
}

/// A value that must not be printed: Debug and Display show it redacted.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("postgres://u:hunter2@db/aqm");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
