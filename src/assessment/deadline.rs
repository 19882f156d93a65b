//! The submission deadline of a handbook, as every page shows it: from the visit date, the
//! authority's notice (5 working days unless it sets another) and its working-day calendar.

use crate::calendar::Calendar;
use crate::error::AppError;
use chrono::{NaiveDate, NaiveDateTime};
use sqlx::PgConnection;
use uuid::Uuid;

/// Where a handbook stands against its deadline today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Working days from tomorrow up to and including the deadline; 0 on the deadline itself.
    Left(u32),
    /// Working days after the deadline up to and including today.
    Late(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deadline {
    /// No visit yet: no deadline.
    NoVisit,
    Known {
        date: NaiveDate,
        notice_days: u32,
        standing: Standing,
    },
    /// The calendar cannot say (a visit in a year whose bank holidays are not shipped).
    Unknown(String),
}

/// Where `today` stands against `deadline` (pure).
pub fn standing(cal: &Calendar, deadline: NaiveDate, today: NaiveDate) -> Result<Standing, String> {
    if today > deadline {
        cal.working_days_late(deadline, today)
            .map(Standing::Late)
            .map_err(|e| e.to_string())
    } else {
        let after = deadline.succ_opt().unwrap_or(deadline);
        cal.working_days_between(today, after)
            .map(Standing::Left)
            .map_err(|e| e.to_string())
    }
}

/// The deadline of a visit (pure).
pub fn of_visit(
    cal: &Calendar,
    visit: Option<NaiveDateTime>,
    notice_days: u32,
    today: NaiveDate,
) -> Deadline {
    let Some(visit) = visit else {
        return Deadline::NoVisit;
    };
    let date = match cal.deadline(visit.date(), notice_days) {
        Ok(d) => d,
        Err(e) => return Deadline::Unknown(e.to_string()),
    };
    match standing(cal, date, today) {
        Ok(standing) => Deadline::Known {
            date,
            notice_days,
            standing,
        },
        Err(e) => Deadline::Unknown(e),
    }
}

impl Deadline {
    pub fn date(&self) -> Option<NaiveDate> {
        match self {
            Deadline::Known { date, .. } => Some(*date),
            _ => None,
        }
    }

    /// "Friday 5 March 2027"
    pub fn date_label(&self) -> Option<String> {
        self.date().map(crate::dates::weekday_date)
    }

    /// "Friday 5 March 2027: 3 working days left", in one line for tables and panels.
    pub fn describe(&self) -> String {
        match self {
            Deadline::NoVisit => "Set when a visit date is arranged".to_string(),
            Deadline::Unknown(why) => format!("Cannot be worked out: {why}"),
            Deadline::Known { date, standing, .. } => {
                let day = crate::dates::weekday_date(*date);
                match standing {
                    Standing::Left(0) => format!("{day}: the deadline is today"),
                    Standing::Left(1) => format!("{day}: 1 working day left"),
                    Standing::Left(n) => format!("{day}: {n} working days left"),
                    Standing::Late(1) => format!("{day}: passed 1 working day ago"),
                    Standing::Late(n) => format!("{day}: passed {n} working days ago"),
                }
            }
        }
    }

    /// What the rule is, for a hint: "at least 5 working days before the visit".
    pub fn rule(&self) -> Option<String> {
        match self {
            Deadline::Known { notice_days, .. } => Some(format!(
                "The handbook must reach the assessor at least {notice_days} working days before the visit (weekends, bank holidays and the authority's closure days do not count; nor do the day it is sent and the day of the visit)."
            )),
            _ => None,
        }
    }
}

/// The authority's notice in working days.
pub async fn notice_days(conn: &mut PgConnection, tenant: Uuid) -> Result<u32, sqlx::Error> {
    let n: i32 = sqlx::query_scalar("SELECT submission_notice_days FROM tenant WHERE id = $1")
        .bind(tenant)
        .fetch_one(conn)
        .await?;
    Ok(u32::try_from(n).unwrap_or(5))
}

/// The deadline of a visit of `tenant`, today.
pub async fn load(
    conn: &mut PgConnection,
    tenant: Uuid,
    visit: Option<NaiveDateTime>,
) -> Result<(Deadline, Calendar, NaiveDate), AppError> {
    let cal = Calendar::of_tenant(&mut *conn, tenant).await?;
    let today = crate::dates::uk_date(&mut *conn).await?;
    let n = notice_days(&mut *conn, tenant).await?;
    Ok((of_visit(&cal, visit, n, today), cal, today))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Division;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cal() -> Calendar {
        Calendar::new(Division::of_nation("england").unwrap(), [])
    }

    #[test]
    fn the_deadline_and_the_days_left() {
        // Visit Monday 13 April 2026 at 10:00: deadline Wednesday 1 April (Easter in between).
        let visit = date(2026, 4, 13).and_hms_opt(10, 0, 0);
        let d = of_visit(&cal(), visit, 5, date(2026, 3, 27));
        assert_eq!(d.date(), Some(date(2026, 4, 1)));
        // From Friday 27 March: Monday 30, Tuesday 31, Wednesday 1 April.
        assert_eq!(d.describe(), "Wednesday 1 April 2026: 3 working days left");
        let on = of_visit(&cal(), visit, 5, date(2026, 4, 1));
        assert_eq!(
            on.describe(),
            "Wednesday 1 April 2026: the deadline is today"
        );
        // Good Friday and Easter Monday are not working days: Tuesday 7 April is 2 days late.
        let late = of_visit(&cal(), visit, 5, date(2026, 4, 7));
        assert_eq!(
            late.describe(),
            "Wednesday 1 April 2026: passed 2 working days ago"
        );
        assert_eq!(
            of_visit(&cal(), None, 5, date(2026, 4, 7)),
            Deadline::NoVisit
        );
        let far = of_visit(
            &cal(),
            date(2031, 3, 3).and_hms_opt(9, 0, 0),
            5,
            date(2026, 4, 7),
        );
        assert!(matches!(far, Deadline::Unknown(_)));
        assert!(
            far.describe()
                .starts_with("Cannot be worked out: bank holidays for 2031")
        );
    }

    #[test]
    fn a_closure_day_moves_the_deadline() {
        let with_inset =
            Calendar::new(Division::of_nation("england").unwrap(), [date(2026, 4, 10)]);
        let visit = date(2026, 4, 13).and_hms_opt(9, 0, 0);
        assert_eq!(
            of_visit(&with_inset, visit, 5, date(2026, 3, 2)).date(),
            Some(date(2026, 3, 31))
        );
    }
}
