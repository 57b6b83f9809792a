"""scipy's and Evidently 0.7's times for the statistics `cargo bench --bench drift` measures,
on 1,000,000 vs 1,000,000 normal values (best of 5). Run from the venv made as
backend/tests/fixtures/drift/generate.py describes:

    DO_NOT_TRACK=1 .venv/oracles/bin/python backend/benches/drift_oracle.py
"""

import os, time
os.environ["DO_NOT_TRACK"] = "1"
import numpy as np, pandas as pd
from scipy import stats
from evidently.legacy.calculations.stattests.psi import _psi
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import _wasserstein_distance_norm
from evidently.legacy.calculations.stattests.jensenshannon import _jensenshannon
from evidently.legacy.core import ColumnType
rng = np.random.RandomState(1)
ref, cur = rng.normal(0, 1, 1_000_000), rng.normal(0.1, 1.1, 1_000_000)
rs, cs = pd.Series(ref), pd.Series(cur)
def best(f, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times) * 1000
print("scipy wasserstein_distance 1M vs 1M: %.1f ms" % best(lambda: stats.wasserstein_distance(ref, cur)))
print("evidently wasserstein_norm: %.1f ms" % best(lambda: _wasserstein_distance_norm(rs, cs, ColumnType.Numerical, 0.1)))
print("evidently psi: %.1f ms" % best(lambda: _psi(rs, cs, ColumnType.Numerical, 0.1)))
print("evidently jensenshannon: %.1f ms" % best(lambda: _jensenshannon(rs, cs, ColumnType.Numerical, 0.1)))
print("scipy ks_2samp: %.1f ms" % best(lambda: stats.ks_2samp(ref, cur), 3))
