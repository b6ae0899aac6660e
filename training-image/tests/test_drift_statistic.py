"""The baseline's bins and the drift statistic (PSI), each against a computation made here without the code under
test: counts by hand on known bins, and scipy's Kullback-Leibler divergence (PSI is KL(w||b) + KL(b||w))."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2, entropy

from dlplatform.monitor.psi import SHARE_FLOOR, psi
from dlplatform.tabular.baseline import (
    Baseline,
    ClassDistribution,
    class_distribution,
    fit_categorical,
    fit_numeric,
    read,
    save,
)


def test_psi_equals_the_sum_worked_out_by_hand_on_known_bins() -> None:
    baseline = [0.25, 0.25, 0.5]
    window = [50, 30, 20]  # shares 0.5, 0.3, 0.2
    by_hand = (
        (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.3 - 0.25) * math.log(0.3 / 0.25) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    )
    assert by_hand == pytest.approx(0.4573, abs=1e-4)
    assert psi(baseline, window) == pytest.approx(by_hand, rel=1e-12)


def test_psi_is_the_symmetric_kullback_leibler_divergence_scipy_computes() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        baseline = rng.dirichlet(np.full(8, 5.0))  # every share well above the floor
        counts = rng.integers(1, 500, size=8)
        shares = counts / counts.sum()
        assert psi(baseline, counts) == pytest.approx(entropy(shares, baseline) + entropy(baseline, shares), rel=1e-9)


def test_identical_shares_give_zero_and_an_empty_window_bin_counts_as_the_floor() -> None:
    assert psi([0.2, 0.3, 0.5], [20, 30, 50]) == pytest.approx(0.0, abs=1e-15)
    # The window never hits the first bin: its share is taken as 0.0001, not renormalised.
    expected = (SHARE_FLOOR - 0.1) * math.log(SHARE_FLOOR / 0.1) + (0.5 - 0.45) * math.log(0.5 / 0.45) * 2
    assert psi([0.1, 0.45, 0.45], [0, 50, 50]) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="no values"):
        psi([0.5, 0.5], [0, 0])


def test_a_window_from_the_baseline_distribution_stays_below_the_threshold_as_the_chi_squared_bound_says() -> None:
    """The default threshold's reasoning (monitor/psi.py): n * PSI is about chi-squared with bins - 1 degrees of
    freedom, so 200-value windows drawn from the baseline itself almost never reach 0.25."""
    rng = np.random.default_rng(11)
    baseline = np.full(10, 0.1)
    values = [psi(baseline, rng.multinomial(200, baseline)) for _ in range(2000)]
    assert max(values) < 0.25
    assert np.mean(np.array(values) * 200) == pytest.approx(chi2.mean(9), rel=0.1)


def test_numeric_bins_are_the_distinct_deciles_with_every_training_value_counted_once() -> None:
    values = np.array([0.0] * 60 + [1.0] * 15 + [2.0, 3.0, 4.0, 5.0, 6.0] * 4 + [9.0] * 5 + [np.nan] * 4)
    feature = fit_numeric("x", values)
    present = values[~np.isnan(values)]
    # Deciles of the 100 present values (the smallest value with at least that share at or below it): 0 up to the
    # 60th percentile, 1 at 70, 2/4/6 at 80/90... checked with sorted positions.
    ordered = np.sort(present)
    deciles = sorted({float(ordered[math.ceil(q * len(ordered)) - 1]) for q in np.arange(1, 10) / 10})
    assert feature.bin_edges == tuple(edge for edge in deciles if edge < 9.0)
    assert feature.bin_edges == (0.0, 1.0, 3.0, 5.0)
    by_hand = [
        np.sum(present <= 0.0),
        np.sum((present > 0.0) & (present <= 1.0)),
        np.sum((present > 1.0) & (present <= 3.0)),
        np.sum((present > 3.0) & (present <= 5.0)),
        np.sum(present > 5.0),
    ]
    assert feature.bin_frequencies == pytest.approx([count / 100 for count in by_hand])
    assert (feature.minimum, feature.maximum, feature.count) == (0.0, 9.0, 104)
    assert feature.missing_rate == pytest.approx(4 / 104)
    assert feature.bin_labels() == ["<= 0", "0 to 1", "1 to 3", "3 to 5", "> 5"]


def test_a_window_is_binned_with_the_same_edges_and_values_beyond_the_training_range_count_outside() -> None:
    feature = fit_numeric("x", np.arange(1.0, 101.0))
    counts = feature.counts(np.array([-5.0, 1.0, 10.0, 10.5, 100.0, 250.0, np.nan]))
    assert counts.bins.tolist() == [3, 1, 0, 0, 0, 0, 0, 0, 0, 2]  # edges 10, 20, ..., 90
    assert (counts.missing, counts.outside, counts.rows) == (1, 2, 7)


def test_a_constant_column_has_one_bin() -> None:
    feature = fit_numeric("c", np.full(50, 7.0))
    assert feature.bin_edges == ()
    assert feature.bin_frequencies == (1.0,)
    assert feature.counts(np.array([7.0, 8.0])).outside == 1


def test_categorical_frequencies_count_each_category_and_unseen_values_as_other() -> None:
    values = ["north"] * 5 + ["south"] * 3 + ["east"] * 2 + [None] * 2
    feature = fit_categorical("region", values)
    assert feature.categories == ("north", "south", "east")
    assert feature.frequencies == pytest.approx([0.5, 0.3, 0.2, 0.0])
    assert feature.missing_rate == pytest.approx(2 / 12)
    counts = feature.counts(["west", "north", None, "west"])
    assert counts.bins.tolist() == [1, 0, 0, 2]
    assert (counts.missing, counts.outside) == (1, 2)
    assert feature.bin_labels() == ["north", "south", "east", "other"]


def test_the_baseline_file_round_trips_and_a_class_distribution_keeps_the_class_order(tmp_path: Path) -> None:
    labels = class_distribution(["b", "a", "b", "c"], ("a", "b", "c"))
    assert labels == ClassDistribution(("a", "b", "c"), (1, 2, 1))
    baseline = Baseline(
        features=(fit_numeric("x", np.arange(10.0)), fit_categorical("r", ["u", "v", "u"])),
        label_column="label",
        labels=labels,
        source="a test",
    ).with_prediction(ClassDistribution(("a", "b", "c"), (3, 0, 1)))
    save(baseline, tmp_path / "baseline.json")
    assert read(tmp_path / "baseline.json") == baseline
    (tmp_path / "bad.json").write_text('{"format_version": 1, "features": [{"name": "x", "kind": "date"}]}')
    with pytest.raises(ValueError, match="kind 'date'; expected one of numeric, categorical"):
        read(tmp_path / "bad.json")
