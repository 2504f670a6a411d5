"""Every registered backbone builds a multi-task model that trains."""

import numpy as np
import pytest
from backbone_helpers import stage_backbones

import mtlzoo
from mtlzoo import testing

# A fit step traces the whole train step: 10-60 s per keras.applications
# net on 2 CPU cores. The fast suite fits the cheap ones and checks the
# graph (outputs, shapes, config) of every backbone; --run-large fits all.
FIT_FAST = {"tiny", "lenet", "vgg16"}
NATIVE = {"tiny", "lenet", "resnet_small"}


def tasks():
    return [
        mtlzoo.Task(
            "label", "classification", num_classes=3, head={"units": 8}
        ),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 4}),
    ]


def build(name, channels=None):
    spec = mtlzoo.backbones.get(name)
    if channels is None:
        channels = 1 if name in NATIVE else 3
    branch = {"mask": spec.levels[-2]}
    return mtlzoo.build(name, tasks(), (32, 32, channels), branch_points=branch)


@pytest.mark.parametrize("name", stage_backbones())
def test_backbone_graph(name):
    model = build(name)
    x = testing.random_images((32, 32, model.input_shape_[2]), 2)
    out = model(x, training=False)
    assert out["label"].shape == (2, 3)
    assert out["mask"].shape == (2, 32, 32, 2)
    np.testing.assert_allclose(np.sum(out["label"], -1), 1.0, rtol=1e-5)
    testing.run_serialization_test(model)


@pytest.mark.parametrize(
    "name",
    [
        n if n in FIT_FAST else pytest.param(n, marks=pytest.mark.large)
        for n in stage_backbones()
    ],
)
def test_backbone_fit(name):
    testing.run_model_test(build(name))


@pytest.mark.parametrize(
    "name",
    ["resnet_small", pytest.param("mobilenet_v2", marks=pytest.mark.large)],
)
def test_one_channel_and_save(name):
    model = build(name, channels=1)
    testing.run_model_test(model)
    testing.run_saving_test(model)
