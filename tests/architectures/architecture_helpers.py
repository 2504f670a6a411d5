"""Shared helpers of the architecture tests (a module, not a test file)."""

import re

import keras

import mtlzoo
from mtlzoo import architectures
from mtlzoo import testing

SHAPE = (32, 32, 1)
ARCHITECTURES = architectures.list_architectures()
# Small but non-trivial settings so that the suite stays fast.
TEST_OPTIONS = {
    "mmoe": {"num_experts": 3, "expert_units": 4},
    "cgc": {"num_experts": 1, "num_shared_experts": 2, "expert_units": 4},
    "ple": {"num_experts": 1, "num_shared_experts": 1, "expert_units": 4},
    "mtan": {"levels": ["P4", "P5"]},
    "pad_net": {"width": 4},
    "soft_sharing": {"coupling": 1e-2},
}
PARAMETER_GRADIENT_CASES = ("soft_sharing", "task_specific_norm")


def make_tasks(kinds=("classification", "regression", "segmentation")):
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=3, head={"width": 4}),
    ]
    return [t for t in tasks if t.kind in kinds]


def build(name, tasks=None, **options):
    options = dict(TEST_OPTIONS.get(name, {}), **options)
    return mtlzoo.build(
        "tiny", tasks or make_tasks(), SHAPE, architecture=name, **options
    )


def batch(tasks, size=2):
    return (
        testing.random_images(SHAPE, size),
        testing.random_labels(tasks, SHAPE, size),
    )


def total_loss(model, x, y):
    """Equal-weighted task losses plus regularisers, in eager mode."""
    y_pred = model(x, training=True)
    losses = [t.compute_loss(y[t.name], y_pred[t.name]) for t in model.tasks]
    return keras.ops.sum(keras.ops.stack(losses)) + sum(model.losses)


def default_name(layer):
    """True when `layer` kept the name Keras gives an unnamed layer."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", type(layer).__name__).lower()
    return re.fullmatch(rf"{snake}(_\d+)?", layer.name) is not None
