//! Shards of a run, for clusters: `bloodsim run --shard I/N` simulates one contiguous block
//! of a run's replications (see [`Shard`]) and writes a shard directory; `bloodsim merge`
//! adds the shards' integer aggregates and lays their per-replication totals end to end, so
//! the merged `periods.csv` and `replications.csv` are byte-identical to one `bloodsim run`
//! of all the replications with the same seed.
//!
//! A shard directory holds
//! - `shard.json` ([`ShardMeta`]): the run it belongs to (scenario SHA-256, seed, replications,
//!   bloodsim version, SHA-256 of the histogram layout), which shard it is, and the size and
//!   SHA-256 of `shard.bin`;
//! - `scenario.toml`: the scenario text as simulated, so `merge` needs nothing else;
//! - `shard.bin`: the shard's partial aggregate and totals ([postcard], a compact serde
//!   format), one entry per variant (one for `run`) so that comparisons can shard too.
//!
//! Every shard computes the histogram layout itself from the run's pilot replications, which
//! are deterministic: no first job writing a layout file, no file to stage on the cluster,
//! and a failed shard reruns alone. The cost is the pilot ([`BATCH`] replications) simulated
//! again by every shard whose block does not contain it.
//!
//! [`BATCH`]: crate::monte_carlo::BATCH

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::TotalsTable;
use crate::monte_carlo::{Aggregate, RunOutput, RunSpec, Shard};
use crate::results::{sha256_hex, write_atomic};
use crate::scenario::Scenario;

pub const META_FILE: &str = "shard.json";
pub const DATA_FILE: &str = "shard.bin";
pub const SCENARIO_FILE: &str = "scenario.toml";
/// Version of the shard files' layout; `merge` refuses any other.
const FORMAT: u32 = 1;

/// `shard.json`: what ties a shard to its run, and its place in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardMeta {
    pub format: u32,
    pub bloodsim_version: String,
    /// The scenario file as given to `run`, and the SHA-256 of its text.
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    /// Replications of the whole run.
    pub replications: u64,
    pub shard_index: u64,
    pub shard_count: u64,
    /// This shard's replications: `first_replication..first_replication + own_replications`.
    pub first_replication: u64,
    pub own_replications: u64,
    /// SHA-256 of the histogram layout (the same in every shard of a run).
    pub layout_sha256: String,
    pub data_bytes: u64,
    pub data_sha256: String,
    pub threads: usize,
    pub wall_seconds: f64,
}

/// What a shard ran, for its `shard.json`.
pub struct ShardRun<'a> {
    pub scenario_file: &'a str,
    pub scenario_text: &'a [u8],
    pub spec: RunSpec,
    pub shard: Shard,
    pub threads: usize,
    pub wall_seconds: f64,
}

/// `shard.bin`, as written (borrowing the outputs) and as read back.
#[derive(Serialize)]
struct DataRef<'a> {
    variants: Vec<(&'a Aggregate, &'a TotalsTable)>,
}

#[derive(Deserialize)]
struct Data {
    variants: Vec<(Aggregate, TotalsTable)>,
}

/// SHA-256 of the layout of an aggregate's histograms.
fn layout_sha256(aggregate: &Aggregate) -> String {
    let bytes = postcard::to_stdvec(&aggregate.layout()).expect("a layout serializes");
    sha256_hex(&bytes)
}

/// Writes a shard's files into `dir` (a staging directory: the caller swaps it in whole).
pub fn write(dir: &Path, run: &ShardRun<'_>, outputs: &[RunOutput]) -> io::Result<ShardMeta> {
    let data = DataRef {
        variants: outputs.iter().map(|o| (&o.aggregate, &o.totals)).collect(),
    };
    let bytes = postcard::to_stdvec(&data).map_err(io::Error::other)?;
    let own = run.shard.range(run.spec.replications);
    let meta = ShardMeta {
        format: FORMAT,
        bloodsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario_file: run.scenario_file.to_string(),
        scenario_sha256: sha256_hex(run.scenario_text),
        seed: run.spec.seed,
        replications: run.spec.replications,
        shard_index: run.shard.index,
        shard_count: run.shard.count,
        first_replication: own.start,
        own_replications: own.end - own.start,
        layout_sha256: layout_sha256(&outputs[0].aggregate),
        data_bytes: bytes.len() as u64,
        data_sha256: sha256_hex(&bytes),
        threads: run.threads,
        wall_seconds: run.wall_seconds,
    };
    write_atomic(&dir.join(SCENARIO_FILE), run.scenario_text)?;
    write_atomic(&dir.join(DATA_FILE), &bytes)?;
    let json = serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?;
    write_atomic(&dir.join(META_FILE), &json)?;
    Ok(meta)
}

/// Why shards do not merge; each names the shard directory at fault.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: cannot read {META_FILE}: {source} (is it a directory written by `bloodsim run --shard`?)", .dir.display())]
    Unreadable { dir: PathBuf, source: io::Error },
    #[error("{}: {what}", .dir.display())]
    Invalid { dir: PathBuf, what: String },
    #[error("{}: not a shard of the same run as {}: {what}", .dir.display(), .first.display())]
    OtherRun {
        dir: PathBuf,
        first: PathBuf,
        what: String,
    },
    #[error("{} and {} are both shard {index} of {count}", .a.display(), .b.display())]
    Duplicate {
        a: PathBuf,
        b: PathBuf,
        index: u64,
        count: u64,
    },
    #[error("shards missing: {} of {count} (each of 0..{count} is needed once; rerun the missing ones with --shard I/{count})", .missing.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))]
    Missing { missing: Vec<u64>, count: u64 },
}

fn invalid(dir: &Path, what: impl Into<String>) -> MergeError {
    MergeError::Invalid {
        dir: dir.to_path_buf(),
        what: what.into(),
    }
}

/// Reads `shard.json` of each directory.
pub fn read_metas(dirs: &[PathBuf]) -> Result<Vec<ShardMeta>, MergeError> {
    dirs.iter()
        .map(|dir| {
            let bytes = fs::read(dir.join(META_FILE)).map_err(|source| MergeError::Unreadable {
                dir: dir.clone(),
                source,
            })?;
            let meta: ShardMeta = serde_json::from_slice(&bytes).map_err(|e| {
                invalid(dir, format!("{META_FILE} is not a shard description: {e}"))
            })?;
            if meta.format != FORMAT {
                return Err(invalid(
                    dir,
                    format!(
                        "shard files of format {} (this bloodsim reads format {FORMAT})",
                        meta.format
                    ),
                ));
            }
            Ok(meta)
        })
        .collect()
}

/// Checks that the shards are one run's, each shard once, and returns the directories in
/// shard order.
pub fn order(dirs: &[PathBuf], metas: &[ShardMeta]) -> Result<Vec<usize>, MergeError> {
    let (first, m0) = (&dirs[0], &metas[0]);
    for (dir, m) in dirs.iter().zip(metas) {
        let differs = |field: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            MergeError::OtherRun {
                dir: dir.clone(),
                first: first.clone(),
                what: format!("{field} {a} (there: {b})"),
            }
        };
        if m.bloodsim_version != m0.bloodsim_version {
            return Err(differs(
                "bloodsim version",
                &m.bloodsim_version,
                &m0.bloodsim_version,
            ));
        }
        if m.scenario_sha256 != m0.scenario_sha256 {
            let (a, b) = (&m.scenario_file, &m0.scenario_file);
            return Err(differs("scenario text (SHA-256 differs) of", a, b));
        }
        if m.seed != m0.seed {
            return Err(differs("seed", &m.seed, &m0.seed));
        }
        if m.replications != m0.replications {
            return Err(differs("replications", &m.replications, &m0.replications));
        }
        if m.shard_count != m0.shard_count {
            return Err(differs("shard count", &m.shard_count, &m0.shard_count));
        }
        if m.layout_sha256 != m0.layout_sha256 {
            return Err(differs(
                "histogram layout",
                &m.layout_sha256,
                &m0.layout_sha256,
            ));
        }
        let shard = Shard {
            index: m.shard_index,
            count: m.shard_count,
        };
        let own = shard.range(m.replications);
        if m.shard_index >= m.shard_count
            || (m.first_replication, m.own_replications) != (own.start, own.end - own.start)
        {
            return Err(invalid(
                dir,
                "its shard index and replications do not agree",
            ));
        }
    }
    let count = m0.shard_count;
    let mut at: Vec<Option<usize>> = vec![None; count as usize];
    for (i, m) in metas.iter().enumerate() {
        let slot = &mut at[m.shard_index as usize];
        if let Some(j) = *slot {
            return Err(MergeError::Duplicate {
                a: dirs[j].clone(),
                b: dirs[i].clone(),
                index: m.shard_index,
                count,
            });
        }
        *slot = Some(i);
    }
    let missing: Vec<u64> = (0..count).filter(|&k| at[k as usize].is_none()).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    Ok(at.into_iter().flatten().collect())
}

/// The scenario text a shard ran, checked against its `shard.json`.
pub fn scenario_text(dir: &Path, meta: &ShardMeta) -> Result<Vec<u8>, MergeError> {
    let text = fs::read(dir.join(SCENARIO_FILE))
        .map_err(|e| invalid(dir, format!("cannot read {SCENARIO_FILE}: {e}")))?;
    if sha256_hex(&text) != meta.scenario_sha256 {
        return Err(invalid(
            dir,
            format!("{SCENARIO_FILE} does not match the SHA-256 in {META_FILE}"),
        ));
    }
    Ok(text)
}

/// Merges the shards (directories in shard order, as [`order`] returns them) into the
/// whole run's output for `scenario`, one shard in memory at a time.
pub fn merge(
    dirs: &[&Path],
    metas: &[&ShardMeta],
    scenario: &Scenario,
) -> Result<RunOutput, MergeError> {
    let replications = metas[0].replications as usize;
    let mut totals = TotalsTable::with_rows(scenario, replications);
    let mut aggregate: Option<Aggregate> = None;
    for (dir, meta) in dirs.iter().zip(metas) {
        let bytes = fs::read(dir.join(DATA_FILE))
            .map_err(|e| invalid(dir, format!("cannot read {DATA_FILE}: {e}")))?;
        if bytes.len() as u64 != meta.data_bytes || sha256_hex(&bytes) != meta.data_sha256 {
            return Err(invalid(
                dir,
                format!(
                    "{DATA_FILE} is not the file {META_FILE} describes (size or SHA-256 differs): rerun this shard"
                ),
            ));
        }
        let data: Data = postcard::from_bytes(&bytes)
            .map_err(|e| invalid(dir, format!("{DATA_FILE} cannot be read: {e}")))?;
        drop(bytes);
        let Some((part, rows)) = data.variants.into_iter().next() else {
            return Err(invalid(dir, format!("{DATA_FILE} holds no results")));
        };
        if rows.len() as u64 != meta.own_replications || layout_sha256(&part) != meta.layout_sha256
        {
            return Err(invalid(
                dir,
                format!("{DATA_FILE} does not match {META_FILE}"),
            ));
        }
        for r in 0..rows.len() {
            totals.set(meta.first_replication as usize + r, rows.get(r));
        }
        match &mut aggregate {
            Some(a) => a.merge(part),
            None => aggregate = Some(part),
        }
    }
    let aggregate = aggregate.expect("at least one shard");
    Ok(RunOutput { totals, aggregate })
}
