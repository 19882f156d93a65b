//! The platform operator's list of mail written to files (when no SMTP server is configured).

use crate::app::AppState;
use crate::auth::{Ctx, CurrentUser, Role};
use crate::error::AppError;
use crate::layout::Layout;
use crate::mail::{self, WrittenMail};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

#[derive(Template, WebTemplate)]
#[template(path = "admin/mail.html")]
pub struct MailPage {
    layout: Layout,
    smtp: bool,
    folder: String,
    mails: Vec<WrittenMail>,
}

pub async fn get_mail(
    State(state): State<AppState>,
    ctx: Ctx,
    user: CurrentUser,
) -> Result<MailPage, AppError> {
    user.require(&[Role::PlatformOperator])?;
    let data_dir = state.config.data_dir.clone();
    // Reading the folder blocks: keep it off the async runtime.
    let mails = tokio::task::spawn_blocking(move || mail::written_mail(&data_dir))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(MailPage {
        layout: ctx.layout("/operator/mail"),
        smtp: state.config.smtp_url.is_some(),
        folder: mail::mail_dir(&state.config.data_dir).display().to_string(),
        mails,
    })
}
