//! The mail written as .eml files when no SMTP server is configured, for the operator's page.

use super::mail_dir;
use base64::Engine;
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// One written email, as the operator's list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenMail {
    /// The file's name inside `<data dir>/mail`.
    pub file_name: String,
    pub modified: DateTime<Utc>,
    /// The To and Subject headers, decoded; empty when the file has none or cannot be read.
    pub to: String,
    pub subject: String,
}

/// The .eml files under `<data_dir>/mail`, newest first. A missing folder is an empty list: no
/// mail has been written yet. Reads only each file's header block. Blocking: call it from
/// `spawn_blocking` in async code.
pub fn written_mail(data_dir: &Path) -> Vec<WrittenMail> {
    let Ok(entries) = std::fs::read_dir(mail_dir(data_dir)) else {
        return Vec::new();
    };
    let mut mail: Vec<WrittenMail> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "eml") {
                return None;
            }
            let meta = entry.metadata().ok().filter(|m| m.is_file())?;
            let headers = File::open(&path)
                .map(|f| read_headers(BufReader::new(f)))
                .unwrap_or_default();
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| decode_words(v))
                    .unwrap_or_default()
            };
            Some(WrittenMail {
                file_name: entry.file_name().to_string_lossy().into_owned(),
                modified: meta.modified().ok()?.into(),
                to: header("To"),
                subject: header("Subject"),
            })
        })
        .collect();
    mail.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| a.file_name.cmp(&b.file_name))
    });
    mail
}

/// The header block of a message (up to the first empty line), with folded lines joined.
/// Stops after 64 KiB, far more than any header block we write, so a stray large file costs little.
fn read_headers(reader: impl BufRead) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in reader.take(64 * 1024).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // A folded line continues the previous header; unfolding removes only the line break.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim_start().to_string()));
        }
    }
    headers
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, as lettre writes non-ASCII text) in a
/// header value. Whitespace between two encoded words is dropped, as the RFC says; anything that
/// is not a well-formed word in a known charset is left as it is.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((text, len)) => {
                if !(after_word && before.chars().all(char::is_whitespace)) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &candidate[len..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The encoded word at the start of `s`: its decoded text and its length in `s`.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let text = &inner[..inner.find("?=")?];
    if [charset, encoding, text]
        .iter()
        .any(|part| part.contains(char::is_whitespace))
    {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?,
        "Q" | "q" => q_decode(text)?,
        _ => return None,
    };
    // RFC 2231 lets a language follow the charset: utf-8*en.
    let decoded = match charset.split('*').next()?.to_ascii_lowercase().as_str() {
        "utf-8" | "us-ascii" => String::from_utf8(bytes).ok()?,
        "iso-8859-1" | "latin1" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => return None,
    };
    let len = "=?".len() + charset.len() + 1 + encoding.len() + 1 + text.len() + "?=".len();
    Some((decoded, len))
}

/// RFC 2047's "Q" encoding: `_` is a space, `=XX` a byte in hex.
fn q_decode(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(b) = input.next() {
        match b {
            b'_' => bytes.push(b' '),
            b'=' => {
                let hex = [input.next()?, input.next()?];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => bytes.push(b),
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_unfolded_up_to_the_body() {
        let eml = "From: a@example.org\r\nSubject: a long\r\n subject line\r\nTo: b@example.org\r\n\r\nSubject: not a header\r\n";
        let headers = read_headers(eml.as_bytes());
        assert_eq!(
            headers,
            [
                ("From".to_string(), "a@example.org".to_string()),
                ("Subject".to_string(), "a long subject line".to_string()),
                ("To".to_string(), "b@example.org".to_string()),
            ]
        );
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_words("=?utf-8?b?QWRyacOhbg==?="), "Adrián");
        // Folded across words: the space between encoded words is not text.
        assert_eq!(
            decode_words("=?utf-8?b?Q2Fmw6k=?= =?utf-8?b?IGRheQ==?="),
            "Café day"
        );
        assert_eq!(
            decode_words("=?ISO-8859-1?Q?Caf=E9_au_lait?="),
            "Café au lait"
        );
        assert_eq!(
            decode_words("Re: =?utf-8?q?caf=C3=A9?= today"),
            "Re: café today"
        );
    }

    #[test]
    fn text_that_only_looks_encoded_is_kept() {
        for plain in [
            "x =? y",
            "=?utf-8?b?not base64!?=",
            "=?koi8-r?b?QQ==?=",
            "=?utf-8?x?QQ==?=",
            "=?utf-8?b?QQ==",
        ] {
            assert_eq!(decode_words(plain), plain);
        }
    }

    #[test]
    fn what_lettre_writes_reads_back() {
        let subject = "Évaluation de l’école — a subject long enough to be folded over more than one line of the header block";
        let email = lettre::Message::builder()
            .from("a@example.org".parse().unwrap())
            .to("Zoë Brontë <zoe@example.org>".parse().unwrap())
            .subject(subject)
            .body(String::from("body"))
            .unwrap();
        let headers = read_headers(&email.formatted()[..]);
        let get = |name: &str| decode_words(&headers.iter().find(|(n, _)| n == name).unwrap().1);
        assert_eq!(get("Subject"), subject);
        assert_eq!(get("To"), "Zoë Brontë <zoe@example.org>");
    }

    #[test]
    fn a_missing_folder_lists_nothing() {
        let dir = std::env::temp_dir().join(format!("aqm-no-mail-{}", uuid::Uuid::new_v4()));
        assert!(written_mail(&dir).is_empty());
    }
}
