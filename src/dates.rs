//! How the service writes dates and times for people, in one style everywhere: "2 December 2026"
//! for a date, "2 December 2026 at 12:52" for a moment, in UK time. This module is the one place
//! the style is written down.
//!
//! Moments are put into words by Postgres (`uk_time_sql!` inside a query, or `uk_times` for
//! moments the application holds), because Postgres knows when UK clocks change; the binary
//! carries no time-zone database. Dates, which have no time zone, are put into words here
//! (`date`). Machine-readable forms (the audit CSV, `<time datetime>`) keep ISO 8601.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::PgConnection;

/// SQL writing the `timestamptz` expression `$expr` (a string literal) as UK time in words,
/// "2 December 2026 at 12:52". Expands to a string literal, so it can sit inside `concat!` and
/// a query stays a `&'static str`.
macro_rules! uk_time_sql {
    ($expr:literal) => {
        concat!(
            "to_char((",
            $expr,
            ") AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY \"at\" HH24:MI')"
        )
    };
}
pub(crate) use uk_time_sql;

/// A date in words: "2 December 2026".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// A date with its weekday, for deadlines and closure days: "Monday 1 June 2026".
pub fn weekday_date(d: NaiveDate) -> String {
    d.format("%A %-d %B %Y").to_string()
}

/// A visit's local date and time, as the officer set it: "Tuesday 12 January 2027 at 09:30".
pub fn visit(at: NaiveDateTime) -> String {
    at.format("%A %-d %B %Y at %H:%M").to_string()
}

/// Today's date in the UK, from the database's clock (so every process agrees, whatever its
/// own zone).
pub async fn uk_date(conn: &mut PgConnection) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Europe/London')::date")
        .fetch_one(conn)
        .await
}

/// Moments the application holds (not read from a table), in words, in the same order.
pub async fn uk_times(
    conn: &mut PgConnection,
    moments: &[DateTime<Utc>],
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT ",
        uk_time_sql!("m"),
        " FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(m, i) ORDER BY i"
    ))
    .bind(moments)
    .fetch_all(conn)
    .await
}

/// Today's date in the UK, in words.
pub async fn uk_today(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT to_char(now() AT TIME ZONE 'Europe/London', 'FMDD FMMonth YYYY')")
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_is_day_month_in_full_and_year() {
        let d = |y, m, day| date(NaiveDate::from_ymd_opt(y, m, day).unwrap());
        assert_eq!(d(2026, 12, 2), "2 December 2026");
        assert_eq!(d(2027, 3, 28), "28 March 2027");
        assert_ne!(d(2026, 12, 2), "02/12/2026");
        let day = NaiveDate::from_ymd_opt(2027, 1, 12).unwrap();
        assert_eq!(weekday_date(day), "Tuesday 12 January 2027");
        assert_eq!(
            visit(day.and_hms_opt(9, 30, 0).unwrap()),
            "Tuesday 12 January 2027 at 09:30"
        );
    }
}
