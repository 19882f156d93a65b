//! The platform operator's list of mail written to files (when no SMTP server is configured).

use crate::auth::Operator;
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
    mails: Vec<WrittenMail>,
}

pub async fn get_mail(op: Operator) -> Result<MailPage, AppError> {
    let state = &op.state;
    let data_dir = state.config.data_dir.clone();
    // Reading the folder blocks: keep it off the async runtime.
    let mails = tokio::task::spawn_blocking(move || mail::written_mail(&data_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(MailPage {
        layout: op.layout("/operator/mail"),
        smtp: state.config.smtp_url.is_some(),
        folder: mail::mail_dir(&state.config.data_dir).display().to_string(),
        mails,
    })
}
