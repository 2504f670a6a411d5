"""Backbone weights: files, ImageNet, the shipped offline fallback."""

import keras
import numpy as np
import pytest
from backbone_helpers import forward
from backbone_helpers import random_images
from backbone_helpers import stage_backbones

from mtlzoo import _files
from mtlzoo import backbones
from mtlzoo.backbones import _weights

NATIVE = [n for n in stage_backbones() if backbones.get(n).native]
SHIPPED = "mobilenet_v2_imagenet_no_top.weights.h5"


@pytest.mark.parametrize("name", NATIVE)
def test_imagenet_for_native_raises(name):
    with pytest.raises(ValueError, match="weights='imagenet'") as info:
        backbones.get(name).build((32, 32, 3), weights="imagenet")
    assert name in str(info.value)


def test_missing_weights_file(tmp_path):
    path = str(tmp_path / "missing.weights.h5")
    for name in ("tiny", "vgg16"):
        with pytest.raises(ValueError, match="missing.weights.h5") as info:
            backbones.get(name).build((32, 32, 3), weights=path)
        assert name in str(info.value)


def test_native_weights_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    source = backbones.get("tiny").build((32, 32, 1))
    path = tmp_path / "tiny.weights.h5"
    source.base.save_weights(path)
    keras.utils.set_random_seed(1)
    loaded = backbones.get("tiny").build((32, 32, 1), weights=path)
    images = random_images(channels=1)
    expected = forward(source, images)
    actual = forward(loaded, images)
    for level in source.levels:
        np.testing.assert_array_equal(actual[level], expected[level])


def test_weights_that_do_not_fit(tmp_path):
    path = tmp_path / "tiny.weights.h5"
    backbones.get("tiny").build((32, 32, 3)).base.save_weights(path)
    with pytest.raises(ValueError, match="tiny.weights.h5") as info:
        backbones.get("lenet").build((32, 32, 3), weights=path)
    assert "lenet" in str(info.value)
    with pytest.raises(ValueError, match="tiny.weights.h5"):
        backbones.get("tiny").build((32, 32, 1), weights=path)


def test_application_legacy_h5_weights(tmp_path):
    keras.utils.set_random_seed(0)
    source = backbones.get("vgg16").build((32, 32, 3))
    path = tmp_path / "vgg16_no_top.h5"
    source.base.save(path)
    loaded = backbones.get("vgg16").build((32, 32, 1), weights=str(path))
    for a, b in zip(source.base.weights, loaded.base.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _offline(monkeypatch, *class_names):
    """ImageNet downloads of these keras.applications classes fail."""
    for class_name in class_names:
        original = getattr(keras.applications, class_name)

        def offline(*args, original=original, **kwargs):
            if kwargs.get("weights") == "imagenet":
                raise Exception(
                    "URL fetch failure on https://example.invalid: offline"
                )
            return original(*args, **kwargs)

        monkeypatch.setattr(keras.applications, class_name, offline)


def _pretrained_in(monkeypatch, root):
    """`pretrained/` files are looked up under `root` only."""
    monkeypatch.setattr(_files, "PACKAGE_DIR", root)
    monkeypatch.setattr(_files, "REPO_DIR", root)
    (root / "pretrained").mkdir(exist_ok=True)
    return root / "pretrained"


def test_imagenet_download_failure_raises(monkeypatch, tmp_path):
    _offline(monkeypatch, "VGG16", "MobileNetV2")
    _pretrained_in(monkeypatch, tmp_path)
    for name in ("vgg16", "mobilenet_v2"):
        with pytest.raises(ValueError, match="local weights file") as info:
            backbones.get(name).build((32, 32, 3), weights="imagenet")
        assert name in str(info.value)
        assert "Received: weights='imagenet'" in str(info.value)


def test_mobilenet_v2_falls_back_to_shipped_weights(monkeypatch, tmp_path):
    keras.utils.set_random_seed(1)
    shipped = backbones.get("mobilenet_v2").build((32, 32, 3))
    filename = backbones.get("mobilenet_v2").fallback_weights[0]
    assert filename == SHIPPED
    shipped.base.save_weights(_pretrained_in(monkeypatch, tmp_path) / SHIPPED)
    _offline(monkeypatch, "MobileNetV2")
    keras.utils.set_random_seed(2)
    spec = backbones.get("mobilenet_v2")
    stages = spec.build((32, 32, 1), weights="imagenet")
    assert stages.preprocessing == "torch"
    for a, b in zip(shipped.base.weights, stages.base.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    stages = spec.build((32, 32, 3), weights="imagenet", preprocessing="tf")
    assert stages.preprocessing == "tf"


@pytest.mark.skipif(
    _weights.find_pretrained(SHIPPED) is None,
    reason="shipped MobileNetV2 weights not present",
)
def test_shipped_mobilenet_v2_weights_load():
    path = _weights.find_pretrained(SHIPPED)
    stages = backbones.get("mobilenet_v2").build(
        (32, 32, 3), weights=path, preprocessing="torch"
    )
    features = forward(stages, random_images())["P5"]
    assert np.isfinite(features).all()
