"""Overrides that keep a preset's task keep its head and its weights."""

import warnings

import numpy as np
import pytest

import mtlzoo
from mtlzoo.presets.transfer import apply_overrides
from mtlzoo.zoo import get_config

TINY = "fashion_tiny_test"


def _images():
    x = np.random.RandomState(0).uniform(0, 255, (4, 28, 28, 1))
    return x.astype("float32")


def test_redeclared_task_loads_the_preset_head():
    base = mtlzoo.load(TINY, compile=False)
    tasks = [
        mtlzoo.Task("ink", "regression"),  # preset head: units 16
        mtlzoo.Task("digit", "classification", num_classes=10),
    ]
    with pytest.warns(UserWarning) as record:
        model = mtlzoo.load(TINY, tasks=tasks, compile=False)
    message = " ".join(str(w.message) for w in record)
    assert "task 'digit' is new" in message
    assert "ink" not in model.preset_not_loaded
    assert not any(n.startswith("ink_") for n in model.preset_not_loaded)
    assert model.get_config()["tasks"][0]["head"] == {"units": 16}
    np.testing.assert_array_equal(
        model.predict(_images(), verbose=0)["ink"],
        base.predict(_images(), verbose=0)["ink"],
    )


def test_changed_num_classes_warns_with_layer_and_reason():
    tasks = [mtlzoo.Task("garment", "classification", num_classes=5)]
    with pytest.warns(UserWarning, match="num_classes 5 != preset's 10"):
        model = mtlzoo.load(TINY, tasks=tasks, compile=False)
    # the hidden layer keeps the preset's width and loads; the output
    # layer starts fresh
    assert model.preset_not_loaded == ["garment"]


def test_own_head_options_win_and_are_named():
    tasks = [mtlzoo.Task("ink", "regression", head={"units": 128})]
    with pytest.warns(UserWarning) as record:
        model = mtlzoo.load(TINY, tasks=tasks, compile=False)
    message = " ".join(str(w.message) for w in record)
    assert "ink_head_dense_1" in message
    assert "units 128 != preset's 16" in message
    assert "ink_head_dense_1" in model.preset_not_loaded


def test_kept_tasks_keep_heads_entry_and_other_kinds_drop_it():
    arch = get_config(TINY)["architecture"]
    kept = apply_overrides(
        arch, {"tasks": [mtlzoo.Task("mask", "segmentation", num_classes=2)]}
    )
    assert kept["heads"] == {"mask": {"skips": ["P2"]}}
    assert kept["tasks"][0]["head"] == {"width": 8}
    other, reasons = apply_overrides(
        arch,
        {"tasks": [mtlzoo.Task("mask", "classification", num_classes=2)]},
        explain=True,
    )
    assert other["heads"] == {}
    assert (
        "kind 'classification' != preset's 'segmentation'" in (reasons["mask"])
    )


def test_same_tasks_as_the_preset_load_everything():
    arch = get_config(TINY)["architecture"]
    tasks = [mtlzoo.Task.from_config(t) for t in arch["tasks"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = mtlzoo.load(
            TINY,
            tasks=[
                mtlzoo.Task(t.name, t.kind, num_classes=t.num_classes)
                for t in tasks
            ],
            compile=False,
        )
    assert model.preset_not_loaded == []
