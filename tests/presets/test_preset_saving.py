"""`MultiTaskModel.from_preset`, `save_to_preset` and `mtlzoo.load`."""

import json

import numpy as np
import pytest
from preset_helpers import BY_SIZE
from preset_helpers import TINY

import mtlzoo
from mtlzoo import _files
from mtlzoo import testing
from mtlzoo import zoo
from mtlzoo.model import MultiTaskModel
from mtlzoo.presets import registry


def _images(model, count=2):
    return testing.random_images(tuple(model.input_shape_), count)


def _check_outputs(model, x):
    out = model.predict(x, verbose=0)
    assert sorted(out) == sorted(model.task_names)
    shape = tuple(model.input_shape_)
    for task in model.tasks:
        assert out[task.name].shape == (len(x),) + task.output_shape(shape)
        assert np.all(np.isfinite(out[task.name]))
    return out


@pytest.mark.parametrize("name", BY_SIZE)
def test_load_pretrained(name):
    model = zoo.load(name)
    assert model.compiled
    assert model.preset_name == name and model.preset_not_loaded == []
    _check_outputs(model, _images(model))


@pytest.mark.parametrize("name", BY_SIZE)
def test_from_preset_save_to_preset_round_trip(name, tmp_path):
    model = MultiTaskModel.from_preset(name)
    assert isinstance(model, MultiTaskModel) and model.compiled
    x = _images(model, 3)
    expected = _check_outputs(model, x)
    folder = model.save_to_preset(tmp_path / "copy")
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == zoo.get_config(name)["architecture"]
    assert config["source_preset"] == name
    assert config["license"] == zoo.get_config(name)["license"]
    weights = folder / config["weights"]["file"]
    assert _files.sha256(weights) == config["weights"]["sha256"]
    assert (
        config["weights"]["params"] == zoo.get_config(name)["weights"]["params"]
    )
    for again in (
        MultiTaskModel.from_preset(str(folder)),
        mtlzoo.load(folder / "config.json"),
    ):
        assert again.compiled and again.preset_not_loaded == []
        out = again.predict(x, verbose=0)
        for task in model.task_names:
            np.testing.assert_allclose(out[task], expected[task], atol=1e-6)


def test_mtlzoo_load_is_from_preset():
    assert mtlzoo.load is zoo.load
    model = mtlzoo.load(TINY, compile=False)
    assert not model.compiled and model.preset_name == TINY


def test_saved_preset_keeps_compile_and_refuses_overwrite(tmp_path):
    model = MultiTaskModel.from_preset(TINY, compile=False)
    model.compile(optimizer="sgd", weighting="dwa")
    folder = model.save_to_preset(tmp_path / "p", description="mine")
    again = MultiTaskModel.from_preset(folder)
    assert type(again.weighting).__name__ == type(model.weighting).__name__
    assert type(again.optimizer).__name__ == "SGD"
    config = registry.read_config(folder / "config.json")
    assert config["description"] == "mine"
    with pytest.raises(ValueError, match="overwrite=True"):
        model.save_to_preset(folder)
    model.save_to_preset(folder, overwrite=True)
    uncompiled = MultiTaskModel.from_preset(TINY, compile=False)
    folder = uncompiled.save_to_preset(tmp_path / "q")
    assert registry.read_config(folder / "config.json")["training"] == {}
    assert MultiTaskModel.from_preset(folder).compiled  # Keras defaults


def test_overridden_model_saves_and_reloads(tmp_path):
    tasks = [mtlzoo.Task("style", "classification", num_classes=3)]
    with pytest.warns(UserWarning, match="fresh initialisation"):
        model = MultiTaskModel.from_preset(TINY, tasks=tasks, name="styles")
    folder = model.save_to_preset(tmp_path / "styles")
    again = MultiTaskModel.from_preset(folder)
    assert again.name == "styles" and again.task_names == ["style"]
    x = _images(model)
    np.testing.assert_allclose(
        again.predict(x, verbose=0)["style"],
        model.predict(x, verbose=0)["style"],
        atol=1e-6,
    )
