"""Every registered backbone builds a multi-task model that trains."""

import pytest

import mtlzoo
from mtlzoo import testing

# Heavy keras.applications nets: one fit step costs 20-60 s of tracing on
# 2 CPU cores; they run with --run-large. The rest run in the fast suite.
LARGE = {"convnext_tiny", "densenet121", "efficientnet_v2_b0", "resnet50"}


def tasks():
    return [
        mtlzoo.Task(
            "label", "classification", num_classes=3, head={"units": 8}
        ),
        mtlzoo.Task("mask", "segmentation", num_classes=2, head={"width": 4}),
    ]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.large) if n in LARGE else n
        for n in mtlzoo.backbones.list_backbones()
    ],
)
def test_backbone_model(name):
    spec = mtlzoo.backbones.get(name)
    channels = 1 if name in ("lenet", "tiny", "resnet_small") else 3
    branch = {"mask": spec.levels[-2]}
    model = mtlzoo.build(
        name, tasks(), (32, 32, channels), branch_points=branch
    )
    testing.run_model_test(model)
    testing.run_serialization_test(model)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet_small"])
def test_one_channel_and_save(name):
    model = mtlzoo.build(name, tasks(), (32, 32, 1))
    testing.run_model_test(model)
    testing.run_saving_test(model)
