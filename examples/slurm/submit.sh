#!/usr/bin/env bash
# Submits a sharded bloodsim run to Slurm: an array of N shard jobs, then a merge job that
# waits for all of them (--dependency=afterok). Prints the two job ids.
#
#   usage: submit.sh SCENARIO N OUT_DIR [REPLICATIONS] [-- extra sbatch options...]
#
# Shards go to OUT_DIR.shards/shard-I, logs to OUT_DIR.logs/. Environment passed on:
# SEED, BLOODSIM (the binary; default bloodsim on PATH), NO_PLOTS=1.
set -euo pipefail
usage="usage: submit.sh SCENARIO N OUT_DIR [REPLICATIONS] [-- sbatch options...]"
scenario=${1:?$usage}
shards=${2:?$usage}
out=${3:?$usage}
shift 3
replications=
if [ $# -gt 0 ] && [ "$1" != "--" ]; then replications=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
case $shards in
    '' | *[!0-9]* | 0) echo "submit.sh: N must be a positive number of shards, not '$shards'" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
abs() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
scenario=$(abs "$scenario")
mkdir -p "$(dirname "$out")"
out=$(abs "$out")
mkdir -p "$out.shards" "$out.logs"
bloodsim=${BLOODSIM:-$(command -v bloodsim || true)}
[ -n "$bloodsim" ] || { echo "submit.sh: no bloodsim on PATH (set BLOODSIM=/path/to/bloodsim)" >&2; exit 2; }

common="ALL,BLOODSIM=$bloodsim,SHARDS_DIR=$out.shards"
array=$(sbatch --parsable "$@" --array="0-$((shards - 1))" \
    --output="$out.logs/shard-%a.out" \
    --export="$common,SCENARIO=$scenario,SHARDS=$shards,REPLICATIONS=$replications,SEED=${SEED:-}" \
    "$here/shards.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable "$@" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$out.logs/merge.out" \
    --export="$common,OUT_DIR=$out,NO_PLOTS=${NO_PLOTS:-0}" \
    "$here/merge.sbatch")
merge=${merge%%;*}
echo "shards: job $array (array 0-$((shards - 1))); merge: job $merge (after all shards succeed)"
echo "results: $out (shards in $out.shards, logs in $out.logs)"
