"""Evidently 0.7's DataDriftPreset on 100,000 rows x 20 columns (16 numeric, 4 categorical),
and the same data for `cargo bench --bench drift`'s dataset benchmark.

Writes reference.csv and current.csv into the directory given (default
target/drift-dataset), times Evidently's report (best of 3) and prints the columns it
finds drifted, then the same for `keel drift` when a keel binary path is given:

    DO_NOT_TRACK=1 .venv/oracles/bin/python backend/benches/dataset_drift_oracle.py \
        target/drift-dataset target/release/keel

The venv: backend/tests/fixtures/drift/generate.py.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np
import pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.report import Report

ROWS = 100_000


def datasets():
    rng = np.random.RandomState(20261122)
    reference, current = {}, {}
    for i in range(16):
        # Every fourth numeric column moves; the others keep their distribution.
        shift = 0.25 if i % 4 == 0 else 0.0
        reference[f"num_{i:02}"] = rng.normal(i, 1 + i / 10, ROWS).round(4)
        current[f"num_{i:02}"] = rng.normal(i + shift * (1 + i / 10), 1 + i / 10, ROWS).round(4)
    categories = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])
    for i in range(4):
        shares = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
        moved = np.array([0.2, 0.25, 0.25, 0.18, 0.12]) if i == 0 else shares
        reference[f"cat_{i}"] = rng.choice(categories, ROWS, p=shares)
        current[f"cat_{i}"] = rng.choice(categories, ROWS, p=moved)
    return pd.DataFrame(reference), pd.DataFrame(current)


def evidently_drifted(reference, current):
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=reference, current_data=current)
    result = next(m["result"] for m in report.as_dict()["metrics"] if "drift_by_columns" in m["result"])
    return sorted(name for name, column in result["drift_by_columns"].items() if column["drift_detected"])


def best_of(count, run):
    times = []
    for _ in range(count):
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return min(times), value


def main():
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "target/drift-dataset")
    directory.mkdir(parents=True, exist_ok=True)
    reference, current = datasets()
    reference.to_csv(directory / "reference.csv", index=False)
    current.to_csv(directory / "current.csv", index=False)
    seconds, drifted = best_of(3, lambda: evidently_drifted(reference, current))
    print(f"Evidently DataDriftPreset, {ROWS:,} rows x 20 columns: {seconds * 1000:.0f} ms (best of 3)")
    print(f"  drifted: {', '.join(drifted)}")
    if len(sys.argv) > 2:
        command = [sys.argv[2], "drift", "--reference", str(directory / "reference.csv"),
                   "--current", str(directory / "current.csv"), "--json"]
        seconds, output = best_of(3, lambda: subprocess.run(command, check=True, capture_output=True).stdout)
        report = json.loads(output)
        keel = sorted(c["column"] for c in report["columns"] if c.get("report", {}).get("drifted"))
        print(f"keel drift (reads both CSV files, whole process): {seconds * 1000:.0f} ms (best of 3)")
        print(f"  drifted: {', '.join(keel)}")
        print("  same drifted columns" if keel == drifted else "  DIFFERENT drifted columns")


if __name__ == "__main__":
    main()
