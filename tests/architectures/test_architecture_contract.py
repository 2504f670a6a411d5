"""The contract every registered architecture keeps (parametrised over the
registry), option errors and the catalog's layout."""

import pathlib
import re
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from architecture_helpers import ARCHITECTURES
from architecture_helpers import PARAMETER_GRADIENT_CASES
from architecture_helpers import SHAPE
from architecture_helpers import TEST_OPTIONS
from architecture_helpers import batch
from architecture_helpers import build
from architecture_helpers import default_name
from architecture_helpers import make_tasks
from architecture_helpers import total_loss

import mtlzoo
from mtlzoo import architectures
from mtlzoo import testing
from mtlzoo.architectures import mmoe


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_architecture_builds_trains_serializes_and_saves(name):
    model = build(name)
    unnamed = [layer.name for layer in model.layers if default_name(layer)]
    assert not unnamed, unnamed
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = testing.run_model_test(model)
    if name == "soft_sharing":
        assert "regularization_loss" in history
    # Same fixed batch as run_model_test: the loss must go down.
    x, y = batch(model.tasks)
    losses = model.fit(x, y, epochs=5, verbose=0, shuffle=False).history
    assert losses["loss"][-1] < losses["loss"][0], losses["loss"]
    clone = testing.run_serialization_test(model)
    assert clone.get_config()["architecture_options"] == (
        TEST_OPTIONS.get(name, {})
    )
    testing.run_saving_test(model)


class Summed(mtlzoo.weighting.Weighting):
    """A gradient method that sums: must train like equal weighting."""

    requires_gradients = True


def _gradient_cases():
    # Representation gradients for every architecture (they depend on the
    # shared tensors it returns); parameter gradients where the partition
    # of variables into shared and task-specific ones is unusual (soft
    # sharing: nothing shared, the model falls back to the loss path). Hard
    # sharing: tests/test_model.py::test_gradient_hook_sum_matches_....
    cases = [(n, True) for n in ARCHITECTURES if n != "hard_sharing"]
    cases += [(n, False) for n in PARAMETER_GRADIENT_CASES]
    for name, rep in cases:
        marks = []
        mode = "representation" if rep else "parameters"
        yield pytest.param(name, rep, marks=marks, id=f"{name}-{mode}")


@pytest.mark.parametrize("name,rep", list(_gradient_cases()))
def test_gradient_method_trains_like_equal_weighting(name, rep):
    tasks = make_tasks(("classification", "regression"))
    model = build(name, tasks)
    x, y = batch(tasks, 4)
    variables = model.trainable_variables
    before = [v.numpy().copy() for v in variables]
    with tf.GradientTape() as tape:
        loss = total_loss(model, x, y)
    grads = tape.gradient(loss, variables)
    expected = [b - 0.1 * g.numpy() for b, g in zip(before, grads)]
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        weighting=Summed(representation_gradients=rep),
    )
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    moved = False
    for v, b, e in zip(variables, before, expected):
        np.testing.assert_allclose(v.numpy(), e, atol=2e-5, err_msg=v.path)
        moved = moved or not np.allclose(b, e)
    assert moved


BAD_OPTIONS = [
    ("soft_sharing", {"coupling": -1.0}, "coupling=-1.0"),
    ("soft_sharing", {"levels": ["P7"]}, "levels=['P7']"),
    ("cross_stitch", {"self_weight": 1.5}, "self_weight=1.5"),
    ("cross_stitch", {"levels": []}, "levels=[]"),
    ("cross_stitch", {"per_channel": "yes"}, "per_channel='yes'"),
    ("mtan", {"levels": ["P2", "P3"]}, "levels=['P2', 'P3']"),
    ("mmoe", {"num_experts": 0}, "num_experts=0"),
    ("mmoe", {"spatial": False}, "spatial=False"),
    ("mmoe", {"expert_units": [4, 0]}, "expert_units=[4, 0]"),
    ("cgc", {"num_shared_experts": 0}, "num_shared_experts=0"),
    ("ple", {"num_levels": 0}, "num_levels=0"),
    ("pad_net", {"level": "P6"}, "level='P6'"),
    ("pad_net", {"width": 0}, "width=0"),
    ("task_specific_norm", {"levels": ["P1", "P1"]}, "levels=['P1', 'P1']"),
]


@pytest.mark.parametrize("name,options,received", BAD_OPTIONS)
def test_bad_options_raise(name, options, received):
    with pytest.raises(ValueError, match=re.escape(f"Received: {received}")):
        mtlzoo.build("tiny", make_tasks(), SHAPE, architecture=name, **options)


@pytest.mark.parametrize(
    "name", [n for n in ARCHITECTURES if n != "hard_sharing"]
)
def test_unknown_option_raises(name):
    with pytest.raises(ValueError, match=r"Received: depth=3$"):
        mtlzoo.build("tiny", make_tasks(), SHAPE, architecture=name, depth=3)


# ------------------------------------------------------------------ catalog
def test_every_entry_lives_in_a_file_named_after_it():
    for name, build_fn in architectures.ARCHITECTURES.items():
        assert build_fn.__module__ == f"mtlzoo.architectures.{name}", name
        path = sys.modules[build_fn.__module__].__file__
        assert pathlib.Path(path).stem == name


def test_every_module_is_an_entry():
    folder = pathlib.Path(architectures.__file__).parent
    stems = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    assert stems == set(architectures.list_architectures())


def test_get_and_list_architectures():
    assert architectures.list_architectures() == [
        "cgc",
        "cross_stitch",
        "hard_sharing",
        "mmoe",
        "mtan",
        "pad_net",
        "ple",
        "soft_sharing",
        "task_specific_norm",
    ]
    from mtlzoo.architectures import ple

    assert architectures.get("ple") is ple.build
    for bad in ("no_such", None):
        with pytest.raises(ValueError) as info:
            architectures.get(bad)
        assert str(info.value).endswith(f"Received: architecture={bad!r}")
        assert "task_specific_norm" in str(info.value)


def test_moved_names_keep_their_old_paths():
    from mtlzoo.architectures import _experts
    from mtlzoo.architectures import cgc
    from mtlzoo.architectures import ple

    assert mmoe.build_mmoe is mmoe.build
    assert mmoe.build_cgc is cgc.build and mmoe.build_ple is ple.build
    assert mmoe.Experts is _experts.Experts is architectures.Experts
    assert mmoe.ExpertGate is _experts.ExpertGate
    assert mmoe.gated_experts is architectures.gated_experts
    for cls in (mmoe.Experts, mmoe.ExpertGate):
        name = keras.saving.get_registered_name(cls)
        assert name == f"mtlzoo>{cls.__name__}"
