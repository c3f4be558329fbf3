#!/usr/bin/env bash
# Runs a bloodsim scenario as N shards on a real single-node Slurm cluster (started here, see
# cluster.sh) through examples/slurm/submit.sh, waits for the dependent merge job, and checks
# that the merged periods.csv and replications.csv are byte-identical to one local run.
# Prints the wall times: the shards' array (first start to last end), the merge job, and the
# local run.
#
#   usage: tests/slurm/run.sh BLOODSIM SCENARIO N REPLICATIONS [WORK_DIR]
#
# Exit status: 0 identical; 1 different or a job failed; 3 Slurm is not installed.
set -euo pipefail
bloodsim=${1:?usage: run.sh BLOODSIM SCENARIO N REPLICATIONS [WORK_DIR]}
scenario=${2:?}
shards=${3:?}
replications=${4:?}
work=${5:-$(mktemp -d)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-test: slurm-wlm or munge is not installed" >&2
    exit 3
fi
cluster="$root/tests/slurm/cluster.sh"
trap '"$cluster" stop "$work/cluster"' EXIT
eval "$("$cluster" start "$work/cluster")"

export BLOODSIM=$bloodsim NO_PLOTS=1
submitted=$("$root/examples/slurm/submit.sh" "$scenario" "$shards" "$work/merged" "$replications")
echo "$submitted"
array=$(sed -n 's/^shards: job \([0-9]*\).*/\1/p' <<< "$submitted")
merge=$(sed -n 's/.*merge: job \([0-9]*\).*/\1/p' <<< "$submitted")

# Wait for the merge job to leave the queue (it keeps its record for MinJobAge).
state=
for _ in $(seq 1800); do
    state=$(scontrol show job "$merge" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    case $state in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;;
    esac
    sleep 1
done
if [ "$state" != COMPLETED ]; then
    echo "slurm-test: the merge job ended $state; logs:" >&2
    tail -n 20 "$work"/merged.logs/*.out >&2 || true
    scontrol show job "$array" >&2 || true
    exit 1
fi

# Job times (seconds since the epoch) from Slurm's own records.
epoch() { date -d "$1" +%s; }
times() { scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
first_start=$(times "$array" StartTime | while read -r t; do epoch "$t"; done | sort -n | head -1)
last_end=$(times "$array" EndTime | while read -r t; do epoch "$t"; done | sort -n | tail -1)
merge_start=$(epoch "$(times "$merge" StartTime)")
merge_end=$(epoch "$(times "$merge" EndTime)")

start=$(date +%s%N)
"$bloodsim" run "$scenario" --replications "$replications" --out "$work/local" --quiet --no-plots > /dev/null
local_ms=$((($(date +%s%N) - start) / 1000000))

status=0
for f in periods.csv replications.csv; do
    if cmp "$work/local/$f" "$work/merged/$f"; then
        echo "slurm-test: $f identical ($(stat -c %s "$work/local/$f") bytes)"
    else
        status=1
    fi
done
echo "slurm-test: $shards shards on Slurm: $((last_end - first_start)) s (first start to last end); merge job: $((merge_end - merge_start)) s; one local run: $((local_ms / 1000)).$(printf %03d $((local_ms % 1000))) s"
exit $status
