"""Time deeplimits.pvariation.p_variation on paths of 10x10 matrices (one CPU core).

Targets (engine issue): 10^4 points in under 0.25 s, every 10^5 case in under 5 s.
    python bench/pvariation_speed.py [--quick]
Prints one line per case and `max_ratio_to_target=<x>` last (<= 1 meets every target), and
writes its record, bench/results/pvariation_speed.json, which `python -m deeplimits docs`
renders into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from deeplimits.benchmarks import write_bench_record
from deeplimits.pvariation import p_variation

TARGET_S = {10_000: 0.25, 100_000: 5.0}


def paths(n: int, rng):
    yield "random walk", rng.normal(size=(n, 10, 10)).cumsum(0) / np.sqrt(n)
    t = np.linspace(0, 1, n)[:, None, None]
    yield "smooth + iid noise", np.sin(6 * t) * np.ones((1, 10, 10)) + 0.01 * rng.normal(size=(n, 10, 10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 points only")
    parser.add_argument("--record", default=None, help="folder of the JSON record (default bench/results)")
    args = parser.parse_args()
    p_variation(np.zeros((4, 2, 2)), 2.0)  # compile (numba) outside the timings
    rng = np.random.default_rng(0)
    worst, rows = 0.0, []
    for n in ([10_000] if args.quick else [10_000, 100_000]):
        for name, x in paths(n, rng):
            for p in (2.0, 3.0):
                t0 = time.perf_counter()
                value = p_variation(x, p)
                dt = time.perf_counter() - t0
                ratio = dt / TARGET_S[n]
                worst = max(worst, ratio)
                rows.append([n, name, p, round(value, 4), round(dt, 3), TARGET_S[n], round(ratio, 2)])
                print(f"n={n:>7} {name:<20} p={p:g}  V_p={value:10.4f}  {dt:7.2f} s  "
                      f"(target {TARGET_S[n]:g} s, ratio {ratio:.2f})")
    print(f"max_ratio_to_target={worst:.2f}")
    columns = ["points", "path", "p", "V_p", "seconds", "target s", "ratio"]
    path = write_bench_record("pvariation_speed", columns, rows, {"max_ratio_to_target": round(worst, 2)},
                              device="cpu (one core)", options=["--quick"] if args.quick else [],
                              out_dir=args.record)
    print(f"record: {path}")


if __name__ == "__main__":
    main()
