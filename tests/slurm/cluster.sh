#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for testing bloodsim's job scripts on a real
# scheduler (Debian/Ubuntu packages `slurm-wlm` and `munge`; run as root, e.g. in CI).
#
#   eval "$(tests/slurm/cluster.sh start DIR)"   # starts munged, slurmctld, slurmd; prints exports
#   tests/slurm/cluster.sh stop DIR
#
# Everything (config, state, logs) lives in DIR; the daemons listen on localhost only.
set -euo pipefail

cmd=${1:?usage: cluster.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: cluster.sh start|stop DIR}" && cd "$2" && pwd)
conf=$dir/slurm.conf

stop() {
    for pid in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
        [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
    done
    sleep 1
}

case $cmd in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "cluster.sh: unknown command $cmd (start or stop)" >&2
    exit 2
    ;;
esac

for tool in munged slurmctld slurmd sbatch squeue sacct; do
    command -v "$tool" >/dev/null || { echo "cluster.sh: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chown munge: "$dir/munge"
chmod 700 "$dir/munge"

# munge: a key of its own, and its socket in DIR.
if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
    chown munge: "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
fi
socket=$dir/munge/munge.socket
runuser -u munge -- munged --key-file="$dir/munge/munge.key" --socket="$socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed" --force
cp "$dir/munge/munged.pid" "$dir/munged.pid"

cat > "$conf" <<CONF
ClusterName=bloodsim-test
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF=$conf
slurmctld -f "$conf"
slurmd -f "$conf"
# Wait until the node is idle (slurmd registered).
for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -q idle; then
        echo "export SLURM_CONF=$conf"
        exit 0
    fi
    sleep 1
done
echo "cluster.sh: the node did not come up; logs:" >&2
tail -20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
