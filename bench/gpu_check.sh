#!/usr/bin/env bash
# The GPU check, for the day a session borrows one (the device tool gives 15 minutes in all):
# in at most about 10 minutes it runs
#   1. the GPU tests: CUDA-graph training against eager, the Triton stack compiled for real;
#   2. the engine benchmark, GPU cases included (bench/train_throughput.py);
#   3. HZ.1 at the authors' size (1000 inputs of 32x32x128, 500 blocks) for every alpha;
#   4. CRX.4's main setting on the ODE data over the whole depth grid (3..9100);
# each under its own time limit, and writes one summary file, $OUT/summary.json (or --out DIR).
#
#   bench/gpu_check.sh            # on a machine with CUDA; without one it says so and exits 2
#   bench/gpu_check.sh --dry      # a rehearsal on the CPU at tiny sizes (tested in make test)
set -uo pipefail
cd "$(dirname "$0")/.."

dry=0
out="${OUT:-results/gpu_check}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry) dry=1 ;;
    --out) out="$2"; shift ;;
    *) echo "gpu_check: unknown argument $1 (use --dry, --out DIR)"; exit 2 ;;
  esac
  shift
done
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [ "$dry" = 0 ] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); --dry rehearses the check on the CPU"
  exit 2
fi
mkdir -p "$out/logs"
steps=()

# run NAME LIMIT_S COMMAND...: one step, its log in $out/logs/NAME.log, its status in steps.
run() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/logs/$name.log" 2>&1
  local rc=$?
  steps+=("$name $rc $((SECONDS - start)) $limit")
  echo "gpu_check: $name exit $rc in $((SECONDS - start)) s (limit $limit s)"
}

if [ "$dry" = 1 ]; then
  # The smoke scale cut further: one HZ.1 alpha, CRX.4's tanh model to depth 6.
  scale=smoke; device=cpu; cores=2
  overrides='experiments: {hz1: {alphas: [0.2], smoke: {depth: 30}}, crx4: {smoke: {models: [tanh_shared], max_depth: 6}}}'
  run tests 300 "$PY" -m pytest -q -p no:cacheprovider tests/test_triton_stack.py tests/test_engine.py -k "graph or backend or tanh"
  run bench 120 "$PY" bench/train_throughput.py --dry --device cpu
else
  scale=paper; device=cuda; cores=8
  overrides='{}'
  run tests 120 "$PY" -m pytest -q -p no:cacheprovider tests/test_triton_stack.py tests/test_engine.py -k "triton or graph or backend"
  run bench 150 "$PY" bench/train_throughput.py --record "$out"
fi
# The pipeline runs in a folder of its own (results, logs, Snakemake's records), never the checkout's.
work="$out/work"
results="$work/results"
mkdir -p "$work"
echo "$overrides" > "$work/overrides.yaml"
smk=("$PY" -m snakemake --snakefile "$PWD/Snakefile" --configfile "$PWD/config.yaml" "$work/overrides.yaml"
     --directory "$work" --cores "$cores" --config "scale=$scale" "device=$device" progress=false --rerun-incomplete)
run hz1 150 "${smk[@]}" "results/$scale/huang_zhang/hz1/claim.json"
run crx4 240 "${smk[@]}" "results/$scale/cont_rossier_xu/crx4/ode/claim.json"

printf '%s\n' "${steps[@]}" > "$out/steps.txt"
"$PY" - "$out" "$results/$scale" "$dry" <<'PY'
import json, os, sys, tempfile
from pathlib import Path

out, root, dry = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
steps = {}
for line in (out / "steps.txt").read_text().split("\n"):
    if line.strip():
        name, rc, seconds, limit = line.split()
        tail = (out / "logs" / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
        steps[name] = {"exit": int(rc), "seconds": int(seconds), "limit_s": int(limit), "last_lines": tail}
claims = {}
for name, path in (("HZ.1", "huang_zhang/hz1/claim.json"), ("CRX.4", "cont_rossier_xu/crx4/ode/claim.json")):
    f = root / path
    if f.exists():
        c = json.loads(f.read_text())
        claims[name] = {k: c[k] for k in ("verdict", "measured", "interval", "interval_method", "note")}
try:
    import torch
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
except Exception as err:  # noqa: BLE001 - the summary must still be written
    device = f"unknown ({err})"
summary = {"mode": "dry" if dry else "gpu", "device": device, "ok": all(s["exit"] == 0 for s in steps.values()),
           "steps": steps, "claims": claims}
fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
with os.fdopen(fd, "w") as fh:
    json.dump(summary, fh, indent=2)
os.replace(tmp, out / "summary.json")
print(f"gpu_check: summary in {out / 'summary.json'} ({'all steps passed' if summary['ok'] else 'a step failed'})")
sys.exit(0 if summary["ok"] else 1)
PY
