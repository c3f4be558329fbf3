//! Shards on a real scheduler: a single-node Slurm cluster started on this machine
//! (`tests/slurm/cluster.sh`) runs `examples/slurm/submit.sh` as users would, an array of
//! shards and a dependent merge job, and the merged files are byte-identical to one local
//! run (`tests/slurm/run.sh`).
//!
//! Needs root and the `slurm-wlm` and `munge` packages. Without them the test says so and
//! passes, unless `BLOODSIM_SLURM_TEST=required` (CI sets it when it could install them).

use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn shards_on_a_single_node_slurm_cluster_merge_to_the_local_run() {
    let required = std::env::var("BLOODSIM_SLURM_TEST").is_ok_and(|v| v == "required");
    let missing = ["slurmctld", "slurmd", "sbatch", "munged"]
        .into_iter()
        .find(|t| !have(t));
    if missing.is_some() || !is_root() {
        let why = missing.map_or("not running as root".to_string(), |t| {
            format!("{t} not found")
        });
        assert!(!required, "BLOODSIM_SLURM_TEST=required but {why}");
        eprintln!("note: Slurm test skipped ({why}; apt-get install slurm-wlm munge, as root)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let work = tempfile::tempdir().unwrap();
    // A small run keeps CI quick; the 4 shards each re-run the pilot, the layout's source.
    let out = Command::new("bash")
        .arg(format!("{root}/tests/slurm/run.sh"))
        .arg(env!("CARGO_BIN_EXE_bloodsim"))
        .arg(format!("{root}/scenarios/single-hospital.toml"))
        .args(["4", "12"])
        .arg(work.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "Slurm test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("periods.csv identical") && stdout.contains("replications.csv identical"),
        "{stdout}"
    );
}
