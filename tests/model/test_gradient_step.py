"""The gradient-method step: per-task gradients, the Gram path, reloads."""

import keras
import numpy as np
import pytest
from model_helpers import SHAPE
from model_helpers import small_tasks
from model_helpers import tiny_model

import mtlzoo
from mtlzoo import testing


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
