"""VariablePartition (mtlzoo/model/variable_partition.py) and the model's
untracked training state."""

import pathlib

import keras
from model_helpers import SHAPE
from model_helpers import small_tasks
from model_helpers import tiny_model

from mtlzoo import testing
from mtlzoo.model import variable_partition

TREE = {"mask": "P4"}


def compiled_model(**compile_args):
    tasks = small_tasks(("classification", "regression", "segmentation"))
    model = tiny_model(tasks, branch_points=TREE)
    model.compile(optimizer="sgd", **compile_args)
    return model


def ids(variables):
    return [id(v) for v in variables]


def layer_ids(model, name):
    return set(ids(model.get_layer(name).trainable_variables))


def test_partition_groups_variables_by_their_users():
    model = compiled_model(head_optimizers={"ink": "sgd"})
    part = model.variable_partition
    assert isinstance(part, variable_partition.VariablePartition)
    # Every trainable variable once, nothing else.
    assert sorted(ids(part.variables)) == sorted(ids(model.trainable_variables))
    assert len(set(ids(part.variables))) == len(part.variables)
    every = {"digit", "ink", "mask"}
    shared = set(ids(part.shared_variables))
    assert layer_ids(model, "tiny_P1") <= shared
    assert layer_ids(model, "tiny_P4") <= shared
    # Past P4, mask has its own branch copy: it is mask's alone.
    assert layer_ids(model, "mask_P5") <= set(ids(part.head_variables["mask"]))
    assert not layer_ids(model, "mask_P5") & shared
    assert layer_ids(model, "tiny_P5").isdisjoint(shared)
    for v in part.variables:
        assert (id(v) in shared) == (part.users(v) == every)
    for name, own in part.head_variables.items():
        assert all(part.users(v) == {name} for v in own)
    # The main optimizer updates everything but ink's head.
    main = set(ids(part.main_variables))
    assert main.isdisjoint(ids(part.head_variables["ink"]))
    assert main | set(ids(part.head_variables["ink"])) == set(
        ids(part.variables)
    )


def test_task_own_variables_complement_the_combined_ones():
    model = compiled_model()
    part = model.variable_partition
    for rep in (False, True):
        combined = set(ids(part.combined_variables(rep)))
        for name, own in zip(part.task_names, part.task_own_variables(rep)):
            expected = {
                id(v)
                for v in part.variables
                if name in part.users(v) and id(v) not in combined
            }
            assert set(ids(own)) == expected, (name, rep)
    # The trunk computes the shared features.
    assert layer_ids(model, "tiny_P1") <= set(ids(part.trunk_variables))


def test_weighting_variables_count_as_shared():
    model = compiled_model(weighting="uncertainty")
    part = model.variable_partition
    method_vars = model.weighting.trainable_variables
    assert method_vars
    for v in method_vars:
        assert part.users(v) == {"digit", "ink", "mask"}
        assert id(v) in ids(part.shared_variables)


def test_training_state_is_not_tracked_by_keras():
    tasks = small_tasks(("classification", "regression", "segmentation"))
    model = tiny_model(tasks, branch_points=TREE)
    weights = ids(model.weights)
    layers = ids(model._flatten_layers())
    model.compile(optimizer="sgd", weighting="mgda_ub")
    x = testing.random_images(SHAPE, 2)
    model.train_on_batch(x, testing.random_labels(tasks, SHAPE, 2))
    # The partition's lists and the cut sub-models are not the model's:
    # no variable or layer counted twice, none added (MGDA has no state;
    # the method itself is a layer of the model).
    assert ids(model.weights) == weights
    assert ids(model._flatten_layers()) == layers + [id(model.weighting)]
    assert model.variable_partition is not None


def test_no_private_keras_or_setattr_tricks():
    source = pathlib.Path(variable_partition.__file__).parent
    for path in source.glob("*.py"):
        text = path.read_text()
        assert "keras.src" not in text, path.name
        assert "object.__setattr__" not in text, path.name


def test_compile_config_round_trips_through_public_serialization():
    model = compiled_model(
        weighting="pcgrad",
        loss_weights={"ink": 0.5},
        head_optimizers={"mask": keras.optimizers.SGD(0.1)},
    )
    config = model.get_compile_config()
    assert config["loss_weights"] == {"ink": 0.5}
    assert config["check_finite"] is True
    clone = tiny_model(model.tasks, branch_points=TREE)
    clone.compile_from_config(config)
    assert type(clone.weighting).__name__ == "PCGrad"
    assert sorted(clone.head_optimizers) == ["mask"]
    assert clone.get_compile_config() == config
