//! Days of supply and the alert stage they put a blood service in: pure functions shared by
//! the recorders (what a planner reads) and the service's responses (what it acts on), so
//! both see the same stage at the same stock.

use crate::scenario::AlertLevel;

/// Units on hand as days of baseline demand; `None` where there is no baseline demand.
#[inline]
pub fn days_of_supply(on_hand: u64, baseline_per_day: f64) -> Option<f64> {
    (baseline_per_day > 0.0).then(|| on_hand as f64 / baseline_per_day)
}

/// The most severe alert stage whose `below_days` exceeds `days` (stages are listed least
/// severe first); `None` when stock is above every threshold.
#[inline]
pub fn alert_stage(levels: &[AlertLevel], days: f64) -> Option<usize> {
    levels.iter().rposition(|level| days < level.below_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn korea() -> Vec<AlertLevel> {
        [
            ("attention", 5.0),
            ("caution", 3.0),
            ("alert", 2.0),
            ("serious", 1.0),
        ]
        .into_iter()
        .map(|(name, below_days)| AlertLevel {
            name: name.into(),
            below_days,
        })
        .collect()
    }

    #[test]
    fn stages_by_days_of_supply() {
        let levels = korea();
        let cases = [
            (6.0, None),
            (5.0, None),
            (4.9, Some(0)),
            (3.0, Some(0)),
            (2.5, Some(1)),
        ];
        for (days, stage) in cases.into_iter().chain([(1.0, Some(2)), (0.0, Some(3))]) {
            assert_eq!(alert_stage(&levels, days), stage, "{days} days");
        }
        assert_eq!(days_of_supply(50, 10.0), Some(5.0));
        assert_eq!(days_of_supply(50, 0.0), None);
    }
}
