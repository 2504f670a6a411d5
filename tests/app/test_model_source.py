"""`mtlzoo.app.model_source`: prediction output of every task kind."""

import importlib

import numpy as np
import pytest
from PIL import Image

import mtlzoo
from mtlzoo import testing
from mtlzoo.app import model_source

SHAPE = (32, 32, 3)
TASKS = [
    mtlzoo.Task("garment", "classification", num_classes=3),
    mtlzoo.Task("tags", "multilabel", num_classes=4),
    mtlzoo.Task("ink", "regression", units=2),
    mtlzoo.Task("mask", "segmentation", num_classes=3),
    mtlzoo.Task("depth", "depth"),
    mtlzoo.Task("normals", "normals"),
]


def test_predict_summarises_every_kind(tmp_path):
    model = mtlzoo.build("tiny", TASKS, SHAPE)
    images = testing.random_images(SHAPE, 2)
    config = {"dataset": {"class_names": {"garment": ["a", "b", "c"]}}}
    results = model_source.predict(
        model, config, images, ["x.png", "y.png"], str(tmp_path), top_k=2
    )
    assert [r["image"] for r in results] == ["x.png", "y.png"]
    out = results[0]["outputs"]
    # classification: top-k [name, probability], named by the config
    assert len(out["garment"]) == 2
    assert out["garment"][0][0] in ("a", "b", "c")
    assert out["garment"][0][1] >= out["garment"][1][1]
    # other vector kinds: their values
    assert len(out["tags"]) == 4 and len(out["ink"]) == 2
    # dense kinds: a PNG and the kind's summary
    assert sum(out["mask"]["class_fractions"]) == pytest.approx(1.0)
    assert out["depth"]["min"] <= out["depth"]["max"]
    assert len(out["normals"]["mean"]) == 3
    for name in ("mask", "depth", "normals"):
        with Image.open(out[name]["png"]) as image:
            assert image.size == (32, 32) and image.mode == "RGB"
        assert out[name]["png"] == str(tmp_path / f"x_{name}.png")
    for value in out.values():
        assert isinstance(model_source.describe(value), str)


def test_registering_modules_import():
    for module in model_source._REGISTERING_MODULES:
        importlib.import_module(module)
    assert "mtlzoo.tasks" in model_source._REGISTERING_MODULES
    assert "mtlzoo.weighting" in model_source._REGISTERING_MODULES


def test_predict_plain_output(tmp_path):
    model = mtlzoo.build("tiny", TASKS[:1], SHAPE)
    images = testing.random_images(SHAPE, 1)
    (result,) = model_source.predict(
        model, None, images, ["x.png"], str(tmp_path)
    )
    (pairs,) = result["outputs"].values()
    ids, probs = [p[0] for p in pairs], [p[1] for p in pairs]
    assert sorted(ids) == [0, 1, 2]  # no class names: class ids
    assert probs == sorted(probs, reverse=True)
    np.testing.assert_allclose(sum(probs), 1.0, atol=1e-5)
