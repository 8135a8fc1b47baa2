#!/usr/bin/env bash
# The packages `python -m deeplimits` needs that the GPU machine's image lacks, as wheels for its
# Python, in bench/wheels/ (ignored by git). The image (/work/.library/device/KINDS.md) has
# torch, numpy, pandas, scipy, numba, pyyaml, matplotlib, seaborn, scikit-learn, tqdm and
# pytest; of the package's imports only jsonschema (config validation) and its dependencies
# are missing. The device tool's `carry: ["bench/wheels"]` takes them there (they must stay
# within its 64 MiB) and bench/gpu_check.sh installs them into its own output folder.
# Versions are the lock's. Run here, where PyPI answers:
#   bench/gpu_wheels.sh                     # for the image's Python 3.12
#   bench/gpu_wheels.sh --python-version 3.11 --dest DIR   # e.g. a local rehearsal venv
set -euo pipefail
cd "$(dirname "$0")/.."
pyver=3.12
dest=bench/wheels
while [ $# -gt 0 ]; do
  case "$1" in
    --python-version) pyver="$2"; shift ;;
    --dest) dest="$2"; shift ;;
    *) echo "gpu_wheels: unknown argument $1 (use --python-version X.Y, --dest DIR)"; exit 2 ;;
  esac
  shift
done
packages=(jsonschema jsonschema-specifications referencing rpds-py attrs)
pins=()
for p in "${packages[@]}"; do
  pin=$(grep -i "^$p==" requirements.lock) || { echo "gpu_wheels: $p is not in requirements.lock"; exit 1; }
  pins+=("$pin")
done
mkdir -p "$dest"
PIP_CONSTRAINT="" "${PYTHON:-.venv/bin/python}" -m pip download -q --no-deps --only-binary=:all: \
  --python-version "$pyver" --implementation cp --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dest" "${pins[@]}"
size=$(du -sk "$dest" | cut -f1)
echo "gpu_wheels: ${#pins[@]} wheels for Python $pyver in $dest ($((size / 1024)) MiB of the 64 MiB carry)"
[ "$size" -lt $((60 * 1024)) ] || { echo "gpu_wheels: over 60 MiB"; exit 1; }
