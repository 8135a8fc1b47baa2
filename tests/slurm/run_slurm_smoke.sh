#!/usr/bin/env bash
# Run the smoke scale through a real single-node SLURM cluster started on this machine
# (Debian's slurmctld + slurmd + munge), with `snakemake --profile profiles/slurm`.
# Needs root and: apt-get install slurmctld slurmd slurm-client munge
# Usage: tests/slurm/run_slurm_smoke.sh [workdir]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/deeplimits-slurm}
conf=$work/etc
mkdir -p "$conf" "$work/state" "$work/spool" "$work/log" "$work/run"
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

cat > "$conf/slurm.conf" <<CONF
ClusterName=deeplimits
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobCompType=jobcomp/filetxt
JobCompLoc=$work/log/jobcomp.txt
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# Jobs' own srun calls read the default location, so the config is installed there
# (unless another cluster's config is already in place).
mkdir -p /etc/slurm
if [ -e /etc/slurm/slurm.conf ] && ! grep -q "ClusterName=deeplimits" /etc/slurm/slurm.conf; then
  echo "refusing to replace /etc/slurm/slurm.conf of another cluster" >&2
  exit 1
fi
cp "$conf/slurm.conf" /etc/slurm/slurm.conf
export SLURM_CONF=/etc/slurm/slurm.conf
mkdir -p /etc/munge /var/run/munge /var/log/munge /var/lib/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || munged --force
pgrep -x slurmctld >/dev/null && scontrol reconfigure || slurmctld -f "$SLURM_CONF"
pgrep -x slurmd >/dev/null || slurmd -f "$SLURM_CONF"
for _ in $(seq 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break
  sleep 1
done
sinfo

# A one-node CPU cluster: the smoke scale asks for no GPU (device=cpu) and jobs get
# resources that fit the node instead of the profile's cluster-sized ones.
cd "$work"
export PATH="$repo/.venv/bin:$PATH"
python -m snakemake --snakefile "$repo/Snakefile" --configfile "$repo/config.yaml" \
  --directory "$work/run-dir" --profile "$repo/profiles/slurm" \
  --slurm-status-command squeue --default-resources slurm_partition=debug mem_mb=1000 runtime=30 \
  --set-resources train:mem_mb=1000 train:cpus_per_task=1 --jobs 4 \
  --config scale=smoke progress=false device=cpu
echo "jobs seen by SLURM (sacct -c reads the job completion log; no slurmdbd here):"
sacct -c --format=JobID,JobName%40,State,Elapsed,End | head -60
