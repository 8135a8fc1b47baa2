#!/usr/bin/env bash
# The GPU check, for the day a session borrows one. The device tool gives 15 minutes in all,
# the machine's start included, so the steps' limits add up to at most 300 s and a rerun fits
# (tests/test_gpu_check.py checks the sum). It runs on that machine as it is: the image's own
# python3 and torch (2.11 there), no snakemake or papermill (`python -m deeplimits` and
# bench scripts only), nothing downloaded: what the image lacks travels as wheels
# (bench/gpu_wheels.sh fills bench/wheels/; carry it).
#   1. env:        versions, the GPU and its driver, the wheels installed into the output folder, the config loads;
#   2. tests:      CUDA-graph training against eager, the Triton stack compiled for real;
#   3. throughput: the engine against eager PyTorch, GPU cases (bench/train_throughput.py);
#   4. costs:      per builder, the paper scale's largest cell: step time eager and by graph
#                  replay, per layer, FLOP/s and peak memory (bench/gpu_costs.py), which
#                  deeplimits.estimate reads once $OUT/gpu_costs.json is copied to artifacts/gpu/.
# Each step has its own time limit; one summary file, $OUT/summary.json (or --out DIR).
#
#   bench/gpu_check.sh            # on a machine with CUDA; without one it says so and exits 2
#   bench/gpu_check.sh --dry      # a rehearsal on the CPU at smoke sizes (tested in make test)
#   bench/gpu_check.sh --plan     # the steps and their limits on a GPU, one per line
#
# With the device tool:  run(command="bench/gpu_check.sh --out $OUT", carry=["bench/wheels"], timeout_s=330)
set -uo pipefail
cd "$(dirname "$0")/.."

# name, limit on a GPU (s), limit in the CPU rehearsal (s)
STEPS=("env 20 60" "tests 60 120" "throughput 90 120" "costs 120 120")

dry=0
out="${OUT:-results/gpu_check}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dry) dry=1 ;;
    --plan) for s in "${STEPS[@]}"; do echo "${s% *}"; done; exit 0 ;;
    --out) out="$2"; shift ;;
    *) echo "gpu_check: unknown argument $1 (use --dry, --plan, --out DIR)"; exit 2 ;;
  esac
  shift
done
PY="${PYTHON:-python3}"
if [ "$dry" = 0 ] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); --dry rehearses the check on the CPU"
  exit 2
fi
mkdir -p "$out/logs" "$out/site"
out=$(cd "$out" && pwd)
# The wheels go to a folder of their own on the path, after the checkout's package.
export PYTHONPATH="$PWD/src:$out/site${PYTHONPATH:+:$PYTHONPATH}"
export DEEPLIMITS_PROGRESS=0
steps=()

# run NAME COMMAND...: one step under its limit, its log in $out/logs/NAME.log, its status in steps.
run() {
  local name=$1 limit="" start=$SECONDS
  shift
  for s in "${STEPS[@]}"; do
    read -r n gpu cpu <<<"$s"
    [ "$n" = "$name" ] && limit=$([ "$dry" = 1 ] && echo "$cpu" || echo "$gpu")
  done
  timeout "$limit" "$@" > "$out/logs/$name.log" 2>&1
  local rc=$?
  steps+=("$name $rc $((SECONDS - start)) $limit")
  echo "gpu_check: $name exit $rc in $((SECONDS - start)) s (limit $limit s)"
}

env_step() {
  "$PY" -c "import sys, torch; print('python', sys.version.split()[0], 'torch', torch.__version__,
      'cuda', torch.version.cuda, 'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  if ! "$PY" -c "import jsonschema" 2>/dev/null; then
    ls bench/wheels/*.whl >/dev/null 2>&1 || { echo "jsonschema missing and no bench/wheels (run bench/gpu_wheels.sh, carry bench/wheels)"; return 1; }
    "$PY" -m pip install -q --no-index --no-deps --target "$out/site" bench/wheels/*.whl || return 1
  fi
  "$PY" -m deeplimits validate --set scale=paper > /dev/null && echo "config: paper scale resolves"
}
export -f env_step  # `timeout` runs commands, not functions: the step runs in `bash -c`
export PY out

if [ "$dry" = 1 ]; then
  run env bash -c env_step
  run tests "$PY" -m pytest -q -p no:cacheprovider tests/test_triton_stack.py tests/test_engine.py -k "graph or backend or tanh"
  run throughput "$PY" bench/train_throughput.py --dry --device cpu
  run costs "$PY" bench/gpu_costs.py --dry --out "$out"
else
  run env bash -c env_step
  run tests "$PY" -m pytest -q -p no:cacheprovider tests/test_triton_stack.py tests/test_engine.py -k "triton or graph or backend or tanh"
  run throughput "$PY" bench/train_throughput.py --quick --record "$out"
  run costs "$PY" bench/gpu_costs.py --out "$out"
fi

printf '%s\n' "${steps[@]}" > "$out/steps.txt"
"$PY" - "$out" "$dry" <<'PY'
import json, os, platform, sys, tempfile
from pathlib import Path

out, dry = Path(sys.argv[1]), sys.argv[2] == "1"
steps = {}
for line in (out / "steps.txt").read_text().split("\n"):
    if line.strip():
        name, rc, seconds, limit = line.split()
        tail = (out / "logs" / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
        steps[name] = {"exit": int(rc), "seconds": int(seconds), "limit_s": int(limit), "last_lines": tail}
costs = out / "gpu_costs.json"
try:
    import torch
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.machine()
    versions = {"python": platform.python_version(), "torch": torch.__version__}
except Exception as err:  # noqa: BLE001 - the summary must still be written
    device, versions = f"unknown ({err})", {}
summary = {"mode": "dry" if dry else "gpu", "device": device, **versions,
           "ok": all(s["exit"] == 0 for s in steps.values()), "steps": steps,
           "costs": json.loads(costs.read_text()) if costs.exists() else None}
fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
with os.fdopen(fd, "w") as fh:
    json.dump(summary, fh, indent=2)
os.replace(tmp, out / "summary.json")
print(f"gpu_check: summary in {out / 'summary.json'} ({'all steps passed' if summary['ok'] else 'a step failed'})")
sys.exit(0 if summary["ok"] else 1)
PY
