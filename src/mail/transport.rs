//! Where email goes: an SMTP server, or .eml files in the data folder when none is configured.

use super::Message;
use crate::config::Config;
use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// The folder under the data folder that written mail goes to.
pub const MAIL_DIR: &str = "mail";

/// `<data_dir>/mail`.
pub fn mail_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(MAIL_DIR)
}

/// A way to deliver a built email. Shared by reference between the messages of a batch (and
/// between workers, if a caller wants), which is why sending takes `&self`.
pub struct Transport {
    kind: Kind,
    description: String,
}

enum Kind {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    /// SMTP when `AQM_SMTP_URL` is set, else files under `<data dir>/mail`.
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        match &config.smtp_url {
            Some(url) => Transport::smtp(url.expose()),
            None => Transport::files(&mail_dir(&config.data_dir)),
        }
    }

    /// An SMTP transport from a URL in lettre's syntax (see `Config::smtp_url`). Connections are
    /// pooled, so consecutive messages reuse one session.
    pub fn smtp(url: &str) -> anyhow::Result<Transport> {
        // Neither error names the URL: it may hold a password.
        let parsed = url::Url::parse(url).context("AQM_SMTP_URL is not a URL")?;
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("AQM_SMTP_URL is not a usable SMTP URL")?
            .build();
        Ok(Transport {
            kind: Kind::Smtp(smtp),
            description: describe_smtp(&parsed),
        })
    }

    /// Writes each email as `<random id>.eml` in `dir`, creating the folder.
    pub fn files(dir: &Path) -> anyhow::Result<Transport> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the mail folder {}", dir.display()))?;
        Ok(Transport {
            kind: Kind::Files(AsyncFileTransport::new(dir)),
            description: format!("no SMTP server set; writing mail to {}", dir.display()),
        })
    }

    /// Where mail goes, without credentials.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Delivers one email. The error's text is stored in the outbox row.
    pub async fn send(&self, email: lettre::Message) -> Result<(), SendError> {
        match &self.kind {
            Kind::Smtp(smtp) => smtp.send(email).await.map(drop).map_err(|e| SendError {
                // A 5xx answer ("no such mailbox", "relaying denied") says the same next time.
                permanent: e.is_permanent(),
                text: e.to_string(),
            }),
            Kind::Files(files) => files.send(email).await.map(drop).map_err(|e| SendError {
                permanent: false,
                text: e.to_string(),
            }),
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug)]
pub struct SendError {
    /// The server refused it for good: retrying would only repeat the refusal.
    pub permanent: bool,
    pub text: String,
}

/// "sending through SMTP at host:port (...)", with lettre's defaults filled in, for the log.
fn describe_smtp(url: &url::Url) -> String {
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let (default_port, security) = match (url.scheme(), tls.as_deref()) {
        ("smtps", _) => (465, "TLS"),
        (_, Some("required")) => (587, "STARTTLS required"),
        (_, Some("opportunistic")) => (587, "STARTTLS when offered"),
        _ => (25, "no TLS"),
    };
    format!(
        "sending through SMTP at {}:{} ({security})",
        url.host_str().unwrap_or("?"),
        url.port().unwrap_or(default_port)
    )
}

/// The email for outbox row `id`: From the configured sender, a Message-ID made from the row id
/// (so every attempt at the same row carries the same one, and a receiver can drop a duplicate
/// delivered after a crash), and plain-text and HTML alternatives.
///
/// Fails only when the recipient is not a valid mailbox, which no retry can mend.
pub(crate) fn build_email(
    id: Uuid,
    from: &Mailbox,
    msg: &Message,
) -> Result<lettre::Message, String> {
    let to: Mailbox = msg
        .to
        .parse()
        .map_err(|e| format!("the recipient {:?} is not a valid mailbox: {e}", msg.to))?;
    let body = MultiPart::alternative_plain_html(msg.text.clone(), msg.html.clone());
    let body = match &msg.attachment {
        None => body,
        Some(a) => {
            let content_type = lettre::message::header::ContentType::parse(&a.content_type)
                .map_err(|e| format!("the attachment's type {:?}: {e}", a.content_type))?;
            MultiPart::mixed().multipart(body).singlepart(
                lettre::message::Attachment::new(a.name.clone())
                    .body(a.bytes.clone(), content_type),
            )
        }
    };
    lettre::Message::builder()
        .message_id(Some(message_id(id, from)))
        .from(from.clone())
        .to(to)
        .subject(msg.subject.as_str())
        .multipart(body)
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// `<row id@sender's domain>`: unique because the row id is, and under a domain we send from.
pub(crate) fn message_id(id: Uuid, from: &Mailbox) -> String {
    format!("<{id}@{}>", from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Message {
        Message {
            to: "Ada Lovelace <ada@example.org>".into(),
            subject: "Your handbook is due".into(),
            text: "Plain words.".into(),
            html: "<p>Plain words.</p>".into(),
            attachment: None,
        }
    }

    fn from() -> Mailbox {
        "Attendance Quality Mark <no-reply@aqm.example>"
            .parse()
            .unwrap()
    }

    #[test]
    fn email_has_a_stable_message_id_sender_and_both_bodies() {
        let id = Uuid::new_v4();
        let first =
            String::from_utf8(build_email(id, &from(), &sample()).unwrap().formatted()).unwrap();
        let again =
            String::from_utf8(build_email(id, &from(), &sample()).unwrap().formatted()).unwrap();
        let expected = format!("Message-ID: <{id}@aqm.example>\r\n");
        assert!(first.contains(&expected), "{first}");
        assert!(again.contains(&expected));
        assert!(first.contains("From: \"Attendance Quality Mark\" <no-reply@aqm.example>\r\n"));
        assert!(first.contains("multipart/alternative"));
        assert!(first.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(first.contains("Content-Type: text/html; charset=utf-8"));
        assert!(first.contains("<p>Plain words.</p>"));
    }

    #[test]
    fn an_attachment_travels_beside_both_bodies() {
        let mut msg = sample();
        msg.attachment = Some(crate::mail::Attachment {
            name: "handbook.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7 test".to_vec(),
        });
        let email = String::from_utf8(
            build_email(Uuid::new_v4(), &from(), &msg)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(email.contains("multipart/mixed"), "{email}");
        assert!(email.contains("multipart/alternative"));
        assert!(email.contains("Content-Disposition: attachment; filename=\"handbook.pdf\""));
        assert!(email.contains("Content-Type: application/pdf"));
    }

    #[test]
    fn a_bad_recipient_is_refused() {
        let mut msg = sample();
        msg.to = "not an address".into();
        let err = build_email(Uuid::new_v4(), &from(), &msg).unwrap_err();
        assert!(err.contains("not a valid mailbox"), "{err}");
    }

    #[test]
    fn a_line_break_in_the_subject_cannot_add_a_header() {
        let mut msg = sample();
        msg.subject = "Hello\r\nBcc: victim@example.org".into();
        let email = build_email(Uuid::new_v4(), &from(), &msg).unwrap();
        let text = String::from_utf8(email.formatted()).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
    }

    #[test]
    fn smtp_descriptions_show_host_port_and_security_but_no_password() {
        let d = |u: &str| describe_smtp(&url::Url::parse(u).unwrap());
        assert_eq!(
            d("smtp://localhost"),
            "sending through SMTP at localhost:25 (no TLS)"
        );
        assert_eq!(
            d("smtp://u:hunter2@mail.example.org?tls=required"),
            "sending through SMTP at mail.example.org:587 (STARTTLS required)"
        );
        assert_eq!(
            d("smtps://u:p%2Fq@mail.example.org"),
            "sending through SMTP at mail.example.org:465 (TLS)"
        );
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_echoing_them() {
        for url in ["not a url", "http://u:hunter2@mail.example.org"] {
            let err = Transport::smtp(url).err().expect("refused");
            assert!(!format!("{err:#}").contains("hunter2"), "{err:#}");
        }
    }
}
