"""Search arguments that make no sense are refused by name, before any
training (issue 17: nothing silent)."""

import math

import pytest
from tuning_helpers import SHAPE
from tuning_helpers import TASKS
from tuning_helpers import search_config

from mtlzoo import tuning


def hypermodel(**kwargs):
    return tuning.MultiTaskHyperModel("tiny", TASKS, SHAPE, **kwargs)


@pytest.mark.parametrize(
    "argument, value",
    [
        ("head_units", []),
        ("head_units", [0]),
        ("head_layers", []),
        ("dense_widths", []),
        ("dense_convs", []),
        ("weightings", []),
        ("learning_rates", []),
        ("learning_rates", [0]),
        ("learning_rates", [0.0]),
        ("learning_rates", [-1e-3]),
        ("learning_rates", [1e-3, math.nan]),
        ("learning_rates", [math.inf]),
        ("batch_sizes", []),
        ("batch_sizes", [0]),
    ],
)
def test_hypermodel_refuses_empty_or_bad_choices(argument, value):
    with pytest.raises(ValueError, match=f"`{argument}` must be") as info:
        hypermodel(**{argument: value})
    assert f"Received: {argument}=" in str(info.value)


def test_hypermodel_defaults_still_apply_when_not_given():
    model = hypermodel(learning_rates=None, head_units=None)
    assert model.learning_rates == [1e-3]
    assert model.head_units == [32, 64, 128, 256]


@pytest.mark.parametrize(
    "key, value",
    [
        ("max_trials", 0),
        ("max_trials", -2),
        ("max_trials", 1.5),
        ("max_trials", True),
        ("epochs", 0),
        ("batch_size", 0),
        ("executions_per_trial", 0),
    ],
)
def test_run_search_refuses_counts_below_one(tmp_path, key, value):
    config = search_config(str(tmp_path))
    config["tuner"][key] = value
    with pytest.raises(ValueError, match=f"Received: {key}={value!r}"):
        tuning.run_search(config, verbose=0)


def test_run_search_refuses_a_zero_learning_rate_before_training(tmp_path):
    config = search_config(str(tmp_path))
    config["search"] = {"learning_rates": [0]}
    config["objective"] = {"name": "val_delta_m", "baselines": "measure"}
    with pytest.raises(ValueError, match="Received: learning_rates=\\[0"):
        tuning.run_search(config, verbose=0)
