import keras
import numpy as np
import pytest
import tensorflow as tf

import mtlzoo
from mtlzoo import testing

SHAPE = (32, 32, 1)


def small_tasks(kinds=None):
    tasks = [
        mtlzoo.Task(
            "digit", "classification", num_classes=5, head={"units": 8}
        ),
        mtlzoo.Task("attrs", "multilabel", num_classes=3, head={"units": 8}),
        mtlzoo.Task("ink", "regression", units=2, head={"units": 8}),
        mtlzoo.Task("mask", "segmentation", num_classes=3, head={"width": 4}),
        mtlzoo.Task("depth", "depth", head={"width": 4}),
        mtlzoo.Task("normals", "normals", head={"width": 4}),
        mtlzoo.Task("box", "box", num_classes=2, head={"units": 8}),
    ]
    if kinds:
        tasks = [t for t in tasks if t.kind in kinds]
    return tasks


def tiny_model(tasks=None, **kwargs):
    tasks = tasks or small_tasks(("classification", "regression"))
    return mtlzoo.build("tiny", tasks, SHAPE, **kwargs)


@pytest.mark.parametrize("kind", mtlzoo.tasks.KINDS)
def test_every_task_kind(kind):
    tasks = small_tasks([kind]) + [
        mtlzoo.Task("aux", "regression", head={"units": 4})
    ]
    model = tiny_model(tasks)
    testing.run_model_test(model)
    testing.run_serialization_test(model)
    testing.run_saving_test(model)


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


def test_task_weight_zero_stops_gradient_into_trunk():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    y_only_ink = dict(y, digit=np.full_like(y["digit"], -1))

    def one_step(labels, weights):
        keras.utils.set_random_seed(1)
        model = tiny_model(tasks)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss_weights=weights)
        model.fit(x, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
        return model

    before = tiny_model(tasks)
    zeroed = one_step(y, {"digit": 0.0})
    unlabelled = one_step(y_only_ink, None)
    full = one_step(y, None)
    trunk = ["tiny_P1", "tiny_P3", "tiny_P5"]
    for name in trunk:
        for a, b, c in zip(
            zeroed.get_layer(name).get_weights(),
            unlabelled.get_layer(name).get_weights(),
            full.get_layer(name).get_weights(),
        ):
            np.testing.assert_allclose(a, b, atol=1e-6)
        assert any(
            not np.allclose(a, c)
            for a, c in zip(
                zeroed.get_layer(name).get_weights(),
                full.get_layer(name).get_weights(),
            )
        ), name
    # The zero-weighted head did not move either.
    keras.utils.set_random_seed(1)
    before = tiny_model(tasks)
    np.testing.assert_allclose(
        zeroed.get_layer("digit").get_weights()[0],
        before.get_layer("digit").get_weights()[0],
    )


def test_callback_assigning_weight_takes_effect_next_step():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks, SHAPE, 8)
    seen = []

    class Halve(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(logs["digit_weight"]))
            self.model.task_weights["digit"].assign(0.5 ** (batch + 1))

    model = tiny_model(tasks)
    model.compile(optimizer="sgd")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[Halve()])
    assert seen == [1.0, 0.5, 0.25, 0.125]


def test_missing_labels_give_zero_loss_not_nan():
    tasks = small_tasks()
    model = tiny_model(tasks)
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2, missing=1.0)
    y_pred = model(x)
    for task in tasks:
        loss = float(task.compute_loss(y[task.name], y_pred[task.name]))
        assert loss == 0.0, (task.name, loss)
    model.compile(optimizer="adam")
    logs = model.train_on_batch(x, y, return_dict=True)
    for task in tasks:
        assert logs[f"{task.name}_loss"] == 0.0
        assert np.isfinite(logs["loss"])


def test_masked_labels_count_only_present_entries():
    task = mtlzoo.Task("digit", "classification", num_classes=3)
    y_pred = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, -1, 1])
    loss = float(task.compute_loss(labels, y_pred))
    expected = -(np.log(0.8) + np.log(0.1)) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    metrics = task.build_metrics()
    task.update_metrics(metrics, labels, y_pred)
    assert float(metrics[0].result()) == 0.5
    reg = mtlzoo.Task("ink", "regression")
    loss = float(reg.compute_loss([[1.0], [np.nan]], [[3.0], [100.0]]))
    assert loss == 4.0


def test_sample_weight_dict_masks_a_task():
    tasks = small_tasks(("classification", "regression"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    sw = {"digit": np.zeros(4, "float32"), "ink": np.ones(4, "float32")}
    logs = model.train_on_batch(x, y, sample_weight=sw, return_dict=True)
    assert logs["digit_loss"] == 0.0
    assert logs["ink_loss"] > 0.0


def test_dataset_fit_with_validation():
    tasks = small_tasks(("classification", "segmentation"))
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks, SHAPE, 8)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    hist = model.fit(ds, validation_data=ds, epochs=2, verbose=0).history
    assert "val_mask_mean_iou" in hist and "val_digit_loss" in hist
    assert hist["loss"][1] < hist["loss"][0]


@pytest.mark.parametrize(
    "tree",
    [None, {("digit", "ink"): "P2", "ink": "P4", "mask": "P3"}],
    ids=["all-at-P5", "nested-groups"],
)
def test_gradient_hook_sum_matches_equal_weighting(tree):
    """A gradient method that just sums must train like equal weighting.

    With a nested branch tree, stages shared by a group of tasks take the
    sum of their tasks' gradients from the per-task backward passes.
    """

    class Summed(mtlzoo.weighting.Weighting):
        requires_gradients = True

    # A dense task takes skips from shallow shared levels: the
    # representation path must not count them twice.
    tasks = small_tasks(("classification", "regression", "segmentation"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    results = []
    for weighting in (None, Summed(), Summed(representation_gradients=True)):
        keras.utils.set_random_seed(3)
        model = tiny_model(tasks, branch_points=tree)
        model.compile(optimizer=keras.optimizers.SGD(0.05), weighting=weighting)
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, atol=2e-5)


class MatrixPath(mtlzoo.weighting.Weighting):
    """Runs a Gram-based method through the (T, D) matrix path."""

    requires_gradients = True

    def __init__(self, inner):
        super().__init__(inner.representation_gradients)
        self.inner = inner

    def setup(self, task_names, task_weights):
        super().setup(task_names, task_weights)
        self.inner.setup(task_names, task_weights)

    def combine_gradients(self, grads, losses, weights, present):
        return self.inner.combine_gradients(grads, losses, weights, present)


GRAM_CASES = [
    (name, rep)
    for name in ("mgda", "pcgrad", "imtl", "cagrad", "nash_mtl", "gradnorm")
    for rep in (True, False)
    if rep or name in ("mgda", "cagrad")
] + [("aligned_mtl", True)]


@pytest.mark.parametrize(
    "name,rep",
    GRAM_CASES,
    ids=[f"{n}-{'rep' if r else 'par'}" for n, r in GRAM_CASES],
)
def test_gram_path_matches_the_matrix_path(name, rep):
    """The train step's blockwise Gram path (no (T, D) matrix; dense skips
    reached by one task used in place) gives the same update as the method
    on the full matrix, with a nested branch tree and an absent task."""
    tasks = small_tasks(("classification", "regression", "segmentation"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    y["ink"] = np.full_like(y["ink"], np.nan)  # ink absent in this batch
    tree = {("digit", "ink"): "P3", "mask": "P4"}
    results = []
    for wrap in (False, True):
        keras.utils.set_random_seed(1)
        method = mtlzoo.weighting.get(name, representation_gradients=rep)
        if name == "pcgrad":
            method = mtlzoo.weighting.get(
                name, representation_gradients=rep, seed=0
            )
        model = tiny_model(tasks, branch_points=tree)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            weighting=MatrixPath(method) if wrap else method,
        )
        before = model.get_weights()
        model.train_on_batch(x, y)
        results.append(model.get_weights())
    # Compare the updates, relative to the largest one (SGD steps are tiny).
    steps = [[a - b for a, b in zip(r, before)] for r in results]
    largest = max(float(np.max(np.abs(d))) for d in steps[1])
    assert largest > 0
    for a, b in zip(*steps):
        np.testing.assert_allclose(a, b, atol=1e-3 * largest, rtol=0)


def test_head_optimizers_only_move_their_head():
    tasks = small_tasks(("classification", "regression"))
    x = testing.random_images(SHAPE, 4)
    y = testing.random_labels(tasks, SHAPE, 4)
    keras.utils.set_random_seed(2)
    model = tiny_model(tasks)
    before = model.get_layer("ink").get_weights()[0].copy()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        head_optimizers={"ink": keras.optimizers.SGD(0.0)},
    )
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_array_equal(
        model.get_layer("ink").get_weights()[0], before
    )
    path = "/tmp/mtlzoo_head_opt.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert sorted(loaded.head_optimizers) == ["ink"]


def test_loaded_model_resumes_training():
    tasks = small_tasks(("classification",))
    model = tiny_model(tasks)
    model.compile(optimizer="adam", loss_weights={"digit": 0.25})
    testing.run_model_test(model)
    loaded = testing.run_saving_test(model)
    assert float(loaded.task_weights["digit"].numpy()) == 0.25
    assert loaded.compiled
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    loaded.fit(x, y, epochs=1, verbose=0)


# ---------------------------------------------------------------- errors
def expect_error(match, fn, *args, **kwargs):
    with pytest.raises((ValueError, TypeError), match=match) as info:
        fn(*args, **kwargs)
    assert "Received" in str(info.value)


def test_errors_name_the_culprit():
    tasks = small_tasks(("classification", "regression"))
    expect_error("no_such_net", mtlzoo.build, "no_such_net", tasks, SHAPE)
    expect_error("kind", mtlzoo.Task, "a", "colour")
    expect_error(
        "unique",
        mtlzoo.build,
        "tiny",
        [tasks[0], tasks[0]],
        SHAPE,
    )
    expect_error("P7", tiny_model, tasks, branch_points={"digit": "P7"})
    expect_error("nobody", tiny_model, tasks, branch_points={"nobody": "P3"})
    expect_error(
        "nest",
        tiny_model,
        small_tasks(("classification", "regression", "segmentation")),
        branch_points={("digit", "ink"): "P2", ("ink", "mask"): "P3"},
    )
    expect_error("input_shape", mtlzoo.build, "tiny", tasks, (32, 32))
    expect_error(
        "units",
        tiny_model,
        [mtlzoo.Task("a", "classification", num_classes=2, head={"unitz": 3})],
    )
    expect_error("num_classes", mtlzoo.Task, "a", "classification")
    expect_error("wobble", tiny_model, tasks, wobble=3)


def test_branch_point_deeper_than_backbone():
    tasks = small_tasks(("classification", "regression"))
    spec = mtlzoo.backbones.get("convnext_tiny")
    assert "P1" not in spec.levels
    with pytest.raises(ValueError, match="does not have") as info:
        mtlzoo.build(
            "convnext_tiny", tasks, (32, 32, 3), branch_points={"digit": "P1"}
        )
    assert "Received" in str(info.value)


def test_label_errors():
    tasks = small_tasks(("classification", "segmentation"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    with pytest.raises(ValueError, match="mask") as info:
        model.train_on_batch(x, {"digit": y["digit"]})
    assert "Received" in str(info.value)
    bad = dict(y, mask=np.zeros((2, 16, 16), "int32"))
    with pytest.raises(ValueError, match="mask.*shape"):
        model.train_on_batch(x, bad)
    bad = dict(y, extra=y["digit"])
    with pytest.raises(ValueError, match="extra"):
        model.train_on_batch(x, bad)
    reg = small_tasks(("regression",))
    model = tiny_model(reg)
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="floating point"):
        model.train_on_batch(x, {"ink": np.zeros((2, 2), "int32")})


def test_compile_errors():
    model = tiny_model()
    expect_error("loss", model.compile, loss="mse")
    expect_error("nobody", model.compile, loss_weights={"nobody": 1.0})
    expect_error("digit", model.compile, loss_weights={"digit": -1.0})
    expect_error("weighting", model.compile, weighting="no_such_method")
    expect_error("nobody", model.compile, head_optimizers={"nobody": "sgd"})


def test_nan_loss_is_named():
    tasks = small_tasks(("classification", "regression"))
    model = tiny_model(tasks)
    model.compile(optimizer="adam")
    x = testing.random_images(SHAPE, 2)
    y = testing.random_labels(tasks, SHAPE, 2)
    y["ink"] = np.full_like(y["ink"], np.inf)
    with pytest.raises(Exception, match="task 'ink'"):
        model.train_on_batch(x, y)


@pytest.mark.parametrize("name", ["pcgrad", "mgda_ub"])
def test_gradient_methods_train_and_reload(name):
    tasks = small_tasks(("classification", "regression", "segmentation"))
    x = testing.random_images(SHAPE, 8)
    y = testing.random_labels(tasks, SHAPE, 8)
    model = tiny_model(tasks, branch_points={"mask": "P3"})
    model.compile(optimizer="adam", weighting=name)
    losses = []
    for _ in range(6):
        losses.append(model.train_on_batch(x, y, return_dict=True)["loss"])
    assert losses[-1] < losses[0]
    loaded = testing.run_saving_test(model)
    assert type(loaded.weighting) is type(model.weighting)
    assert loaded.weighting.get_config() == model.weighting.get_config()


def test_call_without_training_flag_is_inference():
    """No layer may default the call to training mode (BatchNorm stats)."""
    tasks = small_tasks(("segmentation", "depth", "classification"))
    model = tiny_model(tasks, branch_points={"mask": "P3"})
    x = testing.random_images(SHAPE, 4)
    plain = model(x)
    inference = model(x, training=False)
    for name in plain:
        np.testing.assert_array_equal(plain[name], inference[name])
