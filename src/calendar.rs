//! Simulated time: periods, days, weekdays, months.
//!
//! Simulated time is explicit and separate from the wall clock. A period is `period_hours`
//! long (dividing 24), so every day holds a whole number of periods and daily rates split
//! evenly over them.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

/// Period lengths allowed, in hours: each divides a day.
pub const PERIOD_HOURS_ALLOWED: [u32; 8] = [1, 2, 3, 4, 6, 8, 12, 24];

/// The simulated calendar of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub start: NaiveDate,
    pub period_hours: u32,
    /// Total periods simulated.
    pub periods: u32,
    /// Periods at the start excluded from metrics.
    pub warm_up_periods: u32,
}

impl Calendar {
    pub fn periods_per_day(&self) -> u32 {
        24 / self.period_hours
    }

    /// Fraction of a day one period covers.
    pub fn day_fraction(&self) -> f64 {
        f64::from(self.period_hours) / 24.0
    }

    pub fn days(&self) -> u32 {
        self.periods.div_ceil(self.periods_per_day())
    }

    /// Day index (0 = start date) of a period.
    pub fn day_of(&self, period: u32) -> u32 {
        period / self.periods_per_day()
    }

    pub fn date(&self, day: u32) -> NaiveDate {
        self.start + Duration::days(i64::from(day))
    }

    /// Monday = 0 ... Sunday = 6.
    pub fn weekday(&self, day: u32) -> usize {
        // Arithmetic, not a date per call: the engine asks every period.
        ((self.start.weekday().num_days_from_monday() + day % 7) % 7) as usize
    }

    /// January = 0 ... December = 11.
    pub fn month(&self, day: u32) -> usize {
        self.date(day).month0() as usize
    }

    /// Start of a period as a date-time.
    pub fn period_start(&self, period: u32) -> NaiveDateTime {
        self.start.and_hms_opt(0, 0, 0).unwrap_or_default()
            + Duration::hours(i64::from(period * self.period_hours))
    }

    /// A duration in hours as a whole number of periods, rounded to nearest (halves up).
    pub fn hours_to_periods(&self, hours: f64) -> u32 {
        (hours / f64::from(self.period_hours) + 0.5)
            .floor()
            .max(0.0) as u32
    }

    pub fn days_to_periods(&self, days: f64) -> u32 {
        self.hours_to_periods(days * 24.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(period_hours: u32) -> Calendar {
        Calendar {
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            period_hours,
            periods: 24 / period_hours * 10,
            warm_up_periods: 0,
        }
    }

    #[test]
    fn weekdays_and_months_are_real() {
        let c = cal(24);
        assert_eq!(c.weekday(0), 3); // 2026-01-01 is a Thursday
        assert_eq!(c.month(31), 1);
        assert_eq!(c.period_start(2).to_string(), "2026-01-03 00:00:00");
        // The weekday by arithmetic is the date's, across years and leap days.
        for day in 0..3000 {
            let date = c.date(day).weekday().num_days_from_monday() as usize;
            assert_eq!(c.weekday(day), date, "day {day}");
        }
    }

    #[test]
    fn sub_day_periods() {
        let c = cal(4);
        assert_eq!(c.periods_per_day(), 6);
        assert_eq!(c.day_of(13), 2);
        assert_eq!(c.period_start(13).to_string(), "2026-01-03 04:00:00");
        assert_eq!(c.days_to_periods(42.0), 252);
        assert_eq!(c.hours_to_periods(5.0), 1);
        assert_eq!(c.hours_to_periods(6.0), 2);
        assert_eq!(c.days(), 10);
    }
}
