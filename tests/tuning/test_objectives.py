"""mtlzoo.tuning.objective: delta_m, weighted sum and cost objectives."""

import keras_tuner as kt
import pytest
from tuning_helpers import BASELINES
from tuning_helpers import TASKS

from mtlzoo import tuning


def test_delta_m_objective_ranks_on_a_common_scale():
    # Task b is a regression in pixels: its MAE is ~100, accuracy ~0.8.
    baselines = {"a": 0.85, "b": 100.0}
    obj = tuning.objective("val_delta_m", baselines=baselines, tasks=TASKS)
    assert obj.name == "val_delta_m" and obj.direction == "max"
    worse = {"val_a_accuracy": 0.80, "val_b_mae": 100.0}
    better = {"val_a_accuracy": 0.90, "val_b_mae": 101.0}
    expected = 100 * ((0.9 - 0.85) / 0.85 - (101 - 100) / 100) / 2
    assert obj.get_value(better) == pytest.approx(expected)
    assert obj.get_value(better) > obj.get_value(worse)
    assert obj.better_than(obj.get_value(better), obj.get_value(worse))
    # keras-tuner's own multi-objective (an unweighted raw sum) prefers
    # the worse model here.
    raw = (
        kt.Objective("val_a_accuracy", "max"),
        kt.Objective("val_b_mae", "min"),
    )
    multi = kt.oracles.RandomSearchOracle(objective=list(raw)).objective
    assert multi.better_than(multi.get_value(worse), multi.get_value(better))
    # A precomputed value in the logs wins; the raw metrics are needed.
    assert obj.get_value({"val_delta_m": 3.0}) == 3.0
    assert not obj.has_value({"val_a_accuracy": 0.9})
    with pytest.raises(ValueError, match="baselines"):
        tuning.objective("val_delta_m")


def test_weighted_sum_and_cost_objectives():
    obj = tuning.objective(
        "val_weighted_sum",
        scales={"a_accuracy": 1.0, "b_mae": 50.0},
        weights={"a": 3.0, "b": 1.0},
    )
    logs = {"val_a_accuracy": 0.8, "val_b_mae": 25.0}
    assert obj.get_value(logs) == pytest.approx((3 * 0.8 - 25 / 50) / 4)
    cost = tuning.objective(
        "val_delta_m", baselines=BASELINES, cost="params", cost_weight=2.0
    )
    assert cost.name == "val_delta_m_cost"
    base = {"val_a_accuracy": 0.44, "val_b_mae": 0.8}
    small = dict(base, params=1000.0)
    big = dict(base, params=4000.0)
    # 4x the parameters costs 2 doublings * 2 points.
    assert cost.get_value(small) - cost.get_value(big) == pytest.approx(4.0)
    # Better enough to pay for the size: +10 points of accuracy gain.
    big_better = dict(big, val_a_accuracy=0.48)
    assert cost.get_value(big_better) > cost.get_value(small)
    plain = tuning.objective("val_delta_m", baselines=BASELINES)
    assert plain.get_value(big) == plain.get_value(small)
