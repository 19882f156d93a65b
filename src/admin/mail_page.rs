//! The platform operator's list of mail written to files (when no SMTP server is configured).

use crate::auth::Operator;
use crate::dates;
use crate::error::AppError;
use crate::layout::Layout;
use crate::mail::{self, WrittenMail};
use askama::Template;
use askama_web::WebTemplate;

#[derive(Template, WebTemplate)]
#[template(path = "admin/mail.html")]
pub struct MailPage {
    layout: Layout,
    smtp: bool,
    folder: String,
    /// Each file with when it was written, in words.
    mails: Vec<(WrittenMail, String)>,
}

pub async fn get_mail(op: Operator) -> Result<MailPage, AppError> {
    let state = &op.state;
    let data_dir = state.config.data_dir.clone();
    // Reading the folder blocks: keep it off the async runtime.
    let mails = tokio::task::spawn_blocking(move || mail::written_mail(&data_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let moments: Vec<_> = mails.iter().map(|m| m.modified).collect();
    let mut conn = state.db.app_pool().acquire().await?;
    let written = dates::uk_times(&mut conn, &moments).await?;
    let mails = mails.into_iter().zip(written).collect();
    Ok(MailPage {
        layout: op.layout("/operator/mail"),
        smtp: state.config.smtp_url.is_some(),
        folder: mail::mail_dir(&state.config.data_dir).display().to_string(),
        mails,
    })
}
