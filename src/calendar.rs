//! Working days and deadlines, as plain functions over dates (no SQL, no web).
//!
//! A **working day** is a Monday to Friday that is neither a bank holiday of the authority's
//! nation nor one of the authority's own closure days (INSET days, holidays: officers add and
//! remove them). England and Wales share one list of bank holidays, GOV.UK's "england-and-wales"
//! division.
//!
//! The bank holidays ship with the code in `calendar/bank-holidays.json`, in the format of GOV.UK's
//! feed (<https://www.gov.uk/bank-holidays.json>, published under the Open Government Licence
//! v3.0), for 2025 to 2028; nothing is fetched at run time. A date outside those years cannot be
//! judged, because its bank holidays are not known: every function that would need one answers
//! [`NotCovered`] rather than a day that might be wrong. To add a year, copy its events from the
//! feed into the file.
//!
//! # "At least N working days before the visit"
//!
//! A submission made on day S reaches the assessor **at least N working days before a visit on
//! day V** when at least N working days lie strictly between S and V: neither the day of
//! submission nor the day of the visit counts, whatever kind of day each is
//! ([`Calendar::working_days_between`]). The time of day does not matter: S is the date in the UK
//! on which the submission was made, and the caller works that out.
//!
//! [`Calendar::deadline`]`(V, N)` is the latest S that still counts: the day before the N-th
//! working day counting back from the day before V. A submission on the deadline or before it
//! counts; one on any later day does not. With N = 0 the deadline is the day before the visit.
//!
//! Examples (England and Wales, no closure days, N = 5):
//! - Visit on Monday 20 April 2026: the five working days Monday 13 to Friday 17 April must lie
//!   between, so the deadline is **Sunday 12 April 2026**. The deadline can fall on a weekend or a
//!   bank holiday: a submission that day still counts (and so do Friday 10 and Saturday 11); one
//!   on Monday 13 does not.
//! - Visit on Monday 13 April 2026, after Easter: Good Friday (3 April) and Easter Monday (6 April)
//!   do not count, so the five are Thursday 2, Tuesday 7, Wednesday 8, Thursday 9 and Friday 10
//!   April, and the deadline is **Wednesday 1 April 2026**. A submission on Thursday 2 April leaves
//!   only four working days.
//!
//! A submission after the deadline is **late by** the number of working days after the deadline
//! up to and including the day of submission ([`Calendar::working_days_late`]): a submission on
//! Thursday 2 April for the visit of Monday 13 April is late by 1, and so is one on Good Friday;
//! one on Tuesday 7 April is late by 2. Before the visit, this is always N less the working days
//! the submission left.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::sync::LazyLock;

/// GOV.UK's bank holidays, as shipped: the feed's format, the divisions the service uses.
const BANK_HOLIDAYS_JSON: &str = include_str!("../calendar/bank-holidays.json");

/// A group of nations with one list of bank holidays in GOV.UK's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Division {
    EnglandAndWales,
}

impl Division {
    /// The division of a tenant's nation (`tenant.nation`): England and Wales share one.
    pub fn of_nation(nation: &str) -> Option<Division> {
        match nation {
            "england" | "wales" => Some(Division::EnglandAndWales),
            _ => None,
        }
    }

    /// The division's key in GOV.UK's data.
    pub fn key(self) -> &'static str {
        match self {
            Division::EnglandAndWales => "england-and-wales",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Division::EnglandAndWales => "England and Wales",
        }
    }
}

/// One bank holiday, as GOV.UK names it ("Boxing Day", with notes such as "Substitute day").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BankHoliday {
    pub date: NaiveDate,
    pub title: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Deserialize)]
struct FeedDivision {
    division: String,
    events: Vec<BankHoliday>,
}

/// The bank holidays of one division and the years they cover.
struct Holidays {
    by_date: BTreeMap<NaiveDate, BankHoliday>,
    years: RangeInclusive<i32>,
}

/// Reads the shipped data: each division's events, in order, and the years they span. The
/// file is part of the build; its unit tests check it is whole for every year it covers.
fn parse(json: &str, division: Division) -> Holidays {
    let mut feed: BTreeMap<String, FeedDivision> =
        serde_json::from_str(json).expect("calendar/bank-holidays.json is GOV.UK's feed format");
    let d = feed
        .remove(division.key())
        .unwrap_or_else(|| panic!("calendar/bank-holidays.json has no {}", division.key()));
    assert_eq!(d.division, division.key());
    let by_date: BTreeMap<NaiveDate, BankHoliday> =
        d.events.into_iter().map(|e| (e.date, e)).collect();
    let first = by_date.keys().next().expect("bank holidays listed").year();
    let last = by_date
        .keys()
        .next_back()
        .expect("bank holidays listed")
        .year();
    Holidays {
        by_date,
        years: first..=last,
    }
}

static ENGLAND_AND_WALES: LazyLock<Holidays> =
    LazyLock::new(|| parse(BANK_HOLIDAYS_JSON, Division::EnglandAndWales));

fn holidays(division: Division) -> &'static Holidays {
    match division {
        Division::EnglandAndWales => &ENGLAND_AND_WALES,
    }
}

/// A date whose bank holidays the service does not know, so it cannot say whether it is a
/// working day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bank holidays for {} are not known: the service knows those of {} to {}",
    .date.year(), .years.start(), .years.end()
)]
pub struct NotCovered {
    pub date: NaiveDate,
    pub years: RangeInclusive<i32>,
}

/// The working days of one authority: its nation's bank holidays and its own closure days.
#[derive(Debug, Clone)]
pub struct Calendar {
    division: Division,
    closure_days: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(division: Division, closure_days: impl IntoIterator<Item = NaiveDate>) -> Calendar {
        Calendar {
            division,
            closure_days: closure_days.into_iter().collect(),
        }
    }

    pub fn division(&self) -> Division {
        self.division
    }

    /// The years whose bank holidays are known (2025 to 2028).
    pub fn years(&self) -> RangeInclusive<i32> {
        holidays(self.division).years.clone()
    }

    /// Whether the date falls in a year whose bank holidays are known.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years().contains(&date.year())
    }

    fn check(&self, date: NaiveDate) -> Result<(), NotCovered> {
        if self.covers(date) {
            Ok(())
        } else {
            Err(NotCovered {
                date,
                years: self.years(),
            })
        }
    }

    /// The bank holiday on this date, if there is one.
    pub fn bank_holiday(&self, date: NaiveDate) -> Option<&'static BankHoliday> {
        holidays(self.division).by_date.get(&date)
    }

    /// The bank holidays from `from` to the last year known, in order.
    pub fn bank_holidays_from(
        &self,
        from: NaiveDate,
    ) -> impl Iterator<Item = &'static BankHoliday> + use<> {
        holidays(self.division)
            .by_date
            .range(from..)
            .map(|(_, h)| h)
    }

    pub fn is_closure_day(&self, date: NaiveDate) -> bool {
        self.closure_days.contains(&date)
    }

    /// Monday to Friday, not a bank holiday, not a closure day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, NotCovered> {
        self.check(date)?;
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        Ok(!weekend && self.bank_holiday(date).is_none() && !self.is_closure_day(date))
    }

    /// The working days strictly between `a` and `b`: neither `a` nor `b` counts. Zero when `b`
    /// is not at least two days after `a`.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<u32, NotCovered> {
        let mut count = 0;
        let mut day = a;
        while let Some(next) = day.checked_add_days(Days::new(1)).filter(|d| *d < b) {
            if self.is_working_day(next)? {
                count += 1;
            }
            day = next;
        }
        Ok(count)
    }

    /// The latest day a submission can be made and still reach the assessor at least `n` working
    /// days before the visit (see the module's comment): the day before the `n`-th working day
    /// counting back from the day before the visit.
    pub fn deadline(&self, visit: NaiveDate, n: u32) -> Result<NaiveDate, NotCovered> {
        let before = |d: NaiveDate| d.pred_opt().expect("a date after the first chrono knows");
        let mut day = visit;
        let mut found = 0;
        while found < n {
            day = before(day);
            if self.is_working_day(day)? {
                found += 1;
            }
        }
        Ok(before(day))
    }

    /// The `n`-th working day before `date` (`date` itself does not count): when a reminder
    /// "n working days before the deadline" is due.
    pub fn working_days_before(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, NotCovered> {
        let mut day = date;
        let mut found = 0;
        while found < n {
            day = day.pred_opt().expect("a date after the first chrono knows");
            if self.is_working_day(day)? {
                found += 1;
            }
        }
        Ok(day)
    }

    /// How many working days after `deadline` a submission on `submitted` came: the working days
    /// after the deadline up to and including the day of submission. Zero on or before the
    /// deadline.
    pub fn working_days_late(
        &self,
        deadline: NaiveDate,
        submitted: NaiveDate,
    ) -> Result<u32, NotCovered> {
        if submitted <= deadline {
            return Ok(0);
        }
        let after = submitted
            .succ_opt()
            .expect("a date before the last chrono knows");
        self.working_days_between(deadline, after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn england() -> Calendar {
        Calendar::new(Division::of_nation("england").unwrap(), [])
    }

    #[test]
    fn working_days_before_a_date() {
        let c = england();
        // Ten working days before Wednesday 1 April 2026: back over two weekends.
        assert_eq!(
            c.working_days_before(date(2026, 4, 1), 10),
            Ok(date(2026, 3, 18))
        );
        // Five before Friday 10 April 2026: Good Friday and Easter Monday do not count.
        assert_eq!(
            c.working_days_before(date(2026, 4, 10), 5),
            Ok(date(2026, 4, 1))
        );
        // Before Tuesday 29 December 2026: over Christmas and Boxing Day (moved to the 28th).
        assert_eq!(
            c.working_days_before(date(2026, 12, 29), 1),
            Ok(date(2026, 12, 24))
        );
        assert_eq!(
            c.working_days_before(date(2026, 4, 1), 0),
            Ok(date(2026, 4, 1))
        );
    }

    #[test]
    fn the_shipped_data_is_england_and_wales_2025_to_2028_whole() {
        let c = england();
        assert_eq!(c.years(), 2025..=2028);
        for year in 2025..=2028 {
            let n = c
                .bank_holidays_from(date(year, 1, 1))
                .take_while(|h| h.date.year() == year)
                .count();
            assert_eq!(n, 8, "{year} has {n} bank holidays");
        }
        // As listed for England and Wales in the domain notes, 2025 to 2027.
        let listed = [
            (
                2025,
                [
                    (1, 1),
                    (4, 18),
                    (4, 21),
                    (5, 5),
                    (5, 26),
                    (8, 25),
                    (12, 25),
                    (12, 26),
                ],
            ),
            (
                2026,
                [
                    (1, 1),
                    (4, 3),
                    (4, 6),
                    (5, 4),
                    (5, 25),
                    (8, 31),
                    (12, 25),
                    (12, 28),
                ],
            ),
            (
                2027,
                [
                    (1, 1),
                    (3, 26),
                    (3, 29),
                    (5, 3),
                    (5, 31),
                    (8, 30),
                    (12, 27),
                    (12, 28),
                ],
            ),
        ];
        for (year, days) in listed {
            let found: Vec<NaiveDate> = c
                .bank_holidays_from(date(year, 1, 1))
                .take_while(|h| h.date.year() == year)
                .map(|h| h.date)
                .collect();
            let expected: Vec<NaiveDate> = days.iter().map(|&(m, d)| date(year, m, d)).collect();
            assert_eq!(found, expected, "{year}");
        }
        let boxing = c.bank_holiday(date(2026, 12, 28)).unwrap();
        assert_eq!(
            (boxing.title.as_str(), boxing.notes.as_str()),
            ("Boxing Day", "Substitute day")
        );
        // Wales shares England's list; other nations are not tenants' nations.
        assert_eq!(
            Division::of_nation("wales"),
            Some(Division::EnglandAndWales)
        );
        assert_eq!(Division::of_nation("scotland"), None);
    }

    #[test]
    fn weekends_are_not_working_days() {
        let c = england();
        // Friday 17, Saturday 18, Sunday 19, Monday 20 April 2026.
        assert_eq!(c.is_working_day(date(2026, 4, 17)), Ok(true));
        assert_eq!(c.is_working_day(date(2026, 4, 18)), Ok(false));
        assert_eq!(c.is_working_day(date(2026, 4, 19)), Ok(false));
        assert_eq!(c.is_working_day(date(2026, 4, 20)), Ok(true));
        // Friday to Monday: only the weekend between, which does not count.
        assert_eq!(
            c.working_days_between(date(2026, 4, 17), date(2026, 4, 20)),
            Ok(0)
        );
        // Monday 13 to Monday 20: Tuesday to Friday, the ends excluded.
        assert_eq!(
            c.working_days_between(date(2026, 4, 13), date(2026, 4, 20)),
            Ok(4)
        );
        assert_eq!(
            c.working_days_between(date(2026, 4, 20), date(2026, 4, 20)),
            Ok(0)
        );
        assert_eq!(
            c.working_days_between(date(2026, 4, 21), date(2026, 4, 20)),
            Ok(0)
        );
    }

    #[test]
    fn neither_the_submission_day_nor_the_visit_day_counts() {
        let c = england();
        let visit = date(2026, 4, 20); // Monday
        // Monday 13 to Friday 17 April lie between Sunday 12 and the visit: the deadline.
        assert_eq!(c.deadline(visit, 5), Ok(date(2026, 4, 12)));
        assert_eq!(c.working_days_between(date(2026, 4, 12), visit), Ok(5));
        // Friday 10 and Saturday 11 count too; Monday 13 itself is not between, so it is late.
        assert_eq!(c.working_days_between(date(2026, 4, 10), visit), Ok(5));
        assert_eq!(c.working_days_between(date(2026, 4, 13), visit), Ok(4));
        // Visit on a Wednesday: Wednesday 15 to Tuesday 21 April between, deadline Tuesday 14.
        assert_eq!(c.deadline(date(2026, 4, 22), 5), Ok(date(2026, 4, 14)));
        // One working day's notice before a Monday visit: by Thursday, leaving Friday.
        assert_eq!(c.deadline(visit, 1), Ok(date(2026, 4, 16)));
        // No notice: any day before the visit.
        assert_eq!(c.deadline(visit, 0), Ok(date(2026, 4, 19)));
        // A visit on a Saturday counts back from the Friday before it.
        assert_eq!(c.deadline(date(2026, 4, 25), 5), Ok(date(2026, 4, 19)));
    }

    #[test]
    fn easter_2026() {
        let c = england();
        assert_eq!(c.is_working_day(date(2026, 4, 2)), Ok(true)); // Maundy Thursday
        assert_eq!(c.is_working_day(date(2026, 4, 3)), Ok(false)); // Good Friday
        assert_eq!(c.is_working_day(date(2026, 4, 6)), Ok(false)); // Easter Monday
        assert_eq!(c.is_working_day(date(2026, 4, 7)), Ok(true));
        assert_eq!(
            c.bank_holiday(date(2026, 4, 3)).unwrap().title,
            "Good Friday"
        );
        // Visit Monday 13 April: Thursday 2, Tuesday 7 to Friday 10 between; Wednesday 1 April.
        let visit = date(2026, 4, 13);
        assert_eq!(c.deadline(visit, 5), Ok(date(2026, 4, 1)));
        assert_eq!(c.working_days_between(date(2026, 4, 1), visit), Ok(5));
        assert_eq!(c.working_days_between(date(2026, 4, 2), visit), Ok(4));
        // Visit Thursday 9 April: Tuesday 31 March to Thursday 2, Tuesday 7, Wednesday 8.
        assert_eq!(c.deadline(date(2026, 4, 9), 5), Ok(date(2026, 3, 30)));
        // Thursday 2 April to Tuesday 7 April: only the weekend and the two bank holidays.
        assert_eq!(
            c.working_days_between(date(2026, 4, 2), date(2026, 4, 7)),
            Ok(0)
        );
    }

    #[test]
    fn the_may_and_august_bank_holidays_2026() {
        let c = england();
        // Early May: Monday 4 May. Visit Friday 8 May: Thursday 30 April, Friday 1, Tuesday 5
        // to Thursday 7 May between.
        assert_eq!(c.is_working_day(date(2026, 5, 4)), Ok(false));
        assert_eq!(c.deadline(date(2026, 5, 8), 5), Ok(date(2026, 4, 29)));
        // Late May (spring): Monday 25 May. Visit Friday 29 May: deadline Wednesday 20 May.
        assert_eq!(c.is_working_day(date(2026, 5, 25)), Ok(false));
        assert_eq!(c.deadline(date(2026, 5, 29), 5), Ok(date(2026, 5, 20)));
        // Summer: Monday 31 August. Visit Friday 4 September: deadline Wednesday 26 August.
        assert_eq!(c.is_working_day(date(2026, 8, 31)), Ok(false));
        assert_eq!(c.deadline(date(2026, 9, 4), 5), Ok(date(2026, 8, 26)));
        // The week before the early May holiday is untouched: visit Friday 1 May, deadline
        // Thursday 23 April.
        assert_eq!(c.deadline(date(2026, 5, 1), 5), Ok(date(2026, 4, 23)));
    }

    #[test]
    fn christmas_2026() {
        let c = england();
        // Friday 25 December; Boxing Day is a Saturday, so Monday 28 is its substitute.
        assert_eq!(c.is_working_day(date(2026, 12, 24)), Ok(true));
        assert_eq!(c.is_working_day(date(2026, 12, 25)), Ok(false));
        assert_eq!(c.is_working_day(date(2026, 12, 26)), Ok(false));
        assert_eq!(c.is_working_day(date(2026, 12, 28)), Ok(false));
        assert_eq!(c.is_working_day(date(2026, 12, 29)), Ok(true));
        // Visit Tuesday 5 January 2027: Monday 4 January, Tuesday 29 to Thursday 31 December
        // and Thursday 24 December between (New Year's Day too is a bank holiday).
        assert_eq!(c.deadline(date(2027, 1, 5), 5), Ok(date(2026, 12, 23)));
        assert_eq!(
            c.working_days_between(date(2026, 12, 24), date(2027, 1, 5)),
            Ok(4)
        );
        // Thursday 24 to Tuesday 29 December: no working day between.
        assert_eq!(
            c.working_days_between(date(2026, 12, 24), date(2026, 12, 29)),
            Ok(0)
        );
    }

    #[test]
    fn a_closure_day_is_not_a_working_day() {
        let inset = date(2026, 6, 1); // Monday
        let c = Calendar::new(Division::EnglandAndWales, [inset]);
        assert!(c.is_closure_day(inset));
        assert_eq!(c.is_working_day(inset), Ok(false));
        assert_eq!(england().is_working_day(inset), Ok(true));
        // Visit Friday 5 June: without the closure day, Friday 29 May and Monday 1 to Thursday
        // 4 June lie between, deadline Thursday 28 May; with it, Thursday 28 May takes Monday's
        // place and the deadline is Wednesday 27 May.
        let visit = date(2026, 6, 5);
        assert_eq!(england().deadline(visit, 5), Ok(date(2026, 5, 28)));
        assert_eq!(c.deadline(visit, 5), Ok(date(2026, 5, 27)));
        assert_eq!(c.working_days_between(date(2026, 5, 27), visit), Ok(5));
        assert_eq!(c.working_days_between(date(2026, 5, 28), visit), Ok(4));
    }

    #[test]
    fn late_counts_the_working_days_after_the_deadline_up_to_the_submission() {
        let c = england();
        let visit = date(2026, 4, 13);
        let deadline = c.deadline(visit, 5).unwrap(); // Wednesday 1 April
        assert_eq!(c.working_days_late(deadline, date(2026, 3, 20)), Ok(0));
        assert_eq!(c.working_days_late(deadline, deadline), Ok(0));
        assert_eq!(c.working_days_late(deadline, date(2026, 4, 2)), Ok(1));
        assert_eq!(c.working_days_late(deadline, date(2026, 4, 3)), Ok(1)); // Good Friday
        assert_eq!(c.working_days_late(deadline, date(2026, 4, 6)), Ok(1)); // Easter Monday
        assert_eq!(c.working_days_late(deadline, date(2026, 4, 7)), Ok(2));
        assert_eq!(c.working_days_late(deadline, date(2026, 4, 10)), Ok(5));
        // A Sunday deadline: Monday is one day late.
        let sunday = c.deadline(date(2026, 4, 20), 5).unwrap();
        assert_eq!(c.working_days_late(sunday, date(2026, 4, 13)), Ok(1));
    }

    /// The three functions agree with the definition for every submission day in a stretch
    /// with Easter, a closure day and weekends: a submission counts exactly when it is on or
    /// before the deadline, and lateness is the notice it fell short of.
    #[test]
    fn deadline_between_and_late_agree_with_the_definition() {
        let c = Calendar::new(Division::EnglandAndWales, [date(2026, 4, 14)]);
        for (visit, n) in [
            (date(2026, 4, 13), 5),
            (date(2026, 4, 20), 5),
            (date(2026, 4, 17), 3),
            (date(2026, 4, 9), 10),
        ] {
            let deadline = c.deadline(visit, n).unwrap();
            let mut s = date(2026, 3, 1);
            while s < visit {
                let left = c.working_days_between(s, visit).unwrap();
                assert_eq!(left >= n, s <= deadline, "{s} for {visit}");
                assert_eq!(
                    c.working_days_late(deadline, s).unwrap(),
                    n.saturating_sub(left),
                    "{s} for {visit}"
                );
                s = s.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn dates_outside_the_known_years_are_an_error_not_a_guess() {
        let c = england();
        let err = c.is_working_day(date(2029, 1, 2)).unwrap_err();
        assert_eq!(err.date, date(2029, 1, 2));
        assert_eq!(
            err.to_string(),
            "bank holidays for 2029 are not known: the service knows those of 2025 to 2028"
        );
        // Weekends outside the years are refused too: no answer is given half-known.
        assert!(c.is_working_day(date(2029, 1, 6)).is_err());
        assert!(c.deadline(date(2029, 1, 15), 5).is_err());
        // A deadline whose count runs back into 2024 cannot be given either.
        assert_eq!(
            c.deadline(date(2025, 1, 6), 5).unwrap_err().date,
            date(2024, 12, 31)
        );
        assert!(
            c.working_days_between(date(2028, 12, 20), date(2029, 1, 5))
                .is_err()
        );
        assert!(
            c.working_days_late(date(2028, 12, 29), date(2029, 1, 3))
                .is_err()
        );
        // Inside the years, the edges are fine.
        assert_eq!(c.deadline(date(2025, 1, 13), 5), Ok(date(2025, 1, 5)));
        assert_eq!(c.is_working_day(date(2028, 12, 29)), Ok(true));
        // Nothing is looked up when nothing needs to be: a same-day range, or no notice.
        assert_eq!(
            c.working_days_between(date(2029, 1, 1), date(2029, 1, 2)),
            Ok(0)
        );
        assert_eq!(c.deadline(date(2029, 1, 3), 0), Ok(date(2029, 1, 2)));
    }
}
