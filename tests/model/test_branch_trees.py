"""Branch trees of hard sharing: structure, copies, round trips."""

import keras
import numpy as np
import pytest
from model_helpers import small_tasks
from model_helpers import tiny_model

import mtlzoo
from mtlzoo import testing

TREES = {
    "all_at_P5": None,
    "mask_at_P2": {"mask": "P2"},
    "group_then_split": {("digit", "ink"): "P2", "ink": "P4", "mask": "P3"},
    "no_sharing": "P0",
    "every_task_at_P3": "P3",
}


@pytest.mark.parametrize("tree", sorted(TREES))
def test_branch_trees(tree):
    tasks = small_tasks(("classification", "regression", "segmentation"))
    model = tiny_model(tasks, branch_points=TREES[tree])
    testing.run_model_test(model)
    clone = testing.run_serialization_test(model)
    assert (
        clone.get_config()["branch_points"]
        == (model.get_config()["branch_points"])
    )
    testing.run_saving_test(model)


def stage_names(model):
    return sorted(
        layer.name for layer in model.layers if isinstance(layer, keras.Model)
    )


def test_branch_tree_structure_and_copies():
    tasks = small_tasks(("classification", "regression", "segmentation"))
    model = tiny_model(
        tasks, branch_points={("digit", "ink"): "P2", "ink": "P4", "mask": "P3"}
    )
    assert stage_names(model) == sorted(
        # Every task has left the trunk by P3: no trunk P4/P5.
        ["tiny_P1", "tiny_P2", "tiny_P3"]
        + ["digit_ink_P3", "digit_ink_P4", "digit_ink_P5"]
        + ["mask_P4", "mask_P5"]
        + ["ink_P5"]
    )
    # Branch copies start from the same (backbone) weights.
    one = model.get_layer("digit_ink_P4")
    two = model.get_layer("mask_P4")
    for a, b in zip(one.get_weights(), two.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert one.weights[0] is not two.weights[0]


def test_branch_at_p3_has_more_parameters_than_p5():
    tasks = small_tasks(("classification", "regression", "segmentation"))
    shared = tiny_model(tasks).count_params()
    branched = tiny_model(tasks, branch_points="P3").count_params()
    assert branched > shared


def test_branch_point_deeper_than_backbone():
    tasks = small_tasks(("classification", "regression"))
    spec = mtlzoo.backbones.get("convnext_tiny")
    assert "P1" not in spec.levels
    with pytest.raises(ValueError, match="does not have") as info:
        mtlzoo.build(
            "convnext_tiny", tasks, (32, 32, 3), branch_points={"digit": "P1"}
        )
    assert "Received" in str(info.value)
