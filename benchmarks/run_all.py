"""Benchmark: Run-All of every source notebook (solutions and hidden tests), as a student's
"Restart Kernel and Run All Cells" would, in a fresh kernel.

    python benchmarks/run_all.py [--repeat 2] [NN ...]

Prints one line per notebook (best and every run, in seconds, and the budget it must meet on a
quiet 2-core machine), then one JSON object. Timings go here, never into tests.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = {"01": 30, "02": 30, "03": 45, "04": 60, "05": 30, "06": 60}  # issues 12 and 14


def run_once(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="assignments, e.g. 03 04 (default: all)")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    results = {}
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        number = path.parent.name[:2]
        if args.numbers and number not in args.numbers:
            continue
        runs = [run_once(path) for _ in range(args.repeat)]
        best, budget = min(runs), BUDGET_S.get(number)
        verdict = "" if budget is None else ("within" if best <= budget else "OVER") + f" budget {budget} s"
        print(f"{path.parent.name:28s} best {best:6.1f} s  runs {' '.join(f'{r:.1f}' for r in runs)}  "
              f"{verdict}", flush=True)
        results[number] = {"best_s": round(best, 1), "runs_s": [round(r, 1) for r in runs],
                           "budget_s": budget}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
