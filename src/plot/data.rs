//! Loading a results directory once and indexing it for the charts.
//!
//! `periods.csv` can hold millions of rows (365 periods x 9 groups x 3 products x 30 sites x 5
//! metrics), so it is streamed row by row and only the series the charts draw are kept, in a
//! hash map keyed by (site, product, group, metric). Every chart then looks its series up
//! instead of rescanning the rows.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};

use super::PlotError;
use crate::results::{
    self, ALL, Headline, PERIODS_FILE, PeriodRow, REPLICATIONS_FILE, ReplicationRow, Summary,
};

/// The metrics of `periods.csv` the charts draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    DaysOfSupply,
    UnitsShort,
    ShortageProbability,
}

impl Metric {
    fn parse(name: &str) -> Option<Metric> {
        match name {
            "days_of_supply" => Some(Metric::DaysOfSupply),
            "units_short" => Some(Metric::UnitsShort),
            "shortage_probability" => Some(Metric::ShortageProbability),
            _ => None,
        }
    }
}

/// One period of one series; missing percentiles are `NaN`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub period: u32,
    pub mean: f64,
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

impl Point {
    fn from_row(row: &PeriodRow) -> Point {
        let get = |v: Option<f64>| v.unwrap_or(f64::NAN);
        Point {
            period: row.period,
            mean: row.mean,
            p05: get(row.p05),
            p25: get(row.p25),
            p50: get(row.p50),
            p75: get(row.p75),
            p95: get(row.p95),
        }
    }

    /// The median, or the mean where the median is missing.
    pub fn median(&self) -> f64 {
        if self.p50.is_finite() {
            self.p50
        } else {
            self.mean
        }
    }
}

/// Interned names, so that a series key is four small integers.
#[derive(Debug, Default)]
struct Names {
    ids: HashMap<String, u32>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(name.to_string(), id);
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

type Key = (u32, u32, u32, Metric);

/// At most this many sites get a panel in the per-site chart.
pub const MAX_SITE_PANELS: usize = 36;

/// A results directory, read once and indexed.
#[derive(Debug)]
pub struct ResultsData {
    pub summary: Summary,
    pub replications: Vec<ReplicationRow>,
    /// The (product, group) shown per site: the one with the highest shortage probability.
    pub focus: (String, String),
    /// Sites other than `all` that have per-site days-of-supply rows for the focus product,
    /// in the order of `Summary::sites` (then order of appearance).
    pub sites: Vec<String>,
    /// Number of sites with per-site rows before keeping the [`MAX_SITE_PANELS`] most at risk.
    pub sites_total: usize,
    names: Names,
    series: HashMap<Key, Vec<Point>>,
    start: Option<NaiveDateTime>,
}

pub(super) fn io_error(path: &Path, source: std::io::Error) -> PlotError {
    // `results::read_*` already prefix some messages with the path; do not repeat it.
    let message = source.to_string();
    let prefix = format!("{}: ", path.display());
    let message = message
        .strip_prefix(&prefix)
        .map(str::to_string)
        .unwrap_or(message);
    PlotError::Read {
        path: path.to_path_buf(),
        message,
    }
}

impl ResultsData {
    /// Reads `summary.json`, `periods.csv` and `replications.csv` from `dir`.
    pub fn load(dir: &Path) -> Result<ResultsData, PlotError> {
        let summary = results::read_summary(dir)
            .map_err(|e| io_error(&dir.join(results::SUMMARY_FILE), e))?;
        results::verify_files(dir, &summary)
            .map_err(|(path, message)| PlotError::Read { path, message })?;
        let focus = focus_of(&summary.headline);

        let periods_path = dir.join(PERIODS_FILE);
        let mut reader = csv::Reader::from_path(&periods_path).map_err(|e| PlotError::Read {
            path: periods_path.clone(),
            message: e.to_string(),
        })?;
        let mut names = Names::default();
        let all_id = names.intern(ALL);
        let mut series: HashMap<Key, Vec<Point>> = HashMap::new();
        let mut site_order: Vec<String> = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut rows_per_period = vec![0usize; summary.time.periods as usize];
        let headers = reader
            .headers()
            .map_err(|e| PlotError::Read {
                path: periods_path.clone(),
                message: e.to_string(),
            })?
            .clone();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    return Err(PlotError::Read {
                        path: periods_path,
                        message: e.to_string(),
                    });
                }
            }
            let row: PeriodRow =
                record
                    .deserialize(Some(&headers))
                    .map_err(|e| PlotError::Read {
                        path: periods_path.clone(),
                        message: e.to_string(),
                    })?;
            match rows_per_period.get_mut(row.period as usize) {
                Some(n) => *n += 1,
                None => {
                    return Err(PlotError::Read {
                        path: periods_path,
                        message: format!(
                            "period {} is beyond the {} periods of summary.json: the files are not from one run",
                            row.period, summary.time.periods
                        ),
                    });
                }
            }
            let Some(metric) = Metric::parse(&row.metric) else {
                continue;
            };
            if row.site != ALL {
                // Per site, only the days of supply of the focus product are drawn.
                let wanted_group = row.group == focus.1 || row.group == ALL;
                if metric != Metric::DaysOfSupply || row.product != focus.0 || !wanted_group {
                    continue;
                }
                if !site_order.contains(&row.site) {
                    site_order.push(row.site.clone());
                }
            }
            let site = if row.site == ALL {
                all_id
            } else {
                names.intern(&row.site)
            };
            let key = (
                site,
                names.intern(&row.product),
                names.intern(&row.group),
                metric,
            );
            series.entry(key).or_default().push(Point::from_row(&row));
        }
        for points in series.values_mut() {
            points.sort_by_key(|p| p.period);
        }
        // Every period has the same rows (a run writes them all): fewer means the file was
        // cut short.
        let complete = rows_per_period.first().copied().unwrap_or(0);
        if complete == 0 || rows_per_period.iter().any(|&n| n != complete) {
            let periods_with_rows = rows_per_period.iter().filter(|&&n| n > 0).count();
            return Err(PlotError::Read {
                path: periods_path,
                message: format!(
                    "incomplete: rows for {periods_with_rows} of the {} periods of summary.json, or unequal rows per period (was the run interrupted?)",
                    summary.time.periods
                ),
            });
        }

        let replications: Vec<ReplicationRow> = results::read_rows(dir, REPLICATIONS_FILE)
            .map_err(|e| io_error(&dir.join(REPLICATIONS_FILE), e))?;

        let mut sites: Vec<String> = summary
            .sites
            .iter()
            .map(|s| s.name.clone())
            .filter(|n| site_order.contains(n))
            .collect();
        for s in site_order {
            if !sites.contains(&s) {
                sites.push(s);
            }
        }
        let start = parse_time(&summary.time.start);
        let sites_total = sites.len();
        let mut data = ResultsData {
            summary,
            replications,
            focus,
            sites,
            sites_total,
            names,
            series,
            start,
        };
        data.keep_most_at_risk_sites();
        Ok(data)
    }

    /// Keeps at most [`MAX_SITE_PANELS`] sites for the per-site chart: those whose median days
    /// of supply (focus product and group) fall lowest, in their original order.
    fn keep_most_at_risk_sites(&mut self) {
        if self.sites.len() <= MAX_SITE_PANELS {
            return;
        }
        let (product, group) = &self.focus;
        let lowest = |site: &str| -> f64 {
            let mut points = self.series(site, product, group, Metric::DaysOfSupply);
            if points.is_empty() {
                points = self.series(site, product, ALL, Metric::DaysOfSupply);
            }
            points
                .iter()
                .map(Point::median)
                .filter(|v| v.is_finite())
                .fold(f64::INFINITY, f64::min)
        };
        let mut ranked: Vec<(f64, usize)> = self
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| (lowest(s), i))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut keep: Vec<usize> = ranked
            .into_iter()
            .take(MAX_SITE_PANELS)
            .map(|(_, i)| i)
            .collect();
        keep.sort_unstable();
        self.sites = keep.into_iter().map(|i| self.sites[i].clone()).collect();
    }

    /// The points of one series, sorted by period; empty if absent.
    pub fn series(&self, site: &str, product: &str, group: &str, metric: Metric) -> &[Point] {
        let key = (|| {
            Some((
                self.names.get(site)?,
                self.names.get(product)?,
                self.names.get(group)?,
                metric,
            ))
        })();
        key.and_then(|k| self.series.get(&k))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The groups to draw for `product` at network level: `Summary::groups` then `all`,
    /// keeping those with data (for an ungrouped scenario, `all` duplicates `any` and is dropped).
    pub fn groups_with_data(&self, product: &str, metric: Metric) -> Vec<String> {
        let mut groups: Vec<String> = self
            .summary
            .groups
            .iter()
            .filter(|g| g.as_str() != ALL)
            .cloned()
            .collect();
        if groups.len() != 1 {
            groups.push(ALL.to_string());
        }
        groups.retain(|g| !self.series(ALL, product, g, metric).is_empty());
        if groups.is_empty() && !self.series(ALL, product, ALL, metric).is_empty() {
            groups.push(ALL.to_string());
        }
        groups
    }

    /// Number of periods on the x axis.
    pub fn periods(&self) -> u32 {
        let max_seen = self
            .series
            .values()
            .filter_map(|v| v.last())
            .map(|p| p.period.saturating_add(1))
            .max()
            .unwrap_or(0);
        self.summary.time.periods.max(max_seen).max(1)
    }

    /// A date label for period `x` (fractional periods allowed), or `period N` if the start
    /// time cannot be parsed.
    pub fn period_label(&self, x: f64) -> String {
        self.format_period(x, "%d %b %Y", "%d %b %H:%M")
            .unwrap_or_else(|| format!("period {}", x.round()))
    }

    /// A short date label (`12 Mar`, or `12 Mar 06h` for sub-daily periods) for small panels.
    pub fn period_label_short(&self, x: f64) -> String {
        self.format_period(x, "%d %b", "%d %b %Hh")
            .unwrap_or_else(|| format!("{}", x.round()))
    }

    fn format_period(&self, x: f64, daily: &str, hourly: &str) -> Option<String> {
        let hours = self.summary.time.period_hours.max(1) as f64;
        let t = offset(self.start?, x * hours)?;
        Some(
            t.format(if hours >= 24.0 { daily } else { hourly })
                .to_string(),
        )
    }
}

/// The headline (product, group) with the highest shortage probability; ties prefer red
/// cells O-, then the first in the headline. Group totals (`all`) are not candidates unless
/// nothing else exists.
fn focus_of(headline: &[Headline]) -> (String, String) {
    let candidates: Vec<&Headline> = {
        let groups: Vec<&Headline> = headline.iter().filter(|h| h.group != ALL).collect();
        if groups.is_empty() {
            headline.iter().collect()
        } else {
            groups
        }
    };
    let mut best: Option<&Headline> = None;
    for h in candidates {
        let p = h.shortage_probability.mean;
        if !p.is_finite() {
            continue;
        }
        best = match best {
            None => Some(h),
            Some(b) => {
                let bp = b.shortage_probability.mean;
                let preferred = h.product == "red_cells" && h.group == "O-";
                if p > bp || (p == bp && preferred) {
                    Some(h)
                } else {
                    Some(b)
                }
            }
        };
    }
    match best {
        Some(h) => (h.product.clone(), h.group.clone()),
        None => ("red_cells".to_string(), "O-".to_string()),
    }
}

/// `start` plus `hours`, or `None` if not finite or out of the representable range.
fn offset(start: NaiveDateTime, hours: f64) -> Option<NaiveDateTime> {
    let minutes = (hours * 60.0).round();
    if !minutes.is_finite() || minutes.abs() > 1e12 {
        return None;
    }
    start.checked_add_signed(Duration::try_minutes(minutes as i64)?)
}

/// Parses an ISO 8601 date-time (with or without offset) or a plain date.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.naive_local());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Estimate;

    fn headline(product: &str, group: &str, p: f64) -> Headline {
        let e = Estimate {
            mean: p,
            ci_low: p,
            ci_high: p,
        };
        Headline {
            product: product.into(),
            group: group.into(),
            demand: e,
            fill_rate: e,
            units_short: e,
            shortage_probability: e,
            expired: e,
            outdate_rate: e,
            mean_days_of_supply: e,
            time_in_stage: vec![],
            stage_probability: vec![],
        }
    }

    #[test]
    fn focus_prefers_highest_then_red_cells_o_neg() {
        let h = vec![
            headline("platelets", "A+", 0.2),
            headline("red_cells", "O-", 0.2),
            headline("red_cells", ALL, 0.9),
        ];
        assert_eq!(focus_of(&h), ("red_cells".into(), "O-".into()));
        let h = vec![
            headline("platelets", "A+", 0.3),
            headline("red_cells", "O-", 0.2),
        ];
        assert_eq!(focus_of(&h), ("platelets".into(), "A+".into()));
        assert_eq!(focus_of(&[]), ("red_cells".into(), "O-".into()));
    }

    #[test]
    fn parses_iso_times() {
        assert!(parse_time("2025-01-01T00:00:00Z").is_some());
        assert!(parse_time("2025-01-01T00:00:00+09:00").is_some());
        assert!(parse_time("2025-01-01T00:00:00").is_some());
        assert!(parse_time("2025-01-01").is_some());
        assert!(parse_time("yesterday").is_none());
        let start = parse_time("2025-01-01").unwrap();
        assert_eq!(offset(start, 48.0), parse_time("2025-01-03"));
        assert_eq!(offset(start, 1e15), None);
        assert_eq!(offset(start, f64::NAN), None);
    }
}
