#!/usr/bin/env bash
# The cluster path, checked on every change: a real one-node SLURM cluster (Debian's
# slurmctld, slurmd and munge, installed here; CI runs as root) runs a small DAG of smoke
# claims with their training cells through `--profile profiles/slurm`. One training job is
# cancelled (scancel) after its first checkpoint and the DAG is run again. The check passes
# when that job was CANCELLED, its rerun resumed from the checkpoint, every job ran as a SLURM
# job and the claim files equal those of a local run.
# Every daemon it starts is stopped again, by its pid, however the script ends.
# Usage: .ci/slurm_check.sh [workdir]     (about 3-5 minutes with the installs)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/deeplimits-slurm.XXXXXX)}
mkdir -p "$work"
python=${PYTHON:-$repo/.venv/bin/python}
# Jobs call `python -m deeplimits`: the same environment on the node as here.
export PATH="$(dirname "$python"):$PATH"
# Smoke claims with training cells (CRX.1, CRX.2: full-batch GD) and one without (XZ.1).
targets=(results/smoke/cont_rossier_xu/crx1/claim.json results/smoke/cont_rossier_xu/crx2/claim.json
         results/smoke/xu_zhang/xz1/claim.json)
say() { echo "[slurm-check] $*"; }
# The job to cancel: CRX.1's deepest treated cell, made long enough to be caught between its
# checkpoints (2000 steps, about 3 s, a checkpoint every 10). Both runs read this override,
# so their claim files stay comparable.
cell=results/smoke/train/crx1/near_orthogonal/gd/L128
cell_comment=rule_train_wildcards_crx1_near_orthogonal_gd_128
cell_log=logs/smoke/train/crx1/near_orthogonal/gd/L128.log

if [ "$(id -u)" != 0 ]; then say "needs root (it installs and starts the SLURM daemons)"; exit 2; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld, slurmd, slurm-client, munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slurmctld slurmd slurm-client munge >"$work/apt.log" 2>&1 \
    || { apt-get update -q >>"$work/apt.log" 2>&1 && apt-get install -y -q slurmctld slurmd slurm-client munge >>"$work/apt.log" 2>&1; } \
    || { tail -20 "$work/apt.log"; say "could not install SLURM"; exit 1; }
fi

conf=$work/etc
mkdir -p "$conf" "$work"/{state,spool,log,run} /etc/slurm /etc/munge /run/munge /var/lib/munge /var/log/munge
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
  [ -n "${installed_conf:-}" ] && rm -f /etc/slurm/slurm.conf
  say "stopped ${#pids[@]} daemons (pids ${pids[*]:-none})"
}
trap cleanup EXIT

host=$(hostname -s)
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
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# The jobs' own srun calls read the default location: install the config there, unless
# another cluster's is in place.
if [ -e /etc/slurm/slurm.conf ] && ! grep -q "ClusterName=deeplimits" /etc/slurm/slurm.conf; then
  say "refusing to replace /etc/slurm/slurm.conf of another cluster"; exit 1
fi
cp "$conf/slurm.conf" /etc/slurm/slurm.conf && installed_conf=1
export SLURM_CONF=/etc/slurm/slurm.conf
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown root:root /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key

# Each daemon in the foreground, in the background of this script: $! is its pid.
munged --foreground --force >"$work/log/munged.out" 2>&1 & pids+=($!)
for _ in $(seq 20); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.5; done
slurmctld -D -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 & pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 & pids+=($!)
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break
  sleep 1
done
sinfo -h -o %T | grep -qE "idle|mixed" || { tail -20 "$work"/log/*.log; say "the node did not come up"; exit 1; }
say "cluster up: $(sinfo -h -o '%N %T %c CPUs')"

cat > "$work/resume.yaml" <<'YAML'
experiments:
  crx1:
    smoke: {steps: 2000, checkpoint_every: 10}
YAML
run() {  # run <dir> <extra snakemake args...>
  local dir=$1; shift
  "$python" -m snakemake --snakefile "$repo/Snakefile" --configfile "$repo/config.yaml" "$work/resume.yaml" --directory "$dir" \
    --config scale=smoke progress=false device=cpu "$@" -- "${targets[@]}"
}
cluster() {  # cluster <log>: the targets through SLURM
  run "$work/cluster" --profile "$repo/profiles/slurm" --jobs 4 --keep-going \
    --slurm-init-seconds-before-status-checks 1 --seconds-between-status-checks 2 --slurm-status-command squeue \
    --default-resources slurm_partition=debug mem_mb=1000 runtime=30 \
    --set-resources train:mem_mb=1000 train:cpus_per_task=1 >"$1" 2>&1
}
cancel_after_checkpoint() {  # prints the cancelled SLURM job id
  local ckpt=$work/cluster/$cell/checkpoint.pt id=""
  for _ in $(seq 1800); do [ -e "$ckpt" ] && break; sleep 0.1; done
  [ -e "$ckpt" ] || { say "no checkpoint of $cell appeared in 180 s" >&2; return 1; }
  id=$(squeue -h -t RUNNING -o "%i %k" | awk -v c="$cell_comment" '$2 == c {print $1}')
  [ -n "$id" ] || { say "no running SLURM job for $cell" >&2; return 1; }
  scancel "$id" && echo "$id"
}
say "through SLURM, cancelling the job of $cell after its first checkpoint"
t0=$(date +%s)
cluster "$work/cluster-killed.log" & snake=$!
cancelled=$(cancel_after_checkpoint) || { kill "$snake" 2>/dev/null; wait "$snake" || true; tail -40 "$work/cluster-killed.log"; exit 1; }
if wait "$snake"; then tail -40 "$work/cluster-killed.log"; say "the run with a cancelled job succeeded"; exit 1; fi
say "cancelled SLURM job $cancelled; the run stopped short in $(( $(date +%s) - t0 )) s; again through SLURM"
[ -e "$work/cluster/$cell/checkpoint.pt" ] || { say "the cancelled cell left no checkpoint"; exit 1; }
cluster "$work/cluster.log" || { tail -40 "$work/cluster.log"; say "the SLURM rerun failed"; exit 1; }
say "SLURM runs done in $(( $(date +%s) - t0 )) s; locally"
run "$work/local" --cores 2 >"$work/local.log" 2>&1 || { tail -40 "$work/local.log"; say "the local run failed"; exit 1; }

"$python" - "$work" "$cancelled" "$cell_log" "${targets[@]}" <<'PY'
import json
import re
import sys
from pathlib import Path

work, cancelled, cell_log, targets = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
records = [dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
           for line in (work / "log" / "jobcomp.txt").read_text().splitlines()]
completed = {r["JobId"] for r in records if r.get("JobState") == "COMPLETED"}
# Every job Snakemake ran went to SLURM, in both runs: one submission line per job (its log
# names the rule), and each SLURM job id but the cancelled one is COMPLETED in the cluster's
# job completion log.
submitted = []
for name, failed in (("cluster-killed.log", 1), ("cluster.log", 0)):
    log = (work / name).read_text()
    jobs = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", log)
    done = re.findall(r"(\d+) of (\d+) steps \(\d+%\) done", log)
    assert jobs and done, log[-3000:]
    assert len(jobs) == int(done[-1][0]) + failed, f"{name}: {len(jobs)} SLURM submissions for {done[-1][0]} jobs done"
    submitted += jobs
rules = sorted({rule for _, rule in submitted})
ids = {jobid for jobid, _ in submitted}
assert ids - {cancelled} <= completed, f"not completed in SLURM: {sorted(ids - {cancelled} - completed)}"
assert {"train", "crx1", "crx2", "xz1"} <= set(rules), rules
# The cancelled job: SLURM recorded it CANCELLED, Snakemake saw it fail, and the rerun of its
# cell resumed from its checkpoint part way (the trainer's log line names the step).
assert cancelled in ids, f"job {cancelled} was not one of Snakemake's"
assert any(r["JobId"] == cancelled and r.get("JobState") == "CANCELLED" for r in records), \
    f"job {cancelled} not CANCELLED: {[r for r in records if r['JobId'] == cancelled]}"
assert "Error in rule train" in (work / "cluster-killed.log").read_text()
resumed = re.findall(r"resumed \S+ at step (\d+) of (\d+)", (work / "cluster" / cell_log).read_text())
assert resumed, f"{cell_log} has no resume line"
k, total = map(int, resumed[-1])
assert 0 < k < total, (k, total)
for target in targets:
    a, b = (json.loads((work / side / target).read_text()) for side in ("cluster", "local"))
    for key in ("verdict", "measured", "interval", "values"):
        assert a[key] == b[key], f"{target}: {key} differs: {a[key]!r} vs {b[key]!r}"
print(f"[slurm-check] ok: job {cancelled} CANCELLED and its cell resumed at step {k} of {total}; "
      f"{len(submitted)} SLURM jobs ({', '.join(rules)}); "
      f"{len(targets)} claim files equal to the local run's")
PY
