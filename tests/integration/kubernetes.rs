//! The Kubernetes example (examples/kubernetes) is an Indexed Job whose pods pass their
//! completion index to `--shard`, with the shard count equal to the Job's completions: its
//! container command, run by `sh` as the pod would with a stand-in `bloodsim`, gets
//! `--shard I/N` for each index. No cluster is needed.

use std::fs;
use std::process::Command;

use saphyr::{LoadableYamlNode, Yaml};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/kubernetes");

/// The value of environment variable `name` in a container spec.
fn env_value<'a>(container: &'a Yaml<'a>, name: &str) -> Option<&'a str> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
        .and_then(|e| e["value"].as_str())
}

#[test]
fn the_manifest_is_an_indexed_job_passing_its_index_to_shard() {
    let text = fs::read_to_string(format!("{DIR}/shards-job.yaml")).unwrap();
    let docs = Yaml::load_from_str(&text).unwrap();
    let job = &docs[0];
    assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"));
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let completions = spec["completions"].as_integer().unwrap();
    assert!(completions >= 1);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    let container = &pod["containers"][0];
    let shards = env_value(container, "SHARDS").unwrap();
    assert_eq!(
        shards,
        completions.to_string(),
        "SHARDS must equal completions"
    );
    let command: Vec<&str> = container["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(command, ["/bin/sh", "-c"]);
    let script = container["args"][0].as_str().unwrap();

    // Run the pod's command for each index with a `bloodsim` that prints its arguments.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("bloodsim");
    fs::write(&fake, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n").unwrap();
    Command::new("chmod").arg("+x").arg(&fake).status().unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    for index in 0..completions {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c").arg(script).env("PATH", &path);
        sh.env("JOB_COMPLETION_INDEX", index.to_string());
        for name in ["SHARDS", "REPLICATIONS"] {
            sh.env(name, env_value(container, name).unwrap());
        }
        let out = sh.output().unwrap();
        assert!(out.status.success());
        let args: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let after = |flag: &str| {
            let at = args.iter().position(|a| a == flag).expect(flag);
            args[at + 1].clone()
        };
        assert_eq!(args[0], "run");
        assert_eq!(after("--shard"), format!("{index}/{completions}"));
        assert!(
            after("--out").ends_with(&format!("shard-{index}")),
            "{args:?}"
        );
    }

    // The merge Job reads every shard the first writes.
    let merge = fs::read_to_string(format!("{DIR}/merge-job.yaml")).unwrap();
    let merge = Yaml::load_from_str(&merge).unwrap();
    let merge_script = merge[0]["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(merge_script.contains("bloodsim merge /results/korea.shards/shard-*"));
    assert!(script.contains("/results/korea.shards/shard-${JOB_COMPLETION_INDEX}"));
}
