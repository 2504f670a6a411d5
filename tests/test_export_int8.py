"""int8 export: float fallback of chosen layers, the `"auto"` policy."""

import keras
import numpy as np
import pytest

import mtlzoo
from mtlzoo import quantization
from mtlzoo import testing
from mtlzoo.export import export

SHAPE = (32, 32, 1)
TASKS = [
    mtlzoo.Task("shape", "classification", num_classes=3),
    mtlzoo.Task("ink", "regression"),
]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return mtlzoo.build("tiny", TASKS, input_shape=SHAPE)


def test_early_stage_layers(model):
    first = ["tiny_P1", "tiny_P2"]
    assert quantization.early_stage_layers(model) == first
    assert quantization.check_float_layers("auto", model) == first
    assert quantization.check_float_layers(None, model) == []
    assert quantization.check_float_layers(["a"], model) == ["a"]
    for bad in ("tiny_P1", [""], [3]):
        with pytest.raises(ValueError, match="Received: float_layers="):
            quantization.check_float_layers(bad, model)


def test_float_layers_stay_float(model, tmp_path):
    x = testing.random_images(SHAPE, 16, seed=1)
    y = testing.random_labels(TASKS, SHAPE, 16, seed=1)
    kwargs = dict(
        format="tflite", quantize="int8", representative_data=x,
        sample_inputs=(x, y),
    )  # fmt: skip
    full = export(model, str(tmp_path / "a.tflite"), float_layers=[], **kwargs)
    assert full["float_layers"] == [] and full["float_tensors"] == 0
    mixed = export(
        model, str(tmp_path / "b.tflite"), float_layers=["tiny_P1"], **kwargs
    )
    assert mixed["float_layers"] == ["tiny_P1"]
    assert mixed["float_tensors"] > 0
    assert mixed["tasks"]["ink"]["max_abs_error"] < 0.1
    # "auto": fully integer, as no task misses the accuracy target.
    auto = export(model, str(tmp_path / "c.tflite"), **kwargs)
    assert auto["float_layers"] == [] and "float_fallback" not in auto
    assert auto["targets"]["accuracy_drop_met"] is not None


def test_auto_falls_back_when_fully_integer_misses(
    model, monkeypatch, tmp_path
):
    from mtlzoo import export as export_lib

    real = export_lib.compare
    calls = []

    def compare(kind, expected, got, labels=None):
        out = real(kind, expected, got, labels)
        if "accuracy_drop" in out:
            # The first (fully integer) check misses by 2 points.
            out["accuracy_drop"] = 2.0 if not calls else 0.0
            calls.append(out)
        return out

    monkeypatch.setattr(export_lib, "compare", compare)
    x = testing.random_images(SHAPE, 8, seed=2)
    y = testing.random_labels(TASKS, SHAPE, 8, seed=2)
    report = export(
        model, str(tmp_path / "d.tflite"), format="tflite", quantize="int8",
        representative_data=x, sample_inputs=(x, y),
    )  # fmt: skip
    assert report["float_layers"] == ["tiny_P1", "tiny_P2"]
    assert report["float_fallback"]["fully_integer_missed"] == [
        "shape: accuracy drop 2.00 > 1.0 points"
    ]
    assert report["targets"]["met"] is True
    assert np.isfinite(report["size_ratio"])
