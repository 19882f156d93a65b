//! The emails of the review: one plain shape (greeting, paragraphs, a link), written to the
//! outbox in the transaction of the change they announce.

use crate::auth::Role;
use crate::error::AppError;
use crate::mail::{self, Attachment};
use askama::Template;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct Notice {
    pub name: String,
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// (what the link does, the full address).
    pub link: Option<(String, String)>,
    pub attachment: Option<Attachment>,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a>(&'a Notice);

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a>(&'a Notice);

/// A person to write to.
#[derive(sqlx::FromRow, Clone)]
pub struct Recipient {
    pub name: String,
    pub email: String,
}

impl Recipient {
    pub fn mailbox(&self) -> String {
        // The display name is quoted by the mail library when it is built; here only the plain
        // parts, so a name with a comma cannot become a second address.
        let name: String = self
            .name
            .chars()
            .filter(|c| !matches!(c, '"' | '<' | '>' | ',' | ';' | '\\') && !c.is_control())
            .collect();
        format!("\"{}\" <{}>", name.trim(), self.email)
    }
}

/// Writes `notice` to `to` through the outbox.
pub async fn send(
    conn: &mut PgConnection,
    tenant: Uuid,
    to: &Recipient,
    notice: Notice,
) -> Result<(), AppError> {
    let notice = Notice {
        name: to.name.clone(),
        ..notice
    };
    let text = NoticeText(&notice)
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    let html = NoticeHtml(&notice)
        .render()
        .map_err(|e| anyhow::anyhow!(e))?;
    mail::enqueue(
        conn,
        Some(tenant),
        &mail::Message {
            to: to.mailbox(),
            subject: notice.subject.clone(),
            text,
            html,
            attachment: notice.attachment,
        },
    )
    .await?;
    Ok(())
}

/// The active Attendance Leads or head teachers of a school (not stand-ins of people whose
/// account is in another authority: they never joined this one).
pub async fn school_staff(
    conn: &mut PgConnection,
    tenant: Uuid,
    school: Uuid,
    roles: &[Role],
) -> Result<Vec<Recipient>, sqlx::Error> {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    sqlx::query_as(
        "SELECT name, email FROM app_user
         WHERE tenant_id = $1 AND school_id = $2 AND role = ANY($3) AND active AND NOT stand_in
         ORDER BY role, name",
    )
    .bind(tenant)
    .bind(school)
    .bind(&roles)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cannot_add_an_address() {
        let r = Recipient {
            name: "Sam \"Head\", <evil@example.org>".into(),
            email: "sam@school.org".into(),
        };
        assert_eq!(
            r.mailbox(),
            "\"Sam Head evil@example.org\" <sam@school.org>"
        );
        assert!(r.mailbox().parse::<lettre::message::Mailbox>().is_ok());
    }
}
