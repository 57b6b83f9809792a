"""Fairlearn 0.15's time for what `cargo bench --bench fairness` measures: for 1,000,000
rows × 2 protected attributes, demographic parity difference and ratio, equalized odds
difference and ratio, equal opportunity difference, and `MetricFrame.by_group` of
selection rate, TPR, FPR and count (best of 3). The arrays follow the bench's formulas;
it prints Fairlearn's figures of the first attribute so both can be compared. Run from
the venv backend/tests/fixtures/fairness/generate.py describes:

    .venv/oracles/bin/python backend/benches/fairness_oracle.py
"""

import time
import warnings

import numpy as np
from fairlearn.metrics import (MetricFrame, demographic_parity_difference, demographic_parity_ratio,
                               equal_opportunity_difference, equalized_odds_difference, equalized_odds_ratio,
                               false_positive_rate, selection_rate, true_positive_rate)

warnings.simplefilter("ignore")
ROWS = 1_000_000
i = np.arange(ROWS, dtype=np.int64)
truth = ((i * 7919) % 10 < 4).astype(int)
prediction = ((i * 104729) % 10 < 3 + (i % 3)).astype(int)
gender = np.array(["female", "male", "other"])[i % 3]
age = np.array([f"band-{band}" for band in range(5)])[(i * 31) % 5]


def review():
    results = []
    for groups in (gender, age):
        results.append((
            demographic_parity_difference(truth, prediction, sensitive_features=groups),
            demographic_parity_ratio(truth, prediction, sensitive_features=groups),
            equalized_odds_difference(truth, prediction, sensitive_features=groups),
            equalized_odds_ratio(truth, prediction, sensitive_features=groups),
            equal_opportunity_difference(truth, prediction, sensitive_features=groups),
            MetricFrame(metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
                                 "false_positive_rate": false_positive_rate, "count": lambda t, _: len(t)},
                        y_true=truth, y_pred=prediction, sensitive_features=groups).by_group,
        ))
    return results


times = []
for _ in range(3):
    start = time.perf_counter()
    results = review()
    times.append(time.perf_counter() - start)
print("Fairlearn 0.15, 1M rows x 2 attributes: %.0f ms (best of 3)" % (min(times) * 1000))
print("gender: DP difference %.6f, EO difference %.6f" % (results[0][0], results[0][2]))
