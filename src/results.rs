//! The results directory: the file formats a Monte Carlo run writes and the plots read.
//!
//! A results directory holds `summary.json` ([`Summary`]), `periods.csv` (rows of
//! [`PeriodRow`]) and `replications.csv` (rows of [`ReplicationRow`]). These types are the
//! contract between the runner that writes them and the plots and report that read them;
//! both sides use them, so the formats cannot drift apart.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name of the run summary inside a results directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// File name of the per-period percentile table.
pub const PERIODS_FILE: &str = "periods.csv";
/// File name of the per-replication totals.
pub const REPLICATIONS_FILE: &str = "replications.csv";
/// A comparison's paired differences (`bloodsim compare`), beside one results directory per
/// variant.
pub const COMPARISON_FILE: &str = "comparison.csv";
/// A comparison's paired differences by period (network days of supply, shortage
/// probability), for its difference charts.
pub const PERIOD_DIFFERENCES_FILE: &str = "differences_by_period.csv";
/// A sweep's headline metrics by setting (`bloodsim sweep`), beside one results directory
/// per setting.
pub const SWEEP_FILE: &str = "sweep.csv";
/// Label used in `site` and `group` columns for a total over all sites or groups.
pub const ALL: &str = "all";

/// `summary.json`: run metadata and headline metrics with confidence intervals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub bloodsim_version: String,
    pub scenario: ScenarioInfo,
    pub run: RunInfo,
    pub time: TimeInfo,
    /// Blood-group labels in display order (`["all"]`-free; a single-product scenario has `["any"]`).
    pub groups: Vec<String>,
    /// Product names (`red_cells`, `platelets`, `plasma`, `whole_blood`).
    pub products: Vec<String>,
    pub sites: Vec<SiteInfo>,
    /// Alert bands by days of supply, most severe last (e.g. Korea: attention < 5, ..., serious < 1).
    pub alert_levels: Vec<AlertLevel>,
    /// Whose days of supply the stages read: `network` (hubs and hospitals) or `hubs`.
    #[serde(default = "network")]
    pub alert_stock: String,
    /// Products the stages apply to (empty in results written before this field: all).
    #[serde(default)]
    pub alert_products: Vec<String>,
    /// Emergency event windows, for shading charts. Empty until events exist.
    pub events: Vec<EventWindow>,
    /// One row per product and group, plus a `group = "all"` row per product.
    pub headline: Vec<Headline>,
    /// Size and SHA-256 of `periods.csv` and `replications.csv` as this run wrote them, so
    /// a reader can tell they belong to this summary (empty in older results: not checked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDigest>,
}

/// A result file's name, size and SHA-256 (lowercase hex).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileDigest {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Passes writes through, hashing them: a file's digest without reading it back.
struct Digesting<'a> {
    inner: &'a mut dyn Write,
    hash: Sha256,
    bytes: u64,
}

impl Write for Digesting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes` in lowercase hex, as result and shard files record it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Writes a file atomically with `fill` and returns its digest.
fn write_digested(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<FileDigest> {
    let mut digest = None;
    write_atomic_with(path, |w| {
        let mut d = Digesting {
            inner: w,
            hash: Sha256::new(),
            bytes: 0,
        };
        fill(&mut d)?;
        digest = Some((d.bytes, hex(&d.hash.finalize())));
        Ok(())
    })?;
    let (bytes, sha256) = digest.unwrap_or_default();
    Ok(FileDigest {
        name: path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        bytes,
        sha256,
    })
}

/// Checks that the files `summary` records are the ones in `dir`: a directory whose CSVs
/// come from another run (copied in, or left by an older one) is refused. Returns the
/// first file that differs, with why.
pub fn verify_files(dir: &Path, summary: &Summary) -> Result<(), (PathBuf, String)> {
    use std::io::Read;
    for f in &summary.files {
        let path = dir.join(&f.name);
        let fail = |why: String| (path.clone(), why);
        let mut file = fs::File::open(&path).map_err(|e| fail(e.to_string()))?;
        let (mut hash, mut bytes, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 16]);
        loop {
            let n = file.read(&mut buf).map_err(|e| fail(e.to_string()))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            bytes += n as u64;
        }
        if bytes != f.bytes || hex(&hash.finalize()) != f.sha256 {
            return Err(fail(format!(
                "not the file this run wrote ({bytes} bytes; summary.json records {} bytes and another SHA-256): the directory mixes files of different runs; run again into a new directory",
                f.bytes
            )));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub assumptions: Vec<String>,
    /// Path of the scenario file as given on the command line.
    pub file: String,
    /// Hex SHA-256 of the scenario file's bytes.
    pub file_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    pub seed: u64,
    pub replications: u64,
    pub threads: usize,
    pub wall_seconds: f64,
    /// Shards merged into these results (`bloodsim merge`); absent for one run. `threads`
    /// is then the most any shard used, and `wall_seconds` their sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u64>,
    /// Per-period percentiles that are a histogram bin's floor rather than exact, because
    /// the pilot replications did not reach that far (see ARCHITECTURE.md); a small share
    /// (korea-baseline: about 500 of 1.5 million).
    #[serde(default)]
    pub approximate_percentiles: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimeInfo {
    /// ISO 8601 date-time of the start of period 0.
    pub start: String,
    pub period_hours: u32,
    pub periods: u32,
    /// Periods before this index are warm-up, excluded from headline metrics.
    pub warm_up_periods: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteInfo {
    pub name: String,
    /// `collection`, `lab`, `hub`, `hospital` or `supplier`.
    pub kind: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlertLevel {
    pub name: String,
    /// The band applies when days of supply fall below this value.
    pub below_days: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EventWindow {
    pub name: String,
    /// First period of the event (inclusive).
    pub start_period: u32,
    /// Last period of the event (exclusive).
    pub end_period: u32,
}

/// A mean with a 95% confidence interval over replications. JSON has no NaN: an undefined
/// value (e.g. a fill rate without demand) is written as `null` and read back as NaN.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Estimate {
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub ci_low: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub ci_high: f64,
}

impl Estimate {
    /// The interval cut to the range the quantity can take (`[0, inf)` for counts, `[0, 1]`
    /// for rates): a normal interval of a skewed mean (units short: mostly 0, sometimes
    /// hundreds) can reach below zero. The true mean lies in the range, so the cut interval
    /// contains it whenever the whole one does: coverage is unchanged.
    pub fn within(self, low: f64, high: f64) -> Estimate {
        Estimate {
            ci_low: self.ci_low.max(low),
            ci_high: self.ci_high.min(high),
            ..self
        }
    }
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// Headline metrics for one product and recipient group (or `all`), after warm-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Headline {
    pub product: String,
    pub group: String,
    /// Units demanded per replication.
    pub demand: Estimate,
    /// Issued / demanded.
    pub fill_rate: Estimate,
    /// Units demanded but not issued, per replication.
    pub units_short: Estimate,
    /// Share of replications with any unmet demand over the horizon.
    pub shortage_probability: Estimate,
    /// Units expired per replication.
    pub expired: Estimate,
    /// Expired / (opening stock + released into stock); see ARCHITECTURE.md.
    pub outdate_rate: Estimate,
    /// Mean over replications of the time-averaged days of supply.
    pub mean_days_of_supply: Estimate,
    /// By alert stage (`Summary::alert_levels` order): the share of measured days the
    /// network's days of supply spent in that stage.
    #[serde(default)]
    pub time_in_stage: Vec<Estimate>,
    /// By alert stage: the share of replications whose network days of supply reached that
    /// stage or a more severe one on some measured day (what a planner acts on; compare the
    /// shortage probability, which any unit short anywhere sets).
    #[serde(default)]
    pub stage_probability: Vec<Estimate>,
}

/// One row of `periods.csv` (tidy long format).
///
/// `metric` is one of `on_hand`, `days_of_supply`, `units_short`, `expired`
/// (percentile columns filled) or `shortage_probability` (only `mean`, the share of
/// replications with unmet demand in the period; percentile columns empty).
///
/// Read with owned strings; written with lent ones (`&str`), so the runner formats a
/// million rows without allocating or counting references per row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PeriodRow<S = String> {
    pub period: u32,
    /// ISO 8601 date-time of the start of the period.
    pub time: S,
    /// Site name, or `all` for the whole network.
    pub site: S,
    pub product: S,
    /// Group label, or `all` for the sum over groups.
    pub group: S,
    pub metric: S,
    pub mean: f64,
    pub p05: Option<f64>,
    pub p25: Option<f64>,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p95: Option<f64>,
}

impl PeriodRow<&str> {
    /// The row with its text owned (as read back from the file).
    pub fn to_owned_row(&self) -> PeriodRow {
        PeriodRow {
            period: self.period,
            time: self.time.to_owned(),
            site: self.site.to_owned(),
            product: self.product.to_owned(),
            group: self.group.to_owned(),
            metric: self.metric.to_owned(),
            mean: self.mean,
            p05: self.p05,
            p25: self.p25,
            p50: self.p50,
            p75: self.p75,
            p95: self.p95,
        }
    }
}

/// One row of `replications.csv`: the totals of one replication for one product and
/// recipient group (or `all`), after warm-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplicationRow {
    pub replication: u64,
    pub product: String,
    pub group: String,
    pub demand: u64,
    pub issued: u64,
    pub units_short: u64,
    /// Patient requests not fully served.
    pub requests_short: u64,
    pub expired: u64,
    /// Units released into stock (from testing, or from outside suppliers).
    pub released: u64,
    pub outdate_rate: f64,
    pub fill_rate: f64,
    pub min_days_of_supply: f64,
    /// Periods spent in each alert band, in `Summary::alert_levels` order, `;`-separated.
    pub periods_in_alert: String,
    /// Cost under the scenario's unit costs (0 when it gives none); see `metrics::Line::cost`.
    #[serde(default)]
    pub cost: f64,
    /// Units moved by road, and the mean hours from donation to the hub (see `metrics`).
    #[serde(default)]
    pub units_moved: u64,
    #[serde(default)]
    pub hours_donation_to_hub: f64,
    /// Units collected (before testing discards) or supplied from outside, by donor group.
    #[serde(default)]
    pub collected: u64,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a reader never sees a half-written file.
/// Writes a file so that readers see either the old file or the whole new one: the bytes go
/// to a temporary file beside it, which is synced and renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for content produced by `fill` in pieces (streamed, never held whole).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp: PathBuf = dir.join(tmp_name);
    let result = (|| {
        let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A results directory built aside and swapped in whole, so that a reader (or a run killed at
/// any moment) sees either the old complete directory or the new one, never a mix.
///
/// The new files go to a hidden sibling `.NAME.building-PID`; [`Staging::commit`] exchanges it
/// with the target in one atomic rename (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two
/// renames) and then deletes the old contents. Dropping an uncommitted staging deletes it;
/// one left by a killed run is deleted by the next run to the same target.
#[derive(Debug)]
pub struct Staging {
    building: PathBuf,
    target: PathBuf,
    committed: bool,
}

const BUILDING_TAG: &str = ".building-";

impl Staging {
    /// Creates the directory aside (which checks that the target's parent is writable).
    /// An existing target must be a results directory (it holds `summary.json`, or
    /// `comparison.csv` or `sweep.csv`) or empty, since the whole of it is replaced.
    pub fn new(target: &Path) -> io::Result<Staging> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::other("the results path has no directory name"))?;
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent)?;
        if let Ok(meta) = fs::symlink_metadata(target) {
            if !meta.is_dir() {
                return Err(io::Error::other("it exists and is not a directory"));
            }
            let empty = fs::read_dir(target)?.next().is_none();
            let results = [
                SUMMARY_FILE,
                COMPARISON_FILE,
                SWEEP_FILE,
                crate::shard::META_FILE,
            ];
            if !empty && !results.iter().any(|f| target.join(f).exists()) {
                return Err(io::Error::other(format!(
                    "it exists and is not a results directory (no {SUMMARY_FILE} or {COMPARISON_FILE}); a run replaces its results directory whole, so choose a new or empty directory"
                )));
            }
        }
        let prefix = format!(".{}{BUILDING_TAG}", name.to_string_lossy());
        remove_stale(parent, &prefix);
        let building = parent.join(format!("{prefix}{}", std::process::id()));
        if building.exists() {
            fs::remove_dir_all(&building)?;
        }
        fs::create_dir(&building)?;
        Ok(Staging {
            building,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Where to write the new results.
    pub fn dir(&self) -> &Path {
        &self.building
    }

    /// Swaps the new results in; `hook` is called with `"exchanged"` between the swap and
    /// the removal of the old results (for tests of interrupted runs).
    pub fn commit(mut self, hook: impl Fn(&str)) -> io::Result<()> {
        if fs::symlink_metadata(&self.target).is_err() {
            fs::rename(&self.building, &self.target)?;
        } else {
            exchange(&self.building, &self.target)?;
            hook("exchanged");
            // `building` now holds the old results.
            fs::remove_dir_all(&self.building)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.building);
        }
    }
}

/// Removes directories `PREFIX<pid>` left by runs that no longer run.
fn remove_stale(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Without /proc (not Linux) a run's liveness is unknown: leave its directory.
        let alive = pid == std::process::id()
            || !cfg!(target_os = "linux")
            || Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Exchanges two directories atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths, relative to the working directory.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Exchanges two directories with two renames (briefly, `b` is absent).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let mut aside = b.as_os_str().to_owned();
    aside.push(".old");
    fs::rename(b, &aside)?;
    fs::rename(a, b)?;
    fs::rename(&aside, a)
}

pub fn read_summary(dir: &Path) -> io::Result<Summary> {
    let path = dir.join(SUMMARY_FILE);
    let text = fs::read_to_string(&path)?;
    serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Reads all rows of a CSV file of the results directory.
pub fn read_rows<T: for<'de> Deserialize<'de>>(dir: &Path, file: &str) -> io::Result<Vec<T>> {
    let path = dir.join(file);
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| io::Error::other(format!("{}: {e}", path.display())))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
}

/// Writes a whole results directory: each file built in memory, then written atomically.
pub fn write_results(
    dir: &Path,
    summary: &Summary,
    periods: &impl PeriodSource,
    replications: impl IntoIterator<Item = ReplicationRow>,
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let files = vec![
        write_digested(&dir.join(PERIODS_FILE), |w| write_periods(w, periods))?,
        write_digested(&dir.join(REPLICATIONS_FILE), |w| write_csv(w, replications))?,
    ];
    let summary = Summary {
        files,
        ..summary.clone()
    };
    let mut json = serde_json::to_vec_pretty(&summary).map_err(io::Error::other)?;
    json.push(b'\n');
    // The summary goes last: its presence marks a complete results directory.
    write_atomic(&dir.join(SUMMARY_FILE), &json)
}

/// The rows of `periods.csv`, period by period.
pub trait PeriodSource: Sync {
    fn periods(&self) -> u32;
    /// One period's rows, in file order, with their text lent.
    fn rows_of(&self, period: u32) -> impl Iterator<Item = PeriodRow<&str>>;
}

/// Periods formatted at once, in parallel: enough to keep every thread busy, few enough
/// that their text (korea-baseline: ~0.4 MB a period) stays small beside the run's memory.
const PERIODS_AT_ONCE: u32 = 32;

/// `periods.csv`, the same bytes as serialising every row in order with one `csv` writer,
/// formatted by hand and in parallel by period: serde and the csv writer took a second
/// of single-threaded time after a national run (1.7 million rows). Each block of periods
/// is written (and hashed) while the pool formats the next. Every period has a row per
/// series, so the header (written with the first row, as one writer would) goes before
/// period 0's rows, and nowhere if there are none.
fn write_periods(out: &mut dyn Write, source: &impl PeriodSource) -> io::Result<()> {
    use rayon::prelude::*;
    let periods = source.periods();
    let format = |start: u32| -> Vec<Vec<u8>> {
        let end = periods.min(start + PERIODS_AT_ONCE);
        (start..end)
            .into_par_iter()
            .map(|period| format_period_rows(source.rows_of(period), period == 0))
            .collect()
    };
    let mut ready = format(0);
    for next in (PERIODS_AT_ONCE..periods).step_by(PERIODS_AT_ONCE as usize) {
        let mut formatted = Vec::new();
        let written = rayon::in_place_scope(|scope| {
            scope.spawn(|_| formatted = format(next));
            ready.iter().try_for_each(|text| out.write_all(text))
        });
        written?;
        ready = formatted;
    }
    for text in &ready {
        out.write_all(text)?;
    }
    out.flush()
}

/// The header line of `periods.csv` (the field names of [`PeriodRow`]).
const PERIODS_HEADER: &str = "period,time,site,product,group,metric,mean,p05,p25,p50,p75,p95\n";

/// Rows as `periods.csv` text, headed by the column names if `header` and there is a row.
fn format_period_rows<S: AsRef<str>>(
    rows: impl Iterator<Item = PeriodRow<S>>,
    header: bool,
) -> Vec<u8> {
    // A national period's text is ~0.4 MB: start large rather than double from empty.
    let mut out = Vec::with_capacity(1 << 16);
    let mut number = ryu::Buffer::new();
    let mut integer = itoa::Buffer::new();
    for row in rows {
        if header && out.is_empty() {
            out.extend_from_slice(PERIODS_HEADER.as_bytes());
        }
        out.extend_from_slice(integer.format(row.period).as_bytes());
        for label in [&row.time, &row.site, &row.product, &row.group, &row.metric] {
            out.push(b',');
            push_field(&mut out, label.as_ref());
        }
        out.push(b',');
        out.extend_from_slice(number.format(row.mean).as_bytes());
        for q in [row.p05, row.p25, row.p50, row.p75, row.p95] {
            out.push(b',');
            if let Some(q) = q {
                out.extend_from_slice(number.format(q).as_bytes());
            }
        }
        out.push(b'\n');
    }
    out
}

/// A text field of a record of several fields as the `csv` writer writes it by default:
/// quoted, with quotes doubled, if it holds a comma, a quote or a line break.
fn push_field(out: &mut Vec<u8>, field: &str) {
    let bytes = field.as_bytes();
    if !bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Writes rows to `dir/file` as CSV, atomically (`comparison.csv`, `sweep.csv`).
pub fn write_rows<T: Serialize>(
    dir: &Path,
    file: &str,
    rows: impl IntoIterator<Item = T>,
) -> io::Result<()> {
    write_atomic_with(&dir.join(file), |w| write_csv(w, rows))
}

fn write_csv<T: Serialize>(
    out: &mut dyn Write,
    rows: impl IntoIterator<Item = T>,
) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    for row in rows {
        writer.serialize(&row).map_err(io::Error::other)?;
    }
    writer.flush()
}

fn network() -> String {
    "network".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What one csv writer serialising the rows in order writes (the format the hand-made
    /// `periods.csv` formatter must reproduce byte for byte).
    fn by_csv(rows: &[PeriodRow]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in rows {
            writer.serialize(row).unwrap();
        }
        writer.into_inner().unwrap()
    }

    #[test]
    fn periods_are_formatted_as_the_csv_writer_would() {
        let labels = [
            "Seoul Central centre",
            "a, b",
            "say \"hi\"",
            "line\nbreak",
            "cr\rhere",
            "",
            " spaced ",
            "#hash",
            "'quote'",
            "Ünïcode ✓",
        ];
        let numbers = [
            0.0,
            -0.0,
            1.0,
            6.9395581345221675,
            1e300,
            5e-324,
            -2.5e-7,
            123456789012345.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut rows = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            for (j, &x) in numbers.iter().enumerate() {
                let q = |k: usize| (!(i + j + k).is_multiple_of(3)).then_some(x * k as f64);
                rows.push(PeriodRow {
                    period: (i * 1000 + j) as u32,
                    time: "2025-12-01T00:00".to_string(),
                    site: label.to_string(),
                    product: labels[(i + 1) % labels.len()].to_string(),
                    group: labels[(i + 2) % labels.len()].to_string(),
                    metric: labels[(i + j) % labels.len()].to_string(),
                    mean: x,
                    p05: q(1),
                    p25: q(2),
                    p50: q(3),
                    p75: q(4),
                    p95: q(5),
                });
            }
        }
        let expected = by_csv(&rows);
        let by_hand = format_period_rows(rows.iter().cloned(), true);
        assert_eq!(
            String::from_utf8_lossy(&by_hand),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(by_hand, expected);
        // Without the header, and with no rows at all.
        let body = &expected[PERIODS_HEADER.len()..];
        assert_eq!(format_period_rows(rows.iter().cloned(), false), body);
        assert!(format_period_rows(std::iter::empty::<PeriodRow>(), true).is_empty());
    }

    /// Periods of rows, some with a label that needs quoting.
    struct Synthetic {
        periods: u32,
        series: usize,
    }

    impl Synthetic {
        fn row(period: u32, i: usize) -> PeriodRow<&'static str> {
            PeriodRow {
                period,
                time: "2026-01-01T00:00",
                site: if i.is_multiple_of(2) {
                    "north"
                } else {
                    "south, \"old\""
                },
                product: "red_cells",
                group: "O-",
                metric: "on_hand",
                mean: f64::from(period) + i as f64 / 7.0,
                p05: (i % 3 == 1).then_some(f64::from(period)),
                p25: None,
                p50: Some(0.5),
                p75: None,
                p95: Some(1e21),
            }
        }
    }

    impl PeriodSource for Synthetic {
        fn periods(&self) -> u32 {
            self.periods
        }

        fn rows_of(&self, period: u32) -> impl Iterator<Item = PeriodRow<&str>> {
            (0..self.series).map(move |i| Synthetic::row(period, i))
        }
    }

    /// Blocks formatted in parallel and written while the next is formatted come out in
    /// period order, with one header: as one csv writer writes every row in turn.
    #[test]
    fn periods_in_blocks_are_written_in_order() {
        for periods in [
            0,
            1,
            PERIODS_AT_ONCE,
            PERIODS_AT_ONCE + 1,
            3 * PERIODS_AT_ONCE + 5,
        ] {
            for series in [0, 3] {
                let source = Synthetic { periods, series };
                let mut written = Vec::new();
                write_periods(&mut written, &source).unwrap();
                let rows: Vec<PeriodRow> = (0..periods)
                    .flat_map(|t| (0..series).map(move |i| Synthetic::row(t, i)))
                    .map(|r| r.to_owned_row())
                    .collect();
                assert_eq!(written, by_csv(&rows), "{periods} periods x {series}");
            }
        }
    }
}
