"""Overrides: a preset's weights on a changed model, by stage names."""

import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo import zoo
from mtlzoo.backbones.stage_names import parse_stage_name
from mtlzoo.backbones.stage_names import stage_name

TINY = "fashion_tiny_test"


def _trunk_kernel(model):
    trunk = model.get_layer(stage_name("tiny", "P2"))
    return trunk.get_layer("p2_conv").kernel.numpy()


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="Unknown override"):
        zoo.load(TINY, load_weights=False, backbone="resnet50")


def test_stage_names_of_a_loaded_preset_parse():
    model = zoo.load(TINY, compile=False)
    stages = [parse_stage_name(layer.name) for layer in model.layers]
    stages = [s for s in stages if s]
    assert ("tiny", "P2") in stages and ("tiny", "P5") in stages


def test_override_replaces_heads_and_keeps_trunk():
    base = zoo.load(TINY, compile=False)
    tasks = [
        mtlzoo.Task(
            "garment", "classification", num_classes=5, head={"units": 16}
        ),
        mtlzoo.Task("mask", "segmentation", num_classes=2),
    ]
    with pytest.warns(UserWarning, match="fresh initialisation"):
        model = zoo.load(TINY, tasks=tasks, heads={"mask": {"width": 4}})
    assert model.task_names == ["garment", "mask"]
    np.testing.assert_array_equal(_trunk_kernel(model), _trunk_kernel(base))
    assert "garment" in model.preset_not_loaded
    assert "mask_head_P2_conv_1" in model.preset_not_loaded
    assert "tiny_P2" not in model.preset_not_loaded
    # the hidden garment layer keeps its shape, so it is loaded
    np.testing.assert_array_equal(
        model.get_layer("garment_head_dense_1").kernel.numpy(),
        base.get_layer("garment_head_dense_1").kernel.numpy(),
    )
    out = model.predict(np.zeros((1, 28, 28, 1), "float32"), verbose=0)
    assert out["garment"].shape == (1, 5)


def test_new_branch_starts_from_the_trunk_stage():
    base = zoo.load(TINY, compile=False)
    tree = {
        t["tasks"][0]: t["level"] for t in base.get_config()["branch_points"]
    }
    assert "garment" not in tree
    tree["garment"] = "P4"
    model = zoo.load(TINY, compile=False, branch_points=tree)
    assert model.preset_not_loaded == []
    branch = model.get_layer(stage_name(("garment",), "P5"))
    trunk = base.get_layer(stage_name("tiny", "P5"))
    for a, b in zip(branch.weights, trunk.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_loaded_preset_fine_tunes_with_fit():
    model = zoo.load(TINY)
    before = _trunk_kernel(model)
    ds, _ = mtlzoo.datasets.fashion_tasks(
        split="train", path="sample", batch_size=32
    )
    history = model.fit(ds.take(3), epochs=1, verbose=0).history
    for name in model.task_names:
        assert np.isfinite(history[f"{name}_loss"][0])
    assert not np.array_equal(before, _trunk_kernel(model))


def test_fine_tune_a_new_task():
    with pytest.warns(UserWarning):
        model = zoo.load(
            TINY,
            tasks=[mtlzoo.Task("top", "classification", num_classes=2)],
        )
    ds, _ = mtlzoo.datasets.fashion_tasks(
        split="train", path="sample", tasks=["group"], batch_size=32
    )
    ds = ds.map(lambda x, y: (x, {"top": tf.cast(y["group"] == 0, "int32")}))
    history = model.fit(ds.take(2), epochs=1, verbose=0).history
    assert np.isfinite(history["top_loss"][0])
