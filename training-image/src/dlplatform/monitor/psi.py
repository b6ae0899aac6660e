"""The drift statistic: the population stability index (PSI) of a window's shares over the baseline's bins.

    PSI = sum over bins i of (w_i - b_i) * ln(w_i / b_i)

with ``b_i`` the baseline's share of bin ``i`` and ``w_i`` the window's. It is the symmetric Kullback-Leibler
divergence KL(w||b) + KL(b||w), 0 for identical shares. A share of 0 (a bin the window never hits) would make it
infinite, so each share is taken as at least 0.0001 (not renormalised): an empty bin that held 10% of the baseline
adds (0.1 - 0.0001) * ln(0.1 / 0.0001) = 0.69.

The customary reading, a rule of thumb from credit scoring rather than a derived bound: below 0.1 no significant
change, 0.1 to 0.25 a moderate change worth a look, 0.25 and above a significant change. MONITOR_DRIFT_THRESHOLD
(default 0.25) is where a feature counts as drifted. Why 0.25 does not fire on chance alone: for a window of n values
drawn from the baseline's own distribution (fitted on N values), PSI is about (1/n + 1/N) times a chi-squared
variable with (bins - 1) degrees of freedom, so with 10 bins, n = 200 (MONITOR_MIN_RECORDS' default) and N = 1,259
(the digits' training split), 0.25 is a chi-squared value of 43 with 9 degrees of freedom: a chance of about 2 in a
million per feature and window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SHARE_FLOOR = 1e-4
MODERATE = 0.1
SIGNIFICANT = 0.25
STATISTIC = "psi"


def psi(baseline_shares: Sequence[float], window_counts: Sequence[int] | np.ndarray) -> float:
    """PSI of the window's counts per bin against the baseline's shares of the same bins."""
    counts = np.asarray(window_counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise ValueError("the window has no values in these bins")
    expected = np.maximum(np.asarray(baseline_shares, dtype=np.float64), SHARE_FLOOR)
    actual = np.maximum(counts / counts.sum(), SHARE_FLOOR)
    if expected.shape != actual.shape:
        raise ValueError(f"{len(expected)} baseline bins but {len(actual)} window bins")
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level(value: float) -> str:
    if value >= SIGNIFICANT:
        return "significant change"
    if value >= MODERATE:
        return "moderate change"
    return "no significant change"
